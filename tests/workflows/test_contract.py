"""The contract behind the order: recorded with the opening, amended by later orders."""

from datetime import date

import pytest
from temporalio.client import WorkflowFailureError

from models.orders import OrderState, OrderStatus, OrderType
from models.service import ServiceOpeningOrder, ServiceRegistration
from models.service_changes import ServiceChangeOrder, TariffChangeOrder
from store import ServiceRefused
from tests.helpers import (
    acquired_customer,
    contract,
    opened_service,
    opening_order,
    order_fields,
    order_result,
    start_opening,
    submit,
)


@pytest.fixture(autouse=True)
def customer(store):
    acquired_customer(store)


async def test_an_opening_records_its_contract_with_the_service_and_shows_it_in_its_status(
    client, settings, simulator, worker, store
):
    order = opening_order("CT-OPEN-1", contract=contract("SH-2026-0042", signed_by="am-zhou"))
    handle = await start_opening(client, settings, order)
    await handle.result()

    current = store.services.get_service(order.service_id).contract
    assert (current.version, current.order_no) == (1, "CT-OPEN-1")
    assert current.contract.model_dump() == {"number": "SH-2026-0042", "signed_on": date(2026, 11, 20),
                                             "signed_by": "am-zhou", "tariff_reference": "HQ-TRF-2026-0173"}
    status = await handle.query("status", result_type=OrderStatus)
    assert status.contract == "contract SH-2026-0042 signed 2026-11-20 by am-zhou (approved tariff HQ-TRF-2026-0173)"


async def test_a_tariff_change_with_an_amended_contract_records_a_new_version(
    client, settings, simulator, worker, store
):
    opening = await opened_service(client, settings, "CT-OPEN-2")

    await submit(client, settings, TariffChangeOrder.model_validate(order_fields(
        opening, "CT-TRF-2", change={"parameters": {"monthly_fee": "2500"}},
        contract={"number": "CT-OPEN-2-A1", "tariff_reference": "HQ-TRF-2026-0200"})))
    result = await order_result(client, OrderType.tariff_change, "CT-TRF-2")

    assert result.state == OrderState.completed
    versions = store.contracts.versions(opening.service_id)
    assert [(v.version, v.order_no, v.contract.number, v.contract.tariff_reference) for v in versions] == [
        (1, "CT-OPEN-2", "CT-CT-OPEN-2", "HQ-TRF-2026-0173"), (2, "CT-TRF-2", "CT-OPEN-2-A1", "HQ-TRF-2026-0200")]
    assert versions[1].contract.signed_by == "am-zhang"  # what the amendment does not change stays
    assert store.services.get_service(opening.service_id).contract.version == 2


async def test_a_refused_service_change_records_no_amended_contract(client, settings, simulator, worker, store):
    opening = await opened_service(client, settings, "CT-OPEN-3")

    await submit(client, settings, ServiceChangeOrder.model_validate(order_fields(
        opening, "CT-CHG-3", change={"provinces": ["GD", "BJ"]}, contract={"number": "CT-OPEN-3-A1"})))
    with pytest.raises(WorkflowFailureError) as refused:
        await order_result(client, OrderType.service_change, "CT-CHG-3")

    assert "the access province SH must stay a related province" in str(refused.value.cause)
    assert [v.contract.number for v in store.contracts.versions(opening.service_id)] == ["CT-CT-OPEN-3"]


def registration(order: ServiceOpeningOrder) -> ServiceRegistration:
    return ServiceRegistration(**order.model_dump(include=set(ServiceRegistration.model_fields) - {"service_id"}),
                               service_id=order.service_id)


def test_a_contract_number_of_another_customers_service_is_refused_by_the_store(store):
    acquired_customer(store, "3100099999")
    store.services.register_service(registration(opening_order("CT-OPEN-4", contract=contract("SHARED-1"))))
    # One customer may open several services under one framework contract.
    store.services.register_service(registration(opening_order("CT-OPEN-5", contract=contract("SHARED-1"))))

    other = opening_order("CT-OPEN-6", customer_code="3100099999", contract=contract("SHARED-1"))
    with pytest.raises(ServiceRefused, match="contract SHARED-1 is already used by service SVC-CT-OPEN-4 "
                                             "of customer 3100012345"):
        store.services.register_service(registration(other))
    assert store.services.get_service("SVC-CT-OPEN-6") is None
