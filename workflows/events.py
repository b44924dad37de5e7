"""Order events to one subscriber (TM Forum hub/listener): a long-running workflow per
subscription reads the audit trail (the outbox) from its cursor in batches and posts each
event, at least once and in order per order.

A batch's orders are delivered side by side, each order's events one after the other; the
next batch is read only when the whole batch is delivered, so the cursor (kept in the order
store by the next read) never passes an undelivered event. A subscriber that is down is
retried by the engine with backoff up to a minute, for as long as it takes; it is removed
by deleting its subscription (no compensation: deliveries are not undone). Workflow id:
`vpdn-events-<subscription id>`; continues as new before its history grows long."""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.events import EventActivities
    from models.events import Delivery, DeliveryStart, EventEnvelope

# A subscriber down for an hour gets its events within a minute of coming back.
DELIVERY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                             maximum_interval=timedelta(minutes=1))
HISTORY_LIMIT = 2000
# At most this many orders' deliveries at once: a listener's posts share the worker's activity slots.
ORDERS_SIDE_BY_SIDE = 8


def delivery_workflow_id(subscription_id: str) -> str:
    return f"vpdn-events-{subscription_id}"


@workflow.defn
class EventDelivery:
    @workflow.run
    async def run(self, start: DeliveryStart) -> None:
        cursor = start.cursor
        while (workflow.info().get_current_history_length() < HISTORY_LIMIT
               and not workflow.info().is_continue_as_new_suggested()):
            batch = await workflow.execute_activity_method(
                EventActivities.next_events, DeliveryStart(subscription_id=start.subscription_id, cursor=cursor),
                start_to_close_timeout=timedelta(minutes=2), heartbeat_timeout=timedelta(seconds=15),
                summary="next events")
            if batch.removed:
                return
            by_order: dict[str, list[EventEnvelope]] = {}
            for envelope in batch.events:
                by_order.setdefault(envelope.event.productOrder.id, []).append(envelope)
            side_by_side = asyncio.Semaphore(ORDERS_SIDE_BY_SIDE)
            await asyncio.gather(*(self._deliver(start.subscription_id, events, side_by_side)
                                   for events in by_order.values()))
            cursor = batch.cursor
        workflow.continue_as_new(DeliveryStart(subscription_id=start.subscription_id, cursor=cursor))

    @staticmethod
    async def _deliver(subscription_id: str, events: list[EventEnvelope], side_by_side: asyncio.Semaphore) -> None:
        """One order's events, each delivered before the next."""
        async with side_by_side:
            for envelope in events:
                await workflow.execute_activity_method(
                    EventActivities.deliver_event, Delivery(subscription_id=subscription_id, envelope=envelope),
                    start_to_close_timeout=timedelta(seconds=30), retry_policy=DELIVERY_RETRY,
                    summary=f"{envelope.eventType} {envelope.eventId} of {envelope.event.productOrder.id}")
