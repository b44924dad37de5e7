"""A repair order: a reconciliation difference put right from GPMS. It runs on its service's
queue like any order on the service and keeps its audit trail. A member's resource: GPMS's
state re-applied for that member through the member step the orders use there; the
service's own (tariff package, work order, line, rental, settlement record): the work order
the orders send, reported complete like theirs. Same activities, idempotency keys from this
order. A removal runs on a closed service too. Nothing to compensate: it only makes the
province agree with GPMS; a refusal fails the order (the difference stays, and the next
night finds it again)."""

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.common import PROVINCE_RETRY, STORE_TIMEOUT
from workflows.service_order_workflow import ServiceOrderWorkflow

with workflow.unsafe.imports_passed_through():
    from activities.aaa import AaaActivities
    from activities.billing import MemberBillingActivities, RentalActivities
    from activities.crm import CrmActivities
    from activities.hlr import HlrActivities
    from activities.line import LineActivities
    from activities.reconciliation import ReconciliationActivities
    from models.members import ItemState, MemberBatch, MemberStep
    from models.orders import OrderState, OrderType
    from models.reconciliation import REMOVALS, RepairOrder, RepairStart
    from models.service import ServiceView
    from models.service_changes import ServiceOrderResult
    from models.service_steps import (
        AccessWorkOrder,
        LineScheduling,
        RentalStart,
        ServiceStep,
        TariffConfiguration,
    )

# The member step of each repair (models.reconciliation.REPAIRS names them).
STEPS = {
    "subscribe_members": HlrActivities.subscribe_members,
    "unsubscribe_members": HlrActivities.unsubscribe_members,
    "create_accounts": AaaActivities.create_accounts,
    "remove_accounts": AaaActivities.remove_accounts,
    "open_members": MemberBillingActivities.open_members,
    "close_members": MemberBillingActivities.close_members,
    "restore_plans": MemberBillingActivities.restore_plans,
}
# The work order of each repair of the service's own holdings.
WORK_ORDERS = {
    "configure_group_tariff": CrmActivities.configure_group_tariff,
    "cancel_group_tariff": CrmActivities.cancel_group_tariff,
    "service_work_order": CrmActivities.service_work_order,
    "cancel_work_order": CrmActivities.cancel_work_order,
    "schedule_line": LineActivities.schedule_line,
    "terminate_line": LineActivities.terminate_line,
    "start_rental": RentalActivities.start_rental,
    "stop_rental": RentalActivities.stop_rental,
    "record_settlement": RentalActivities.record_settlement,
    "cancel_settlement": RentalActivities.cancel_settlement,
}
STEP_TIMEOUT = timedelta(minutes=2)
REPAIR_REFUSED = "RepairRefused"


@workflow.defn
class Repair(ServiceOrderWorkflow):
    order_type = OrderType.repair

    @workflow.init
    def __init__(self, order: RepairOrder) -> None:
        self._setup_service_order(order)

    @workflow.run
    async def run(self, order: RepairOrder) -> ServiceOrderResult:
        return await self._run_order(self._repair())

    async def _repair(self) -> ServiceOrderResult:
        order: RepairOrder = self._order
        service = await self._accept_on_service(("active", "closed") if order.step in REMOVALS else ("active",))
        what = f"{order.step} in {order.province} {order.system}"
        if order.step in WORK_ORDERS:
            await self._repairing(what, f"awaiting {order.province} {order.system}'s completion")
            await self._provinces.run(f"repair {order.resource_kind}", order.province, WORK_ORDERS[order.step],
                                      self._work_order(service))
            return await self._complete(f"{what}: {order.province} {order.system} agrees with GPMS")
        await workflow.execute_activity_method(
            ReconciliationActivities.prepare_repair, RepairStart(order_no=order.order_no, fallout_id=order.fallout_id),
            start_to_close_timeout=STORE_TIMEOUT, summary="the difference's member")
        await self._repairing(what, f"awaiting {order.province} {order.system}")
        step = MemberStep(batch=MemberBatch(order_no=order.order_no, service_id=order.service_id, apn=service.apn,
                                            province=order.province, batch_no=1, home_province=order.province),
                          stage=f"repair_{order.system}", acting_on=ItemState.valid, ok_state=ItemState.done,
                          rental_start=self._rental_start_of(service) if order.step == "open_members" else "")
        outcome = await workflow.execute_activity(
            STEPS[order.step], step, start_to_close_timeout=STEP_TIMEOUT, retry_policy=PROVINCE_RETRY,
            summary=what)
        if outcome.failed:
            raise ApplicationError(f"{order.province} {order.system} refused the repair (see `vpdn order members "
                                   f"{order.order_no}`)", type=REPAIR_REFUSED, non_retryable=True)
        return await self._complete(f"{what}: {order.province} {order.system} agrees with GPMS")

    async def _repairing(self, what: str, sub_state: str) -> None:
        order: RepairOrder = self._order
        await self._tracker.record(f"repairing difference {order.fallout_id}: {what}", state=OrderState.in_progress,
                                   detail=f"{order.resource_kind} {order.problem}: GPMS's state re-applied",
                                   sub_state=sub_state)

    def _work_order(self, service: ServiceView) -> ServiceStep:
        """The work order's argument: GPMS's record of the service (its tariff version, line,
        rental) sent to the difference's province."""
        order: RepairOrder = self._order
        step = self._step(order.province).model_dump()
        if order.step == "configure_group_tariff":
            return TariffConfiguration(**step, tariff=service.tariff, version=service.tariff_version)
        if order.step == "service_work_order":
            return AccessWorkOrder(**step, with_line=service.line is not None)
        if order.step == "schedule_line":
            return LineScheduling(**step, line=service.line)
        if order.step in ("start_rental", "stop_rental", "record_settlement", "cancel_settlement"):
            return RentalStart(**step, start_date=self._rental_start_of(service), rule=service.rental_rule,
                               paying_province=service.paying_province, rental_id=order.rental_id)
        return self._step(order.province)
