"""The nightly reconciliation and its differences' repairs (repair orders).

A difference is keyed by (province, system, resource): found again the next night it is the
same worklist record. Which differences a repair can put right, and which the province's
state can be accepted for, is data here: the repair's member step (the activity the orders
use for that system) by (system, resource kind, problem).
"""

import hashlib
from typing import Literal

from pydantic import BaseModel

from models.service import ServiceOrderBase

REPAIR_PREFIX = "RPR-"

# (system, resource kind, problem): the member step that re-applies GPMS's state.
REPAIRS: dict[tuple[str, str, str], str] = {
    ("hlr", "vpdn_subscription", "missing"): "subscribe_members",
    ("hlr", "vpdn_subscription", "unexpected"): "unsubscribe_members",
    ("aaa", "aaa_account", "missing"): "create_accounts",
    ("aaa", "aaa_account", "unexpected"): "remove_accounts",
    ("billing", "member_billing", "unexpected"): "close_members",
    ("billing", "member_billing", "plan"): "restore_plans",
}
# Differences whose province state GPMS can take as its own: a member's billed plan.
ACCEPTABLE = {("billing", "member_billing", "plan")}


def reconciliation_ids(task_queue: str) -> tuple[str, str]:
    """The nightly reconciliation's schedule id and its runs' workflow id (the schedule adds
    the time), per task queue."""
    return f"vpdn-nightly-reconciliation-{task_queue}", f"vpdn-reconciliation-{task_queue}"


def difference_id(province: str, system: str, kind: str, key: str) -> str:
    """A difference's worklist id: the same resource gives the same id every night (and a
    member number never shows in it, nor in any payload naming the difference)."""
    digest = hashlib.sha256(f"{province}/{system}/{kind}/{key}".encode()).hexdigest()[:12].upper()
    return f"RC-{province}-{system}-{digest}"


def allowed_decisions(system: str, kind: str, problem: str, service_known: bool) -> list[str]:
    """What a person may decide on a difference: repair from GPMS, accept the province's
    state, ignore (always, with a reason)."""
    allowed = ["repair"] if service_known and (system, kind, problem) in REPAIRS else []
    allowed += ["accept"] if service_known and (system, kind, problem) in ACCEPTABLE else []
    return allowed + ["ignore"]


class NightlyRun(BaseModel):
    """One night's reconciliation: the page size of holdings reads, and how many days event
    deliveries are kept (delivered ones; failing ones, longer)."""

    page_size: int = 500
    deliveries_kept_days: int = 30
    failing_deliveries_kept_days: int = 90


class NightlyResult(BaseModel):
    differences: int
    new_on_worklist: int  # new, or found again after a repair or an acceptance
    pages_read: int
    deliveries_pruned: int = 0


class RepairStart(BaseModel):
    order_no: str
    fallout_id: str


class RepairOrder(ServiceOrderBase):
    """Re-apply GPMS's state for one difference in one province's system (on the service's
    queue). It names the difference, never the member: the member is the order's item."""

    kind: Literal["repair"] = "repair"
    fallout_id: str
    province: str
    system: str
    resource_kind: str
    problem: str

    @property
    def step(self) -> str:
        return REPAIRS[self.system, self.resource_kind, self.problem]
