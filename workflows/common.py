"""What every order workflow shares: the audit trail and status, and the province fan-out."""

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta, timezone
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError, FailureError, RetryState
from temporalio.exceptions import TimeoutError as ActivityTimeout

with workflow.unsafe.imports_passed_through():
    from activities import PROVINCE_REJECTED
    from activities.order_store import MEMBERS_NOT_STAGED, ORDER_NUMBER_IN_USE, OrderStoreActivities
    from models import search_attributes
    from models.orders import (
        TERMINAL_STATES,
        NewOrder,
        OrderEventIn,
        OrderState,
        OrderStatus,
        OrderType,
        StepStatus,
    )
    from telemetry import metrics

T = TypeVar("T")

ORDER_FAILED = "OrderFailed"

GPMS = "gpms"

# The person who submitted an order does not also approve, reject, skip or undo by hand.
FOUR_EYES = "FourEyes"

# Why the order store refuses to record an order: then nothing of it is written.
REFUSED_ORDERS = (ORDER_NUMBER_IN_USE, MEMBERS_NOT_STAGED)

# Dates of rentals are Beijing dates.
BEIJING = timezone(timedelta(hours=8))

STORE_TIMEOUT = timedelta(seconds=30)
# Short order-store steps run as local activities: in the workflow's own task, with no round
# trip through the server (orders started before keep them as activities).
STORE_STEPS_LOCAL = "store-steps-local"

JEOPARDY_ENDS_WITH_THE_ORDER = "jeopardy-ends-with-the-order"
# An audit-trail event that follows an order-store step is written by that step's activity.
AUDIT_EVENT_IN_ITS_STEP = "audit-event-in-its-step"

# An order-store step that can write the audit-trail event following it: (activity, its input
# with an `event` field, summary).
StoreStep = tuple[Callable[..., Any], BaseModel, str]

# A step in these states is what the order waits for.
OPEN_STEP_STATES = ("running", "awaiting report")

# Provinces' systems: transient failures are retried with backoff; a business rejection is final.
PROVINCE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=[PROVINCE_REJECTED],
)


async def fan_out(provinces: Iterable[str], call: Callable[[str], Awaitable[T]]) -> list[T]:
    """Run one step in every province at once; the results come in the provinces' order.
    Every province's step settles before a failure is raised (the first one), so nothing is
    still in flight when compensation starts."""
    outcomes = await asyncio.gather(*(call(province) for province in provinces), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return list(outcomes)


async def in_store(activity: Callable[..., Any], arg: Any, summary: str) -> Any:
    """A short order-store step (one transaction, idempotent by its key) with no retry policy of
    its own: a local activity, retried by the default policy until it succeeds or fails for good
    (its failure raised as an activity's is, an ActivityError caused by what the store said)."""
    if not workflow.patched(STORE_STEPS_LOCAL):
        return await workflow.execute_activity_method(activity, arg, start_to_close_timeout=STORE_TIMEOUT,
                                                      summary=summary)
    return await run_local(activity, arg, summary, start_to_close_timeout=STORE_TIMEOUT)


async def run_local(activity: Callable[..., Any], arg: Any, summary: str, **options: Any) -> Any:
    """A local activity (no round trip through the server: its result is one marker in the
    history), its failure raised as an activity's is: an ActivityError caused by what it
    raised (a local activity's failure, a timeout or a cancellation, comes unwrapped)."""
    try:
        return await workflow.execute_local_activity_method(activity, arg, summary=summary, **options)
    except FailureError as failure:
        if isinstance(failure, ActivityError):
            raise
        retry_state = RetryState.TIMEOUT if isinstance(failure, ActivityTimeout) else RetryState.NON_RETRYABLE_FAILURE
        raise ActivityError(f"{summary}: {failure.message}", scheduled_event_id=0, started_event_id=0, identity="",
                            activity_type=activity.__name__, activity_id="", retry_state=retry_state) from failure


def count(metric: str, **labels: str) -> None:
    """Add one to one of the orders' metrics (nothing is counted while a history replays)."""
    workflow.metric_meter().create_counter(metric).add(1, labels)


def four_eyes(order_no: str, requested_by: str, by: str, what: str) -> None:
    """Refuse (in an update's validator) a decision of the person who submitted the order."""
    if by.strip().casefold() == requested_by.strip().casefold():
        raise ApplicationError(f"four eyes: {by} submitted order {order_no}, so another person {what}",
                               type=FOUR_EYES, non_retryable=True)


def where_text(provinces: list[str]) -> str:
    """Provinces as an operator reads them: a few by name, many by count."""
    named = [p for p in provinces if p]
    return ", ".join(named) if len(named) <= 5 else f"{len(named)} provinces"


def failure_text(error: BaseException) -> str:
    """The innermost cause of a failure, in words an operator can read."""
    while isinstance(error, (ActivityError, ChildWorkflowError)) and error.cause is not None:
        error = error.cause
    return error.message if isinstance(error, FailureError) else str(error)


class OrderTracker:
    """Keeps an order's audit trail (order store), its `status` view, its state search
    attribute and the current-details panel of the Temporal UI in step."""

    def __init__(self, order_no: str, order_type: OrderType) -> None:
        self.status = OrderStatus(
            order_no=order_no, order_type=order_type, state=OrderState.acknowledged
        )
        # The order's final state is being recorded: it takes no cancellation any more.
        self.ending = False
        # The order store refused the order (its number is another order's): its audit
        # trail is not this order's to write.
        self._refused = False

    async def accept(self, order: NewOrder) -> None:
        try:
            await in_store(OrderStoreActivities.record_order, order, "order accepted")
        except ActivityError as error:
            self._refused = isinstance(error.cause, ApplicationError) and error.cause.type in REFUSED_ORDERS
            raise
        count(metrics.ORDERS_STARTED, order_type=self.status.order_type)
        self._show("order accepted")

    async def record(
        self,
        event: str,
        *,
        state: OrderState | None = None,
        sub_state: str | None = None,
        detail: str = "",
        actor: str = GPMS,
        after: StoreStep | None = None,
    ) -> None:
        """Write one audit-trail event; with `state`, the order moves (transition table);
        with `sub_state`, what it waits for changes. Without one, an order in progress waits
        for the steps open now (so it never names a step already done); in any other new
        state, for nothing. With `after`, that order-store step runs first, and its activity
        writes the event too (one round trip, not two)."""
        if sub_state is None and (state or self.status.state) == OrderState.in_progress:
            sub_state = self.open_steps()
        elif state is not None and sub_state is None:
            sub_state = ""
        if state in TERMINAL_STATES:
            self.ending = True
            if self.status.jeopardy:  # an ended order waits for no report
                for _ in self.status.jeopardy:
                    count(metrics.JEOPARDY_CLEARED, order_type=self.status.order_type)
                self.status.jeopardy.clear()
                if workflow.patched(JEOPARDY_ENDS_WITH_THE_ORDER):
                    self._upsert(search_attributes.JEOPARDY.value_set(False))
        written = OrderEventIn(order_no=self.status.order_no, actor=actor, event=event, detail=detail, state=state,
                               sub_state=sub_state)
        folded = after is not None and not self._refused and workflow.patched(AUDIT_EVENT_IN_ITS_STEP)
        if after is not None:
            activity, arg, summary = after
            await in_store(activity, arg.model_copy(update={"event": written}) if folded else arg, summary)
        if self._refused:
            workflow.logger.info("order %s was refused by the order store: %s not recorded", self.status.order_no,
                                 event)
            return
        if not folded:
            await in_store(OrderStoreActivities.record_order_event, written, event)
        if sub_state is not None:
            self.status.sub_state = sub_state
        if state is not None:
            self.status.state = state
            self._upsert(search_attributes.ORDER_STATE.value_set(state))
            if state in TERMINAL_STATES:
                count(metrics.ORDERS_ENDED, order_type=self.status.order_type, state=state)
        self._show(f"{event}: {detail}" if detail else event)

    async def note(self, event: str, **fields) -> None:
        """`record`, except that a failed audit write is logged rather than raised: what the
        order must still do (its compensation) never depends on the audit trail."""
        try:
            await self.record(event, **fields)
        except ActivityError as error:
            workflow.logger.warning("order %s: audit trail not written (%s): %s", self.status.order_no, event,
                                    failure_text(error))
            if fields.get("state") is not None:  # the order itself moves on all the same
                self.status.state, self.status.sub_state = fields["state"], fields.get("sub_state") or ""

    async def fail(self, event: str, error: Exception) -> ApplicationError:
        """Record the order `failed` with its cause; returns the error for the workflow to raise."""
        cause = failure_text(error)
        await self.record(event, state=OrderState.failed, detail=cause)
        if isinstance(error, ApplicationError):
            return error
        return ApplicationError(f"{event}: {cause}", type=ORDER_FAILED, non_retryable=True)

    async def jeopardy(self, what: str, *, overdue: bool) -> None:
        """Flag (or clear) a completion report that is past its SLA: status, search attribute
        and audit trail."""
        if overdue:
            self.status.jeopardy.append(what)
        else:
            self.status.jeopardy.remove(what)
        count(metrics.JEOPARDY_ENTERED if overdue else metrics.JEOPARDY_CLEARED, order_type=self.status.order_type)
        self._upsert(search_attributes.JEOPARDY.value_set(bool(self.status.jeopardy)))
        await self.record(f"in jeopardy: {what} is overdue" if overdue else f"late report received: {what}")

    @staticmethod
    def _upsert(update: SearchAttributeUpdate) -> None:
        """Keep an operator search attribute current, if the order was started with it (a
        server without the project's attributes, such as the time-skipping test server,
        starts orders without them)."""
        if update.key in workflow.info().typed_search_attributes:
            workflow.upsert_search_attributes([update])

    def open_steps(self) -> str:
        """The steps running or awaiting a report now, by name with their provinces."""
        provinces: dict[str, list[str]] = {}
        for step in self.status.steps:
            if step.state in OPEN_STEP_STATES:
                provinces.setdefault(step.name, []).append(step.province or "")
        return "; ".join(f"{name} in {where_text(where)}" if any(where) else name
                         for name, where in provinces.items())

    def view(self) -> OrderStatus:
        """The `status` view: in progress, what it waits for is the steps open at this moment."""
        if self.status.state != OrderState.in_progress or not (open_now := self.open_steps()):
            return self.status
        return self.status.model_copy(update={"sub_state": open_now})

    def step(self, name: str, province: str | None = None) -> StepStatus:
        """A step starts; a failed one started again is the same step, one attempt more
        (the status shows its final outcome, not every attempt)."""
        again = next((s for s in reversed(self.status.steps) if (s.name, s.province) == (name, province)), None)
        if again is not None and again.state == "failed":
            again.state, again.attempts = "running", again.attempts + 1
            again.detail = f"attempt {again.attempts - 1} failed: {again.detail}"
            return again
        step = StepStatus(name=name, province=province)
        self.status.steps.append(step)
        return step

    def find_step(self, name: str, province: str | None) -> StepStatus:
        """The latest step of that name in that province."""
        return next(s for s in reversed(self.status.steps) if (s.name, s.province) == (name, province))

    def _show(self, latest: str) -> None:
        status = self.status
        waiting = f" — {status.sub_state}" if status.sub_state else ""
        workflow.set_current_details(
            f"**{status.order_type} {status.order_no}**: {status.state}{waiting}\n\n"
            f"Latest: {latest} (at {workflow.now():%Y-%m-%d %H:%M:%S} UTC)"
        )
