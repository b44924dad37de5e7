"""What the API answers and the CLI prints: an order taken, an order's status, lists and a
service's detail. Plain models, so that a client reads them without the engine or the store."""

from datetime import timedelta

from pydantic import BaseModel

from models.members import MemberCounts
from models.orders import OrderEventView, OrderState, OrderStatus, OrderType, OrderView
from models.plans import MemberPlan
from models.service import ServiceView
from models.service_orders import SubmissionAnswer


class Accepted(BaseModel):
    """An order taken: its workflow started, or queued on its service."""

    order_no: str
    order_type: OrderType
    workflow_id: str
    service_id: str | None = None
    member_count: int | None = None
    # The encoding the member file was read in (utf-8, or gb18030 as Excel writes it in Chinese).
    member_file_encoding: str | None = None
    queue: SubmissionAnswer | None = None


class OrderFilters(BaseModel):
    """The filters of an order list (`vpdn order list`), checked."""

    state: OrderState | None = None
    order_type: OrderType | None = None
    service_id: str | None = None
    customer_code: str | None = None
    province: str | None = None
    unchanged_for: timedelta | None = None


class OrderList(BaseModel):
    orders: list[OrderView]
    total: int


class OrderStatusView(BaseModel):
    """`vpdn order status`: the workflow's status, a member order's members by where they
    stand, and the latest events of the audit trail."""

    status: OrderStatus
    members: MemberCounts | None
    events: list[OrderEventView]


class OpenOrder(BaseModel):
    order_no: str
    order_type: OrderType
    state: OrderState
    sub_state: str


class ServiceDetail(ServiceView):
    """A service as `vpdn service show` shows it: with its members per home province and the
    orders not yet ended."""

    members_by_home_province: dict[str, int]
    open_orders: list[OpenOrder]


class ServiceMember(BaseModel):
    msisdn: str
    home_province: str
    plan: MemberPlan | None


class NightlyRunView(BaseModel):
    """One run of the nightly reconciliation: `outcome` is its counts once completed, why it
    failed, or its state."""

    workflow_id: str
    started: str  # in the schedule's time zone
    state: str  # running, completed, failed, terminated, canceled, timed_out
    outcome: str


class NightlySchedule(BaseModel):
    schedule: str
    time_zone: str
    paused: bool
    overlap: str
    next_runs: list[str]
    skipped_overlapping: int
    recent_runs: list[NightlyRunView]
