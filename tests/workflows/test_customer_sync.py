"""Customer information sync (客户信息同步): provincial CRMs push their changed records of a
group customer; GPMS applies them to the customer and its hierarchy in version order."""

import asyncio
import contextlib
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.order_store import OrderStoreActivities
from intake import Intake
from models.customer import CustomerChange, CustomerHierarchy, ProvincialCustomerRecord, customer_sync_workflow_id
from submission import notify_customer_change
from workflows.customer_sync import CustomerSync

CREDIT_CODE = "91310000MA1FL0001X"


@pytest.fixture
def customer_code() -> str:
    """A customer code of this test only: its sync workflow is its own."""
    return f"{uuid.uuid4().int % 10**10:010d}"


@pytest.fixture
def acquired(store, customer_code) -> None:
    """The customer as acquisition stored it: the group in SH, branches in BJ and GD."""
    store.customers.save_customer(CustomerHierarchy(
        customer_code=customer_code, name="Acme Logistics", credit_code=CREDIT_CODE, group_province="SH",
        branches=[ProvincialCustomerRecord(province=p, customer_code=customer_code, name=f"Acme Logistics {p}",
                                           credit_code=CREDIT_CODE, level="branch") for p in ("BJ", "GD")],
    ))


@pytest.fixture
async def sync_worker(client, settings, store, customer_code):
    """A worker for the sync workflow and its store activity; afterwards the customer's
    long-lived sync workflow ends (the dev server is shared by the whole session)."""
    with ThreadPoolExecutor(4) as executor:
        async with Worker(client, task_queue=settings.task_queue, workflows=[CustomerSync],
                          activities=[OrderStoreActivities(store).apply_customer_change],
                          activity_executor=executor):
            yield
            with contextlib.suppress(RPCError):
                await client.get_workflow_handle(customer_sync_workflow_id(customer_code)).terminate("test over")


def change(customer_code: str, province: str, version: int, name: str, **fields) -> CustomerChange:
    return CustomerChange(province=province, customer_code=customer_code, version=version, name=name,
                          level=fields.pop("level", "branch"), **fields)


async def deliver(client, settings, *changes: CustomerChange) -> WorkflowHandle:
    """The provinces' CRMs push the changes, one after the other."""
    for each in changes:
        handle = await notify_customer_change(client, settings.task_queue, each)
    return handle


async def until_versions(handle: WorkflowHandle, versions: dict[str, int]) -> None:
    """Wait until the workflow has applied exactly these versions."""
    for _ in range(200):
        if await handle.query(CustomerSync.versions) == versions:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"versions {await handle.query(CustomerSync.versions)}, expected {versions}")


async def applied(client: Client, handle: WorkflowHandle) -> list[tuple[str, int]]:
    """(province, version) of each change the workflow applied to the store, from its history."""
    result = []
    async for event in handle.fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes"):
            payloads = event.activity_task_scheduled_event_attributes.input.payloads
            [sent] = await client.data_converter.decode(payloads, [CustomerChange])
            result.append((sent.province, sent.version))
    return result


async def test_a_branch_change_updates_the_stored_hierarchy(client, settings, store, acquired, sync_worker,
                                                            customer_code):
    handle = await deliver(client, settings, change(customer_code, "GD", 2, "Acme Logistics South China"))
    await until_versions(handle, {"GD": 2})

    branches = store.customers.get_customer(customer_code).branches
    assert [(b.province, b.name) for b in branches] == [
        ("BJ", "Acme Logistics BJ"), ("GD", "Acme Logistics South China")]


async def test_a_new_provinces_branch_is_added_and_a_deleted_one_removed(client, settings, store, acquired,
                                                                          sync_worker, customer_code):
    handle = await deliver(client, settings, change(customer_code, "ZJ", 1, "Acme Logistics Zhejiang"),
                           change(customer_code, "BJ", 2, "Acme Logistics BJ", deleted=True))
    await until_versions(handle, {"ZJ": 1, "BJ": 2})

    stored = store.customers.get_customer(customer_code)
    assert [b.province for b in stored.branches] == ["GD", "ZJ"]
    assert stored.provinces == ["GD", "SH", "ZJ"]


async def test_a_group_level_change_renames_the_customer(client, settings, store, acquired, sync_worker,
                                                         customer_code):
    handle = await deliver(client, settings, change(customer_code, "SH", 2, "Acme Logistics Group",
                                                    level="group", credit_code="91310000MA1FL0002Y"))
    await until_versions(handle, {"SH": 2})

    stored = store.customers.get_customer(customer_code)
    assert (stored.name, stored.credit_code, stored.group_province) == (
        "Acme Logistics Group", "91310000MA1FL0002Y", "SH")
    assert [b.province for b in stored.branches] == ["BJ", "GD"]


async def test_an_older_version_delivered_late_is_ignored(client, settings, store, acquired, sync_worker,
                                                          customer_code):
    handle = await deliver(client, settings, change(customer_code, "GD", 3, "Acme Logistics GD v3"),
                           change(customer_code, "GD", 2, "Acme Logistics GD v2"),
                           change(customer_code, "BJ", 2, "Acme Logistics BJ v2"))
    await until_versions(handle, {"GD": 3, "BJ": 2})

    assert await applied(client, handle) == [("GD", 3), ("BJ", 2)]
    assert {b.province: b.name for b in store.customers.get_customer(customer_code).branches}["GD"] == "Acme Logistics GD v3"


async def test_the_same_change_twice_is_applied_once(client, settings, store, acquired, sync_worker, customer_code):
    twice = change(customer_code, "GD", 2, "Acme Logistics South China")
    handle = await deliver(client, settings, twice, twice, change(customer_code, "BJ", 2, "Acme Logistics BJ v2"))
    await until_versions(handle, {"GD": 2, "BJ": 2})

    assert await applied(client, handle) == [("GD", 2), ("BJ", 2)]


async def test_a_change_for_a_customer_not_acquired_is_ignored_without_failing_the_workflow(
        client, settings, store, sync_worker, customer_code):
    handle = await deliver(client, settings, change(customer_code, "GD", 1, "Acme Logistics GD"))
    await until_versions(handle, {"GD": 1})
    assert store.customers.get_customer(customer_code) is None
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

    store.customers.save_customer(CustomerHierarchy(customer_code=customer_code, name="Acme Logistics",
                                          credit_code=CREDIT_CODE, group_province="SH"))
    await deliver(client, settings, change(customer_code, "GD", 2, "Acme Logistics GD"))
    await until_versions(handle, {"GD": 2})
    assert [b.province for b in store.customers.get_customer(customer_code).branches] == ["GD"]


async def test_a_stale_version_sent_by_hand_is_said_to_be_ignored(client, settings, store, acquired, customer_code,
                                                                   sync_worker):
    async def connect():
        return client

    intake = Intake(settings, store, connect)
    fields = {"province": "GD", "customer_code": customer_code, "name": "Acme Logistics Guangzhou",
              "level": "branch"}

    _, newest = await intake.customer_change({**fields, "version": 3})
    _, stale = await intake.customer_change({**fields, "version": 2})
    _, repeat = await intake.customer_change({**fields, "version": 3})

    assert newest == ""
    assert stale == "version 3 of the GD record was already received: version 2 is older and is ignored"
    assert repeat == "version 3 of the GD record was already received: version 3 is a repeat and is ignored"
