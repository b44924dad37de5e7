"""Process 5, service change (业务变更): the dedicated line, the related provinces, the payer.

A line change: the access CRM's work order and the line center's scheduling order for the
changed line, their completions; the customer confirms the rental start when the order asks
for it; the new line rental starts (HQ settlement told for off-site payment) and the old one
stops the same day. A change of provinces or payer: provinces that join get the group
tariff package configured, every province gets the service-change info, provinces that
leave cancel the package, settlement learns the new payer. A failure undoes what was done.
"""

from temporalio import workflow

from workflows.common import BEIJING
from workflows.order_workflow import Rejected
from workflows.service_order_workflow import ServiceOrderWorkflow

with workflow.unsafe.imports_passed_through():
    from activities.billing import RentalActivities
    from activities.crm import CrmActivities
    from activities.line import LineActivities
    from models.orders import OrderState, OrderType
    from models.provinces import HQ
    from models.service import ServiceUpdate, ServiceView
    from models.service_changes import ServiceChangeOrder, ServiceOrderResult
    from models.service_steps import (
        AccessWorkOrder,
        LineScheduling,
        RentalStart,
        TariffConfiguration,
    )


@workflow.defn
class ServiceChange(ServiceOrderWorkflow):
    order_type = OrderType.service_change

    @workflow.init
    def __init__(self, order: ServiceChangeOrder) -> None:
        self._setup_service_order(order)

    @workflow.run
    async def run(self, order: ServiceChangeOrder) -> ServiceOrderResult:
        return await self._run_order(self._change())

    async def _change(self) -> ServiceOrderResult:
        order, change = self._order, self._order.change
        service = await self._accept_on_active_service()
        provinces = service.provinces if change.provinces is None else change.provinces
        payer = change.paying_province or service.paying_province
        if service.access_province not in provinces:
            raise Rejected(f"the access province {service.access_province} must stay a related province")
        if (change.line in (None, service.line) and provinces == service.provinces
                and payer == service.paying_province):
            raise Rejected("the change changes nothing: line, provinces and payer are already so")
        await self._business_audit(order.pre_approved_by)
        await self._tracker.record("service change initiated", state=OrderState.in_progress,
                                   sub_state="awaiting the provinces' completions")
        rental_id, rental_start = service.rental_id, service.rental_start
        if change.line and change.line != service.line:
            rental_id, rental_start = await self._change_line(service)
        joining = [p for p in provinces if p not in service.provinces]
        leaving = [p for p in service.provinces if p not in provinces]
        if joining:
            await self._in_every_province(
                "configure group tariff package", joining, CrmActivities.configure_group_tariff,
                lambda province, attempt: TariffConfiguration(
                    **self._step(province).model_dump(), tariff=service.tariff, version=service.tariff_version),
                "cancel the group tariff package", CrmActivities.cancel_group_tariff, self._step)
        if joining or leaving or payer != service.paying_province:
            await self._provinces.in_every_province(
                "service change info", sorted({*service.provinces, *provinces}), lambda province: self._provinces.run(
                    "service change info", province, CrmActivities.service_change_sync, self._step(province)))
        if payer != service.paying_province and rental_id and rental_id == service.rental_id:
            await self._tell_settlement(service, payer, rental_id)  # a changed line's rental told it already
        # What ends comes last, so that nothing after it can fail and need it back: the
        # replaced line's rental, and the leaving provinces' packages.
        if rental_id != service.rental_id and service.rental_id:
            await self._stop_old_rental(service)
        await self._provinces.in_every_province(
            "cancel group tariff package", leaving, lambda province: self._provinces.run(
                "cancel group tariff package", province, CrmActivities.cancel_group_tariff, self._step(province)))
        await self._record_service(
            ServiceUpdate(service_id=order.service_id, line=change.line, provinces=provinces, paying_province=payer,
                          rental_id=rental_id, rental_start=rental_start), "record the changed service")
        return await self._complete(
            f"line {change.line or service.line}, provinces {', '.join(provinces)}, paid by {payer}")

    async def _change_line(self, service: ServiceView) -> tuple[str, str]:
        """The access CRM's work order and the changed line's scheduling; then the new line
        rental starts (after the customer confirms, when asked) and the old one stops."""
        order, access = self._order, service.access_province

        async def change_line() -> None:
            if service.line:
                self._saga.add("put the previous line back", lambda attempt: self._provinces.run(
                    "put the previous line back", access, LineActivities.schedule_line,
                    LineScheduling(**self._step(access, attempt).model_dump(), line=service.line,
                                   purpose="restore")))
            else:
                self._saga.add("cancel the line scheduling", lambda attempt: self._provinces.run(
                    "cancel line scheduling", access, LineActivities.cancel_line, self._step(access, attempt)))
            await self._provinces.run("dedicated-line change", access, LineActivities.schedule_line, LineScheduling(
                **self._step(access).model_dump(), line=order.change.line, purpose="change"))

        await self._provinces.run("access CRM work order", access, CrmActivities.service_work_order,
                                  AccessWorkOrder(**self._step(access).model_dump(), with_line=True),
                                  meanwhile=change_line)
        if order.change.confirm_rental:
            await self._customer_confirms_rental()
        today = workflow.now().astimezone(BEIJING).date().isoformat()
        rental_id = f"{order.service_id}:rental:{order.order_no}"
        payer = order.change.paying_province or service.paying_province
        await self._rental_starts(lambda attempt=1: RentalStart(
            **self._step(access, attempt).model_dump(), start_date=today, rule=service.rental_rule,
            paying_province=payer, rental_id=rental_id), payer != access)
        return rental_id, today

    async def _stop_old_rental(self, service: ServiceView) -> None:
        """The replaced line's rental stops the same day (and at HQ settlement)."""
        access = service.access_province
        old = RentalStart(**self._step(access).model_dump(), rule=service.rental_rule,
                          paying_province=service.paying_province, rental_id=service.rental_id,
                          start_date=workflow.now().astimezone(BEIJING).date().isoformat())
        await self._provinces.run("old rental stop", access, RentalActivities.stop_rental, old)
        if service.off_site_payment:
            await self._provinces.run("old rental stop to HQ settlement", HQ, RentalActivities.cancel_settlement, old)

    async def _tell_settlement(self, service: ServiceView, payer: str, rental_id: str) -> None:
        """Off-site payment (异地付费) starts, moves or ends: HQ settlement learns the payer."""
        access = service.access_province
        rental = RentalStart(**self._step(access).model_dump(), rule=service.rental_rule, paying_province=payer,
                             rental_id=rental_id, start_date=self._rental_start_of(service))
        if payer == access:
            await self._provinces.run("off-site payment ends at HQ settlement", HQ,
                                      RentalActivities.cancel_settlement, rental)
        else:
            await self._provinces.run("new payer to HQ settlement", HQ, RentalActivities.record_settlement, rental)
