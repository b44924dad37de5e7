"""reconciliation differences on the fallout worklist (kind reconcile)

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

TEXT = sqlmodel.sql.sqltypes.AutoString()


def upgrade() -> None:
    with op.batch_alter_table('fallout', schema=None) as batch_op:
        batch_op.alter_column('order_no', existing_type=TEXT, nullable=True)
        batch_op.alter_column('deadline', existing_type=sa.DateTime(timezone=True), nullable=True)
        batch_op.add_column(sa.Column('kind', TEXT, nullable=False, server_default='order'))
        batch_op.add_column(sa.Column('service_id', TEXT, nullable=True))
        batch_op.add_column(sa.Column('resource', TEXT, nullable=False, server_default=''))
        batch_op.add_column(sa.Column('gpms_holds', TEXT, nullable=False, server_default=''))
        batch_op.add_column(sa.Column('province_holds', TEXT, nullable=False, server_default=''))
        batch_op.add_column(sa.Column('province_data', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('occurrence', sa.Integer(), nullable=False, server_default='1'))
        batch_op.create_index(batch_op.f('ix_fallout_kind'), ['kind'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('fallout', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fallout_kind'))
        for column in ('occurrence', 'province_data', 'province_holds', 'gpms_holds', 'resource', 'service_id',
                       'kind'):
            batch_op.drop_column(column)
        batch_op.alter_column('deadline', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.alter_column('order_no', existing_type=TEXT, nullable=False)
