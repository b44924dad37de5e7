"""A repair order's step is fixed when the order is made: a release that changes which step
repairs a kind of difference never changes the step of a repair already running."""

import models.reconciliation as reconciliation
from models.reconciliation import RepairOrder

ORDER = dict(order_no="RPR-1", service_id="SVC-1", customer_code="3100012345", requested_by="carol",
             fallout_id="RC-GD-hlr-1", province="GD", system="hlr", resource_kind="vpdn_subscription",
             problem="missing")


def test_a_repair_order_keeps_the_step_it_was_made_with(monkeypatch):
    made = RepairOrder(**ORDER, repair_step="subscribe_members")
    monkeypatch.setitem(reconciliation.REPAIRS, ("hlr", "vpdn_subscription", "missing"), "a_later_releases_step")

    assert RepairOrder.model_validate(made.model_dump(mode="json")).step == "subscribe_members"


def test_a_repair_order_made_before_steps_were_kept_takes_its_step_from_the_table():
    assert RepairOrder(**ORDER).step == reconciliation.REPAIRS["hlr", "vpdn_subscription", "missing"]
