"""Process 8, member-originated changes (slide 31): a member cancelled (销号) or changed (换号)
its number in a provincial CRM, which tells GPMS; GPMS runs the cross-province part.

One long-lived workflow per service receives the CRMs' notifications (signal-with-start,
the id of a notification the intake stored: never a number) and takes them one at a time.
Each is checked first (the service is active, the old number is an active member, the
notifying province is its home province, a new number is valid in its home CRM); one that
fails a check is recorded refused with the reason and starts nothing. The orders it causes
(a cancelled number exits; a changed number's old number exits and the new one joins and
gets its password by SMS) are queued on the service's one-order-at-a-time queue like every
other order. A notification delivered twice is taken once: by its id here, and by the
order numbers derived from it (MCH-<id>-EXIT, MCH-<id>-OLD, MCH-<id>-NEW).
"""

from datetime import timedelta

from temporalio import workflow

from workflows.common import PROVINCE_RETRY

with workflow.unsafe.imports_passed_through():
    from activities.member_changes import MemberChangeActivities
    from models.member_changes import MemberChangesState, NotificationCheck, NotificationRef, QueuedChange

NOTIFY_SIGNAL = "notify"
SEEN_KEPT = 1000  # notification ids remembered across continue-as-new
PER_RUN = 200  # notifications taken before continuing as new
STEP_TIMEOUT = timedelta(minutes=2)


@workflow.defn
class MemberChanges:
    @workflow.init
    def __init__(self, state: MemberChangesState) -> None:
        self._state = state
        self._seen = set(state.seen) | set(state.pending)
        self._applied: list[str] = []

    @workflow.run
    async def run(self, state: MemberChangesState) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(state.pending))
            notification_id = state.pending[0]
            await self._take(notification_id)
            state.pending.pop(0)
            state.seen = (state.seen + [notification_id])[-SEEN_KEPT:]
            self._applied.append(notification_id)
            if len(self._applied) >= PER_RUN or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(state)

    @workflow.signal(name=NOTIFY_SIGNAL)
    def notify(self, ref: NotificationRef) -> None:
        """A provincial CRM's notification, by id; one already received is ignored."""
        if ref.notification_id in self._seen:
            return
        self._seen.add(ref.notification_id)
        self._state.pending.append(ref.notification_id)

    @workflow.query
    def applied(self) -> list[str]:
        """Notification ids taken by this run (checked, and queued or refused), oldest first."""
        return self._applied

    async def _take(self, notification_id: str) -> None:
        workflow.set_current_details(f"checking notification {notification_id}")
        check: NotificationCheck = await workflow.execute_activity_method(
            MemberChangeActivities.check_notification, notification_id, start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=PROVINCE_RETRY, summary=f"check notification {notification_id}")
        if check.refused:
            workflow.logger.info("notification %s refused: %s", notification_id, check.refused)
            return
        for order in check.orders:
            queued = await workflow.execute_activity_method(
                MemberChangeActivities.queue_order, QueuedChange(notification_id=notification_id, order=order),
                start_to_close_timeout=STEP_TIMEOUT, retry_policy=PROVINCE_RETRY,
                summary=f"queue order {order.order_no}")
            if not queued:
                workflow.logger.info("notification %s: order %s refused by the service", notification_id,
                                     order.order_no)
                return
