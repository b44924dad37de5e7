"""Service changes: the dedicated line (with the customer's rental confirmation), the
related provinces and the paying province."""

from datetime import timedelta

import pytest
from temporalio.client import WorkflowFailureError

from models.fallout import FalloutDecision
from models.orders import Decision, OrderState, OrderType
from models.provinces import HQ
from models.service_changes import ServiceChangeOrder
from tests.helpers import (
    acquired_customer,
    holdings,
    inject,
    opened_service,
    order_fields,
    order_result,
    package_versions,
    submit,
    wait_for_status,
)
from workflows.order_workflow import AWAITING_RENTAL_CONFIRMATION


@pytest.fixture(autouse=True)
def customer(store):
    acquired_customer(store)


def change(opening, order_no: str, **change) -> ServiceChangeOrder:
    return ServiceChangeOrder.model_validate(order_fields(opening, order_no, change=change))


async def test_a_line_change_waits_for_the_customer_then_starts_the_new_rental_and_stops_the_old(
    client, settings, simulator, worker, store
):
    opening = await opened_service(client, settings, "CHG-OPEN-1")
    new_line = {"bandwidth_mbps": 1000, "address": "88 Century Avenue, Pudong, Shanghai"}

    await submit(client, settings, change(opening, "CHG-1", line=new_line, confirm_rental=True))
    handle = client.get_workflow_handle("vpdn-change-CHG-1")
    await wait_for_status(handle, lambda s: s.sub_state == AWAITING_RENTAL_CONFIRMATION)
    [line] = await holdings(simulator, "SH", "line")
    assert line["data"]["bandwidth_mbps"] == 1000
    await handle.execute_update("confirm_rental", Decision(by="customer-li"))
    result = await order_result(client, OrderType.service_change, "CHG-1")

    assert result.state == OrderState.completed
    [rental] = await holdings(simulator, "SH", "billing")
    assert rental["key"] == f"{opening.service_id}:rental:CHG-1"  # the old rental stopped
    service = store.services.get_service(opening.service_id)
    assert (service.line.bandwidth_mbps, service.rental_id) == (1000, f"{opening.service_id}:rental:CHG-1")


async def test_provinces_and_payer_change_configures_joiners_cancels_leavers_and_tells_settlement(
    client, settings, simulator, worker, store
):
    opening = await opened_service(client, settings, "CHG-OPEN-2")

    await submit(client, settings, change(opening, "CHG-2", provinces=["SH", "GD", "ZJ"], paying_province="GD"))
    result = await order_result(client, OrderType.service_change, "CHG-2")

    assert result.state == OrderState.completed
    assert await package_versions(simulator, ["SH", "GD", "BJ", "ZJ"]) == {"SH": 1, "GD": 1, "ZJ": 1}
    for province in ["SH", "GD", "BJ", "ZJ"]:
        assert len(await holdings(simulator, province, "crm", "service_change")) == 1, province
    [record] = await holdings(simulator, HQ, "settlement")
    assert record["data"]["paying_province"] == "GD"
    service = store.services.get_service(opening.service_id)
    assert (service.provinces, service.paying_province) == (["SH", "GD", "ZJ"], "GD")


async def test_a_joining_province_rejecting_puts_the_previous_line_back(client, settings, simulator, worker, store):
    opening = await opened_service(client, settings, "CHG-OPEN-3")
    await inject(simulator, province="ZJ", system="crm", operation="configure_group_tariff", kind="reject",
                 code="E1030", text="no VPDN product in ZJ")

    await submit(client, settings, change(opening, "CHG-3", line={"bandwidth_mbps": 500, "address": "new site"},
                                          provinces=["SH", "GD", "BJ", "ZJ"]))
    with pytest.raises(WorkflowFailureError) as failure:
        await order_result(client, OrderType.service_change, "CHG-3")

    assert "province ZJ crm rejected: E1030 no VPDN product in ZJ" in str(failure.value.cause)
    [line] = await holdings(simulator, "SH", "line")
    assert line["data"]["bandwidth_mbps"] == 100
    assert await holdings(simulator, "ZJ", "crm") == []
    [rental] = await holdings(simulator, "SH", "billing")
    assert rental["key"] == f"{opening.service_id}:rental"
    service = store.services.get_service(opening.service_id)
    assert (service.line.bandwidth_mbps, service.provinces) == (100, ["SH", "GD", "BJ"])


async def test_a_change_that_changes_nothing_is_rejected(client, settings, simulator, worker, store):
    opening = await opened_service(client, settings, "CHG-OPEN-4")

    await submit(client, settings, change(opening, "CHG-4", provinces=["SH", "GD", "BJ"]))
    with pytest.raises(WorkflowFailureError) as failure:
        await order_result(client, OrderType.service_change, "CHG-4")

    assert "the change changes nothing" in str(failure.value.cause)
    assert store.orders.get_order("CHG-4").state == OrderState.rejected


async def test_a_missing_report_from_the_access_crm_goes_to_fallout_in_a_service_change_too(
    client, settings, simulator, worker, store
):
    opening = await opened_service(client, settings, "CHG-OPEN-LATE")
    await inject(simulator, province="SH", system="crm", operation="service_work_order", kind="no_report", count=1)
    order = ServiceChangeOrder.model_validate(order_fields(
        opening, "CHG-LATE", change={"line": {"bandwidth_mbps": 500, "address": "1 Bund, Shanghai"}},
        timers={"jeopardy_after": timedelta(seconds=1), "fail_after": timedelta(seconds=3)}))

    await submit(client, settings, order)
    handle = client.get_workflow_handle("vpdn-change-CHG-LATE")
    await wait_for_status(handle, lambda s: s.state == OrderState.held)
    [fallout] = store.fallouts.list_fallouts()
    assert (fallout.step, fallout.province, fallout.system, fallout.code) == (
        "access CRM work order", "SH", "report", "DEADLINE")
    await handle.execute_update("resolve_fallout", FalloutDecision(
        fallout_id=fallout.fallout_id, action="retry", by="ops-wang", reason="SH CRM called"))

    assert (await order_result(client, OrderType.service_change, "CHG-LATE")).state == OrderState.completed
    assert store.services.get_service(opening.service_id).line.bandwidth_mbps == 500
