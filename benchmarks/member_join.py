"""Member join (and exit) at scale: N members over P home provinces, end to end.

Runs a real Temporal dev server (in memory), the provinces' simulator as its own process on
loopback with zero added latency, and the worker in this process; submits a member file of
N numbers through the intake (read as a stream, staged, checked, queued on the service) and
waits for the join's result; with `--exit`, then every member's exit the same way. Prints
members/s, history events per 1 000 members and the peak memory of this (worker) process.
The order store is SQLite in the data folder, or `--database-url` (PostgreSQL).

    .venv/bin/python benchmarks/member_join.py --members 10000 --provinces 5
    .venv/bin/python benchmarks/member_join.py --members 100000 --provinces 5 --exit \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench
"""

import argparse
import asyncio
import os
import random
import resource
import sys
import time
from pathlib import Path

import httpx
from sqlmodel import SQLModel
from temporalio.service import RPCError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import local_environment  # noqa: E402
from intake import Intake  # noqa: E402
from models.customer import CustomerHierarchy  # noqa: E402
from models.members import MemberOrderResult  # noqa: E402
from models.provinces import PROVINCE_CODES  # noqa: E402
from models.service import ServiceRegistration  # noqa: E402
from store import OrderStore, engine_for, migrate  # noqa: E402
from worker import build_worker  # noqa: E402

CUSTOMER = "3100012345"
SERVICE = "SVC-BENCH"


def members(count: int, provinces: list[str]) -> list[dict]:
    rng = random.Random(count)
    numbers = rng.sample(range(10**9), count)
    return [{"msisdn": f"13{n:09d}", "home_province": provinces[i % len(provinces)]} for i, n in enumerate(numbers)]


async def run_order(intake: Intake, client, kind: str, numbers: list[str]) -> tuple[MemberOrderResult, float, int]:
    """Submit a member order through the intake, wait for its result: (result, seconds, history events)."""
    started = time.monotonic()
    accepted = await intake.member_order(SERVICE, kind, ("\n".join(numbers) + "\n").encode(), {
        "order_no": f"{kind.upper()}-BENCH-{len(numbers)}", "requested_by": "bench", "pre_approved_by": "bench"})
    handle = client.get_workflow_handle(accepted.workflow_id, result_type=MemberOrderResult)
    while True:  # queued on the service: its workflow starts a moment later
        try:
            result = await handle.result()
            break
        except RPCError:
            await asyncio.sleep(0.2)
    elapsed = time.monotonic() - started
    events = 0
    async for execution in client.list_workflows(f"WorkflowId = '{handle.id}'"):
        events += len((await client.get_workflow_handle(handle.id, run_id=execution.run_id).fetch_history()).events)
    return result, elapsed, events


def report(kind: str, result: MemberOrderResult, elapsed: float, events: int, count: int) -> None:
    counts = result.counts
    print(f"{kind}: {count} members -> {result.state} ({counts.done} done, {counts.invalid} refused, "
          f"{counts.failed} failed)")
    print(f"  wall time: {elapsed:.1f} s, {count / elapsed:.0f} members/s")
    print(f"  history: {events} events, {events * 1000 / count:.0f} per 1 000 members")


async def bench(count: int, province_count: int, exit_too: bool) -> None:
    async with local_environment() as (env, settings):
        provinces = list(PROVINCE_CODES[:province_count])
        subscribers = members(count, provinces)
        async with httpx.AsyncClient(base_url=settings.hub_url, timeout=300) as http:
            (await http.post("/admin/seed", json={"subscribers": subscribers})).raise_for_status()

        if not settings.database_url.startswith("sqlite"):
            with engine_for(settings.database_url).begin() as connection:  # a fresh PostgreSQL store
                SQLModel.metadata.drop_all(connection)
                connection.exec_driver_sql("DROP TABLE alembic_version")
            migrate.upgrade(engine_for(settings.database_url))
        store = OrderStore(settings.database_url)
        store.customers.save_customer(CustomerHierarchy(customer_code=CUSTOMER, name="Bench", credit_code="X",
                                                        group_province="SH"))
        store.services.register_service(ServiceRegistration(
            order_no="OPN-BENCH", service_id=SERVICE, customer_code=CUSTOMER, apn="bench.vpdn",
            access_province="SH", paying_province="SH", provinces=provinces,
            tariff={"name": "t", "parameters": {"monthly_fee": "1", "member_fee": "1"}}))
        store.services.set_service_state(SERVICE, "active")

        async def connect():
            return env.client

        intake = Intake(settings, store, connect)
        numbers = [s["msisdn"] for s in subscribers]
        async with build_worker(env.client, settings):
            report("join", *await run_order(intake, env.client, "join", numbers), count)
            if exit_too:
                joined = sorted(store.members.member_homes(SERVICE))
                report("exit", *await run_order(intake, env.client, "exit", joined), len(joined))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"order store: {settings.database_url.split('@')[-1]}; peak worker memory: {peak_mib:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--provinces", type=int, default=5)
    parser.add_argument("--exit", action="store_true", help="then every member exits")
    parser.add_argument("--database-url", help="the order store (default: SQLite in the data folder)")
    args = parser.parse_args()
    if args.database_url:
        os.environ["VPDN_DATABASE_URL"] = args.database_url
    asyncio.run(bench(args.members, args.provinces, args.exit))


if __name__ == "__main__":
    main()
