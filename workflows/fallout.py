"""Fallout: a step that failed for good goes, by the fallout policy, to an automatic retry,
to compensation, to being skipped, or to `held` — a fallout record on the worklist — until
a person decides (retry, skip, compensate) or its deadline passes and the order compensates."""

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

from workflows.common import STORE_TIMEOUT, OrderTracker, count, failure_text, four_eyes

with workflow.unsafe.imports_passed_through():
    from telemetry import metrics
    from activities.fallout import FalloutActivities
    from models.fallout import DEADLINE_CODE, Fallout, FalloutAction, FalloutDecision, StepFailure
    from models.orders import OrderState

AUTOMATIC = "gpms"


def failure_facts(error: BaseException) -> tuple[str, str]:
    """The system and error code of a failed step, from the province's rejection details."""
    while isinstance(error, ActivityError) and error.cause is not None:
        error = error.cause
    if isinstance(error, ApplicationError):
        if error.details and isinstance(error.details[0], dict):
            return error.details[0].get("system", "unknown"), error.details[0].get("code", "unknown")
        if error.type == "ReportDeadlinePassed":
            return "report", DEADLINE_CODE
        return "gpms", error.type or "unknown"
    return "unknown", type(error).__name__ if not isinstance(error, FailureError) else "unknown"


class Fallouts:
    """An order's fallouts; at most one is open at a time (the order is held on it)."""

    def __init__(self, tracker: OrderTracker, requested_by: str) -> None:
        self._tracker = tracker
        self._requested_by = requested_by
        self._retries: dict[tuple[str, str], int] = {}
        self._count = 0
        self.open: Fallout | None = None
        self.decision: FalloutDecision | None = None

    async def decide(self, step: str, province: str, error: BaseException, can_skip: bool) -> str:
        """What to do with a step that failed for good: retry, skip or compensate (the
        caller raises). Holding waits here for the person or the deadline."""
        status = self._tracker.status
        system, code = failure_facts(error)
        failure = StepFailure(order_no=status.order_no, order_type=status.order_type, step=step,
                              province=province, system=system, code=code, text=failure_text(error))
        rule = await workflow.execute_activity_method(
            FalloutActivities.fallout_rule, failure, start_to_close_timeout=STORE_TIMEOUT,
            summary=f"fallout policy for {step} ({province})")
        tried = self._retries.get((step, province), 0)
        if rule.action == FalloutAction.retry and tried < rule.retries:
            self._retries[(step, province)] = tried + 1
            await self._tracker.record(f"retrying {step} in {province} ({tried + 1} of {rule.retries})",
                                       detail=failure.text)
            return "retry"
        if rule.action == FalloutAction.compensate or (rule.action == FalloutAction.skip and not can_skip):
            return "compensate"
        if rule.action == FalloutAction.skip:
            await self._tracker.record(f"skipped {step} in {province}", detail=f"{failure.text} ({rule.why})")
            return "skip"
        return await self._hold(failure, rule.hold_for, can_skip)

    async def _hold(self, failure: StepFailure, hold_for, can_skip: bool) -> str:
        self._count += 1
        fallout = Fallout(**failure.model_dump(), fallout_id=f"{failure.order_no}-F{self._count}",
                          allowed=["retry", "skip", "compensate"] if can_skip else ["retry", "compensate"],
                          deadline=workflow.now() + hold_for)
        # A person may decide as soon as the fallout is on the worklist: it is open here first.
        self.open, self.decision = fallout, None
        previous = (self._tracker.status.state, self._tracker.status.sub_state)
        await workflow.execute_activity_method(FalloutActivities.open_fallout, fallout,
                                               start_to_close_timeout=STORE_TIMEOUT, summary="open fallout")
        order_type = self._tracker.status.order_type
        count(metrics.FALLOUTS_OPENED, order_type=order_type, step=failure.step, province=failure.province)
        await self._tracker.record(
            f"held: fallout {fallout.fallout_id}", state=OrderState.held,
            sub_state=f"fallout {fallout.fallout_id}: {failure.step} in {failure.province} — {failure.text}",
            detail=f"allowed: {', '.join(fallout.allowed)}; compensates by itself at {fallout.deadline:%Y-%m-%d %H:%M} UTC")
        try:
            await workflow.wait_condition(lambda: self.decision is not None, timeout=hold_for,
                                          timeout_summary=f"fallout deadline: {fallout.fallout_id}")
        except TimeoutError:
            self.decision = FalloutDecision(fallout_id=fallout.fallout_id, action="compensate", by=AUTOMATIC,
                                            reason="the fallout deadline passed")
        decision, self.open = self.decision, None
        await workflow.execute_activity_method(FalloutActivities.resolve_fallout, decision,
                                               start_to_close_timeout=STORE_TIMEOUT, summary="resolve fallout")
        count(metrics.FALLOUTS_RESOLVED, order_type=order_type, action=decision.action)
        await self._tracker.record(f"fallout {fallout.fallout_id} resolved: {decision.action}",
                                   state=OrderState.in_progress, sub_state=previous[1], actor=decision.by,
                                   detail=decision.reason)
        return decision.action

    def validate(self, decision: FalloutDecision) -> None:
        """Refuse a decision on a fallout that is not the open one, an action it does not
        allow, or a skip by the person who submitted the order."""
        if self.open is None or self.open.fallout_id != decision.fallout_id or self.decision is not None:
            raise ValueError(f"fallout {decision.fallout_id} is not open on order {self._tracker.status.order_no}")
        if decision.action not in self.open.allowed:
            raise ValueError(f"{decision.action} is not allowed for fallout {decision.fallout_id} "
                             f"({self.open.step}): allowed are {', '.join(self.open.allowed)}")
        if decision.action == "skip":
            four_eyes(self._tracker.status.order_no, self._requested_by, decision.by,
                      f"decides to skip {self.open.step} ({self.open.province})")
