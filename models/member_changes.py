"""Members' own number changes (换号) and cancellations (销号), notified by provincial CRMs.

A notification is kept in the order store under its id (with the numbers); the workflow and
its activities only ever carry that id, the orders it causes and the reason of a refusal,
never a number.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from models.members import MemberOrder
from models.orders import MEMBER_CHANGE_PREFIX

MSISDN_PATTERN = r"^1[3-9][0-9]{9}$"  # ASCII digits only


class MemberNotification(BaseModel):
    """A provincial CRM tells GPMS that a member cancelled (销号) or changed (换号) its number."""

    # Short enough that the orders it causes (MCH-<id>-EXIT) keep to 64 characters.
    notification_id: str = Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_.-]+$")
    province: str
    kind: Literal["number_cancelled", "number_changed"]
    msisdn: str = Field(pattern=MSISDN_PATTERN)
    new_msisdn: str | None = Field(default=None, pattern=MSISDN_PATTERN)

    @model_validator(mode="after")
    def _new_number_for_a_change(self) -> "MemberNotification":
        if (self.kind == "number_changed") != (self.new_msisdn is not None):
            raise ValueError("a number change needs new_msisdn, and only a number change has one")
        return self

    def order_numbers(self) -> list[tuple[str, Literal["join", "exit"]]]:
        """The orders it causes, in the order they run: the old number exits, a new one joins."""
        base = f"{MEMBER_CHANGE_PREFIX}{self.notification_id}"
        if self.kind == "number_cancelled":
            return [(f"{base}-EXIT", "exit")]
        return [(f"{base}-OLD", "exit"), (f"{base}-NEW", "join")]


class NotificationView(MemberNotification):
    """A notification as the order store keeps it: what became of it, and why."""

    service_id: str | None
    state: Literal["received", "refused", "accepted"]
    reason: str = ""
    orders: list[str] = Field(default_factory=list)
    received_at: datetime


class NotificationRef(BaseModel):
    """The `notify` signal: only the id of a notification the intake stored."""

    notification_id: str


class NotificationCheck(BaseModel):
    """The outcome of checking a notification: the orders it causes, or why it is refused
    (no numbers in either)."""

    orders: list[MemberOrder] = Field(default_factory=list)
    refused: str = ""


class QueuedChange(BaseModel):
    """One order a notification causes, to be staged and queued on its service."""

    notification_id: str
    order: MemberOrder


class MemberChangesState(BaseModel):
    """The per-service workflow that applies members' own number changes, as it continues."""

    service_id: str
    seen: list[str] = Field(default_factory=list)  # notification ids already applied (latest)
    pending: list[str] = Field(default_factory=list)  # notification ids waiting


def standing_refusal(service_id: str, service_state: str | None, home: str | None, province: str) -> str:
    """Why GPMS's own records refuse a member's notification ("" when they do not): the
    service is active, the number is an active member of it, and the notifying province is
    the number's home province. Checked at the hub's door and again when the order is staged."""
    if service_state != "active":
        return f"service {service_id} is {service_state or 'unknown'}: it takes no member change"
    if home is None:
        return f"the number is not an active member of service {service_id}"
    if home != province:
        return f"{province} is not the number's home province ({home}): only its home CRM notifies"
    return ""
