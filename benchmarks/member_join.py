"""Member join at scale: N members over P home provinces, end to end.

Runs a real Temporal dev server (in memory), the provinces' simulator as its own process on
loopback with zero added latency, and the worker in this process; joins N members to one
VPDN and prints members/s, history events per 1 000 members and the peak memory of this
(worker) process.

    .venv/bin/python benchmarks/member_join.py --members 10000 --provinces 5
"""

import argparse
import asyncio
import random
import resource
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import local_environment  # noqa: E402
from models.customer import CustomerHierarchy  # noqa: E402
from models.members import MemberLine, MemberOrder  # noqa: E402
from models.orders import OrderType  # noqa: E402
from models.provinces import PROVINCE_CODES  # noqa: E402
from models.service import ServiceRegistration  # noqa: E402
from store import OrderStore  # noqa: E402
from submission import start_order  # noqa: E402
from worker import build_worker  # noqa: E402
from workflows.member_join import MemberJoin  # noqa: E402

CUSTOMER = "3100012345"
SERVICE = "SVC-BENCH"


def members(count: int, provinces: list[str]) -> list[dict]:
    rng = random.Random(count)
    numbers = rng.sample(range(10**9), count)
    return [{"msisdn": f"13{n:09d}", "home_province": provinces[i % len(provinces)]} for i, n in enumerate(numbers)]


async def bench(count: int, province_count: int) -> None:
    async with local_environment() as (env, settings):
        provinces = list(PROVINCE_CODES[:province_count])
        subscribers = members(count, provinces)
        async with httpx.AsyncClient(base_url=settings.hub_url, timeout=300) as http:
            (await http.post("/admin/seed", json={"subscribers": subscribers})).raise_for_status()

        store = OrderStore(settings.database_url)
        store.customers.save_customer(CustomerHierarchy(customer_code=CUSTOMER, name="Bench", credit_code="X",
                                              group_province="SH"))
        store.services.register_service(ServiceRegistration(
            order_no="OPN-BENCH", service_id=SERVICE, customer_code=CUSTOMER, apn="bench.vpdn",
            access_province="SH", paying_province="SH", provinces=provinces,
            tariff={"name": "t", "parameters": {"monthly_fee": "1", "member_fee": "1"}}))
        store.services.set_service_state(SERVICE, "active")
        order_no = f"JOIN-BENCH-{count}"
        store.members.stage_items(order_no, [MemberLine(msisdn=s["msisdn"]) for s in subscribers])

        async with build_worker(env.client, settings):
            started = time.monotonic()
            handle = await start_order(
                env.client, settings.task_queue, MemberJoin.run,
                MemberOrder(order_no=order_no, kind="join", service_id=SERVICE, customer_code=CUSTOMER,
                            apn="bench.vpdn", access_province="SH", member_count=count,
                            requested_by="bench", pre_approved_by="bench"),
                order_type=OrderType.member_join, order_no=order_no, customer_code=CUSTOMER,
                provinces=["SH"], summary="benchmark")
            result = await handle.result()
            elapsed = time.monotonic() - started

        events = 0
        async for execution in env.client.list_workflows(f"WorkflowId = '{handle.id}'"):
            events += len((await env.client.get_workflow_handle(
                handle.id, run_id=execution.run_id).fetch_history()).events)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"members: {count} over {province_count} provinces -> {result.state} "
          f"({result.counts.done} joined, {result.counts.invalid} refused, {result.counts.failed} failed)")
    print(f"wall time: {elapsed:.1f} s, {count / elapsed:.0f} members/s")
    print(f"history: {events} events, {events * 1000 / count:.0f} per 1 000 members")
    print(f"peak worker memory: {peak_mib:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--provinces", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(bench(args.members, args.provinces))


if __name__ == "__main__":
    main()
