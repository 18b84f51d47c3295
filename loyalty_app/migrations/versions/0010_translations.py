"""translations: reward and tier names in the shopper's language

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-25 21:40:00

A partial index on ledger entries of kind ``action`` (member, source, time) lets the widget
and ``award_action`` read a member's claims without walking their order history.

The merchant enters a reward's or tier's name per language (``{"nb": "Gull"}``); the widget
shows the one matching the storefront's locale and the plain name otherwise.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ('rewards', 'tiers'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('translations', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                                          server_default=sa.text("'{}'"), nullable=False))
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_action_claims', ['member_id', 'source', 'created_at'], unique=False,
                              postgresql_where=sa.text("kind = 'action'"), sqlite_where=sa.text("kind = 'action'"))


def downgrade() -> None:
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_action_claims', postgresql_where=sa.text("kind = 'action'"),
                            sqlite_where=sa.text("kind = 'action'"))
    for table in ('tiers', 'rewards'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('translations')
