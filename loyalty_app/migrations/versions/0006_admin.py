"""admin: api keys, program changes, ledger imports, web vitals

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 18:33:58.037739

The merchant's side: per-shop API keys (hashed), the program's change history with
before/after, opening-balance imports that can be undone whole, and the last Web Vitals
per admin page.
"""
from alembic import op
import sqlalchemy as sa
import loyalty_app.models.base
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_keys',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', loyalty_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', loyalty_app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', loyalty_app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_api_keys_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_shop_id'), ['shop_id'], unique=False)

    op.create_table('ledger_imports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('created_at', loyalty_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('undone_at', loyalty_app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('undone_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_ledger_imports_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_imports'))
    )
    with op.batch_alter_table('ledger_imports', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_imports_shop_id_id', ['shop_id', 'id'], unique=False)

    op.create_table('program_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('subject', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=True),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('before', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('after', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('changed_at', loyalty_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_program_changes_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_program_changes'))
    )
    with op.batch_alter_table('program_changes', schema=None) as batch_op:
        batch_op.create_index('ix_program_changes_shop_id_id', ['shop_id', 'id'], unique=False)

    op.create_table('web_vitals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('page', sa.String(length=200), nullable=False),
    sa.Column('metric', sa.String(length=10), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('reported_at', loyalty_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_web_vitals_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_vitals')),
    sa.UniqueConstraint('shop_id', 'page', 'metric', name=op.f('uq_web_vitals_shop_id_page_metric'))
    )
    # program: the tier bonuses the admin's set-based ranking subtracts, found without a ledger scan
    op.create_index('ix_ledger_entries_tier_bonuses', 'ledger_entries', ['shop_id', 'member_id'], unique=False,
                    postgresql_where=sa.text("kind = 'bonus'"), sqlite_where=sa.text("kind = 'bonus'"))

    # The Activity page: a shop's events by status, newest first, and its counts by status.
    op.create_index('ix_webhook_events_shop_id_status_id', 'webhook_events', ['shop_id', 'status', 'id'], unique=False)

    # The admin's member list (newest first, keyset on id) and, on PostgreSQL, its prefix search by email or
    # name (SQLite cannot use an expression index for LIKE).
    op.create_index('ix_members_shop_id_id', 'members', ['shop_id', 'id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        for column in ('email', 'first_name', 'last_name'):
            op.create_index(f'ix_members_shop_id_lower_{column}', 'members',
                            ['shop_id', sa.text(f'lower({column}) text_pattern_ops')], unique=False)

    # Analytics: a shop's ledger entries and orders in a date window (index-only for the ledger on PostgreSQL).
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_shop_id_created_at', ['shop_id', 'created_at'], unique=False,
                              postgresql_include=['kind', 'amount', 'member_id'])
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_shop_id_placed_at', ['shop_id', 'placed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_shop_id_placed_at')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_shop_id_created_at')
    op.drop_index('ix_webhook_events_shop_id_status_id', table_name='webhook_events')
    op.drop_index('ix_ledger_entries_tier_bonuses', table_name='ledger_entries')
    if op.get_bind().dialect.name == 'postgresql':
        for column in ('last_name', 'first_name', 'email'):
            op.drop_index(f'ix_members_shop_id_lower_{column}', table_name='members')
    op.drop_index('ix_members_shop_id_id', table_name='members')
    op.drop_table('web_vitals')
    with op.batch_alter_table('program_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_program_changes_shop_id_id')

    op.drop_table('program_changes')
    with op.batch_alter_table('ledger_imports', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_imports_shop_id_id')

    op.drop_table('ledger_imports')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_keys_shop_id'))

    op.drop_table('api_keys')
