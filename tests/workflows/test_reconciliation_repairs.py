"""Every kind of reconciliation difference gets the decisions an operator expects: a repair
order re-applies GPMS's record (or takes away the extra) through the orders' own steps, the
province's state is accepted where GPMS can take it, and a refused decision says why —
against the dev server, a worker and the in-process provinces' simulator."""

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from models.orders import OrderState, OrderType, service_orders_workflow_id
from models.reconciliation import REPAIRS, allowed_decisions, why_not
from models.service import DedicatedLine, ServiceUpdate
from refusal import Refusal
from tests.helpers import holdings, order_result
from tests.workflows.test_member_join import GD, SERVICE, member_order, service  # noqa: F401
from tests.workflows.test_reconciliation import behind_gpms_back, differences, intake, night, own_service_queue  # noqa: F401

RENTAL, RENTAL_2 = f"{SERVICE}:rental", f"{SERVICE}:rental-2"
LINE = DedicatedLine(bandwidth_mbps=100, address="1 Bund, Shanghai")
# Every (system, kind, problem) the comparison finds about a known service.
FOUND = [("crm", "group_tariff_package", p) for p in ("missing", "unexpected", "stale")] + [
    ("crm", "service_order", p) for p in ("missing", "unexpected")] + [
    ("line", "line_order", p) for p in ("missing", "unexpected")] + [
    ("billing", "rental", p) for p in ("missing", "unexpected", "starts")] + [
    ("settlement", "rental_record", p) for p in ("missing", "unexpected", "starts")] + [
    (s, k, p) for s, k in (("hlr", "vpdn_subscription"), ("billing", "member_billing"), ("aaa", "aaa_account"))
    for p in ("missing", "unexpected")] + [("billing", "member_billing", "plan")]


async def rental_recorded(store, simulator, rental_id: str = RENTAL) -> None:
    store.services.update_service(ServiceUpdate(service_id=SERVICE, rental_id=rental_id, rental_start="2026-01-01",
                                                paying_province="BJ"))  # off-site payment: HQ settles


async def tariff_lost_in_gd(store, simulator) -> None:
    """GD's CRM holds nothing of the service (the fixture's service was never configured)."""


async def configured_behind_gpms_back(simulator, province: str, version: int) -> None:
    """A province's CRM configures the service's tariff package on its own (a work order's
    report follows, which no order expects)."""
    (await simulator.post(f"/v1/provinces/{province}/crm/configure_group_tariff", json={
        "idempotency_key": f"manual-{province}", "correlation": f"manual-{province}",
        "payload": {"service_id": SERVICE, "version": version}})).raise_for_status()


async def tariff_version_2_in_bj(store, simulator) -> None:
    await configured_behind_gpms_back(simulator, "BJ", 2)


async def tariff_in_zj(store, simulator) -> None:
    await configured_behind_gpms_back(simulator, "ZJ", 1)


async def line_recorded(store, simulator) -> None:
    store.services.update_service(ServiceUpdate(service_id=SERVICE, line=LINE))


async def rental_starting_later(store, simulator, rental_id: str = RENTAL) -> None:
    await rental_recorded(store, simulator, rental_id)
    await behind_gpms_back(simulator, "SH", "billing", "start_rental", "manual-r", rental_id=rental_id,
                           start_date="2026-02-01")


async def second_rental_starting_later(store, simulator) -> None:
    """Another rental id than the other cases: a difference's repair order is named after it,
    and the dev server is the session's."""
    await rental_starting_later(store, simulator, RENTAL_2)


# resource, province, system, how the difference is made, its problem, what the province holds after the repair
REPAIRED = {
    "tariff package missing": (SERVICE, "GD", "crm", "group_tariff_package", tariff_lost_in_gd, "missing", 1),
    "tariff package stale": (SERVICE, "BJ", "crm", "group_tariff_package", tariff_version_2_in_bj, "stale", 1),
    "tariff package unexpected": (SERVICE, "ZJ", "crm", "group_tariff_package", tariff_in_zj, "unexpected", None),
    "work order missing": (SERVICE, "SH", "crm", "service_order", tariff_lost_in_gd, "missing", "held"),
    "line missing": (SERVICE, "SH", "line", "line_order", line_recorded, "missing", "held"),
    "rental missing": (RENTAL, "SH", "billing", "rental", rental_recorded, "missing", "2026-01-01"),
    "rental starting another day": (RENTAL_2, "SH", "billing", "rental", second_rental_starting_later, "starts",
                                    "2026-01-01"),
    "settlement record missing": (RENTAL, "HQ", "settlement", "rental_record", rental_recorded, "missing",
                                  "2026-01-01"),
}


@pytest.mark.parametrize("case", list(REPAIRED))
async def test_a_repair_order_puts_the_services_own_holding_right_with_its_audit_trail(
        client, settings, simulator, worker, store, case):
    key, province, system, kind, make, problem, after = REPAIRED[case]
    await make(store, simulator)
    await night(client, settings)
    [difference] = [d for d in differences(store, f"{kind} {key}") if d.province == province]
    assert (difference.system, difference.code, difference.state) == (system, problem, "open")
    assert "repair" in difference.allowed

    order_no, answer = await intake(settings, store, client).resolve_fallout(difference.fallout_id, "repair", "carol")
    result = await order_result(client, OrderType.repair, order_no)

    assert answer == f"repair order {order_no} queued on service {SERVICE}"
    assert result.state == OrderState.completed, result
    held = {r["key"]: r["data"] for r in await holdings(simulator, province, system, kind)}
    if after is None:
        assert key not in held
    elif after == "held":
        assert held[key]["service_id"] == SERVICE
    elif isinstance(after, int):
        assert held[key]["version"] == after
    else:
        assert held[key]["start_date"] == after
    step = REPAIRS[system, kind, problem]
    assert [e.event for e in store.orders.get_order(order_no).events] == [
        "order accepted", f"repairing difference {difference.fallout_id}: {step} in {province} {system}",
        "repair completed"]
    resolved = store.fallouts.get_fallout(difference.fallout_id)
    assert (resolved.state, resolved.decision, resolved.order_no) == ("resolved", "repair", order_no)
    await night(client, settings)
    assert [d.state for d in differences(store, f"{kind} {key}") if d.province == province] == ["resolved"]


async def test_a_repair_opens_again_the_billing_of_a_member_the_home_billing_lost(
        client, settings, simulator, worker, store):
    await (await member_order(client, settings, store, "REC-J-BILL", GD[:1])).result()
    await behind_gpms_back(simulator, "GD", "billing", "close_members_batch", "manual-b", members=[{"msisdn": GD[0]}])
    await night(client, settings)
    [difference] = differences(store, f"member_billing {GD[0]}")

    order_no, _ = await intake(settings, store, client).resolve_fallout(difference.fallout_id, "repair", "carol")
    result = await order_result(client, OrderType.repair, order_no)

    assert (difference.code, difference.allowed) == ("missing", ["repair", "ignore"])
    assert result.state == OrderState.completed
    [held] = await holdings(simulator, "GD", "billing", "member_billing")
    assert (held["key"], held["data"]["service_id"]) == (GD[0], SERVICE)
    assert store.fallouts.get_fallout(difference.fallout_id).state == "resolved"


async def test_a_repair_takes_away_what_a_closed_service_left_in_a_province(
        client, settings, simulator, worker, store):
    await configured_behind_gpms_back(simulator, "HN", 1)
    store.services.set_service_state(SERVICE, "closed")
    await night(client, settings)
    [difference] = differences(store, f"group_tariff_package {SERVICE}")  # the other provinces hold nothing

    order_no, _ = await intake(settings, store, client).resolve_fallout(difference.fallout_id, "repair", "carol")
    result = await order_result(client, OrderType.repair, order_no)

    assert (difference.province, difference.code) == ("HN", "unexpected")
    assert result.state == OrderState.completed
    assert await holdings(simulator, "HN", "crm", "group_tariff_package") == []
    try:  # no queue left waiting on a closed service
        queue = (await client.get_workflow_handle(service_orders_workflow_id(SERVICE)).describe()).status
    except RPCError:
        queue = None
    assert queue != WorkflowExecutionStatus.RUNNING


async def test_a_repair_stops_a_rental_left_running_and_not_the_one_gpms_records(
        client, settings, simulator, worker, store):
    old = f"{SERVICE}:rental-old"
    await rental_recorded(store, simulator, RENTAL_2)
    for rental_id in (RENTAL_2, old):
        await behind_gpms_back(simulator, "SH", "billing", "start_rental", f"manual-{rental_id}", rental_id=rental_id,
                               start_date="2026-01-01")
    await night(client, settings)
    [difference] = differences(store, f"rental {old}")

    order_no, _ = await intake(settings, store, client).resolve_fallout(difference.fallout_id, "repair", "carol")
    result = await order_result(client, OrderType.repair, order_no)

    assert (difference.code, result.state) == ("unexpected", OrderState.completed)
    assert [r["key"] for r in await holdings(simulator, "SH", "billing", "rental")] == [RENTAL_2]


async def test_accepting_the_day_billing_started_the_rental_makes_it_gpms_record(
        client, settings, simulator, worker, store):
    await rental_starting_later(store, simulator)
    await night(client, settings)
    [difference] = [d for d in differences(store, f"rental {RENTAL}") if d.system == "billing"]
    assert difference.allowed == ["repair", "accept", "ignore"]

    _, answer = await intake(settings, store, client).resolve_fallout(difference.fallout_id, "accept", "carol")

    assert answer == (f"difference {difference.fallout_id} accepted: GPMS now holds rental {RENTAL} from 2026-02-01")
    assert store.services.get_service(SERVICE).rental_start == "2026-02-01"
    await night(client, settings)
    assert [d.state for d in differences(store, f"rental {RENTAL}") if d.system == "billing"] == ["resolved"]


@pytest.mark.parametrize(("make", "kind", "province", "action", "why"), [
    (tariff_version_2_in_bj, "group_tariff_package", "BJ", "accept",
     "GPMS's tariff version is the one every related province holds: one province's other version cannot become "
     "GPMS's (a tariff change order changes it everywhere)"),
    (tariff_lost_in_gd, "service_order", "SH", "accept",
     "taking the province's nothing as GPMS's would drop the service_order from GPMS alone, while other systems "
     "keep it: a service closure order ends it"),
    (tariff_in_zj, "group_tariff_package", "ZJ", "accept",
     "GPMS takes up no group_tariff_package that no order made: a service opening order makes it, in every system"),
])
async def test_a_decision_that_makes_no_sense_for_a_difference_is_refused_saying_why(
        client, settings, simulator, worker, store, make, kind, province, action, why):
    await make(store, simulator)
    await night(client, settings)
    [difference] = [d for d in differences(store, f"{kind} {SERVICE}") if d.province == province]

    with pytest.raises(Refusal) as refused:
        await intake(settings, store, client).resolve_fallout(difference.fallout_id, action, "carol")

    assert str(refused.value) == (
        f"{action} is not allowed for difference {difference.fallout_id} ({kind} {SERVICE} in {province} "
        f"{difference.system}, {difference.code}): {why}; allowed are {', '.join(difference.allowed)}")
    assert store.fallouts.get_fallout(difference.fallout_id).state == "open"


def test_every_kind_of_difference_can_be_repaired_and_says_why_it_cannot_be_accepted_or_repaired():
    for system, kind, problem in FOUND:
        allowed = allowed_decisions(system, kind, problem, service_known=True)
        assert "repair" in allowed and allowed[-1] == "ignore", (kind, problem)
        assert "accept" in allowed or why_not("accept", system, kind, problem), (kind, problem)
    assert allowed_decisions("billing", "rental", "unexpected", service_known=False) == ["ignore"]
    assert why_not("repair", "billing", "rental", "unknown service").startswith(
        "the service is unknown to GPMS: no record to repair from")
