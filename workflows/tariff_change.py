"""Process 4, group tariff package standard change (集团资费套餐标准变更).

Order accepted → business audit → the new version's COMPLETE tariff and discount set to
every related province, each configures it and reports → GPMS confirms and records the
version. If a province rejects, the provinces already configured get the previous version
back (their undo is registered before each is asked).
"""

from temporalio import workflow

from workflows.common import in_store
from workflows.order_workflow import Rejected
from workflows.service_order_workflow import ServiceOrderWorkflow

with workflow.unsafe.imports_passed_through():
    from activities.crm import CrmActivities
    from activities.order_store import OrderStoreActivities
    from models.orders import OrderState, OrderType
    from models.service import TariffVersion
    from models.service_changes import (
        ServiceOrderResult,
        TariffChangeOrder,
        TariffChangeRefused,
        apply_tariff_change,
    )
    from models.service_steps import TariffConfiguration


@workflow.defn
class TariffChange(ServiceOrderWorkflow):
    order_type = OrderType.tariff_change

    @workflow.init
    def __init__(self, order: TariffChangeOrder) -> None:
        self._setup_service_order(order)

    @workflow.run
    async def run(self, order: TariffChangeOrder) -> ServiceOrderResult:
        return await self._run_order(self._change())

    async def _change(self) -> ServiceOrderResult:
        order = self._order
        service = await self._accept_on_active_service()
        try:
            tariff = apply_tariff_change(service.tariff, order.change)
        except TariffChangeRefused as refusal:
            raise Rejected(str(refusal)) from None
        version = service.tariff_version + 1
        await self._business_audit(order.pre_approved_by)
        await self._tracker.record(
            f"group business acceptance orders: version {version} to {len(service.provinces)} provinces",
            state=OrderState.in_progress, sub_state=f"awaiting every province's configuration of version {version}")
        await self._in_every_province(
            "configure group tariff package", service.provinces, CrmActivities.configure_group_tariff,
            lambda province, attempt: TariffConfiguration(
                **self._step(province).model_dump(), tariff=tariff, version=version),
            "put the previous tariff version back", CrmActivities.configure_group_tariff,
            lambda province, attempt: TariffConfiguration(
                **self._step(province, attempt).model_dump(), tariff=service.tariff,
                version=service.tariff_version, purpose="restore"),
        )
        await in_store(OrderStoreActivities.record_tariff_version,
                       TariffVersion(service_id=order.service_id, version=version, tariff=tariff),
                       f"record tariff version {version}")
        return await self._complete(f"tariff version {version} configured in {', '.join(service.provinces)}")
