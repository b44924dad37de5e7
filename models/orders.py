"""Order life cycle (TM Forum TMF641 states), order types and the audit-trail messages."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field


# A business order number: ASCII letters, digits and `_.-`, at most 64 characters. It is
# unique across every order type (the intake and the order store both refuse a reused one).
OrderNo = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]

# Orders GPMS starts itself for a member's own number change (换号/销号): MCH-<notification>-….
MEMBER_CHANGE_PREFIX = "MCH-"


class OrderType(StrEnum):
    customer_acquisition = "customer_acquisition"
    service_opening = "service_opening"
    member_join = "member_join"
    member_exit = "member_exit"
    member_plan_change = "member_plan_change"
    tariff_change = "tariff_change"
    service_change = "service_change"
    service_closure = "service_closure"
    repair = "repair"  # a reconciliation difference repaired from GPMS


# The orders that carry members (their items in the order store).
MEMBER_ORDER_TYPES = (OrderType.member_join, OrderType.member_exit, OrderType.member_plan_change)


# Workflow ids are derived from the business order number, one prefix per order type.
WORKFLOW_ID_PREFIX: dict[OrderType, str] = {
    OrderType.customer_acquisition: "vpdn-acquire",
    OrderType.service_opening: "vpdn-open",
    OrderType.member_join: "vpdn-join",
    OrderType.member_exit: "vpdn-exit",
    OrderType.member_plan_change: "vpdn-plan",
    OrderType.tariff_change: "vpdn-tariff",
    OrderType.service_change: "vpdn-change",
    OrderType.service_closure: "vpdn-close",
    OrderType.repair: "vpdn-repair",
}



def workflow_id_for(order_type: OrderType, order_no: str) -> str:
    return f"{WORKFLOW_ID_PREFIX[order_type]}-{order_no}"


def service_orders_workflow_id(service_id: str) -> str:
    """The long-lived workflow per service that runs its orders one at a time."""
    return f"vpdn-service-{service_id}"


def member_changes_workflow_id(service_id: str) -> str:
    """The long-lived workflow per service that applies members' own number changes."""
    return f"vpdn-member-changes-{service_id}"


class OrderState(StrEnum):
    acknowledged = "acknowledged"
    rejected = "rejected"
    pending = "pending"  # waits for a person or the customer (audit, confirmation)
    held = "held"  # fallout: a person must decide
    in_progress = "in_progress"
    completed = "completed"
    partial = "partial"
    failed = "failed"
    cancelled = "cancelled"


TERMINAL_STATES = frozenset(
    {OrderState.rejected, OrderState.completed, OrderState.partial, OrderState.failed,
     OrderState.cancelled}
)

# The one transition table: from each state, the states an order may move to.
TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    OrderState.acknowledged: frozenset(
        {OrderState.pending, OrderState.in_progress, OrderState.rejected, OrderState.failed,
         OrderState.cancelled}
    ),
    OrderState.pending: frozenset(
        {OrderState.in_progress, OrderState.rejected, OrderState.failed, OrderState.cancelled}
    ),
    OrderState.in_progress: frozenset(
        {OrderState.pending, OrderState.held, OrderState.completed, OrderState.partial,
         OrderState.failed, OrderState.cancelled}
    ),
    OrderState.held: frozenset(
        {OrderState.in_progress, OrderState.failed, OrderState.cancelled}
    ),
    **{state: frozenset() for state in TERMINAL_STATES},
}


class InvalidTransition(ValueError):
    pass


def check_transition(old: OrderState, new: OrderState) -> None:
    """Raise InvalidTransition unless the order may move from `old` to `new`."""
    if old != new and new not in TRANSITIONS[old]:
        raise InvalidTransition(f"an order cannot go from {old} to {new}")


def roll_up(item_states: list[OrderState]) -> OrderState:
    """An order's state from its items': any open → in_progress; all failed → failed;
    some failed → partial; else completed."""
    if any(state not in TERMINAL_STATES for state in item_states):
        return OrderState.in_progress
    failed = [state for state in item_states if state == OrderState.failed]
    if item_states and len(failed) == len(item_states):
        return OrderState.failed
    if failed:
        return OrderState.partial
    return OrderState.completed


class OrderEventIn(BaseModel):
    """One entry of the audit trail; `state` is set when the event moves the order."""

    order_no: str
    actor: str
    event: str
    detail: str = ""
    state: OrderState | None = None
    # What the order waits for now; None leaves it as it is.
    sub_state: str | None = None


class NewOrder(BaseModel):
    """An order as accepted (受理) by GPMS: recorded before any province is asked anything;
    `event`, the audit-trail event that follows its acceptance, written with it."""

    order_no: str
    order_type: OrderType
    workflow_id: str
    customer_code: str
    requested_by: str
    provinces: list[str] = Field(default_factory=list)
    service_id: str | None = None
    event: OrderEventIn | None = None


class OrderEventView(BaseModel):
    at: datetime
    actor: str
    event: str
    detail: str
    state: OrderState | None


class OrderView(BaseModel):
    order_no: str
    order_type: OrderType
    workflow_id: str
    customer_code: str
    service_id: str | None = None
    state: OrderState
    sub_state: str
    requested_by: str
    provinces: list[str]
    created_at: datetime
    updated_at: datetime
    events: list[OrderEventView] = Field(default_factory=list)


class StepStatus(BaseModel):
    """One named step of an order, per province where it fans out."""

    name: str
    province: str | None = None
    state: str = "running"  # running, awaiting report, done, skipped, failed
    detail: str = ""
    # A step retried (by the fallout policy or a person) keeps one entry: its final outcome.
    attempts: int = 1


class UnexpectedReport(BaseModel):
    """A completion report the order did not believe: no work order was sent with its key,
    it names another province, system or operation, or it contradicts the first report."""

    report_id: str
    province: str
    system: str
    operation: str
    idempotency_key: str
    outcome: str
    code: str | None = None
    text: str | None = None
    why: str

    def __str__(self) -> str:
        said = " ".join(part for part in (self.outcome, self.code, self.text) if part)
        return (f"report {self.report_id} from {self.province} {self.system} {self.operation} for "
                f"{self.idempotency_key}: {said} ({self.why})")


class OrderStatus(BaseModel):
    """What the `status` query of every order workflow returns."""

    order_no: str
    order_type: OrderType
    state: OrderState
    sub_state: str = ""
    steps: list[StepStatus] = Field(default_factory=list)
    # The completion reports that are overdue (past their SLA), in words.
    jeopardy: list[str] = Field(default_factory=list)
    # Completion reports that were recorded but not believed.
    unexpected_reports: list[UnexpectedReport] = Field(default_factory=list)
    # The contract the order carries (an opening's, or an amendment), in words.
    contract: str = ""


class Decision(BaseModel):
    """A person's decision on an order (audit, rental confirmation, cancellation)."""

    by: str = Field(min_length=1)
    reason: str = ""


class CompensationDecision(Decision):
    """A person's decision on an order held because an undo failed: try the failed undos
    again, or record that they were done by hand."""

    action: Literal["retry", "done_by_hand"]
