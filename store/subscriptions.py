"""Order events' subscribers and what was delivered to them. The audit trail (order_event)
is the outbox: a subscriber's cursor is the last audit-trail id it is done with."""

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, func, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from models.events import (
    DeliveryView,
    EventBatch,
    EventEnvelope,
    NewSubscription,
    OrderEventPayload,
    ProductOrder,
    SubscriptionView,
    event_type_of,
    tmf_state,
)
from store.tables import EventDelivery, EventSubscription, Order, OrderEvent, utcnow
from telemetry.logs import masked

# An id missing before a newer event may be a transaction still committing (PostgreSQL
# allocates ids before commit): a batch stops before a gap this young, and reads it again.
GAP_SETTLES = timedelta(seconds=5)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite gives naive UTC


def _view(row: EventSubscription) -> SubscriptionView:
    return SubscriptionView(**row.model_dump(exclude={"secret", "removed_at"}))


class SubscriptionRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, new: NewSubscription, created_by: str) -> tuple[SubscriptionView, str]:
        """Register a subscriber; it receives the events recorded from now on. Returns it and
        its secret (the one given, or a new one)."""
        secret = new.secret or secrets.token_urlsafe(32)
        with Session(self.engine) as session:
            row = EventSubscription(
                id=f"SUB-{secrets.token_hex(4).upper()}", callback=new.callback,
                event_types=[str(t) for t in new.event_types], order_type=new.order_type,
                customer_code=new.customer_code, province=new.province, secret=secret, created_by=created_by,
                cursor=session.exec(select(func.max(OrderEvent.id))).one() or 0)
            session.add(row)
            session.commit()
            session.refresh(row)
            return _view(row), secret

    def list_subscriptions(self) -> list[SubscriptionView]:
        """The subscriptions not removed, oldest first."""
        with Session(self.engine) as session:
            return [_view(row) for row in session.exec(select(EventSubscription).where(
                EventSubscription.removed_at.is_(None)).order_by(EventSubscription.created_at))]

    def remove(self, subscription_id: str) -> bool:
        """Stop delivering to a subscriber (its deliveries stay visible); False if unknown."""
        with Session(self.engine) as session:
            removed = session.exec(update(EventSubscription).where(
                EventSubscription.id == subscription_id, EventSubscription.removed_at.is_(None))
                .values(removed_at=utcnow())).rowcount
            session.commit()
            return bool(removed)

    def target(self, subscription_id: str) -> tuple[str, str] | None:
        """The callback and secret of a subscriber; None once it is removed."""
        with Session(self.engine) as session:
            row = session.get(EventSubscription, subscription_id)
            return (row.callback, row.secret) if row and row.removed_at is None else None

    def mark_done(self, subscription_id: str, cursor: int) -> bool:
        """Every event up to `cursor` is done for the subscriber; False once it is removed."""
        with Session(self.engine) as session:
            moved = session.exec(update(EventSubscription).where(
                EventSubscription.id == subscription_id, EventSubscription.removed_at.is_(None))
                .values(cursor=cursor)).rowcount
            session.commit()
            return bool(moved)

    def events_after(self, subscription_id: str, cursor: int, limit: int = 200) -> EventBatch:
        """The subscriber's next events after `cursor`, of its types and filter, in id order;
        the batch's cursor is the last id read (matching or not)."""
        prior = aliased(OrderEvent)
        state_before = (select(prior.state).where(prior.order_no == OrderEvent.order_no, prior.id < OrderEvent.id,
                                                  prior.state.is_not(None))
                        .order_by(prior.id.desc()).limit(1).scalar_subquery())
        query = (select(OrderEvent.id, OrderEvent.at, OrderEvent.event, OrderEvent.state, state_before,
                        Order.order_no, Order.order_type, Order.customer_code, Order.service_id, Order.provinces)
                 .join(Order, Order.order_no == OrderEvent.order_no)
                 .where(OrderEvent.id > cursor).order_by(OrderEvent.id).limit(limit))
        with Session(self.engine) as session:
            subscription = session.get(EventSubscription, subscription_id)
            if subscription is None or subscription.removed_at is not None:
                return EventBatch(cursor=cursor, removed=True)
            rows = session.exec(query).all()
        events, young = [], utcnow() - GAP_SETTLES
        for event_id, at, text, state, before, order_no, order_type, customer_code, service_id, provinces in rows:
            if event_id != cursor + 1 and _utc(at) > young:
                break
            cursor = event_id
            kind = event_type_of(state, before, text)
            if kind is None or kind not in subscription.event_types:
                continue
            order = ProductOrder(id=order_no, category=order_type, state=tmf_state(state or before),
                                 customerCode=customer_code, serviceId=service_id, provinces=provinces)
            if not _matches(subscription, order):
                continue
            events.append(EventEnvelope(
                eventId=f"evt-{event_id}", eventTime=_utc(at), eventType=kind, description=masked(text),
                event=OrderEventPayload(productOrder=order)))
        return EventBatch(events=events, cursor=cursor)

    def record_attempt(self, subscription_id: str, envelope: EventEnvelope, error: str | None) -> None:
        """Count one delivery attempt: delivered, or failing with the error."""
        order_event_id = int(envelope.eventId.removeprefix("evt-"))
        with Session(self.engine) as session:
            row = session.exec(select(EventDelivery).where(
                EventDelivery.subscription_id == subscription_id,
                EventDelivery.order_event_id == order_event_id)).first() or EventDelivery(
                subscription_id=subscription_id, order_event_id=order_event_id,
                order_no=envelope.event.productOrder.id, event_type=envelope.eventType)
            row.attempts += 1
            row.state, row.last_error, row.updated_at = ("failing", error, utcnow()) if error else (
                "delivered", row.last_error, utcnow())
            session.add(row)
            session.commit()

    def prune_deliveries(self, delivered_before: datetime, failing_before: datetime) -> int:
        """Forget deliveries delivered before `delivered_before`, and those whose last attempt
        failed before `failing_before` (a subscriber still retried keeps its failing ones); how many."""
        with Session(self.engine) as session:
            pruned = session.exec(delete(EventDelivery).where(or_(
                (EventDelivery.state == "delivered") & (EventDelivery.updated_at < delivered_before),
                (EventDelivery.state == "failing") & (EventDelivery.updated_at < failing_before)))).rowcount
            session.commit()
            return pruned

    def deliveries(self, *, failed: bool = False, subscription_id: str | None = None,
                   limit: int = 100) -> list[DeliveryView] | None:
        """The latest deliveries, newest first; `failed`: only those whose last attempt failed.
        None for a subscription never made (a removed one's deliveries stay visible)."""
        query = select(EventDelivery).order_by(EventDelivery.id.desc()).limit(limit)
        if failed:  # failing to a subscriber still there
            query = query.join(EventSubscription).where(EventDelivery.state == "failing",
                                                         EventSubscription.removed_at.is_(None))
        if subscription_id:
            query = query.where(EventDelivery.subscription_id == subscription_id)
        with Session(self.engine) as session:
            if subscription_id and session.get(EventSubscription, subscription_id) is None:
                return None
            return [DeliveryView(**row.model_dump(exclude={"order_event_id"}), event_id=f"evt-{row.order_event_id}")
                    for row in session.exec(query)]


def _matches(subscription: EventSubscription, order: ProductOrder) -> bool:
    return ((subscription.order_type is None or order.category == subscription.order_type)
            and (subscription.customer_code is None or order.customerCode == subscription.customer_code)
            and (subscription.province is None or subscription.province in order.provinces))
