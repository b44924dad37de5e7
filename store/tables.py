"""The order store's tables (GPMS records). They never travel as Temporal payloads."""

from datetime import UTC, date, datetime

from sqlalchemy import JSON, Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def timestamp():
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class GroupCustomer(SQLModel, table=True):
    """A group customer (集团客户) as identified by customer acquisition."""

    __tablename__ = "group_customer"

    customer_code: str = Field(primary_key=True, max_length=10)
    name: str
    credit_code: str
    group_province: str = Field(max_length=2)
    acquired_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class CustomerUnit(SQLModel, table=True):
    """A node of the customer hierarchy (客户层级关系): the group or a provincial branch."""

    __tablename__ = "customer_unit"
    __table_args__ = (UniqueConstraint("customer_code", "province"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_code: str = Field(foreign_key="group_customer.customer_code", index=True)
    province: str = Field(max_length=2)
    name: str
    level: str  # "group" or "branch"
    parent_id: int | None = Field(default=None, foreign_key="customer_unit.id")


class VpdnService(SQLModel, table=True):
    """A cross-province VPDN service of one group customer."""

    __tablename__ = "vpdn_service"

    service_id: str = Field(primary_key=True)
    customer_code: str = Field(foreign_key="group_customer.customer_code", index=True)
    apn: str = Field(unique=True)
    access_province: str = Field(max_length=2)
    paying_province: str = Field(max_length=2)
    provinces: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state: str = "opening"  # opening, active, closing, closed
    # The dedicated line (bandwidth_mbps, address), if the service has one.
    line: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    rental_rule: str = "next_day"
    rental_id: str | None = None  # the rental running in the access province's billing
    rental_start: str | None = None  # that rental's first day (ISO date, Beijing)
    created_at: datetime = timestamp()


class ServiceContract(SQLModel, table=True):
    """One version of a service's contract (协议/合同): the opening's, then each amendment."""

    __tablename__ = "service_contract"
    __table_args__ = (UniqueConstraint("service_id", "version"), UniqueConstraint("service_id", "order_no"))

    id: int | None = Field(default=None, primary_key=True)
    service_id: str = Field(foreign_key="vpdn_service.service_id", index=True)
    version: int
    order_no: str  # the order that recorded this version
    number: str = Field(index=True)
    signed_on: date
    signed_by: str  # the signing account manager
    tariff_reference: str  # the HQ-approved tariff's reference
    recorded_at: datetime = timestamp()


class TariffPackage(SQLModel, table=True):
    """One version of a service's group tariff package (集团资费套餐)."""

    __tablename__ = "tariff_package"
    __table_args__ = (UniqueConstraint("service_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    service_id: str = Field(foreign_key="vpdn_service.service_id", index=True)
    version: int
    name: str | None = None  # as the opening named the package (None: recorded before names were kept)
    created_at: datetime = timestamp()


class TariffParameter(SQLModel, table=True):
    __tablename__ = "tariff_parameter"
    __table_args__ = (UniqueConstraint("package_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    package_id: int = Field(foreign_key="tariff_package.id", index=True)
    name: str
    value: str


class TariffDiscount(SQLModel, table=True):
    """A package discount (优惠) and its parameter value."""

    __tablename__ = "tariff_discount"
    __table_args__ = (UniqueConstraint("package_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    package_id: int = Field(foreign_key="tariff_package.id", index=True)
    name: str
    value: str


class Member(SQLModel, table=True):
    """A member (成员) of a VPDN: one subscriber number, home province, state."""

    __tablename__ = "member"
    __table_args__ = (UniqueConstraint("service_id", "msisdn"),)

    id: int | None = Field(default=None, primary_key=True)
    service_id: str = Field(foreign_key="vpdn_service.service_id", index=True)
    msisdn: str = Field(index=True)
    home_province: str = Field(max_length=2)
    name: str = ""
    state: str = "joining"  # joining, active, exiting, exited


class Order(SQLModel, table=True):
    """A GPMS order (订单) and where it stands."""

    __tablename__ = "vpdn_order"

    order_no: str = Field(primary_key=True)
    order_type: str = Field(index=True)
    workflow_id: str = Field(unique=True)
    customer_code: str = Field(index=True)
    service_id: str | None = Field(default=None, index=True)
    state: str = Field(index=True)
    sub_state: str = ""
    requested_by: str
    provinces: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class OrderEvent(SQLModel, table=True):
    """The audit trail: who did what to an order, and when."""

    __tablename__ = "order_event"

    __table_args__ = (UniqueConstraint("order_no", "event_key"),)

    id: int | None = Field(default=None, primary_key=True)
    order_no: str = Field(foreign_key="vpdn_order.order_no", index=True)
    # Makes recording idempotent: a retried activity writes its event once.
    event_key: str
    at: datetime = timestamp()
    actor: str
    event: str
    detail: str = ""
    state: str | None = None


class OrderItem(SQLModel, table=True):
    """One member of a member order (an order item, TMF641) and its result."""

    __tablename__ = "order_item"
    # A batch step's statements select the batch's members by (order, home province, batch).
    __table_args__ = (UniqueConstraint("order_no", "msisdn"), Index("ix_order_item_batch", "order_no",
                                                                     "home_province", "batch_no"))

    id: int | None = Field(default=None, primary_key=True)
    # No foreign key: the items are staged just before their order's workflow accepts it.
    order_no: str = Field(index=True)
    msisdn: str
    name: str = ""
    home_province: str | None = Field(default=None, max_length=2)
    batch_no: int | None = None
    state: str = Field(default="requested", index=True)
    failed_stage: str | None = None
    code: str | None = None
    detail: str = ""


class FalloutRecord(SQLModel, table=True):
    """A fallout: an order held because a step failed for good, until a person decides."""

    __tablename__ = "fallout"

    fallout_id: str = Field(primary_key=True)
    # A reconciliation difference has none until a person has it repaired (the repair order).
    order_no: str | None = Field(default=None, foreign_key="vpdn_order.order_no", index=True)
    order_type: str
    step: str
    province: str = Field(index=True)
    system: str = Field(index=True)
    code: str
    text: str
    allowed: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    deadline: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = timestamp()
    state: str = Field(default="open", index=True)  # open, resolved
    decision: str | None = None
    decided_by: str | None = None
    reason: str = ""
    kind: str = Field(default="order", index=True)  # order, reconcile
    service_id: str | None = None
    resource: str = ""
    gpms_holds: str = ""
    province_holds: str = ""
    # What the province holds, as it holds it (a reconciliation difference's `accept` records it).
    province_data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    occurrence: int = 1


class MemberTerms(SQLModel, table=True):
    """The terms a member is on in its VPDN: its member plan (成员套餐) and the dates its home
    province reported. A member without a row is on the standard plan (the package's values)."""

    __tablename__ = "member_terms"
    __table_args__ = (UniqueConstraint("service_id", "msisdn"),)

    id: int | None = Field(default=None, primary_key=True)
    service_id: str = Field(foreign_key="vpdn_service.service_id", index=True)
    msisdn: str = Field(index=True)
    plan_name: str = "standard"
    plan_version: int | None = None  # the tariff version the plan refers to
    plan_parameters: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    plan_from: str | None = None  # ISO dates
    opened_on: str | None = None
    rental_from: str | None = None
    reported_on: str | None = None  # the home CRM's latest completion report for the member
    order_no: str = ""  # the order that set these terms last


class AcceptanceTableRecord(SQLModel, table=True):
    """The VPDN acceptance basic information table (VPDN业务受理基础信息表) compiled for an
    order when it ended: the service and province sections; its member rows beside it."""

    __tablename__ = "acceptance_table"

    order_no: str = Field(primary_key=True, foreign_key="vpdn_order.order_no")
    service_id: str = Field(index=True)
    compiled_at: datetime = timestamp()
    content: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AcceptanceMemberRow(SQLModel, table=True):
    """One member's row of an order's acceptance table, as it stood when compiled."""

    __tablename__ = "acceptance_member"

    id: int | None = Field(default=None, primary_key=True)
    order_no: str = Field(foreign_key="acceptance_table.order_no", index=True)
    msisdn: str
    name: str = ""
    home_province: str | None = None
    plan: str = ""
    state: str
    opened_on: str | None = None
    rental_from: str | None = None
    reported_on: str | None = None
    note: str = ""


class BatchStep(SQLModel, table=True):
    """A member batch step whose members were fixed when it was first asked for them: every
    attempt of the step sends that same set."""

    __tablename__ = "batch_step"

    step_key: str = Field(primary_key=True)
    formed_at: datetime = timestamp()


class BatchStepMember(SQLModel, table=True):
    """One member of a batch step, as fixed when the step was formed."""

    __tablename__ = "batch_step_member"
    # A step's statements look its members up by (step, number): without it PostgreSQL
    # compares every item of a batch with every member of the step.
    __table_args__ = (UniqueConstraint("step_key", "msisdn"),)

    id: int | None = Field(default=None, primary_key=True)
    step_key: str = Field(foreign_key="batch_step.step_key")
    msisdn: str

class MemberStaging(SQLModel, table=True):
    """The members of a member order, staged before it is submitted: bound to its order
    number and to a digest of its content (service, kind, every number and name). Submitting
    the order (recording it) is the commit point: it moves `staged` to `submitted` in the
    same transaction; what stays `staged` was never submitted and is cleared."""

    __tablename__ = "member_staging"

    order_no: str = Field(primary_key=True)
    service_id: str
    kind: str
    digest: str
    member_count: int
    state: str = Field(default="staged", index=True)  # staged, submitted
    staged_at: datetime = timestamp()


class PasswordIssue(SQLModel, table=True):
    """The password secret's version a batch's passwords were issued with, by the step's
    idempotency key: every retry of that step derives the same passwords."""

    __tablename__ = "password_issue"

    idempotency_key: str = Field(primary_key=True)
    version: int
    issued_at: datetime = timestamp()


class MemberNotificationRecord(SQLModel, table=True):
    """A provincial CRM's notification of a member's own number change or cancellation, and
    what became of it (accepted with its orders, or refused with the reason)."""

    __tablename__ = "member_notification"

    notification_id: str = Field(primary_key=True)
    province: str = Field(max_length=2)
    kind: str
    msisdn: str
    new_msisdn: str | None = None
    service_id: str | None = Field(default=None, index=True)
    state: str = "received"  # received, refused, accepted
    reason: str = ""
    orders: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    received_at: datetime = timestamp()


class ApiToken(SQLModel, table=True):
    """A bearer token of the API: who holds it and with which roles. Only the token's sha256
    hash is kept; the token itself is shown once, when it is made."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = timestamp()
    expires_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class EventSubscription(SQLModel, table=True):
    """A listener of order events (TM Forum hub): its callback, the event types and filter,
    the secret its events are signed with, and how far its delivery has come."""

    __tablename__ = "event_subscription"

    id: str = Field(primary_key=True)
    callback: str
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    order_type: str | None = None
    customer_code: str | None = None
    province: str | None = None
    secret: str  # an HMAC key: it must be kept as it is to sign
    created_by: str
    created_at: datetime = timestamp()
    # Every audit-trail event up to this id (order_event.id) is delivered or not for this subscriber.
    cursor: int = 0
    removed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class EventDelivery(SQLModel, table=True):
    """One audit-trail event's delivery to one subscriber: its attempts and the last error."""

    __tablename__ = "event_delivery"
    __table_args__ = (UniqueConstraint("subscription_id", "order_event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: str = Field(foreign_key="event_subscription.id")
    order_event_id: int
    order_no: str
    event_type: str
    state: str = Field(default="failing", index=True)  # failing, delivered
    attempts: int = 0
    last_error: str = ""
    updated_at: datetime = timestamp()


class WorkOrderCorrelation(SQLModel, table=True):
    """The opaque reference a work order reported later carries to the hub, and what it stands
    for: the order's workflow and the work order's key, province, system and operation; with
    the id of the first report delivered for it (a repeat of that report changes nothing)."""

    __tablename__ = "work_order_correlation"

    idempotency_key: str = Field(primary_key=True)
    reference: str = Field(unique=True)
    workflow_id: str
    province: str = Field(max_length=2)
    system: str
    operation: str
    report_id: str | None = None
    sent_at: datetime = timestamp()
