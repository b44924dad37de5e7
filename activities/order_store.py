"""Activities that write the order store (GPMS records). Blocking: run in the worker's thread pool."""

from temporalio import activity

from activities import event_key
from models.customer import CustomerHierarchy
from models.orders import InvalidTransition, NewOrder, OrderEventIn
from store import OrderStore
from temporalio.exceptions import ApplicationError


class OrderStoreActivities:
    def __init__(self, store: OrderStore) -> None:
        self._store = store

    @activity.defn
    def record_order(self, order: NewOrder) -> None:
        """Record the accepted order (受理). Idempotent by order number."""
        self._store.record_order(order, event_key())

    @activity.defn
    def record_order_event(self, event: OrderEventIn) -> None:
        """Append to the audit trail and move the order's state. Idempotent by event key."""
        try:
            self._store.record_event(event, event_key())
        except InvalidTransition as error:
            raise ApplicationError(str(error), type="InvalidTransition", non_retryable=True) from error

    @activity.defn
    def save_customer(self, hierarchy: CustomerHierarchy) -> None:
        """Store the identified customer and its hierarchy (an upsert: safe to repeat)."""
        self._store.save_customer(hierarchy)
