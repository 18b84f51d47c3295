"""store credit: grants, redemption kind

Revision ID: 0011_store_credit
Revises: 0009_flow
Create Date: 2026-11-25 21:29:49.086895

Store credit the app issues in Shopify (store credit rewards, cashback) and takes back
(cashback on refunds), one row per movement; redemptions learn their kind (a discount code, or
store credit).
"""
from alembic import op
import sqlalchemy as sa
import loyalty_app.models.base


revision = '0011_store_credit'
down_revision = '0009_flow'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('store_credit_grants',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.Column('redemption_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('expires_at', loyalty_app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('transaction_id', sa.String(length=255), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', loyalty_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempted_at', loyalty_app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', loyalty_app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_store_credit_grants_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['redemption_id'], ['redemptions.id'], name=op.f('fk_store_credit_grants_redemption_id_redemptions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_store_credit_grants_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_store_credit_grants')),
    sa.UniqueConstraint('shop_id', 'key', name=op.f('uq_store_credit_grants_shop_id_key'))
    )
    with op.batch_alter_table('store_credit_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_store_credit_grants_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_store_credit_grants_shop_id_order_id', ['shop_id', 'order_id'], unique=False)
        batch_op.create_index('ix_store_credit_grants_state', ['state'], unique=False)

    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), server_default='code', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_column('kind')

    with op.batch_alter_table('store_credit_grants', schema=None) as batch_op:
        batch_op.drop_index('ix_store_credit_grants_state')
        batch_op.drop_index('ix_store_credit_grants_shop_id_order_id')
        batch_op.drop_index(batch_op.f('ix_store_credit_grants_member_id'))

    op.drop_table('store_credit_grants')
