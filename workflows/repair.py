"""A repair order: a reconciliation difference put right from GPMS. It runs on its service's
queue like any order on the service, re-applies GPMS's state for one member in one
province's system through the member step the orders use there (the same activity, its
idempotency key from this order), and keeps its audit trail. Nothing to compensate: it
only makes the province agree with GPMS; a refusal fails the order (the difference stays,
and the next night finds it again)."""

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.common import PROVINCE_RETRY, STORE_TIMEOUT
from workflows.order_workflow import ServiceOrderWorkflow

with workflow.unsafe.imports_passed_through():
    from activities.aaa import AaaActivities
    from activities.billing import MemberBillingActivities
    from activities.hlr import HlrActivities
    from activities.reconciliation import ReconciliationActivities
    from models.members import ItemState, MemberBatch, MemberStep
    from models.orders import OrderState, OrderType
    from models.reconciliation import RepairOrder, RepairStart
    from models.service import ServiceOrderResult

# The member step of each repair (models.reconciliation.REPAIRS names them).
STEPS = {
    "subscribe_members": HlrActivities.subscribe_members,
    "unsubscribe_members": HlrActivities.unsubscribe_members,
    "create_accounts": AaaActivities.create_accounts,
    "remove_accounts": AaaActivities.remove_accounts,
    "close_members": MemberBillingActivities.close_members,
    "restore_plans": MemberBillingActivities.restore_plans,
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
        service = await self._accept_on_active_service()
        await workflow.execute_activity_method(
            ReconciliationActivities.prepare_repair, RepairStart(order_no=order.order_no, fallout_id=order.fallout_id),
            start_to_close_timeout=STORE_TIMEOUT, summary="the difference's member")
        what = f"{order.step} in {order.province} {order.system}"
        await self._tracker.record(f"repairing difference {order.fallout_id}: {what}", state=OrderState.in_progress,
                                   detail=f"{order.resource_kind} {order.problem}: GPMS's state re-applied",
                                   sub_state=f"awaiting {order.province} {order.system}")
        step = MemberStep(batch=MemberBatch(order_no=order.order_no, service_id=order.service_id, apn=service.apn,
                                            province=order.province, batch_no=1, home_province=order.province),
                          stage=f"repair_{order.system}", acting_on=ItemState.valid, ok_state=ItemState.done)
        outcome = await workflow.execute_activity(
            STEPS[order.step], step, start_to_close_timeout=STEP_TIMEOUT, retry_policy=PROVINCE_RETRY,
            summary=what)
        if outcome.failed:
            raise ApplicationError(f"{order.province} {order.system} refused the repair (see `vpdn order members "
                                   f"{order.order_no}`)", type=REPAIR_REFUSED, non_retryable=True)
        return await self._complete(f"{what}: {order.province} {order.system} agrees with GPMS")
