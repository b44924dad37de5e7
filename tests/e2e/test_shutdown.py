"""A `vpdn worker` process stopped by SIGTERM in the middle of a member-join batch lets the
batch finish and exits 0; nothing is done twice, and a new worker completes the order."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client, WorkflowHandle

from intake import Intake
from models.hub import CompletionReport
from models.members import MemberOrderResult
from models.orders import OrderType
from models.service import ServiceRegistration
from settings import Settings
from simulator.server import serve
from store import OrderStore
from tests.helpers import acquired_customer, holdings, inject, order_result

VPDN = str(Path(sys.executable).parent / "vpdn")
MEMBERS = [f"1380000{n:04d}" for n in range(6)]
GRACE_S = 15
BATCH_LATENCY_MS = 3000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_worker(settings: Settings, client: Client) -> subprocess.Popen:
    env = {**os.environ, "VPDN_DATA_DIR": str(settings.data_dir), "VPDN_TASK_QUEUE": settings.task_queue,
           "VPDN_SIM_PORT": str(settings.simulator_port), "VPDN_PASSWORD_SECRET_FILE": str(settings.password_secret_file),
           "VPDN_SHUTDOWN_GRACE": str(GRACE_S), "TEMPORAL_ADDRESS": client.service_client.config.target_host}
    return subprocess.Popen([VPDN, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


async def batch_running(handle: WorkflowHandle, activity: str, timeout_s: float = 20) -> None:
    """Wait until the workflow's `activity` has started on a worker."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        try:
            pending = (await handle.describe()).raw_description.pending_activities
        except Exception:  # noqa: BLE001 - the queued order's workflow has not started yet
            pending = []
        if any(p.activity_type.name == activity and p.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
               for p in pending):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{activity} never started")


@pytest.fixture
async def hub(settings: Settings, client: Client):
    """The provinces' simulator over HTTP (as the worker process reaches it), its reports
    signalled through the test's client."""
    settings = Settings(data_dir=settings.data_dir, task_queue=settings.task_queue, simulator_port=free_port(),
                        report_delay_s=0.05, password_secret_file=settings.password_secret_file)

    async def signal_workflow(workflow_id: str, name: str, report: CompletionReport) -> None:
        await client.get_workflow_handle(workflow_id).signal(name, report)

    serving = asyncio.create_task(serve(settings, report_sink=signal_workflow))
    async with httpx.AsyncClient(base_url=settings.hub_url) as http:
        while True:
            try:
                if (await http.get("/health")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.05)
        yield settings, http
    serving.cancel()
    await asyncio.wait([serving])


async def test_sigterm_during_a_batch_lets_it_finish_and_a_new_worker_completes_the_order(client, store, hub):
    settings, http = hub
    acquired_customer(store)
    store.services.register_service(ServiceRegistration(
        order_no="OPN-SIGTERM", service_id="SVC-SIGTERM", customer_code="3100012345", apn="sigterm.vpdn",
        access_province="SH", paying_province="SH", provinces=["SH"],
        tariff={"name": "t", "parameters": {"monthly_fee": "1", "member_fee": "1"}}))
    store.services.set_service_state("SVC-SIGTERM", "active")
    (await http.post("/admin/seed", json={"subscribers": [{"msisdn": m, "home_province": "SH"} for m in MEMBERS]})
     ).raise_for_status()
    await inject(http, system="hlr", operation="subscribe_vpdn_batch", kind="latency", latency_ms=BATCH_LATENCY_MS)
    first = start_worker(settings, client)

    async def connect() -> Client:
        return client

    accepted = await Intake(settings, store, connect).member_order("SVC-SIGTERM", "join", "\n".join(MEMBERS).encode(), {
        "order_no": "JOIN-SIGTERM", "requested_by": "alice", "pre_approved_by": "hq-wang"})
    handle = client.get_workflow_handle(accepted.workflow_id)
    await batch_running(handle, "subscribe_members")
    first.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.to_thread(first.communicate, timeout=GRACE_S + 5)

    assert first.returncode == 0, stderr
    assert "vpdn worker: stopping" in stderr and "vpdn worker: stopped" in stderr
    second = start_worker(settings, client)
    try:
        result = await order_result(client, OrderType.member_join, "JOIN-SIGTERM", MemberOrderResult, timeout_s=30)
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.to_thread(second.communicate, timeout=GRACE_S + 5)

    assert result.state == "completed" and result.counts.done == len(MEMBERS)
    hlr = await holdings(http, "SH", "hlr")
    assert sorted(r["key"] for r in hlr if r["writes"] == 1) == sorted(r["key"] for r in hlr) and len(hlr) >= len(MEMBERS)
    calls = (await http.get("/admin/calls")).json()
    assert [c for c in calls if c["calls"] != 1] == []
    attempts = [e.activity_task_started_event_attributes.attempt async for e in handle.fetch_history_events()
                if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED]
    assert attempts and set(attempts) == {1}
    assert second.returncode == 0


async def test_ctrl_c_stops_an_idle_worker_cleanly(client, settings):
    worker = start_worker(settings, client)
    started = await asyncio.to_thread(worker.stderr.readline)
    worker.send_signal(signal.SIGINT)
    _, stderr = await asyncio.to_thread(worker.communicate, timeout=GRACE_S)

    assert "vpdn worker: running on task queue" in started
    assert worker.returncode == 0, stderr
    assert "vpdn worker: stopped" in stderr and "Traceback" not in stderr
