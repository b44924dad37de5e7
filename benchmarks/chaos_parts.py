"""The chaos run's processes and what breaks them: the embedded default's parts (dev server
with its history on disk, simulator, `vpdn worker`) as separate processes, SIGKILLed and
started again; the faults the provinces inject; the fallout policy the worker runs under."""

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx

from benchmarks.harness import VPDN, wait_healthy
from embedded import reachable, start_dev_server, stop
from settings import Settings

FAULTY_SYSTEMS = ("crm", "hlr", "billing", "aaa", "line", "sms")
# A missing report is asked for again (same key: the province reports again), a busy province
# asked again; anything else undoes the order.
POLICY = {"rules": [{"code": "DEADLINE", "action": "retry", "retries": 5},
                    {"code": "E1099", "action": "retry", "retries": 3},
                    {"action": "compensate"}]}


def write_policy(data_dir: Path) -> str:
    path = data_dir / "chaos-policy.json"
    path.write_text(json.dumps(POLICY))
    return str(path)


async def inject_faults(hub: httpx.AsyncClient, rate: float, report_loss: float, busy: float) -> None:
    """In every province: transient failures (503, nothing done) and lost answers (done, the
    answer lost: 504) on `rate` and `rate / 2` of the calls, reports lost on `report_loss` of
    the tariff configurations, access CRM work orders and line schedulings, and a busy CRM (E1099) refusing `busy` of the tariff configurations."""
    faults = [{"system": s, "kind": "transient", "rate": rate} for s in FAULTY_SYSTEMS]
    faults += [{"system": s, "kind": "lost_answer", "rate": rate / 2} for s in FAULTY_SYSTEMS]
    # (not the joins' member orders: `vpdn member join` gives them the default 48 h deadline)
    faults += [{"system": s, "operation": op, "kind": "no_report", "rate": report_loss}
               for s, op in (("crm", "configure_group_tariff"), ("crm", "service_work_order"), ("line", "schedule_line"))]
    faults += [{"system": "crm", "operation": "configure_group_tariff", "kind": "reject", "rate": busy,
                "code": "E1099", "text": "busy, try later"}]
    for fault in (f for f in faults if f["rate"] > 0):
        (await hub.post("/admin/faults", json=fault)).raise_for_status()


def store_outage(database: str, seconds: float) -> None:
    """The SQLite order store refuses every write for `seconds` (an exclusive lock held on it):
    writers wait their 30 s busy timeout, then fail and are retried. Blocks: run it in a thread."""
    connection = sqlite3.connect(database, timeout=60, isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        time.sleep(seconds)
        connection.execute("ROLLBACK")
    finally:
        connection.close()


async def join_killed_and_run_again(service_id: str, order_no: str, numbers: list[str], folder: Path,
                                    token: str) -> str:
    """`vpdn member join` SIGKILLed at a random moment between its steps, then run again as a
    person would (again while Temporal is unreachable), as the account manager holding `token`;
    returns how the last run ended: the order submitted, or refused as submitted already by the
    killed run."""
    members = folder / f"{order_no}.csv"
    members.write_text("msisdn,name\n" + "".join(f"{m},member {m}\n" for m in numbers), encoding="utf-8")
    command = [VPDN, "member", "join", service_id, "--file", str(members), "--order-no", order_no,
               "--pre-approved-by", "chaos-hq"]
    env = {**os.environ, "VPDN_API_TOKEN": token}
    killed = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    await asyncio.sleep(random.uniform(0.3, 2.5))  # from its start-up to its submission
    killed.kill()
    killed.wait()
    for _ in range(60):
        again = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, env=env)
        if again.returncode == 0:
            return "submitted by the second run"
        if again.returncode == 2 and "already submitted" in again.stderr + again.stdout:
            return "submitted by the killed run"
        await asyncio.sleep(1)
    raise SystemExit(f"vpdn member join {order_no} never went through: {again.stderr or again.stdout}")


class Parts:
    """The embedded default's parts as separate processes, to be killed and restarted."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.simulator: subprocess.Popen | None = None
        self.kills = self.server_kills = self.simulator_kills = 0

    async def start(self) -> None:
        await self.start_server()
        await self.start_simulator()
        self.start_worker()

    async def start_server(self) -> None:
        self.server = start_dev_server(self.settings)
        for _ in range(480):  # 2 minutes: a restart on a loaded machine replays its history first
            if await reachable(self.settings.temporal_address):
                return
            if self.server.poll() is not None:
                raise SystemExit(f"the dev server exited with code {self.server.returncode}")
            await asyncio.sleep(0.25)
        raise SystemExit("the dev server did not start within 2 minutes")

    async def start_simulator(self) -> None:
        log = open(self.settings.data_dir / "simulator.log", "ab")
        self.simulator = subprocess.Popen([VPDN, "simulator"], stdout=log, stderr=log)
        await wait_healthy(self.settings.hub_url)

    def start_worker(self) -> None:
        log = open(self.settings.data_dir / "worker.log", "ab")
        self.worker = subprocess.Popen([VPDN, "worker"], stdout=log, stderr=log)

    def kill_worker(self) -> None:
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait()
        self.kills += 1

    async def kill_server(self) -> None:
        """SIGKILL the dev server (no graceful stop) and start it again on its history."""
        self.server.kill()
        self.server.wait()
        await self.start_server()
        self.server_kills += 1

    async def kill_simulator(self) -> None:
        """SIGKILL the provinces' simulator and start it again on its database."""
        self.simulator.kill()
        self.simulator.wait()
        await self.start_simulator()
        self.simulator_kills += 1

    def stop(self) -> None:
        for process in (self.worker, self.simulator):
            if process and process.poll() is None:
                process.terminate()
                process.wait()
        if self.server:
            stop(self.server)


async def chaos(parts: Parts, kills: int, interval_s: float, done: asyncio.Event) -> None:
    """SIGKILL the worker every few seconds (restarting it); once a quarter of the way, the
    simulator too, and halfway, the dev server."""
    while not done.is_set() and parts.kills < kills:
        await asyncio.sleep(random.uniform(0.5, 1.5) * interval_s)
        parts.kill_worker()
        if parts.kills == max(1, kills // 4) and not parts.simulator_kills:
            await parts.kill_simulator()
        if parts.kills == kills // 2 and not parts.server_kills:
            await parts.kill_server()
        await asyncio.sleep(0.5)
        parts.start_worker()
