"""Activities of order events' delivery: read a subscriber's next events from the audit
trail (the outbox), and post one event to it, signed."""

import asyncio
import hashlib
import hmac

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from models.events import Delivery, DeliveryStart, EventBatch
from store import OrderStore

SIGNATURE_HEADER = "X-Vpdn-Signature"
EVENT_ID_HEADER = "X-Vpdn-Event-Id"
SUBSCRIBER_FAILED = "SubscriberFailed"

# How long one read waits for a new event, and how often it looks meanwhile.
POLL_WINDOW_S = 20.0
POLL_EVERY_S = 0.5
POST_TIMEOUT_S = 10.0


def signature(secret: str, body: bytes) -> str:
    """The header value a subscriber checks: `sha256=` and the HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class EventActivities:
    def __init__(self, store: OrderStore) -> None:
        self._records = store.subscriptions

    @activity.defn
    async def next_events(self, after: DeliveryStart) -> EventBatch:
        """Everything up to `after.cursor` is delivered: record it, then wait (up to
        POLL_WINDOW_S, heartbeating, and not once the worker is stopping) for the subscriber's
        next events. A read: retried freely."""
        if not await asyncio.to_thread(self._records.mark_done, after.subscription_id, after.cursor):
            return EventBatch(cursor=after.cursor, removed=True)
        deadline = asyncio.get_running_loop().time() + POLL_WINDOW_S
        cursor = after.cursor
        while True:
            batch = await asyncio.to_thread(self._records.events_after, after.subscription_id, cursor)
            if (batch.events or batch.removed or activity.is_worker_shutdown()  # the next read is another worker's
                    or asyncio.get_running_loop().time() >= deadline):
                return batch
            if batch.cursor > cursor:  # read past events not for this subscriber: done with them too
                cursor = batch.cursor
                await asyncio.to_thread(self._records.mark_done, after.subscription_id, cursor)
            activity.heartbeat(cursor)
            await asyncio.sleep(POLL_EVERY_S)

    @activity.defn
    async def deliver_event(self, delivery: Delivery) -> None:
        """POST one event to its subscriber, signed with its secret (read here: it never enters
        history). Idempotency key: the event's id, sent in the body and a header, by which the
        receiver de-duplicates. A failure is recorded and raised for the engine to retry; a
        removed subscriber gets nothing more."""
        target = await asyncio.to_thread(self._records.target, delivery.subscription_id)
        if target is None:
            return
        callback, secret = target
        body = delivery.envelope.model_dump_json().encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature(secret, body),
                   EVENT_ID_HEADER: delivery.envelope.eventId}
        try:
            async with httpx.AsyncClient(timeout=POST_TIMEOUT_S) as http:
                response = await http.post(callback, content=body, headers=headers)
            error = None if response.is_success else f"HTTP {response.status_code} {response.reason_phrase}"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
        await asyncio.to_thread(self._records.record_attempt, delivery.subscription_id, delivery.envelope, error)
        if error:
            raise ApplicationError(f"{callback} did not take {delivery.envelope.eventId}: {error}",
                                   type=SUBSCRIBER_FAILED, category=ApplicationErrorCategory.BENIGN)
