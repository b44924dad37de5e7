"""The nightly reconciliation and its differences' repairs (repair orders).

A difference is keyed by (province, system, resource): found again the next night it is the
same worklist record. Which differences a repair can put right, and which the province's
state can be accepted for, is data here: the repair's member step (the activity the orders
use for that system) by (system, resource kind, problem).
"""

import hashlib
from typing import Literal

from pydantic import BaseModel

from models.service_changes import ServiceOrderBase

REPAIR_PREFIX = "RPR-"

# (system, resource kind, problem): the step that re-applies GPMS's state — a member step for
# a member's resource, a work order for the service's own.
REPAIRS: dict[tuple[str, str, str], str] = {
    ("hlr", "vpdn_subscription", "missing"): "subscribe_members",
    ("hlr", "vpdn_subscription", "unexpected"): "unsubscribe_members",
    ("aaa", "aaa_account", "missing"): "create_accounts",
    ("aaa", "aaa_account", "unexpected"): "remove_accounts",
    ("billing", "member_billing", "missing"): "open_members",
    ("billing", "member_billing", "unexpected"): "close_members",
    ("billing", "member_billing", "plan"): "restore_plans",
    ("crm", "group_tariff_package", "missing"): "configure_group_tariff",
    ("crm", "group_tariff_package", "stale"): "configure_group_tariff",
    ("crm", "group_tariff_package", "unexpected"): "cancel_group_tariff",
    ("crm", "service_order", "missing"): "service_work_order",
    ("crm", "service_order", "unexpected"): "cancel_work_order",
    ("line", "line_order", "missing"): "schedule_line",
    ("line", "line_order", "unexpected"): "terminate_line",
    ("billing", "rental", "missing"): "start_rental",
    ("billing", "rental", "starts"): "start_rental",
    ("billing", "rental", "unexpected"): "stop_rental",
    ("settlement", "rental_record", "missing"): "record_settlement",
    ("settlement", "rental_record", "starts"): "record_settlement",
    ("settlement", "rental_record", "unexpected"): "cancel_settlement",
}
# Repairs that only take away what GPMS does not hold: they run on a closed service too.
REMOVALS = {"unsubscribe_members", "remove_accounts", "close_members", "cancel_group_tariff", "cancel_work_order",
            "terminate_line", "stop_rental", "cancel_settlement"}
# Differences whose province state GPMS can take as its own: a member's billed plan, and the
# day the access province's billing started the rental (what the customer is billed from).
ACCEPTABLE = {("billing", "member_billing", "plan"), ("billing", "rental", "starts")}
# The orders that open and end each kind of holding (why GPMS takes no other state of it).
OWNERS = {"group_tariff_package": ("service opening", "service closure"),
          "service_order": ("service opening", "service closure"),
          "line_order": ("service opening or change", "service change or closure"),
          "rental": ("service opening", "service closure"), "rental_record": ("service opening", "service closure"),
          "vpdn_subscription": ("member join", "member exit"), "member_billing": ("member join", "member exit"),
          "aaa_account": ("member join", "member exit")}


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


def why_not(action: str, system: str, kind: str, problem: str) -> str:
    """Why a decision makes no sense for a difference (one `allowed_decisions` leaves out)."""
    opened_by, ended_by = OWNERS.get(kind, ("order", "order"))
    if problem == "unknown service" and action == "repair":
        return ("the service is unknown to GPMS: no record to repair from, and no service whose orders could "
                "remove it; have the province remove it, then ignore it naming the ticket")
    if problem == "unknown service":
        return "the service is unknown to GPMS: GPMS takes up no service that no order opened"
    if action == "repair":
        return f"GPMS has no step that re-applies a {kind} {problem} difference"
    if problem == "missing":
        return (f"taking the province's nothing as GPMS's would drop the {kind} from GPMS alone, "
                f"while other systems keep it: a {ended_by} order ends it")
    if problem == "unexpected":
        return f"GPMS takes up no {kind} that no order made: a {opened_by} order makes it, in every system"
    if kind == "group_tariff_package":
        return ("GPMS's tariff version is the one every related province holds: one province's other version "
                "cannot become GPMS's (a tariff change order changes it everywhere)")
    if kind == "rental_record":
        return "HQ settlement follows the access province's billing rental: repair it, or accept the billing's start"
    return f"GPMS cannot take the province's {kind} as its own"


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
    rental_id: str = ""  # a rental's difference: the rental the province holds
    # The step that puts it right, fixed when the order is made, so a release that changes
    # REPAIRS never changes the step of an order already running ("": made before it was kept).
    repair_step: str = ""

    @property
    def step(self) -> str:
        return self.repair_step or REPAIRS[self.system, self.resource_kind, self.problem]
