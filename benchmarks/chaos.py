"""Chaos: a mixed load while every part is SIGKILLed and the provinces misbehave — then prove
nothing was lost and nothing done twice.

Against the embedded default, each part its own process: the dev server with its history
on disk, the simulator, and `vpdn worker`. For each of S services: acquire the customer,
open the service, M members join and two tariff changes are queued behind the join, then
every member exits and the service closes (7 orders per service). Meanwhile the worker is
SIGKILLed and restarted K times, the simulator SIGKILLed once and the dev server SIGKILLed
once (each started again on its data), each `vpdn member join` is SIGKILLed once at a random
moment and run again, the order store refuses writes for a while during the joins (SQLite:
an exclusive lock), and until the exits the provinces fail: transient failures, answers lost after the work was done (the caller asks
again), completion reports lost (the fallout policy asks again), a busy CRM refusing (the
policy asks again). At the end:

- every order submitted is recorded (none lost), and is terminal or `held` with a fallout
  record (none stuck); a join whose command was killed ran once, with its file's members;
- no duplicated effect: no resource written twice and no second password SMS by one step
  (the simulator's write log), every resource's writes counted;
- every member's AAA password hash matches the password its SMS carried (checked once the
  joins are done, before the exits remove the accounts);
- `vpdn reconcile` (with its Temporal and simulator-only checks) finds no difference.

    .venv/bin/python benchmarks/chaos.py --services 15 --members 100 --kills 12
"""

import argparse
import asyncio
import collections
import contextlib
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url
from temporalio.service import RPCError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.chaos_parts import (  # noqa: E402
    Parts,
    chaos,
    inject_faults,
    join_killed_and_run_again,
    store_outage,
    write_policy,
)
from benchmarks.harness import free_port, hub_token, serving_api, shared_keys, shared_secrets  # noqa: E402
from models.customer import AcquireCustomerInput  # noqa: E402
from models.members import MemberLine, MemberOrder  # noqa: E402
from models.orders import TERMINAL_STATES, OrderState, OrderType  # noqa: E402
from models.provinces import PROVINCE_CODES  # noqa: E402
from models.service import ServiceOpeningOrder  # noqa: E402
from models.service_changes import ServiceClosureOrder, TariffChangeOrder  # noqa: E402
from reconcile import Reconciler  # noqa: E402
from settings import Settings, connect_temporal  # noqa: E402
from store import OrderStore, engine_for, migrate  # noqa: E402
from submission import start_order, submit_service_order  # noqa: E402
from setup_step import register_search_attributes  # noqa: E402
from workflows.customer_acquisition import CustomerAcquisition  # noqa: E402
from workflows.service_opening import ServiceOpening  # noqa: E402

async def wait_for(store: OrderStore, order_nos: list[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        orders = [store.orders.get_order(order_no) for order_no in order_nos]
        if all(o is not None and (o.state in TERMINAL_STATES or o.state == OrderState.held) for o in orders):
            return
        await asyncio.sleep(1)


async def with_retries(call, attempts: int = 60):
    """A client call while the server (or the simulator) may be restarting."""
    for attempt in range(attempts):
        try:
            return await call()
        except (RuntimeError, RPCError, httpx.HTTPError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(1)


async def run(services: int, members: int, kills: int, fault_rate: float, report_loss: float,
              busy: float, timers: dict, store_outage_s: float, kill_commands: bool) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="vpdn-chaos-"))
    os.environ.update({"VPDN_DATA_DIR": str(data_dir), "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
                       "VPDN_UI_PORT": str(free_port()), "VPDN_SIM_PORT": str(free_port()),
                       "VPDN_API_PORT": str(free_port()), "VPDN_SIM_REPORT_DELAY": "0.2",
                       "VPDN_PASSWORD_SECRET_FILE": shared_secrets(data_dir),
                       "VPDN_PAYLOAD_KEYS_FILE": shared_keys(data_dir), "VPDN_FALLOUT_POLICY": write_policy(data_dir)})
    settings = Settings()
    parts = Parts(settings)
    api = contextlib.AsyncExitStack()
    started = time.monotonic()
    submitted: list[str] = []
    try:
        migrate.upgrade(engine_for(settings.database_url))
        hub_token(settings)
        account_manager = OrderStore(settings.database_url).tokens.create("chaos", ["account_manager"], expires_at=None)
        await parts.start()
        client = await connect_temporal(settings)
        await register_search_attributes(client, settings.namespace)
        await api.enter_async_context(serving_api(settings, client))  # where the simulator reports
        hub = httpx.AsyncClient(base_url=settings.hub_url, timeout=120)
        store = OrderStore(settings.database_url)
        generated = (await hub.post("/admin/seed/generate", json={
            "customers": services, "subscribers": services * members, "seed": 7})).json()
        groups = [c for c in generated["customers"] if c["level"] == "group"]
        regions = collections.defaultdict(list)
        for record in generated["customers"]:
            regions[record["customer_code"]].append(record["province"])
        numbers = [s["msisdn"] for s in generated["subscribers"]]
        await inject_faults(hub, fault_rate, report_loss, busy)
        done = asyncio.Event()
        chaos_task = asyncio.create_task(chaos(parts, kills, 4.0, done))
        queue = settings.task_queue

        async def start(run_workflow, order, order_type: OrderType, provinces: list[str]) -> None:
            submitted.append(order.order_no)
            await with_retries(lambda: start_order(client, queue, run_workflow, order, order_type=order_type,
                                                   order_no=order.order_no, customer_code=order.customer_code,
                                                   provinces=provinces))

        async def submit(orders: list) -> None:
            for order in orders:
                submitted.append(order.order_no)
                await with_retries(lambda o=order: submit_service_order(client, queue, o))

        # Phase 1: acquisitions, then openings.
        for g in groups:
            await start(CustomerAcquisition.run, AcquireCustomerInput(
                order_no=f"C-ACQ-{g['customer_code']}", customer_code=g["customer_code"], requested_by="chaos"),
                OrderType.customer_acquisition, list(PROVINCE_CODES))
        await wait_for(store, submitted, 600)
        openings = []
        for n, g in enumerate(groups):
            code = g["customer_code"]
            order = ServiceOpeningOrder(
                order_no=f"C-OPN-{n}", customer_code=code, apn=f"chaos{n}.vpdn", access_province=g["province"],
                provinces=sorted(set(regions[code])), line={"bandwidth_mbps": 100, "address": f"site {n}"},
                tariff={"name": "t", "parameters": {"monthly_fee": "100", "member_fee": "5"}},
                contract={"number": f"C-CT-{n}", "signed_on": "2026-11-20", "signed_by": "chaos",
                          "tariff_reference": "CHAOS-TRF"},
                requested_by="chaos", pre_approved_by="chaos", timers=timers)
            openings.append(order)
            await start(ServiceOpening.run, order, OrderType.service_opening, order.provinces)
        await wait_for(store, submitted, 900)

        # Phase 2: joins, each followed by two tariff changes on the same service's queue.
        # The joins by `vpdn member join`, each SIGKILLed once and run again.
        joins = {}
        for n, service in enumerate(active_services(store, openings)):
            mine = numbers[n * members:(n + 1) * members]
            base = order_base(service, timers)
            if kill_commands:
                submitted.append(f"C-JOIN-{n}")
                joins[f"C-JOIN-{n}"] = (len(mine), await join_killed_and_run_again(
                    service.service_id, f"C-JOIN-{n}", mine, data_dir, account_manager))
            else:
                store.staging.stage(f"C-JOIN-{n}", service.service_id, "join", [MemberLine(msisdn=m) for m in mine])
                await submit([MemberOrder(order_no=f"C-JOIN-{n}", kind="join", apn=service.apn, member_count=len(mine),
                                          access_province=service.access_province, **base)])
            await submit([TariffChangeOrder.model_validate({**base, "order_no": f"C-TRF-{n}-{v}", "change": {
                             "parameters": {"monthly_fee": str(100 + v)}}}) for v in (1, 2)])
        if store_outage_s:  # while the joins run (the chaos process itself only reads meanwhile)
            await asyncio.to_thread(store_outage, make_url(settings.database_url).database, store_outage_s)
        await wait_for(store, submitted, 1200)
        faults = await with_retries(lambda: hub.get("/admin/faults"))
        injected = collections.Counter()
        for fault in faults.json():
            injected[fault["spec"]["kind"]] += fault["hits"]
        await with_retries(lambda: hub.post("/admin/reset"))  # the provinces recover: exits and closures run clean
        # Every member joined has its AAA account now: check its password before the exits remove it.
        joined = Reconciler(store, hub, client, queue)
        differences = {str(d): d for d in await joined.differences()}

        # Phase 3: every member exits, then the service closes.
        for n, service in enumerate(active_services(store, openings)):
            homes = store.members.member_homes(service.service_id)
            base = order_base(service, timers)
            orders = []
            if homes:
                store.staging.stage(f"C-EXIT-{n}", service.service_id, "exit", [MemberLine(msisdn=m) for m in homes])
                orders.append(MemberOrder(order_no=f"C-EXIT-{n}", kind="exit", apn=service.apn,
                                          access_province=service.access_province, member_count=len(homes), **base))
            await submit(orders + [ServiceClosureOrder.model_validate({**base, "order_no": f"C-CLS-{n}"})])
        await wait_for(store, submitted, 900)
        done.set()
        await chaos_task
        if parts.worker.poll() is not None:
            parts.start_worker()

        # The proof.
        all_orders = store.orders.list_orders(limit=100_000)
        lost = sorted(set(submitted) - {o.order_no for o in all_orders})
        # A join whose command was killed runs once, with exactly the members of its file.
        wrong_members = {n: len(store.members.member_results(n)) for n, (count, _) in joins.items()
                         if len(store.members.member_results(n)) != count}
        stuck = [o for o in all_orders if o.state not in TERMINAL_STATES and not (
            o.state == OrderState.held and any(f.order_no == o.order_no for f in store.fallouts.list_fallouts()))]
        differences |= {str(d): d for d in await Reconciler(store, hub, client, queue).differences()}
        duplicates = [d for d in differences.values() if d.problem.startswith("written ")]
        mismatches = [d for d in differences.values() if "password" in d.problem]
        others = [d for d in differences.values() if d not in duplicates + mismatches]
        writes = (await hub.get("/admin/writes/summary")).json()
        states = collections.Counter(o.state for o in all_orders)
        await hub.aclose()
    finally:
        await api.aclose()
        parts.stop()
    print(f"orders: {len(all_orders)} ({', '.join(f'{n} {s}' for s, n in sorted(states.items()))})")
    print(f"worker SIGKILLs: {parts.kills}, dev server SIGKILLs: {parts.server_kills}, "
          f"simulator SIGKILLs: {parts.simulator_kills}, order store outage: {store_outage_s:g} s")
    print("calls hit by faults: " + ", ".join(f"{kind} {n}" for kind, n in sorted(injected.items())))
    print(f"vpdn member join SIGKILLed and run again: {len(joins)} "
          f"({', '.join(sorted(how for _, how in joins.values()))}); "
          f"joins with other members than their file's: {len(wrong_members)} {wrong_members}")
    print(f"lost orders: {len(lost)} {lost[:10]}")
    print(f"stuck orders: {len(stuck)} {[o.order_no for o in stuck][:10]}")
    per_kind = ", ".join(f"{w['kind']} {w['writes']}" for w in writes)
    print(f"writes: {sum(w['writes'] for w in writes)} to {sum(w['targets'] for w in writes)} resources "
          f"and SMS numbers ({per_kind})")
    print(f"duplicated effects: {len(duplicates)} (a resource written, or a password SMS sent, twice by one step)")
    print(f"password mismatches: {len(mismatches)} ({joined.passwords_checked} AAA accounts checked against their SMS)")
    print(f"differences between GPMS and the provinces: {len(others)}")
    for difference in (duplicates + mismatches + others)[:10]:
        print(f"  {difference}")
    print(f"wall time: {time.monotonic() - started:.0f} s (data in {data_dir})")
    if lost or wrong_members or stuck or duplicates or mismatches or others:
        raise SystemExit(1)


def active_services(store: OrderStore, openings: list[ServiceOpeningOrder]) -> list:
    """The services the openings opened (a failed opening opened none)."""
    services = [store.services.get_service(opening.service_id) for opening in openings]
    return [service for service in services if service is not None and service.state == "active"]


def order_base(service, timers: dict) -> dict:
    """What every chaos order on a service carries."""
    return {"service_id": service.service_id, "customer_code": service.customer_code, "timers": timers,
            "provinces": service.provinces, "requested_by": "chaos", "pre_approved_by": "chaos"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=15)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--fault-rate", type=float, default=0.5, help="transient; lost answers: half of it")
    parser.add_argument("--report-loss", type=float, default=0.05, help="work orders whose report is lost")
    parser.add_argument("--busy", type=float, default=0.1, help="tariff configurations a busy CRM refuses")
    parser.add_argument("--report-deadline", type=int, default=30,
                        help="seconds a province may take to report (and a call to succeed, retries included)")
    parser.add_argument("--no-command-kills", action="store_true",
                        help="submit the joins directly instead of by a vpdn member join SIGKILLed once")
    parser.add_argument("--store-outage", type=float, default=40,
                        help="seconds the SQLite order store refuses writes while the joins run (0: none)")
    args = parser.parse_args()
    timers = {"jeopardy_after": timedelta(seconds=args.report_deadline / 3),
              "fail_after": timedelta(seconds=args.report_deadline)}
    asyncio.run(run(args.services, args.members, args.kills, args.fault_rate, args.report_loss, args.busy, timers,
                    args.store_outage, not args.no_command_kills))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
