"""flow: the Shopify Flow trigger outbox

Revision ID: 0009_flow
Revises: 0006
Create Date: 2026-11-25 21:29:59.688048

Trigger candidates recorded in the transaction that caused them, one row per shop, member,
trigger and window, sent later by the flow job.
"""
from alembic import op
import sqlalchemy as sa
import loyalty_app.models.base
from sqlalchemy.dialects import postgresql

revision = '0009_flow'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('flow_triggers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('trigger', sa.String(length=30), nullable=False),
    sa.Column('window', sa.String(length=100), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('due_at', loyalty_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_at', loyalty_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', loyalty_app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_flow_triggers_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_flow_triggers_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flow_triggers')),
    sa.UniqueConstraint('shop_id', 'member_id', 'trigger', 'window', name=op.f('uq_flow_triggers_shop_id_member_id_trigger_window'))
    )
    with op.batch_alter_table('flow_triggers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flow_triggers_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_flow_triggers_state_due_at', ['state', 'due_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('flow_triggers', schema=None) as batch_op:
        batch_op.drop_index('ix_flow_triggers_state_due_at')
        batch_op.drop_index(batch_op.f('ix_flow_triggers_member_id'))

    op.drop_table('flow_triggers')
