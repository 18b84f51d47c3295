"""earning actions: shop time zone and review secret, rule settings, who set a birthday

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 21:40:00

Birthdays are credited on the shop's calendar (its IANA time zone), review apps sign with a
per-shop secret (sealed like the access token), a rule carries its action's options (the profile
URLs a follow opens, a review's photo bonus), and a member's birthday records who set it and when
(the shopper may set it once).
"""
from alembic import op
import sqlalchemy as sa
import loyalty_app.models.base
from sqlalchemy.dialects import postgresql

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('review_secret_encrypted', sa.Text(), nullable=True))
    with op.batch_alter_table('earning_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                                      server_default='{}', nullable=False))
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('birthday_set_by', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('birthday_set_at', loyalty_app.models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('birthday_set_at')
        batch_op.drop_column('birthday_set_by')
    with op.batch_alter_table('earning_rules', schema=None) as batch_op:
        batch_op.drop_column('settings')
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.drop_column('review_secret_encrypted')
        batch_op.drop_column('timezone')
