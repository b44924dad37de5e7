"""Order events for other systems (TM Forum hub/listener): the event types drawn from the
audit trail, the envelope a subscriber receives, subscriptions and their deliveries.

An event carries order-level data only: never a member number, name or password."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from models.orders import TERMINAL_STATES, OrderState, OrderType
from models.provinces import check_province

# The audit trail's texts of a completion report past its SLA, and of its coming after all
# (workflows/common.py, `OrderTracker.jeopardy`).
JEOPARDY_TEXT = "in jeopardy:"
JEOPARDY_CLEARED_TEXT = "late report received:"


class EventType(StrEnum):
    created = "ProductOrderCreateEvent"  # the order was accepted (acknowledged)
    state_change = "ProductOrderStateChangeEvent"  # pending or in progress (again)
    jeopardy = "ProductOrderJeopardyEvent"  # a province's completion report is overdue
    jeopardy_cleared = "ProductOrderJeopardyClearedEvent"  # the overdue report came after all
    held = "ProductOrderHeldEvent"  # fallout: a person must decide
    ended = "ProductOrderEndedEvent"  # completed, partial, failed, rejected or cancelled


def event_type_of(state: str | None, before: str | None, event: str) -> EventType | None:
    """The type of an audit-trail event (`state`: where it moves the order, `before`: where
    the order was) for subscribers; None for one that does not change the state and is no
    jeopardy (a step done, a decision taken: its state change is its own event)."""
    if state == before:
        state = None
    if state == OrderState.acknowledged:
        return EventType.created
    if state == OrderState.held:
        return EventType.held
    if state in TERMINAL_STATES:
        return EventType.ended
    if state is not None:
        return EventType.state_change
    if event.startswith(JEOPARDY_TEXT):
        return EventType.jeopardy
    if event.startswith(JEOPARDY_CLEARED_TEXT):
        return EventType.jeopardy_cleared
    return None


def tmf_state(state: str) -> str:
    """An order state as TMF641 spells it (inProgress)."""
    return "inProgress" if state == OrderState.in_progress else state


class ProductOrder(BaseModel):
    """The order as an event shows it: its state at that event and who it is for."""

    id: str
    category: OrderType
    state: str
    customerCode: str
    serviceId: str | None = None
    provinces: list[str] = Field(default_factory=list)


class OrderEventPayload(BaseModel):
    productOrder: ProductOrder


class EventEnvelope(BaseModel):
    """What a subscriber receives: `eventId` is the same in every attempt (de-duplicate by
    it); events of one order come in the order of their ids."""

    eventId: str
    eventTime: datetime
    eventType: EventType
    description: str
    event: OrderEventPayload


def _callback(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ValueError("the callback must be an http:// or https:// URL")
    return url


class NewSubscription(BaseModel):
    """A listener's registration: where to post, which events, for which orders."""

    callback: Annotated[str, AfterValidator(_callback)] = Field(
        max_length=2000, description="The listener's URL: each event is POSTed to it.")
    event_types: list[EventType] = Field(default_factory=lambda: list(EventType), min_length=1)
    order_type: OrderType | None = Field(None, description="Only orders of this type.")
    customer_code: str | None = Field(None, pattern=r"^\d{10}$", description="Only this customer's orders.")
    province: Annotated[str, AfterValidator(check_province)] | None = Field(
        None, description="Only orders touching this province.")
    secret: str | None = Field(None, min_length=16, max_length=200, description=(
        "The key of the HMAC-SHA256 signature of each body; generated (and shown once) when not given."))


class SubscriptionView(BaseModel):
    id: str
    callback: str
    event_types: list[EventType]
    order_type: OrderType | None = None
    customer_code: str | None = None
    province: str | None = None
    created_by: str
    created_at: datetime
    cursor: int  # every audit-trail event up to this id is delivered (or not for this subscriber)


class DeliveryView(BaseModel):
    """One event's delivery to one subscriber: `failing` until an attempt succeeds."""

    subscription_id: str
    event_id: str
    order_no: str
    event_type: EventType
    state: str  # delivered, failing
    attempts: int
    last_error: str = ""
    updated_at: datetime


# The delivery workflow's messages.


class DeliveryStart(BaseModel):
    subscription_id: str
    cursor: int


class EventBatch(BaseModel):
    """The next events for a subscriber, in audit-trail order; `cursor`: the last id read."""

    events: list[EventEnvelope] = Field(default_factory=list)
    cursor: int
    removed: bool = False


class Delivery(BaseModel):
    subscription_id: str
    envelope: EventEnvelope
