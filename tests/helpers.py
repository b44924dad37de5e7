"""What tests do often: build orders, look into the simulated provinces, wait for a state."""

import asyncio
import functools
import os
import shutil
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from models.customer import CustomerHierarchy
from models.orders import OrderStatus, OrderType, workflow_id_for
from models.service import ServiceOpeningOrder
from models.service_changes import ServiceOrderResult
from models.service_orders import SubmissionAnswer
from settings import Settings
from store import OrderStore, engine_for, migrate
from submission import start_order, submit_service_order
from workflows.service_opening import ServiceOpening

CUSTOMER = "3100012345"


@functools.cache
def _template() -> Path:
    """An SQLite order store migrated to head once per test process, copied per test."""
    path = Path(tempfile.mkdtemp(prefix="vpdn-template-")) / "gpms.db"
    engine = engine_for(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()  # checkpoints the WAL into the file
    return path


def migrated(url: str) -> str:
    """`url` with an empty order store at the head revision: a copy of the template for a
    new SQLite file; PostgreSQL emptied (by truncation when it is at head already)."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            shutil.copyfile(_template(), path)
            os.chmod(path, 0o600)
        return url
    engine = engine_for(url)
    if migrate.current(engine) == migrate.head():
        with engine.begin() as connection:
            connection.exec_driver_sql("TRUNCATE " + ", ".join(f'"{name}"' for name in migrate.store_tables().tables)
                                       + " RESTART IDENTITY CASCADE")
    else:
        drop_schema(url)
        migrate.upgrade(engine)
    engine.dispose()
    return url


def drop_schema(url: str) -> None:
    """Drop every table of a PostgreSQL test database (the store's, the simulator's, the versions)."""
    engine = engine_for(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    engine.dispose()


def acquired_customer(store: OrderStore, code: str = CUSTOMER) -> None:
    store.customers.save_customer(CustomerHierarchy(customer_code=code, name="Acme Logistics",
                                          credit_code="91310000MA1FL0001X", group_province="SH"))


def opening_order(order_no: str, **fields) -> ServiceOpeningOrder:
    return ServiceOpeningOrder.model_validate({
        "order_no": order_no,
        "customer_code": CUSTOMER,
        "apn": f"{order_no.lower()}.acme.vpdn",
        "access_province": "SH",
        "provinces": ["SH", "GD", "BJ"],
        "tariff": {"name": "Acme VPDN 2026", "parameters": {"monthly_fee": "2000", "member_fee": "10"},
                   "discounts": {"volume": "0.9"}},
        "line": {"bandwidth_mbps": 100, "address": "88 Century Avenue, Pudong, Shanghai"},
        "requested_by": "alice",
        "pre_approved_by": "hq-audit",
        "contract": contract(f"CT-{order_no}"),
        **fields,
    })


def contract(number: str, **fields) -> dict:
    """A signed contract as an opening order carries it."""
    return {"number": number, "signed_on": "2026-11-20", "signed_by": "am-zhang",
            "tariff_reference": "HQ-TRF-2026-0173", **fields}


async def start_opening(client: Client, settings: Settings, order: ServiceOpeningOrder) -> WorkflowHandle:
    return await start_order(
        client, settings.task_queue, ServiceOpening.run, order,
        order_type=OrderType.service_opening, order_no=order.order_no, customer_code=order.customer_code,
        provinces=order.provinces,
    )


async def holdings(simulator: httpx.AsyncClient, province: str, system: str, kind: str | None = None) -> list[dict]:
    """What one province's system now holds."""
    params = {"kind": kind} if kind else {}
    response = await simulator.get(f"/admin/provinces/{province}/{system}/resources", params=params)
    response.raise_for_status()
    return response.json()


async def inject(simulator: httpx.AsyncClient, **fault) -> None:
    response = await simulator.post("/admin/faults", json=fault)
    response.raise_for_status()


async def reset_faults(simulator: httpx.AsyncClient) -> None:
    (await simulator.post("/admin/reset")).raise_for_status()


async def wait_for_status(
    handle: WorkflowHandle, condition: Callable[[OrderStatus], bool], timeout_s: float = 20
) -> OrderStatus:
    """Poll the order's `status` query until the condition holds (a queued order's workflow
    may not have started yet)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    status = None
    while True:
        try:
            status = await handle.query("status", result_type=OrderStatus)
        except RPCError:
            status = None
        if status is not None and condition(status):
            return status
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting; last status: {status}")
        await asyncio.sleep(0.1)


async def wait_for_search_attribute(handle: WorkflowHandle, key, expected, timeout_s: float = 20) -> None:
    """Poll the workflow's description until its search attribute `key` is `expected`: a query
    may answer from a workflow task whose upsert the server has not recorded yet."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while (value := (await handle.describe()).typed_search_attributes.get(key)) != expected:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {key.name} = {expected}; it is {value}")
        await asyncio.sleep(0.1)


async def opened_service(client: Client, settings: Settings, order_no: str, **fields) -> ServiceOpeningOrder:
    """A service opened end to end (SH access with a line, GD and BJ; rental next day)."""
    order = opening_order(order_no, **fields)
    await (await start_opening(client, settings, order)).result()
    return order


def order_fields(opening: ServiceOpeningOrder, order_no: str, **fields) -> dict:
    return {"order_no": order_no, "service_id": opening.service_id, "customer_code": opening.customer_code,
            "requested_by": "alice", "pre_approved_by": "hq-audit", **fields}


async def submit(client: Client, settings: Settings, order) -> SubmissionAnswer:
    return await submit_service_order(client, settings.task_queue, order)


async def order_result(client: Client, order_type: OrderType, order_no: str, result_type: type = ServiceOrderResult,
                       timeout_s: float = 30):
    """The result of a queued order's workflow, once it has started and ended."""
    handle = client.get_workflow_handle(workflow_id_for(order_type, order_no), result_type=result_type)
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            await handle.describe()
            return await asyncio.wait_for(handle.result(), timeout_s)
        except RPCError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)


async def timer_summaries(client: Client, handle: WorkflowHandle, expected: str | None = None,
                          timeout_s: float = 20) -> list[str]:
    """The summaries of the timers the workflow started (as the Temporal UI shows them),
    decoded with the client's data converter; with `expected`, waits until it is among them."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        history = await handle.fetch_history()
        summaries = [(await client.data_converter.decode([event.user_metadata.summary], [str]))[0]
                     for event in history.events
                     if event.HasField("timer_started_event_attributes") and event.user_metadata.HasField("summary")]
        if expected is None or expected in summaries:
            return summaries
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no timer {expected!r}; timers: {summaries}")
        await asyncio.sleep(0.1)


async def package_versions(simulator: httpx.AsyncClient, provinces: list[str]) -> dict[str, int]:
    """The group tariff package version each province's CRM holds."""
    held = {}
    for province in provinces:
        for package in await holdings(simulator, province, "crm", "group_tariff_package"):
            held[province] = package["data"]["version"]
    return held


def free_port() -> int:
    """A loopback port free now (for a server a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The content of an opening order file, as the CLI's tests submit it.
OPENING_ORDER = {
    "customer_code": "3100012345", "apn": "acme.vpdn.sh", "access_province": "SH", "provinces": ["GD"],
    "tariff": {"name": "Acme", "parameters": {"monthly_fee": "100", "member_fee": "5"}},
    "contract": {"number": "CT-2026-001", "signed_on": "2026-11-20", "signed_by": "am-zhang",
                 "tariff_reference": "HQ-TRF-2026-0173"},
}
