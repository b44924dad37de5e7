"""Chaos: a mixed load while the worker is killed, the Temporal server restarted and the
provinces fail transiently — then prove nothing was lost and nothing done twice.

Against the embedded default, each part its own process: the dev server with its history
on disk, the simulator, and `vpdn worker`. For each of S services: acquire the customer,
open the service, M members join and two tariff changes are queued behind the join, then
every member exits and the service closes (7 orders per service). Meanwhile the worker is
SIGKILLed and restarted K times, the dev server is restarted once, and transient faults
hit the CRM, HLR, billing and AAA of every province (half their calls by default) until the
last phase. At the end:

- every order is in a terminal state, or `held` with a fallout record (none stuck);
- no duplicated effect: each member got its password SMS once per join;
- `vpdn reconcile` finds no difference between the order store and the provinces.

    .venv/bin/python benchmarks/chaos.py --services 15 --members 100 --kills 12
"""

import argparse
import asyncio
import collections
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from temporalio.service import RPCError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import VPDN, free_port, shared_secrets, wait_healthy  # noqa: E402
from embedded import reachable, start_dev_server, stop  # noqa: E402
from models.customer import AcquireCustomerInput  # noqa: E402
from models.members import MemberLine, MemberOrder  # noqa: E402
from models.orders import TERMINAL_STATES, OrderState, OrderType  # noqa: E402
from models.provinces import PROVINCE_CODES  # noqa: E402
from models.service import ServiceClosureOrder, ServiceOpeningOrder, TariffChangeOrder  # noqa: E402
from reconcile import Reconciler  # noqa: E402
from settings import Settings, connect_temporal  # noqa: E402
from store import OrderStore, engine_for, migrate  # noqa: E402
from submission import start_order, submit_service_order  # noqa: E402
from setup_step import register_search_attributes  # noqa: E402
from workflows.customer_acquisition import CustomerAcquisition  # noqa: E402
from workflows.service_opening import ServiceOpening  # noqa: E402

FAULTY_SYSTEMS = ("crm", "hlr", "billing", "aaa")


class Parts:
    """The embedded default's parts as separate processes, to be killed and restarted."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.simulator: subprocess.Popen | None = None
        self.kills = self.server_restarts = 0

    async def start(self) -> None:
        await self.start_server()
        self.simulator = subprocess.Popen([VPDN, "simulator"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        await wait_healthy(self.settings.hub_url)
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

    def start_worker(self) -> None:
        log = open(self.settings.data_dir / "worker.log", "ab")
        self.worker = subprocess.Popen([VPDN, "worker"], stdout=log, stderr=log)

    def kill_worker(self) -> None:
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait()
        self.kills += 1

    async def restart_server(self) -> None:
        stop(self.server)
        await self.start_server()
        self.server_restarts += 1

    def stop(self) -> None:
        for process in (self.worker, self.simulator):
            if process and process.poll() is None:
                process.terminate()
                process.wait()
        if self.server:
            stop(self.server)


async def chaos(parts: Parts, kills: int, interval_s: float, done: asyncio.Event) -> None:
    """Kill the worker every few seconds (restarting it), and restart the server once."""
    while not done.is_set() and parts.kills < kills:
        await asyncio.sleep(random.uniform(0.5, 1.5) * interval_s)
        parts.kill_worker()
        if parts.kills == kills // 2 and not parts.server_restarts:
            await parts.restart_server()
        await asyncio.sleep(0.5)
        parts.start_worker()


async def wait_for(store: OrderStore, order_nos: list[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        orders = [store.orders.get_order(order_no) for order_no in order_nos]
        if all(o is not None and (o.state in TERMINAL_STATES or o.state == OrderState.held) for o in orders):
            return
        await asyncio.sleep(1)


async def with_retries(call, attempts: int = 60):
    """A client call while the server may be restarting."""
    for attempt in range(attempts):
        try:
            return await call()
        except (RuntimeError, RPCError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(1)


async def run(services: int, members: int, kills: int, fault_rate: float) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="vpdn-chaos-"))
    os.environ.update({"VPDN_DATA_DIR": str(data_dir), "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
                       "VPDN_UI_PORT": str(free_port()), "VPDN_SIM_PORT": str(free_port()),
                       "VPDN_SIM_REPORT_DELAY": "0.2", "VPDN_PASSWORD_SECRET_FILE": shared_secrets(data_dir)})
    settings = Settings()
    parts = Parts(settings)
    started = time.monotonic()
    try:
        migrate.upgrade(engine_for(settings.database_url))
        await parts.start()
        client = await connect_temporal(settings)
        await register_search_attributes(client, settings.namespace)
        hub = httpx.AsyncClient(base_url=settings.hub_url, timeout=120)
        store = OrderStore(settings.database_url)
        generated = (await hub.post("/admin/seed/generate", json={
            "customers": services, "subscribers": services * members, "seed": 7})).json()
        groups = [c for c in generated["customers"] if c["level"] == "group"]
        regions = collections.defaultdict(list)
        for record in generated["customers"]:
            regions[record["customer_code"]].append(record["province"])
        numbers = [s["msisdn"] for s in generated["subscribers"]]
        for system in FAULTY_SYSTEMS:  # in every province
            await hub.post("/admin/faults", json={"system": system, "kind": "transient", "rate": fault_rate})
        done = asyncio.Event()
        chaos_task = asyncio.create_task(chaos(parts, kills, 4.0, done))
        queue = settings.task_queue

        # Phase 1: acquisitions, then openings.
        for g in groups:
            order = AcquireCustomerInput(order_no=f"C-ACQ-{g['customer_code']}", customer_code=g["customer_code"],
                                         requested_by="chaos")
            await with_retries(lambda o=order: start_order(
                client, queue, CustomerAcquisition.run, o, order_type=OrderType.customer_acquisition,
                order_no=o.order_no, customer_code=o.customer_code, provinces=list(PROVINCE_CODES)))
        await wait_for(store, [f"C-ACQ-{g['customer_code']}" for g in groups], 600)
        openings = []
        for n, g in enumerate(groups):
            code = g["customer_code"]
            order = ServiceOpeningOrder(
                order_no=f"C-OPN-{n}", customer_code=code, apn=f"chaos{n}.vpdn", access_province=g["province"],
                provinces=sorted(set(regions[code])), line={"bandwidth_mbps": 100, "address": f"site {n}"},
                tariff={"name": "t", "parameters": {"monthly_fee": "100", "member_fee": "5"}},
                contract={"number": f"C-CT-{n}", "signed_on": "2026-11-20", "signed_by": "chaos",
                          "tariff_reference": "CHAOS-TRF"},
                requested_by="chaos", pre_approved_by="chaos")
            openings.append(order)
            await with_retries(lambda o=order: start_order(
                client, queue, ServiceOpening.run, o, order_type=OrderType.service_opening, order_no=o.order_no,
                customer_code=o.customer_code, provinces=o.provinces))
        await wait_for(store, [o.order_no for o in openings], 900)

        # Phase 2: joins, each followed by two tariff changes on the same service's queue.
        phase2 = []
        for n, opening in enumerate(openings):
            service = store.services.get_service(opening.service_id)
            if service is None or service.state != "active":
                continue
            mine = numbers[n * members:(n + 1) * members]
            store.staging.stage(f"C-JOIN-{n}", service.service_id, "join", [MemberLine(msisdn=m) for m in mine])
            base = {"service_id": service.service_id, "customer_code": service.customer_code,
                    "provinces": service.provinces, "requested_by": "chaos", "pre_approved_by": "chaos"}
            orders = [MemberOrder(order_no=f"C-JOIN-{n}", kind="join", apn=service.apn,
                                  access_province=service.access_province, member_count=len(mine), **base)]
            orders += [TariffChangeOrder.model_validate({**base, "order_no": f"C-TRF-{n}-{v}", "change": {
                "parameters": {"monthly_fee": str(100 + v)}}}) for v in (1, 2)]
            for order in orders:
                await with_retries(lambda o=order: submit_service_order(client, queue, o))
                phase2.append(order.order_no)
        await wait_for(store, phase2, 1200)
        faults = (await hub.get("/admin/faults")).json()
        injected = sum(f["hits"] for f in faults)
        await hub.post("/admin/reset")  # the provinces recover: exits and closures run clean

        # Phase 3: every member exits, then the service closes.
        phase3 = []
        for n, opening in enumerate(openings):
            service = store.services.get_service(opening.service_id)
            if service is None or service.state != "active":
                continue
            homes = store.members.member_homes(service.service_id)
            base = {"service_id": service.service_id, "customer_code": service.customer_code,
                    "provinces": service.provinces, "requested_by": "chaos", "pre_approved_by": "chaos"}
            orders = []
            if homes:
                store.staging.stage(f"C-EXIT-{n}", service.service_id, "exit", [MemberLine(msisdn=m) for m in homes])
                orders.append(MemberOrder(order_no=f"C-EXIT-{n}", kind="exit", apn=service.apn,
                                          access_province=service.access_province, member_count=len(homes), **base))
            orders.append(ServiceClosureOrder.model_validate({**base, "order_no": f"C-CLS-{n}"}))
            for order in orders:
                await with_retries(lambda o=order: submit_service_order(client, queue, o))
                phase3.append(order.order_no)
        await wait_for(store, phase3, 900)
        done.set()
        await chaos_task
        if parts.worker.poll() is not None:
            parts.start_worker()

        # The proof.
        all_orders = store.orders.list_orders(limit=100_000)
        stuck = [o for o in all_orders if o.state not in TERMINAL_STATES and not (
            o.state == OrderState.held and any(f.order_no == o.order_no for f in store.fallouts.list_fallouts()))]
        sms = collections.Counter(m["msisdn"] for m in (await hub.get("/admin/sms")).json())
        duplicates = {m: c for m, c in sms.items() if c > 1}
        differences = await Reconciler(store, hub).differences()
        states = collections.Counter(o.state for o in all_orders)
        await hub.aclose()
    finally:
        parts.stop()
    print(f"orders: {len(all_orders)} ({', '.join(f'{n} {s}' for s, n in sorted(states.items()))})")
    print(f"worker SIGKILLs: {parts.kills}, dev server restarts: {parts.server_restarts}, "
          f"injected transient failures: {injected}")
    print(f"stuck orders: {len(stuck)} {[o.order_no for o in stuck][:10]}")
    print(f"duplicated effects: {len(duplicates)} (members with more than one password SMS)")
    print(f"differences between GPMS and the provinces: {len(differences)}")
    for difference in differences[:10]:
        print(f"  {difference}")
    print(f"wall time: {time.monotonic() - started:.0f} s (data in {data_dir})")
    if stuck or duplicates or differences:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=15)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--fault-rate", type=float, default=0.5)
    args = parser.parse_args()
    asyncio.run(run(args.services, args.members, args.kills, args.fault_rate))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
