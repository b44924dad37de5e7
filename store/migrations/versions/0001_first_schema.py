"""0001: the order store as the first release with schema versions has it (and as the
releases before made it with create_all: store/migrate.py adopts those).
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('batch_step',
    sa.Column('step_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('formed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('step_key')
    )
    op.create_table('group_customer',
    sa.Column('customer_code', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('credit_code', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('group_province', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('acquired_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('customer_code')
    )
    op.create_table('member_notification',
    sa.Column('notification_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('province', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('msisdn', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('new_msisdn', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('orders', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('notification_id')
    )
    with op.batch_alter_table('member_notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_notification_service_id'), ['service_id'], unique=False)

    op.create_table('member_staging',
    sa.Column('order_no', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('member_count', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('staged_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('order_no')
    )
    with op.batch_alter_table('member_staging', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_staging_state'), ['state'], unique=False)

    op.create_table('order_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_no', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('msisdn', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('home_province', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
    sa.Column('batch_no', sa.Integer(), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('failed_stage', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_no', 'msisdn')
    )
    with op.batch_alter_table('order_item', schema=None) as batch_op:
        batch_op.create_index('ix_order_item_batch', ['order_no', 'home_province', 'batch_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_item_order_no'), ['order_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_item_state'), ['state'], unique=False)

    op.create_table('password_issue',
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('idempotency_key')
    )
    op.create_table('vpdn_order',
    sa.Column('order_no', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('order_type', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('workflow_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('customer_code', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('sub_state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('provinces', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('order_no'),
    sa.UniqueConstraint('workflow_id')
    )
    with op.batch_alter_table('vpdn_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vpdn_order_customer_code'), ['customer_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_vpdn_order_order_type'), ['order_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_vpdn_order_service_id'), ['service_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vpdn_order_state'), ['state'], unique=False)

    op.create_table('acceptance_table',
    sa.Column('order_no', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('compiled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['order_no'], ['vpdn_order.order_no'], ),
    sa.PrimaryKeyConstraint('order_no')
    )
    with op.batch_alter_table('acceptance_table', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_acceptance_table_service_id'), ['service_id'], unique=False)

    op.create_table('batch_step_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('step_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('msisdn', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['step_key'], ['batch_step.step_key'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('step_key', 'msisdn')
    )
    op.create_table('customer_unit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_code', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('province', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['customer_code'], ['group_customer.customer_code'], ),
    sa.ForeignKeyConstraint(['parent_id'], ['customer_unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('customer_code', 'province')
    )
    with op.batch_alter_table('customer_unit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_unit_customer_code'), ['customer_code'], unique=False)

    op.create_table('fallout',
    sa.Column('fallout_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('order_no', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('order_type', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('step', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('province', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('system', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('allowed', sa.JSON(), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['order_no'], ['vpdn_order.order_no'], ),
    sa.PrimaryKeyConstraint('fallout_id')
    )
    with op.batch_alter_table('fallout', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fallout_order_no'), ['order_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_fallout_province'), ['province'], unique=False)
        batch_op.create_index(batch_op.f('ix_fallout_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_fallout_system'), ['system'], unique=False)

    op.create_table('order_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_no', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('event_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('event', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['order_no'], ['vpdn_order.order_no'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_no', 'event_key')
    )
    with op.batch_alter_table('order_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_event_order_no'), ['order_no'], unique=False)

    op.create_table('vpdn_service',
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('customer_code', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('apn', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('access_province', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('paying_province', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('provinces', sa.JSON(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('line', sa.JSON(), nullable=True),
    sa.Column('rental_rule', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('rental_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('rental_start', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_code'], ['group_customer.customer_code'], ),
    sa.PrimaryKeyConstraint('service_id'),
    sa.UniqueConstraint('apn')
    )
    with op.batch_alter_table('vpdn_service', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vpdn_service_customer_code'), ['customer_code'], unique=False)

    op.create_table('acceptance_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_no', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('msisdn', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('home_province', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('plan', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('opened_on', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('rental_from', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('reported_on', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['order_no'], ['acceptance_table.order_no'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('acceptance_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_acceptance_member_order_no'), ['order_no'], unique=False)

    op.create_table('member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('msisdn', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('home_province', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['vpdn_service.service_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('service_id', 'msisdn')
    )
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_msisdn'), ['msisdn'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_service_id'), ['service_id'], unique=False)

    op.create_table('member_terms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('msisdn', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('plan_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('plan_version', sa.Integer(), nullable=True),
    sa.Column('plan_parameters', sa.JSON(), nullable=False),
    sa.Column('plan_from', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('opened_on', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('rental_from', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('reported_on', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('order_no', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['vpdn_service.service_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('service_id', 'msisdn')
    )
    with op.batch_alter_table('member_terms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_terms_msisdn'), ['msisdn'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_terms_service_id'), ['service_id'], unique=False)

    op.create_table('service_contract',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('order_no', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('signed_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('tariff_reference', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['vpdn_service.service_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('service_id', 'order_no'),
    sa.UniqueConstraint('service_id', 'version')
    )
    with op.batch_alter_table('service_contract', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_contract_number'), ['number'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_contract_service_id'), ['service_id'], unique=False)

    op.create_table('tariff_package',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['vpdn_service.service_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('service_id', 'version')
    )
    with op.batch_alter_table('tariff_package', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tariff_package_service_id'), ['service_id'], unique=False)

    op.create_table('tariff_discount',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['package_id'], ['tariff_package.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('package_id', 'name')
    )
    with op.batch_alter_table('tariff_discount', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tariff_discount_package_id'), ['package_id'], unique=False)

    op.create_table('tariff_parameter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['package_id'], ['tariff_package.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('package_id', 'name')
    )
    with op.batch_alter_table('tariff_parameter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tariff_parameter_package_id'), ['package_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('tariff_parameter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tariff_parameter_package_id'))

    op.drop_table('tariff_parameter')
    with op.batch_alter_table('tariff_discount', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tariff_discount_package_id'))

    op.drop_table('tariff_discount')
    with op.batch_alter_table('tariff_package', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tariff_package_service_id'))

    op.drop_table('tariff_package')
    with op.batch_alter_table('service_contract', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_contract_service_id'))
        batch_op.drop_index(batch_op.f('ix_service_contract_number'))

    op.drop_table('service_contract')
    with op.batch_alter_table('member_terms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_terms_service_id'))
        batch_op.drop_index(batch_op.f('ix_member_terms_msisdn'))

    op.drop_table('member_terms')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_service_id'))
        batch_op.drop_index(batch_op.f('ix_member_msisdn'))

    op.drop_table('member')
    with op.batch_alter_table('acceptance_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_acceptance_member_order_no'))

    op.drop_table('acceptance_member')
    with op.batch_alter_table('vpdn_service', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vpdn_service_customer_code'))

    op.drop_table('vpdn_service')
    with op.batch_alter_table('order_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_event_order_no'))

    op.drop_table('order_event')
    with op.batch_alter_table('fallout', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fallout_system'))
        batch_op.drop_index(batch_op.f('ix_fallout_state'))
        batch_op.drop_index(batch_op.f('ix_fallout_province'))
        batch_op.drop_index(batch_op.f('ix_fallout_order_no'))

    op.drop_table('fallout')
    with op.batch_alter_table('customer_unit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_unit_customer_code'))

    op.drop_table('customer_unit')
    op.drop_table('batch_step_member')
    with op.batch_alter_table('acceptance_table', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_acceptance_table_service_id'))

    op.drop_table('acceptance_table')
    with op.batch_alter_table('vpdn_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vpdn_order_state'))
        batch_op.drop_index(batch_op.f('ix_vpdn_order_service_id'))
        batch_op.drop_index(batch_op.f('ix_vpdn_order_order_type'))
        batch_op.drop_index(batch_op.f('ix_vpdn_order_customer_code'))

    op.drop_table('vpdn_order')
    op.drop_table('password_issue')
    with op.batch_alter_table('order_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_item_state'))
        batch_op.drop_index(batch_op.f('ix_order_item_order_no'))
        batch_op.drop_index('ix_order_item_batch')

    op.drop_table('order_item')
    with op.batch_alter_table('member_staging', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_staging_state'))

    op.drop_table('member_staging')
    with op.batch_alter_table('member_notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_notification_service_id'))

    op.drop_table('member_notification')
    op.drop_table('group_customer')
    op.drop_table('batch_step')
