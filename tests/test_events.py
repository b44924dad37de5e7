"""Which audit-trail events a listener receives, as what, and for which orders: the outbox
read by the order store, on SQLite and (with VPDN_TEST_POSTGRES_URL) PostgreSQL; who may
register a listener."""

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import delete, update
from sqlmodel import Session
from temporalio.testing import ActivityEnvironment

from activities.events import POLL_WINDOW_S, EventActivities

from api.app import create_app
from api.auth import Principal, Role, StaticTokens
from intake import Intake
from models.events import DeliveryStart, EventBatch, EventType, NewSubscription
from models.orders import NewOrder, OrderEventIn, OrderState, OrderType
from store import OrderStore
from store.tables import OrderEvent, utcnow
from tests.helpers import CUSTOMER

TRAIL = [("business audit approved outside GPMS", None),
         ("opening the group business in 3 provinces", OrderState.in_progress),
         ("every province confirmed its group tariff package configuration", OrderState.in_progress),
         ("in jeopardy: CRM report from GD is overdue", None),
         ("late report received: CRM report from GD", None),
         ("fallout OPN-1-F1: member 13800000001 refused by GD", OrderState.held),
         ("fallout OPN-1-F1 resolved: retry", OrderState.in_progress),
         ("service_opening completed", OrderState.completed)]


def test_the_audit_trail_becomes_six_kinds_of_events_for_the_orders_a_listener_asked_for(database_url):
    store = OrderStore(database_url)
    everything, _ = store.subscriptions.create(NewSubscription(callback="http://listener/all"), "carol")
    joins, _ = store.subscriptions.create(NewSubscription(callback="http://listener/joins",
                                                          order_type=OrderType.member_join), "carol")
    in_gd, _ = store.subscriptions.create(NewSubscription(callback="http://listener/gd", province="GD",
                                                          event_types=[EventType.held, EventType.ended]), "carol")
    store.orders.record_order(NewOrder(order_no="OPN-1", order_type=OrderType.service_opening,
                                       workflow_id="vpdn-open-OPN-1", customer_code=CUSTOMER, requested_by="alice",
                                       provinces=["SH", "GD"]), "accepted")
    for key, (event, state) in enumerate(TRAIL):
        store.orders.record_event(OrderEventIn(order_no="OPN-1", actor="gpms", event=event, state=state), str(key))

    batch = store.subscriptions.events_after(everything.id, everything.cursor)

    assert [(e.eventType, e.event.productOrder.state, e.description) for e in batch.events] == [
        (EventType.created, "acknowledged", "order accepted"),
        (EventType.state_change, "inProgress", "opening the group business in 3 provinces"),
        (EventType.jeopardy, "inProgress", "in jeopardy: CRM report from GD is overdue"),
        (EventType.jeopardy_cleared, "inProgress", "late report received: CRM report from GD"),
        (EventType.held, "held", "fallout OPN-1-F1: member 138****0001 refused by GD"),
        (EventType.state_change, "inProgress", "fallout OPN-1-F1 resolved: retry"),
        (EventType.ended, "completed", "service_opening completed")]
    assert batch.cursor == everything.cursor + len(TRAIL) + 1
    assert store.subscriptions.events_after(joins.id, joins.cursor) == EventBatch(cursor=batch.cursor)
    assert [e.eventType for e in store.subscriptions.events_after(in_gd.id, in_gd.cursor).events] == [
        EventType.held, EventType.ended]
    assert store.subscriptions.remove(joins.id) and not store.subscriptions.remove(joins.id)
    assert store.subscriptions.events_after(joins.id, joins.cursor).removed


async def test_only_admins_and_operators_manage_listeners_and_none_is_kept_without_its_delivery(settings, store):
    async def unreachable():
        raise RuntimeError("connection refused")

    people = {"vic": Principal(name="vic", roles=frozenset({Role.viewer})),
              "olga": Principal(name="olga", roles=frozenset({Role.operator}))}
    app = create_app(Intake(settings, store, unreachable), store, StaticTokens(people))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as api:
        def as_(name: str) -> dict:
            return {"Authorization": f"Bearer {name}"}

        viewer = await api.post("/events/subscriptions", json={"callback": "http://listener"}, headers=as_("vic"))
        operator = await api.post("/events/subscriptions", json={"callback": "http://listener"}, headers=as_("olga"))
        bad = await api.post("/events/subscriptions", json={"callback": "ftp://listener"}, headers=as_("olga"))
        listed = await api.get("/events/subscriptions", headers=as_("vic"))

    assert (viewer.status_code, viewer.json()["detail"]) == (403, "vic lacks the role admin or operator")
    assert (operator.status_code, operator.json()["detail"]) == (
        503, f"the subscription's delivery could not start, so it is not kept: cannot reach Temporal at "
             f"{settings.temporal_address}: is `vpdn up` running? (connection refused)")
    assert (bad.status_code, bad.json()["detail"]) == (422, "callback: the callback must be an http:// or https:// URL")
    assert (listed.status_code, listed.json()) == (200, [])


def test_a_batch_waits_at_an_event_still_committing_and_passes_a_gap_that_never_fills(store):
    """PostgreSQL hands out ids before commit: a missing id may be an event still committing."""
    listener, _ = store.subscriptions.create(NewSubscription(callback="http://listener"), "carol")
    store.orders.record_order(NewOrder(order_no="OPN-2", order_type=OrderType.service_opening,
                                       workflow_id="vpdn-open-OPN-2", customer_code=CUSTOMER, requested_by="alice"),
                              "accepted")
    store.orders.record_event(OrderEventIn(order_no="OPN-2", actor="gpms", event="opening",
                                           state=OrderState.in_progress), "1")
    store.orders.record_event(OrderEventIn(order_no="OPN-2", actor="gpms", event="opened",
                                           state=OrderState.completed), "2")
    accepted, started, ended = listener.cursor + 1, listener.cursor + 2, listener.cursor + 3
    with Session(store.engine) as session:  # as if `started` were not committed yet
        session.exec(delete(OrderEvent).where(OrderEvent.id == started))
        session.commit()

    waiting = store.subscriptions.events_after(listener.id, listener.cursor)
    with Session(store.engine) as session:  # ... and never would be
        session.exec(update(OrderEvent).where(OrderEvent.id == ended).values(at=utcnow() - timedelta(minutes=1)))
        session.commit()
    passed = store.subscriptions.events_after(listener.id, waiting.cursor)

    assert ([e.eventId for e in waiting.events], waiting.cursor) == ([f"evt-{accepted}"], accepted)
    assert ([e.eventId for e in passed.events], passed.cursor) == ([f"evt-{ended}"], ended)


async def test_a_read_waiting_for_a_listeners_next_events_ends_when_the_worker_stops(store):
    listener, _ = store.subscriptions.create(NewSubscription(callback="http://listener"), "carol")
    environment = ActivityEnvironment()
    reading = asyncio.create_task(environment.run(EventActivities(store).next_events, DeliveryStart(
        subscription_id=listener.id, cursor=listener.cursor)))
    await asyncio.sleep(1)  # waiting for events that do not come

    environment.worker_shutdown()
    batch = await asyncio.wait_for(reading, POLL_WINDOW_S / 2)  # not its whole window: `vpdn up` stops at once

    assert (batch.events, batch.cursor, batch.removed) == ([], listener.cursor, False)
