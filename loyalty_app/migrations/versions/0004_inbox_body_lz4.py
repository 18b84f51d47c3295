"""inbox bodies compressed with lz4 on PostgreSQL

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 16:40:00

Every webhook is one inbox row whose body (often 10-30 KB of order JSON) PostgreSQL
compresses while Shopify waits for the acknowledgement. Its default, pglz, cost about
0.2 ms of server CPU per delivery in bench/webhooks.py; lz4 costs a fraction of that.
Only new rows are affected. Servers built without lz4 keep pglz, and SQLite has no
such setting.
"""
from alembic import op
from sqlalchemy import text


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

LZ4_AVAILABLE = text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")


def _set_compression(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and bind.execute(LZ4_AVAILABLE).scalar():
        op.execute(f"ALTER TABLE webhook_events ALTER COLUMN body SET COMPRESSION {method}")


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("pglz")
