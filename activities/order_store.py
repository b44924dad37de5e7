"""Activities that write the order store (GPMS records). Blocking: run in the worker's thread pool."""

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import event_key
from models.customer import CustomerHierarchy
from models.orders import InvalidTransition, NewOrder, OrderEventIn
from models.service import ServiceRegistration
from store import OrderStore, ServiceRefused

SERVICE_REFUSED = "ServiceRefused"


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

    @activity.defn
    def register_service(self, registration: ServiceRegistration) -> None:
        """Record the service being opened with tariff version 1. Idempotent by service id.
        Compensation: discard_service_if_present."""
        try:
            self._store.register_service(registration)
        except ServiceRefused as error:
            raise ApplicationError(str(error), type=SERVICE_REFUSED, non_retryable=True) from error

    @activity.defn
    def activate_service(self, service_id: str) -> None:
        """Record the service `active` (the opening completed)."""
        self._store.set_service_state(service_id, "active")

    @activity.defn
    def discard_service_if_present(self, service_id: str) -> None:
        """Forget a service whose opening failed or was cancelled, freeing its APN."""
        self._store.discard_service_if_present(service_id)
