"""Process 8, member-originated changes (slide 31): a member cancelled (销号) or changed (换号)
its number in a provincial CRM, which tells GPMS; GPMS runs the cross-province part.

One long-lived workflow per service receives the CRMs' notifications (signal-with-start) and
applies them one at a time: a cancelled number leaves the VPDN (a member exit); a changed
number's AAA account and HLR subscription move to the new number (the old number exits,
the new one joins and gets its password by SMS). A notification delivered twice is applied
once: by its id here, and by the order numbers derived from it.
"""

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ChildWorkflowError, WorkflowAlreadyStartedError

from workflows.common import STORE_TIMEOUT, failure_text
from workflows.member_exit import MemberExit
from workflows.member_join import MemberJoin

with workflow.unsafe.imports_passed_through():
    from activities.order_store import OrderStoreActivities
    from models import search_attributes
    from models.members import MemberChangesState, MemberNotification, MemberOrder, StagedMembers
    from models.orders import OrderType, workflow_id_for

NOTIFY_SIGNAL = "notify"
SEEN_KEPT = 1000  # notification ids remembered across continue-as-new
PER_RUN = 200  # notifications applied before continuing as new


@workflow.defn
class MemberChanges:
    @workflow.init
    def __init__(self, state: MemberChangesState) -> None:
        self._state = state
        self._seen = set(state.seen)
        self._applied: list[str] = []

    @workflow.run
    async def run(self, state: MemberChangesState) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(state.pending))
            notification = state.pending.pop(0)
            await self._apply(notification)
            state.seen = (state.seen + [notification.notification_id])[-SEEN_KEPT:]
            self._applied.append(notification.notification_id)
            if len(self._applied) >= PER_RUN or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(state)

    @workflow.signal(name=NOTIFY_SIGNAL)
    def notify(self, notification: MemberNotification) -> None:
        """A provincial CRM's notification; one already received is ignored."""
        if notification.notification_id in self._seen:
            return
        self._seen.add(notification.notification_id)
        self._state.pending.append(notification)

    @workflow.query
    def applied(self) -> list[str]:
        """Notification ids applied by this run, oldest first."""
        return self._applied

    async def _apply(self, notification: MemberNotification) -> None:
        workflow.set_current_details(f"applying {notification.kind} notification "
                                     f"{notification.notification_id} from {notification.province}")
        order_no = f"CHG-{notification.notification_id}"
        if notification.kind == "number_cancelled":
            await self._member_order(MemberExit, f"{order_no}-EXIT", notification, [notification.msisdn])
        else:
            await self._member_order(MemberExit, f"{order_no}-OLD", notification, [notification.msisdn])
            await self._member_order(MemberJoin, f"{order_no}-NEW", notification, [notification.new_msisdn])

    async def _member_order(self, workflow_class: type, order_no: str, notification: MemberNotification,
                            msisdns: list[str]) -> None:
        """Stage the members and run the exit or join as a child order (its own audit trail)."""
        state, joining = self._state, workflow_class is MemberJoin
        staged = await workflow.execute_activity_method(
            OrderStoreActivities.stage_members,
            StagedMembers(order_no=order_no, service_id=state.service_id, msisdns=msisdns, joining=joining),
            start_to_close_timeout=STORE_TIMEOUT, summary="stage the member",
        )
        if not staged:
            workflow.logger.info("notification %s: the number is not a member; nothing to do",
                                 notification.notification_id)
            return
        order_type = OrderType.member_join if joining else OrderType.member_exit
        order = MemberOrder(
            order_no=order_no, kind="join" if joining else "exit", service_id=state.service_id,
            customer_code=state.customer_code, apn=state.apn, access_province=state.access_province,
            member_count=staged, requested_by=f"crm-{notification.province}",
            pre_approved_by=f"crm-{notification.province}",
        )
        try:
            await workflow.execute_child_workflow(
                workflow_class.run, order, id=workflow_id_for(order_type, order_no),
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=search_attributes.for_new_order(
                    order_type, state.customer_code, [state.access_province]),
                static_summary=f"{notification.kind} from {notification.province} CRM",
            )
        except WorkflowAlreadyStartedError:
            pass  # applied before (the notification came again after a restart)
        except ChildWorkflowError as error:
            workflow.logger.warning("notification %s: %s failed: %s", notification.notification_id, order_no,
                                    failure_text(error))
