"""Members (成员) of a VPDN: join/exit orders, batches and per-member results.

Members travel in per-province batches that the order store carries (the order's items);
workflow payloads name a batch, never the numbers, so MSISDNs stay out of Temporal history
and a 100 000-member order keeps a small history.
"""

import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from models.hub import idempotency_key
from models.orders import OrderEventIn, OrderNo
from models.service import ReportTimers

# ASCII digits only: `\d` would take full-width and Arabic-Indic digits too.
MSISDN = re.compile(r"1[3-9][0-9]{9}")  # use fullmatch
BATCH_SIZE = 500


class MemberLine(BaseModel):
    msisdn: str
    name: str = ""


class ItemState(StrEnum):
    """Where one member of an order stands."""

    requested = "requested"
    valid = "valid"  # verified by its home CRM
    invalid = "invalid"  # refused by member verification: reported, not joined
    home_done = "home_done"  # HLR and billing done (joined or removed) in its home province
    done = "done"  # joined (or exited) everywhere
    failed = "failed"  # failed on the way; what it left behind is removed


def verification_failure(answer: dict[str, Any]) -> tuple[str, str] | None:
    """Why member verification (成员核查) refuses a number, from its home CRM's answer."""
    if "found" not in answer:  # the home CRM refused to answer for this member
        return answer.get("code") or "E2000", answer.get("text") or "member verification refused"
    if not answer.get("found"):
        return "E2001", "number not found in any home CRM"
    if answer.get("status") != "active":
        return "E2002", f"number is {answer.get('status')}"
    if answer.get("vpdn"):
        return "E2003", f"already in VPDN {answer['vpdn'].get('apn', '')}".strip()
    return None


class BatchReport(BaseModel):
    """A CRM's completion report (报竣) for one batch of an order: when it was received, and
    the date the batch's change takes effect (rental or plan from), if it has one."""

    home_province: str
    batch_no: int
    province: str  # the reporting CRM's province (the home or the access province)
    stage: str
    reported_on: str  # ISO date, Beijing
    effective_from: str = ""

    @property
    def from_home_crm(self) -> bool:
        """The members' home CRM reported (not the access CRM, even where the two coincide)."""
        return not self.stage.startswith("access_")


class MemberOrder(BaseModel):
    """A member join or exit order; its members are the order's items in the order store."""

    order_no: OrderNo
    kind: Literal["join", "exit"]
    service_id: str
    customer_code: str
    apn: str
    access_province: str
    # The service's provinces when the order was submitted (for lists and UI filters).
    provinces: list[str] = Field(default_factory=list)
    member_count: int = Field(gt=0)
    requested_by: str = Field(min_length=1)
    pre_approved_by: str | None = None
    timers: ReportTimers = Field(default_factory=ReportTimers)
    # Continue-as-new after this many batches, so long runs keep a short history.
    batches_per_run: int = Field(default=100, gt=0)
    # Set when the order continues as new: its batches and the first one still to run.
    resume_batches: list["BatchRef"] | None = None
    resume_from: int = 0
    # The batches' completion reports so far (carried when the order continues as new).
    reports: list[BatchReport] = Field(default_factory=list)


class MemberBatch(BaseModel):
    """One batch of an order's members in one province (the home province, or the access
    province for AAA). The idempotency key is (order, step, province, batch[, attempt])."""

    order_no: str
    service_id: str
    apn: str
    province: str
    batch_no: int
    # The home province whose batch this is (equal to `province` for home steps).
    home_province: str
    attempt: int = 1

    def key(self, stage: str) -> str:
        batch = f"batch-{self.home_province}-{self.batch_no}"
        if self.attempt > 1:
            batch += f"-attempt-{self.attempt}"
        return idempotency_key(self.order_no, stage, self.province, batch)


class BatchRef(BaseModel):
    home_province: str
    batch_no: int
    size: int


class Verification(BaseModel):
    """Member verification's outcome: the valid members' batches; the invalid ones counted."""

    batches: list[BatchRef]
    invalid: int


class BatchOutcome(BaseModel):
    """A batch step's per-member results, counted (the results themselves are in the store)."""

    ok: int
    failed: int


class VerifiedPage(BatchOutcome):
    """A page of member verification, counted; the page that completes the order's
    verification also brings the valid members' batches (cut when the last page was recorded)."""

    batches: list[BatchRef] | None = None


class MemberCounts(BaseModel):
    requested: int = 0
    # Through their home province's steps (HLR, billing or plan): joined or exited there.
    home_done: int = 0
    done: int = 0
    invalid: int = 0
    failed: int = 0

    @property
    def settled(self) -> int:
        """Members whose batch steps have finished for them: the progress of the order."""
        return self.home_done + self.done + self.invalid + self.failed


class MemberOrderResult(BaseModel):
    order_no: str
    state: str
    counts: MemberCounts


class MemberResult(BaseModel):
    """One member's result in an order, as staff read it (`vpdn order members`)."""

    msisdn: str
    name: str
    home_province: str | None
    state: ItemState
    code: str | None
    detail: str

class MemberStep(BaseModel):
    """One step on one batch: which of its members it acts on, the stage that names it (in
    the idempotency key and in a member's failure), and where members go when it succeeds."""

    batch: MemberBatch
    stage: str
    acting_on: ItemState
    ok_state: ItemState | None = None  # None: a member stays where it is
    failed_stage: str | None = None  # with acting_on=failed: only those that failed there
    rental_start: str = ""

    @property
    def key(self) -> str:
        return self.batch.key(self.stage)

    @property
    def members_key(self) -> str:
        """The step whatever its attempt: every attempt acts on the members it first acted on."""
        return self.batch.model_copy(update={"attempt": 1}).key(self.stage)

    @property
    def province(self) -> str:
        return self.batch.province

    def work_order_key(self, operation: str) -> str:
        """The key of the member order sent for this step (what its report names)."""
        return self.key

    def retried(self, attempt: int) -> "MemberStep":
        """The same step asked again (a new request to the province: a new key)."""
        if attempt == 1:
            return self
        batch = self.batch.model_copy(update={"attempt": self.batch.attempt + attempt - 1})
        return self.model_copy(update={"batch": batch})


class MemberOrderStep(MemberStep):
    """A member order to a CRM (home or access) that reports its completion later."""

    operation: Literal["member_opening_order", "member_closing_order", "access_opening_order",
                       "access_closing_order"]


class VerificationPage(BaseModel):
    order_no: str
    page: int
    size: int = 1000
    attempt: int = 1

    @property
    def batch_label(self) -> str:
        return f"page-{self.page}" + (f"-attempt-{self.attempt}" if self.attempt > 1 else "")

    def retried(self, attempt: int) -> "VerificationPage":
        return self if attempt == 1 else self.model_copy(update={"attempt": self.attempt + attempt - 1})


class FailedBatch(BaseModel):
    """A province-wide failure of one batch: its members still `from_state` fail."""

    order_no: str
    home_province: str
    batch_no: int
    from_state: ItemState
    stage: str
    code: str
    detail: str
    event: OrderEventIn | None = None  # the audit-trail event of the failure, written with it


class FinishedMembers(BaseModel):
    order_no: str
    service_id: str
    kind: Literal["join", "exit"]
    reports: list[BatchReport] = Field(default_factory=list)
