"""One order at a time per service: a long-lived workflow per VPDN service queues the orders
that touch it (tariff change, service change, closure, member join, exit and plan change, repair) and runs them
one after the other, each as its own order workflow (a child).

Orders arrive by update-with-start, so the person submitting learns at once whether the
order was queued and behind which order it waits. After a closure is accepted the service
takes no further order; once it completed, the service is closed and this workflow ends.
"""

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ChildWorkflowError, WorkflowAlreadyStartedError

from workflows.common import AUDIT_EVENT_IN_ITS_STEP, failure_text, in_store
from workflows.member_exit import MemberExit
from workflows.member_join import MemberJoin
from workflows.member_plan_change import MemberPlanChange
from workflows.repair import Repair
from workflows.service_change import ServiceChange
from workflows.service_closure import ServiceClosure
from workflows.tariff_change import TariffChange

with workflow.unsafe.imports_passed_through():
    from activities.order_store import OrderStoreActivities
    from models import search_attributes
    from models.orders import NewOrder, OrderEventIn, OrderState, OrderType, workflow_id_for
    from models.service_orders import ServiceOrdersState, Submission, SubmissionAnswer
    from models.ui_metadata import order_metadata

# Each kind of queued order: its type and its workflow.
ORDER_KINDS = {
    "tariff_change": (OrderType.tariff_change, TariffChange),
    "service_change": (OrderType.service_change, ServiceChange),
    "service_closure": (OrderType.service_closure, ServiceClosure),
    "join": (OrderType.member_join, MemberJoin),
    "exit": (OrderType.member_exit, MemberExit),
    "plan_change": (OrderType.member_plan_change, MemberPlanChange),
    "repair": (OrderType.repair, Repair),
}
PER_RUN = 100  # orders run before continuing as new
PATCH_ASKED_ALWAYS = "queue-patch-asked-always"


@workflow.defn
class ServiceOrders:
    @workflow.init
    def __init__(self, state: ServiceOrdersState) -> None:
        self._state = state
        self._recording = 0  # submissions being recorded (their update handler is running)

    @workflow.run
    async def run(self, state: ServiceOrdersState) -> str:
        ran = 0
        while True:
            await workflow.wait_condition(lambda: bool(state.queue))
            submission = state.queue[0]
            closed = await self._run_order(submission)
            state.queue.pop(0)
            state.handled += 1
            ran += 1
            if closed:
                await workflow.wait_condition(lambda: self._recording == 0)
                return f"service {state.service_id} closed by order {submission.order.order_no}"
            if ran >= PER_RUN or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(lambda: self._recording == 0 and workflow.all_handlers_finished())
                workflow.continue_as_new(state)

    async def _run_order(self, submission: Submission) -> bool:
        """Run one queued order to its end; True when it closed the service."""
        order = submission.order
        order_type, workflow_class = ORDER_KINDS[order.kind]
        self._show()
        # What the Temporal UI shows of the order (user metadata: no replayed command depends on it).
        metadata = order_metadata(order_type, order.order_no, order.customer_code, order.provinces, apn=order.apn,
                                  service_id=order.service_id, requested_by=order.requested_by)
        try:
            result = await workflow.execute_child_workflow(
                workflow_class.run, order, id=workflow_id_for(order_type, order.order_no),
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=search_attributes.for_new_order(order_type, order.customer_code, order.provinces),
                static_summary=metadata.summary, static_details=metadata.details,
            )
        except WorkflowAlreadyStartedError:
            return False  # it ran before this workflow continued as new
        except ChildWorkflowError as error:
            workflow.logger.info("order %s ended: %s", order.order_no, failure_text(error))
            if order.kind == "service_closure":
                self._state.closure = None  # the service stays open: orders are taken again
            return False
        return order.kind == "service_closure" and result.state == OrderState.completed

    @workflow.update
    async def submit(self, submission: Submission) -> SubmissionAnswer:
        """Queue an order. It is recorded (acknowledged, waiting behind the order ahead of
        it) before it can start, so `vpdn order status` finds it at once."""
        state, order = self._state, submission.order
        order_type, _ = ORDER_KINDS[order.kind]
        if order.kind == "service_closure":
            state.closure = order.order_no
        ahead = state.queue[-1].order.order_no if state.queue else None
        self._recording += 1
        try:
            new_order = NewOrder(
                order_no=order.order_no, order_type=order_type,
                workflow_id=workflow_id_for(order_type, order.order_no), customer_code=order.customer_code,
                requested_by=order.requested_by, service_id=state.service_id, provinces=order.provinces)
            queued = OrderEventIn(order_no=order.order_no, actor="gpms", event=f"queued behind order {ahead}",
                                  state=OrderState.acknowledged, sub_state=f"waiting behind {ahead}") if ahead else None
            # A worker without this service cached can get an order's end with this update, the
            # update first: `ahead` then names an order that ended, and on replay it does not.
            # So the patch is asked whatever `ahead` says (since PATCH_ASKED_ALWAYS).
            folded = workflow.patched(PATCH_ASKED_ALWAYS) and workflow.patched(AUDIT_EVENT_IN_ITS_STEP)
            if queued and not (folded or workflow.patched(AUDIT_EVENT_IN_ITS_STEP)):
                await in_store(OrderStoreActivities.record_order, new_order, f"queue order {order.order_no}")
                await in_store(OrderStoreActivities.record_order_event, queued,
                               f"order {order.order_no} waits behind {ahead}")
            else:  # the order and its place in the queue in one step
                await in_store(OrderStoreActivities.record_order, new_order.model_copy(update={"event": queued}),
                               f"queue order {order.order_no}")
            state.queue.append(submission)
        finally:
            self._recording -= 1
        self._show()
        return SubmissionAnswer(order_no=order.order_no, position=len(state.queue) - 1, waiting_behind=ahead)

    @submit.validator
    def _validate_submit(self, submission: Submission) -> None:
        state, order = self._state, submission.order
        if state.closure:
            raise ValueError(f"service {state.service_id} is being closed by order {state.closure}: "
                             "it accepts no further orders")
        if any(queued.order.order_no == order.order_no for queued in state.queue):
            raise ValueError(f"order {order.order_no} is already queued")
        if order.service_id != state.service_id:
            raise ValueError(f"order {order.order_no} is for service {order.service_id}, not {state.service_id}")

    @workflow.query
    def queue(self) -> list[str]:
        """The orders of the service, running first, then waiting in their order."""
        return [submission.order.order_no for submission in self._state.queue]

    def _show(self) -> None:
        queue = self.queue()
        workflow.set_current_details(
            f"**service {self._state.service_id}**: "
            + (f"running {queue[0]}" + (f", waiting: {', '.join(queue[1:])}" if queue[1:] else "")
               if queue else "no order running")
            + (f"\n\nclosure accepted: {self._state.closure}" if self._state.closure else ""))
