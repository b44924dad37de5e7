"""Activities that write the order store (GPMS records). Blocking: run in the worker's thread pool."""

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities import event_key
from models.acceptance import TableRequest
from models.contract import ContractRecord
from models.customer import CUSTOMER_NOT_ACQUIRED, CustomerChange, CustomerHierarchy
from models.members import BATCH_SIZE, BatchRef, FailedBatch, FinishedMembers, MemberCounts
from models.plans import FinishedPlanChange
from models.orders import InvalidTransition, NewOrder, OrderEventIn
from models.service import ServiceRegistration, ServiceUpdate, ServiceView, TariffVersion
from store import MembersNotStaged, OrderNumberInUse, OrderStore, ServiceRefused

SERVICE_REFUSED = "ServiceRefused"
ORDER_NUMBER_IN_USE = "OrderNumberInUse"
MEMBERS_NOT_STAGED = "MembersNotStaged"


class OrderStoreActivities:
    def __init__(self, store: OrderStore) -> None:
        self._store = store

    @activity.defn
    def record_order(self, order: NewOrder) -> None:
        """Record the accepted order (受理), then its next event if it brings one. Idempotent
        by order number and event key; the number of another order, or a member order whose
        members are not staged, fails for good."""
        try:
            self._store.orders.record_order(order, event_key())
        except OrderNumberInUse as error:
            raise ApplicationError(str(error), type=ORDER_NUMBER_IN_USE, non_retryable=True,
                                   category=ApplicationErrorCategory.BENIGN) from error
        except MembersNotStaged as error:
            raise ApplicationError(str(error), type=MEMBERS_NOT_STAGED, non_retryable=True,
                                   category=ApplicationErrorCategory.BENIGN) from error
        self._event(order.event, f"{event_key()}/next")

    @activity.defn
    def record_order_event(self, event: OrderEventIn) -> None:
        """Append to the audit trail and move the order's state. Idempotent by event key."""
        self._event(event, event_key())

    def _event(self, event: OrderEventIn | None, key: str) -> None:
        """The audit-trail event a step writes (none: nothing), idempotent by `key`."""
        if event is None:
            return
        try:
            self._store.orders.record_event(event, key)
        except InvalidTransition as error:
            raise ApplicationError(str(error), type="InvalidTransition", non_retryable=True,
                                   category=ApplicationErrorCategory.BENIGN) from error

    @activity.defn
    def save_customer(self, hierarchy: CustomerHierarchy) -> None:
        """Store the identified customer and its hierarchy (an upsert: safe to repeat)."""
        self._store.customers.save_customer(hierarchy)

    @activity.defn
    def register_service(self, registration: ServiceRegistration) -> None:
        """Record the service being opened with tariff version 1. Idempotent by service id.
        Compensation: discard_service_if_present."""
        try:
            self._store.services.register_service(registration)
        except ServiceRefused as error:
            raise ApplicationError(str(error), type=SERVICE_REFUSED, non_retryable=True,
                                   category=ApplicationErrorCategory.BENIGN) from error

    @activity.defn
    def service_view(self, service_id: str) -> ServiceView:
        """The service as GPMS records it now (an order on it starts from this)."""
        service = self._store.services.get_service(service_id)
        if service is None:
            raise ApplicationError(f"no service {service_id}", type=SERVICE_REFUSED, non_retryable=True,
                                   category=ApplicationErrorCategory.BENIGN)
        return service

    @activity.defn
    def update_service(self, update: ServiceUpdate) -> None:
        """Record what an order changed on the service (state, line, provinces, payer, rental)."""
        self._store.services.update_service(update)

    @activity.defn
    def record_tariff_version(self, version: TariffVersion) -> None:
        """Record the new tariff package version every province configured. Idempotent."""
        self._store.services.record_tariff_version(version)

    @activity.defn
    def record_contract(self, record: ContractRecord) -> None:
        """Record an amended contract as the service's next version, then the event that
        follows if it brings one. Idempotent by order and event key."""
        self._store.contracts.record_amendment(record)
        self._event(record.event, event_key())

    @activity.defn
    def member_count(self, service_id: str) -> int:
        return self._store.members.member_count(service_id)

    @activity.defn
    def discard_service_if_present(self, service_id: str) -> None:
        """Forget a service whose opening failed or was cancelled, freeing its APN."""
        self._store.services.discard_service_if_present(service_id)

    @activity.defn
    def assign_batches(self, order_no: str) -> list[BatchRef]:
        """Cut the order's valid members into per-home-province batches (idempotent)."""
        return self._store.members.assign_batches(order_no, BATCH_SIZE)

    @activity.defn
    def fail_batch(self, failure: FailedBatch) -> int:
        """A province-wide failure: the batch's members still in progress fail with the cause
        (and its audit-trail event is written, if it brings one). Idempotent by state and key."""
        failed = self._store.members.fail_batch(failure.order_no, failure.home_province, failure.batch_no,
                                                failure.from_state, failure.stage, failure.code, failure.detail)
        self._event(failure.event, event_key())
        return failed

    @activity.defn
    def member_counts(self, order_no: str) -> MemberCounts:
        return self._store.members.item_counts(order_no)

    @activity.defn
    def finish_members(self, finished: FinishedMembers) -> None:
        """Record the members done: joined ones `active` in the service on the standard plan
        (with the dates their home CRM reported), exited ones `exited`. Idempotent."""
        self._store.members.finish_members(finished.order_no, finished.service_id, finished.kind)
        if finished.kind == "join":
            self._store.terms.record_joined(finished.order_no, finished.service_id, finished.reports)
        else:
            self._store.terms.forget_exited(finished.order_no, finished.service_id)

    @activity.defn
    def finish_plan_change(self, finished: FinishedPlanChange) -> None:
        """Record the members whose plan changed: on the new plan from its date, done. Idempotent."""
        self._store.terms.record_plan_change(finished.order_no, finished.service_id, finished.plan,
                                             finished.plan_from, finished.reports)

    @activity.defn
    def compile_acceptance_table(self, request: TableRequest) -> None:
        """Compile the acceptance basic information table of an order that ended and keep it
        with the order (from the store; numbers never travel). Idempotent by order."""
        self._store.acceptance.keep_order_table(request)

    @activity.defn
    def apply_customer_change(self, change: CustomerChange) -> str:
        """Apply a province's changed customer record to the customer and its hierarchy;
        what changed, in one line. Idempotent. A customer never acquired fails for good."""
        try:
            return self._store.customers.apply_customer_change(change)
        except LookupError as error:
            raise ApplicationError(str(error), type=CUSTOMER_NOT_ACQUIRED, non_retryable=True,
                                   category=ApplicationErrorCategory.BENIGN) from error
