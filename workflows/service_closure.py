"""Process 6, service closure (业务关闭). Only a VPDN without members can be closed.

Order accepted → the no-members guard (inside the service's one-order-at-a-time queue) →
business audit → the line's rent-termination order (when there is a line) → the access
CRM's work order withdrawn → group business closure orders: every related province cancels
the group tariff package and reports → the rental stops per the rules, and HQ settlement
is told (off-site payment) → the service `closed`. A failure puts back what was undone.
"""

from temporalio import workflow

from workflows.common import in_store
from workflows.order_workflow import Rejected
from workflows.service_order_workflow import ServiceOrderWorkflow

with workflow.unsafe.imports_passed_through():
    from activities.billing import RentalActivities
    from activities.crm import CrmActivities
    from activities.line import LineActivities
    from activities.order_store import OrderStoreActivities
    from models.orders import OrderState, OrderType
    from models.provinces import HQ
    from models.words import counted
    from models.service import ServiceUpdate, ServiceView
    from models.service_changes import ServiceClosureOrder, ServiceOrderResult
    from models.service_steps import (
        AccessWorkOrder,
        LineScheduling,
        RentalStart,
        TariffConfiguration,
    )


@workflow.defn
class ServiceClosure(ServiceOrderWorkflow):
    order_type = OrderType.service_closure

    @workflow.init
    def __init__(self, order: ServiceClosureOrder) -> None:
        self._setup_service_order(order)

    @workflow.run
    async def run(self, order: ServiceClosureOrder) -> ServiceOrderResult:
        return await self._run_order(self._close())

    async def _close(self) -> ServiceOrderResult:
        order, tracker = self._order, self._tracker
        service = await self._accept_on_active_service()
        members = await in_store(OrderStoreActivities.member_count, order.service_id, "count the members")
        if members:
            raise Rejected(f"service {order.service_id} still has {counted(members, 'member')}: a VPDN can be closed only "
                           f"after every member has left it (vpdn service members {order.service_id})")
        self._saga.add("reopen the service record", lambda attempt: self._record_service(
            ServiceUpdate(service_id=order.service_id, state="active"), "service active again"))
        await self._record_service(ServiceUpdate(service_id=order.service_id, state="closing"), "service closing")
        await self._business_audit(order.pre_approved_by)
        await tracker.record("closure order initiated", state=OrderState.in_progress,
                             sub_state="awaiting the access province's rent termination")
        await self._access_province(service)
        await tracker.record(f"group business closure orders to {len(service.provinces)} provinces",
                             sub_state="awaiting every province's tariff cancellation")
        await self._in_every_province(
            "cancel group tariff package", service.provinces, CrmActivities.cancel_group_tariff,
            lambda province, attempt: self._step(province),
            "configure the group tariff package again", CrmActivities.configure_group_tariff,
            lambda province, attempt: TariffConfiguration(
                **self._step(province, attempt).model_dump(), tariff=service.tariff,
                version=service.tariff_version, purpose="restore"),
        )
        await self._stop_rental(service)
        await self._record_service(ServiceUpdate(service_id=order.service_id, state="closed"), "service closed")
        return await self._complete(f"service {order.service_id} ({service.apn}) closed")

    async def _access_province(self, service: ServiceView) -> None:
        """The line's rent termination (退租) when there is a line, and the access CRM's work
        order withdrawn."""
        access = service.access_province
        if service.line:
            self._saga.add("schedule the line again", lambda attempt: self._provinces.run(
                "schedule the line again", access, LineActivities.schedule_line,
                LineScheduling(**self._step(access, attempt).model_dump(), line=service.line, purpose="restore")))
            await self._provinces.run("line rent termination", access, LineActivities.terminate_line,
                                      self._step(access))
        self._saga.add("access CRM work order again", lambda attempt: self._provinces.run(
            "access CRM work order again", access, CrmActivities.service_work_order,
            AccessWorkOrder(**self._step(access, attempt).model_dump(), with_line=service.line is not None)))
        await self._provinces.run("withdraw access CRM work order", access, CrmActivities.cancel_work_order,
                                  self._step(access))

    async def _stop_rental(self, service: ServiceView) -> None:
        """Rental stops per the rules (按照规则退租); settlement told for off-site payment."""
        if not service.rental_id:
            return
        access = service.access_province
        # Put back, the rental runs from its original date (what stops is the same rental).
        rental = lambda attempt=1: RentalStart(  # noqa: E731
            **self._step(access, attempt).model_dump(), start_date=self._rental_start_of(service),
            rule=service.rental_rule,
            paying_province=service.paying_province, rental_id=service.rental_id)
        self._saga.add("start the rental again", lambda attempt: self._provinces.run(
            "start the rental again", access, RentalActivities.start_rental, rental(attempt)))
        await self._provinces.run("rental stop", access, RentalActivities.stop_rental, rental())
        if service.off_site_payment:
            self._saga.add("tell settlement the rental runs", lambda attempt: self._provinces.run(
                "tell settlement the rental runs", HQ, RentalActivities.record_settlement, rental(attempt)))
            await self._provinces.run("rental stop to HQ settlement", HQ, RentalActivities.cancel_settlement,
                                      rental())
