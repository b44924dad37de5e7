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
from models.members import MemberOrderResult
from models.orders import OrderType
from models.service import ServiceRegistration
from settings import Settings
from simulator.server import serve
from tests.conftest import HUB_TOKEN
from tests.helpers import acquired_customer, holdings, inject, order_result

VPDN = str(Path(sys.executable).parent / "vpdn")
MEMBERS = [f"1380000{n:04d}" for n in range(6)]
GRACE_S = 15
BATCH_LATENCY_MS = 3000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class WorkerProcess:
    """`vpdn worker` as a service manager runs it, its log in a file."""

    def __init__(self, settings: Settings, client: Client, name: str) -> None:
        self.log = settings.data_dir / f"{name}.log"
        env = {**os.environ, "VPDN_DATA_DIR": str(settings.data_dir), "VPDN_TASK_QUEUE": settings.task_queue,
               "VPDN_SIM_PORT": str(settings.simulator_port), "VPDN_SHUTDOWN_GRACE": str(GRACE_S),
               "VPDN_PASSWORD_SECRET_FILE": str(settings.password_secret_file),
               "VPDN_PAYLOAD_KEYS_FILE": str(settings.payload_keys_file),
               "TEMPORAL_ADDRESS": client.service_client.config.target_host}
        with open(self.log, "w") as log:
            self.process = subprocess.Popen([VPDN, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)

    async def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        """Send the signal; the exit code and the log once the process ended."""
        self.process.send_signal(signum)
        code = await asyncio.to_thread(self.process.wait, timeout=GRACE_S + 5)
        return code, self.log.read_text()

    async def logged(self, text: str, timeout_s: float = 20) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while text not in self.log.read_text():
            assert asyncio.get_running_loop().time() < deadline, f"{text!r} never logged: {self.log.read_text()}"
            await asyncio.sleep(0.1)


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
async def hub(settings: Settings, gpms_api: str):
    """The provinces' simulator over HTTP (as the worker process reaches it), its reports
    delivered to the test's API as the hub."""
    settings = settings.model_copy(update={"simulator_port": (port := free_port()),
                                           "hub_url": f"http://127.0.0.1:{port}", "api_url": gpms_api,
                                           "hub_token": HUB_TOKEN})
    serving = asyncio.create_task(serve(settings))
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
    first = WorkerProcess(settings, client, "first")

    async def connect() -> Client:
        return client

    submitting = Intake(settings, store, connect).member_order("SVC-SIGTERM", "join", "\n".join(MEMBERS).encode(), {
        "order_no": "JOIN-SIGTERM", "requested_by": "alice", "pre_approved_by": "hq-wang"})
    accepted = await asyncio.wait_for(submitting, 30)  # the worker queues it: a worker that died fails here
    handle = client.get_workflow_handle(accepted.workflow_id)
    await batch_running(handle, "subscribe_members")
    code, log = await first.stop()

    assert code == 0, log
    assert "stopping: no new tasks; running activities get up to 15 s to finish" in log and '"stopped"' in log
    second = WorkerProcess(settings, client, "second")
    try:
        result = await order_result(client, OrderType.member_join, "JOIN-SIGTERM", MemberOrderResult, timeout_s=30)
    finally:
        code, log = await second.stop()

    assert result.state == "completed" and result.counts.done == len(MEMBERS)
    hlr = await holdings(http, "SH", "hlr")
    assert sorted(r["key"] for r in hlr if r["writes"] == 1) == sorted(r["key"] for r in hlr) and len(hlr) >= len(MEMBERS)
    calls = (await http.get("/admin/calls")).json()
    assert [c for c in calls if c["calls"] != 1] == []
    attempts = [e.activity_task_started_event_attributes.attempt async for e in handle.fetch_history_events()
                if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED]
    assert attempts and set(attempts) == {1}
    assert code == 0, log


async def test_ctrl_c_stops_an_idle_worker_cleanly(client, settings):
    worker = WorkerProcess(settings, client, "idle")
    await worker.logged(f"running on task queue {settings.task_queue}")

    code, log = await worker.stop(signal.SIGINT)

    assert code == 0, log
    assert '"stopped"' in log and "Traceback" not in log
