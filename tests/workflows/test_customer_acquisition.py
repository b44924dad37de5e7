"""Customer information acquisition against the in-process provinces' simulator."""

import uuid

import httpx
import pytest
from pydantic import ValidationError
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.worker import Replayer

from models.customer import AcquireCustomerInput, AcquisitionResult
from models.orders import OrderState, OrderType, workflow_id_for
from models.provinces import PROVINCE_CODES
from settings import Settings
from store import OrderStore
from submission import start_order
from workflows.customer_acquisition import CustomerAcquisition

CODE = "3100012345"
CREDIT = "91310000MA1FL0001X"


def record(province: str, level: str = "branch", credit_code: str = CREDIT, name: str = "Acme Logistics") -> dict:
    return {"province": province, "customer_code": CODE, "name": f"{name} {province}" if level == "branch" else name,
            "credit_code": credit_code, "level": level}


async def seed(simulator: httpx.AsyncClient, *records: dict) -> None:
    response = await simulator.post("/admin/seed", json={"customers": list(records), "subscribers": []})
    response.raise_for_status()


async def fault(simulator: httpx.AsyncClient, **spec) -> None:
    response = await simulator.post("/admin/faults", json=spec)
    response.raise_for_status()


async def query_calls(simulator: httpx.AsyncClient, province: str) -> list[dict]:
    response = await simulator.get(
        "/admin/calls", params={"province": province, "system": "crm", "operation": "query_group_customer"}
    )
    response.raise_for_status()
    return response.json()


async def acquire(client: Client, settings: Settings, order_no: str | None = None) -> AcquisitionResult:
    order = AcquireCustomerInput(order_no=order_no or f"ACQ-{uuid.uuid4().hex[:8]}", customer_code=CODE,
                                 requested_by="alice")
    handle = await start_order(
        client, settings.task_queue, CustomerAcquisition.run, order,
        order_type=OrderType.customer_acquisition, order_no=order.order_no, customer_code=CODE,
        provinces=list(PROVINCE_CODES),
    )
    return await handle.result()


async def test_acquisition_identifies_customer_and_stores_its_hierarchy(
    client, settings, simulator, worker, store: OrderStore
):
    await seed(simulator, record("SH", level="group"), record("GD"), record("BJ"),
               record("ZJ", credit_code="91330000XX0000002Y", name="Other Corp"))

    result = await acquire(client, settings, "ACQ-1")

    stored = store.customers.get_customer(CODE)
    assert stored is not None
    assert (stored.name, stored.group_province, stored.credit_code) == ("Acme Logistics", "SH", CREDIT)
    assert [b.province for b in stored.branches] == ["BJ", "GD"]
    assert [c.province for c in result.hierarchy.conflicts] == ["ZJ"]
    order = store.orders.get_order("ACQ-1")
    assert order.state == OrderState.completed
    assert [e.state for e in order.events if e.state] == [
        OrderState.acknowledged, OrderState.in_progress, OrderState.completed]
    assert "other enterprises under this code in ZJ" in order.events[-1].detail
    status = await client.get_workflow_handle(
        workflow_id_for(OrderType.customer_acquisition, "ACQ-1")).query(CustomerAcquisition.status)
    assert status.state == OrderState.completed
    assert {(step.province, step.state) for step in status.steps} == {(p, "done") for p in PROVINCE_CODES}
    # Every province's CRM was asked exactly once.
    for province in PROVINCE_CODES:
        assert [call["calls"] for call in await query_calls(simulator, province)] == [1]


async def test_transient_province_failure_is_retried_by_the_engine(client, settings, simulator, worker, store):
    await seed(simulator, record("SH", level="group"), record("GD"))
    await fault(simulator, province="GD", system="crm", operation="query_group_customer", kind="transient", count=2)

    result = await acquire(client, settings)

    assert [b.province for b in result.hierarchy.branches] == ["GD"]
    assert [call["calls"] for call in await query_calls(simulator, "GD")] == [3]
    assert store.customers.get_customer(CODE).branches[0].province == "GD"


async def test_unknown_customer_fails_the_order_with_the_reason(client, settings, simulator, worker, store):
    with pytest.raises(WorkflowFailureError) as failure:
        await acquire(client, settings, "ACQ-UNKNOWN")

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "CustomerNotIdentified"
    order = store.orders.get_order("ACQ-UNKNOWN")
    assert order.state == OrderState.failed
    assert order.events[-1].detail == f"no province knows customer {CODE}"
    assert store.customers.get_customer(CODE) is None


async def test_province_rejection_fails_the_order_with_its_code(client, settings, simulator, worker, store):
    await seed(simulator, record("SH", level="group"))
    await fault(simulator, province="HA", system="crm", operation="query_group_customer", kind="reject",
                code="E2001", text="customer query not authorised")

    with pytest.raises(WorkflowFailureError):
        await acquire(client, settings, "ACQ-REJECTED")

    order = store.orders.get_order("ACQ-REJECTED")
    assert order.state == OrderState.failed
    assert "province HA crm rejected: E2001 customer query not authorised" in order.events[-1].detail
    assert store.customers.get_customer(CODE) is None


async def test_same_order_number_submitted_twice_is_rejected(client, settings, simulator, worker):
    await seed(simulator, record("SH", level="group"))
    await acquire(client, settings, "ACQ-TWICE")

    with pytest.raises(WorkflowAlreadyStartedError):
        await acquire(client, settings, "ACQ-TWICE")


def test_malformed_customer_code_is_refused_before_anything_starts():
    with pytest.raises(ValidationError, match="customer code must be exactly 10 digits"):
        AcquireCustomerInput(order_no="ACQ-BAD", customer_code="31000A", requested_by="alice")


async def test_acquisition_history_replays_deterministically(client, settings, simulator, worker):
    await seed(simulator, record("SH", level="group"), record("GD"))
    await acquire(client, settings, "ACQ-REPLAY")

    history = await client.get_workflow_handle(
        workflow_id_for(OrderType.customer_acquisition, "ACQ-REPLAY")).fetch_history()
    await Replayer(workflows=[CustomerAcquisition], data_converter=client.data_converter).replay_workflow(history)
