"""Orders on an existing service, one at a time: what is queued and what the queue answers."""

from typing import Annotated

from pydantic import BaseModel, Field

from models.members import MemberOrder
from models.plans import MemberPlanChangeOrder
from models.reconciliation import RepairOrder
from models.service_changes import ServiceChangeOrder, ServiceClosureOrder, TariffChangeOrder

ServiceOrder = Annotated[
    TariffChangeOrder | ServiceChangeOrder | ServiceClosureOrder | MemberOrder | MemberPlanChangeOrder | RepairOrder,
    Field(discriminator="kind"),
]


class Submission(BaseModel):
    order: ServiceOrder


class SubmissionAnswer(BaseModel):
    order_no: str
    position: int  # 0: it runs now
    waiting_behind: str | None = None


class ServiceOrdersState(BaseModel):
    """The per-service queue of orders, as it continues as new."""

    service_id: str
    queue: list[Submission] = Field(default_factory=list)
    closure: str | None = None  # the accepted closure order: no further orders after it
    handled: int = 0
