"""exact ledger: order lines, refund facts, entry detail, program version, event subjects

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 17:50:00

Each ledger entry says what produced it; orders keep their goods lines and the rate they
earned at, so refunds reverse by line and edits earn or reverse at the order's own rate;
refunds keep their facts until they apply; inbox rows name their order and customer.
"""
from alembic import op
import sqlalchemy as sa
import loyalty_app.models.base
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('order_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('line_item_id', sa.BigInteger(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('eligible', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['order_record_id'], ['orders.id'], name=op.f('fk_order_lines_order_record_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_lines')),
    sa.UniqueConstraint('order_record_id', 'line_item_id', name=op.f('uq_order_lines_order_record_id_line_item_id'))
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('excluded', sa.Boolean(), server_default='0', nullable=False))

    with op.batch_alter_table('order_refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
        batch_op.add_column(sa.Column('eligible', sa.Numeric(precision=18, scale=4), nullable=True))

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('total_amount', sa.Numeric(precision=18, scale=4), nullable=True))
        batch_op.add_column(sa.Column('presentment_total', sa.Numeric(precision=18, scale=4), nullable=True))
        batch_op.add_column(sa.Column('points_rate', sa.Numeric(precision=24, scale=8), nullable=True))
        batch_op.add_column(sa.Column('source_updated_at', loyalty_app.models.base.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.add_column(sa.Column('program_version', sa.Integer(), server_default='1', nullable=False))

    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('order_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('customer_id', sa.BigInteger(), nullable=True))
        batch_op.create_index('ix_webhook_events_shop_id_customer_id', ['shop_id', 'customer_id'], unique=False)
        batch_op.create_index('ix_webhook_events_shop_id_order_id', ['shop_id', 'order_id'], unique=False)




def downgrade() -> None:
    
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_events_shop_id_order_id')
        batch_op.drop_index('ix_webhook_events_shop_id_customer_id')
        batch_op.drop_column('customer_id')
        batch_op.drop_column('order_id')

    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.drop_column('program_version')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('source_updated_at')
        batch_op.drop_column('points_rate')
        batch_op.drop_column('presentment_total')
        batch_op.drop_column('total_amount')

    with op.batch_alter_table('order_refunds', schema=None) as batch_op:
        batch_op.drop_column('eligible')
        batch_op.drop_column('facts')

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('excluded')

    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_column('detail')

    op.drop_table('order_lines')

