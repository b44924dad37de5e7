"""Group tariff package changes, one at a time per service."""

import pytest
from temporalio.client import WorkflowFailureError

from models.orders import OrderState, OrderType
from models.service_changes import TariffChangeOrder
from tests.helpers import (
    acquired_customer,
    inject,
    holdings,
    opened_service,
    order_fields,
    order_result,
    package_versions,
    submit,
)

PROVINCES = ["SH", "GD", "BJ"]


@pytest.fixture(autouse=True)
def customer(store):
    acquired_customer(store)


def change(opening, order_no: str, **change) -> TariffChangeOrder:
    return TariffChangeOrder.model_validate(order_fields(opening, order_no, change=change))


async def test_every_province_gets_the_complete_new_version(client, settings, simulator, worker, store):
    opening = await opened_service(client, settings, "TRF-OPEN-1")

    await submit(client, settings, change(opening, "TRF-1", parameters={"monthly_fee": "2500"},
                                          new_discounts={"loyalty": "0.95"}))
    result = await order_result(client, OrderType.tariff_change, "TRF-1")

    assert result.state == OrderState.completed
    assert await package_versions(simulator, PROVINCES) == {p: 2 for p in PROVINCES}
    [package] = await holdings(simulator, "GD", "crm", "group_tariff_package")
    assert package["data"]["parameters"] == {"monthly_fee": "2500", "member_fee": "10"}  # the complete set
    assert package["data"]["discounts"] == {"volume": "0.9", "loyalty": "0.95"}
    service = store.services.get_service(opening.service_id)
    assert (service.tariff_version, service.tariff.parameters["monthly_fee"]) == (2, "2500")


async def test_a_change_of_an_unknown_parameter_or_that_changes_nothing_is_rejected(
    client, settings, simulator, worker, store
):
    opening = await opened_service(client, settings, "TRF-OPEN-2")

    await submit(client, settings, change(opening, "TRF-2", parameters={"speed": "fast"}))
    await submit(client, settings, change(opening, "TRF-3", parameters={"monthly_fee": "2000"}))
    with pytest.raises(WorkflowFailureError) as unknown:
        await order_result(client, OrderType.tariff_change, "TRF-2")
    with pytest.raises(WorkflowFailureError) as nothing:
        await order_result(client, OrderType.tariff_change, "TRF-3")

    assert "unknown in the current package: parameter speed" in str(unknown.value.cause)
    assert "the change changes nothing" in str(nothing.value.cause)
    assert store.orders.get_order("TRF-2").state == OrderState.rejected
    assert await package_versions(simulator, PROVINCES) == {p: 1 for p in PROVINCES}


async def test_a_province_rejecting_puts_the_previous_version_back_everywhere(
    client, settings, simulator, worker, store
):
    opening = await opened_service(client, settings, "TRF-OPEN-4")
    await inject(simulator, province="BJ", system="crm", operation="configure_group_tariff", kind="reject",
                 code="E1021", text="unknown discount", count=1)

    await submit(client, settings, change(opening, "TRF-4", new_discounts={"night": "0.5"}))
    with pytest.raises(WorkflowFailureError) as failure:
        await order_result(client, OrderType.tariff_change, "TRF-4")

    assert "province BJ crm rejected: E1021 unknown discount" in str(failure.value.cause)
    assert await package_versions(simulator, PROVINCES) == {p: 1 for p in PROVINCES}
    [package] = await holdings(simulator, "SH", "crm", "group_tariff_package")
    assert package["data"]["discounts"] == {"volume": "0.9"}
    assert store.services.get_service(opening.service_id).tariff_version == 1
    assert store.orders.get_order("TRF-4").state == OrderState.failed


async def test_a_business_audit_made_outside_gpms_is_recorded_with_the_person_who_entered_it(
    client, settings, simulator, worker, store
):
    opening = await opened_service(client, settings, "TRF-OPEN-6")

    await submit(client, settings, change(opening, "TRF-6", parameters={"monthly_fee": "2600"}))
    await order_result(client, OrderType.tariff_change, "TRF-6")

    [audit] = [e for e in store.orders.get_order("TRF-6").events if e.event == "business audit approved outside GPMS"]
    assert (audit.actor, audit.detail) == ("alice", "by hq-audit, as entered by alice")


async def test_two_changes_in_a_row_end_on_the_later_version_everywhere(client, settings, simulator, worker, store):
    opening = await opened_service(client, settings, "TRF-OPEN-5")

    first = await submit(client, settings, change(opening, "TRF-5A", parameters={"monthly_fee": "2100"}))
    second = await submit(client, settings, change(opening, "TRF-5B", parameters={"monthly_fee": "2200"}))
    await order_result(client, OrderType.tariff_change, "TRF-5A")
    await order_result(client, OrderType.tariff_change, "TRF-5B")

    assert (first.position, second.waiting_behind) == (0, "TRF-5A")
    assert await package_versions(simulator, PROVINCES) == {p: 3 for p in PROVINCES}
    [package] = await holdings(simulator, "BJ", "crm", "group_tariff_package")
    assert package["data"]["parameters"]["monthly_fee"] == "2200"
    assert store.services.get_service(opening.service_id).tariff_version == 3
    assert "queued behind order TRF-5A" in [e.event for e in store.orders.get_order("TRF-5B").events]


async def test_a_refused_tariff_change_restores_only_the_provinces_that_took_the_new_version(
    client, settings, simulator, worker, store
):
    opening = await opened_service(client, settings, "TRF-OPEN-ZJ", provinces=["SH", "GD", "ZJ"])
    await inject(simulator, province="ZJ", system="crm", operation="configure_group_tariff", kind="reject",
                 code="E1021", text="unknown discount")

    await submit(client, settings, change(opening, "TRF-ZJ", parameters={"monthly_fee": "2500"}))
    with pytest.raises(WorkflowFailureError) as failed:
        await order_result(client, OrderType.tariff_change, "TRF-ZJ")

    assert "province ZJ crm rejected: E1021 unknown discount" in str(failed.value.cause)
    stored = store.orders.get_order("TRF-ZJ")
    assert stored.state == OrderState.failed
    assert "province ZJ crm rejected: E1021 unknown discount" in stored.events[-1].detail
    assert "compensated: put the previous tariff version back" in [e.event for e in stored.events]
    assert await package_versions(simulator, ["SH", "GD", "ZJ"]) == {"SH": 1, "GD": 1, "ZJ": 1}
    asked = (await simulator.get("/admin/calls", params={"province": "ZJ", "operation": "configure_group_tariff"}
                                 )).json()
    assert sorted(call["idempotency_key"] for call in asked) == [
        "TRF-OPEN-ZJ:configure_group_tariff:ZJ", "TRF-ZJ:configure_group_tariff:ZJ"]  # no restore asked of ZJ
    [package] = await holdings(simulator, "SH", "crm", "group_tariff_package")
    assert package["data"]["parameters"]["monthly_fee"] == "2000"
    assert store.services.get_service(opening.service_id).tariff_version == 1
