"""The work orders whose completion a province reports later (报竣): which system and which
operation each activity sends. An order registers each one before sending it and believes a
report only for a work order it registered (its key, province, system and operation). The
activity sends each with an opaque correlation reference (`activities.correlation`), which
the hub's report names and GPMS's door resolves to the order."""

from collections.abc import Callable
from typing import Any

from activities.crm import CrmActivities
from activities.line import LineActivities
from models.hub import ExpectedReport

# activity → (system, operation); a member order names its operation itself (None here).
REPORTED: dict[Callable[..., Any], tuple[str, str | None]] = {
    CrmActivities.configure_group_tariff: ("crm", "configure_group_tariff"),
    CrmActivities.cancel_group_tariff: ("crm", "cancel_group_tariff"),
    CrmActivities.service_work_order: ("crm", "service_work_order"),
    CrmActivities.service_change_sync: ("crm", "service_change_sync"),
    CrmActivities.member_order: ("crm", None),
    CrmActivities.member_plan_order: ("crm", "member_plan_change_order"),
    LineActivities.schedule_line: ("line", "schedule_line"),
    LineActivities.terminate_line: ("line", "terminate_line"),
}


def expected_report(activity: Callable[..., Any], arg: Any) -> ExpectedReport | None:
    """The report a work order sent by `activity` with `arg` will carry; None for a call the
    province answers at once."""
    if activity not in REPORTED:
        return None
    system, operation = REPORTED[activity]
    operation = operation or arg.operation
    return ExpectedReport(idempotency_key=arg.work_order_key(operation), province=arg.province,
                          system=system, operation=operation)
