"""Member plan change at scale: N members over P home provinces move to another plan.

Runs a real Temporal dev server (in memory), the provinces' simulator as its own process on
loopback with zero added latency, and the worker in this process. The N members first join
one VPDN (not timed); then one plan change moves them all, and the script prints members/s,
history events per 1 000 members, the time to compile the acceptance table kept with the
order, and the peak memory of this (worker) process.

    .venv/bin/python benchmarks/member_plan_change.py --members 10000 --provinces 5
"""

import argparse
import asyncio
import resource
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import local_environment  # noqa: E402
from benchmarks.member_join import members  # noqa: E402
from models.customer import CustomerHierarchy  # noqa: E402
from models.members import MemberLine, MemberOrder  # noqa: E402
from models.orders import OrderType  # noqa: E402
from models.plans import MemberPlan, MemberPlanChangeOrder  # noqa: E402
from models.provinces import PROVINCE_CODES  # noqa: E402
from models.service import ServiceRegistration  # noqa: E402
from store import OrderStore  # noqa: E402
from submission import start_order  # noqa: E402
from worker import build_worker  # noqa: E402
from workflows.member_join import MemberJoin  # noqa: E402
from workflows.member_plan_change import MemberPlanChange  # noqa: E402

CUSTOMER = "3100012345"
SERVICE = "SVC-BENCH"
COMMON = {"service_id": SERVICE, "customer_code": CUSTOMER, "apn": "bench.vpdn", "access_province": "SH",
          "requested_by": "bench", "pre_approved_by": "bench"}


def table_seconds(events) -> float:
    """How long the acceptance table's activity took, from scheduled to completed (0 if absent)."""
    scheduled = {event.event_id: event.event_time.ToDatetime() for event in events
                 if event.activity_task_scheduled_event_attributes.activity_type.name == "compile_acceptance_table"}
    return sum((event.event_time.ToDatetime() - scheduled[completed]).total_seconds() for event in events
               if (completed := event.activity_task_completed_event_attributes.scheduled_event_id) in scheduled)


async def bench(count: int, province_count: int) -> None:
    async with local_environment() as local:
        env, settings = local.env, local.settings
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
            tariff={"name": "t", "parameters": {"monthly_fee": "1", "member_fee": "10", "member_data_gb": "5"}}))
        store.services.set_service_state(SERVICE, "active")
        lines = [MemberLine(msisdn=s["msisdn"]) for s in subscribers]

        async with build_worker(env.client, settings):
            store.staging.stage("JOIN-BENCH", SERVICE, "join", lines)
            joined = await (await start_order(
                env.client, settings.task_queue, MemberJoin.run,
                MemberOrder(order_no="JOIN-BENCH", kind="join", member_count=count, **COMMON),
                order_type=OrderType.member_join, order_no="JOIN-BENCH", customer_code=CUSTOMER,
                provinces=["SH"])).result()
            homes = store.members.member_homes(SERVICE)
            order_no = f"PLAN-BENCH-{count}"
            store.staging.stage(order_no, SERVICE, "plan_change", [line for line in lines if line.msisdn in homes])
            plan = MemberPlan(name="field staff", tariff_version=1,
                              parameters={"member_fee": "15", "member_data_gb": "20"})
            started = time.monotonic()
            handle = await start_order(
                env.client, settings.task_queue, MemberPlanChange.run,
                MemberPlanChangeOrder(order_no=order_no, member_count=len(homes), plan=plan, **COMMON),
                order_type=OrderType.member_plan_change, order_no=order_no, customer_code=CUSTOMER,
                provinces=["SH"])
            result = await handle.result()
            elapsed = time.monotonic() - started

        events, table_s = 0, 0.0
        async for execution in env.client.list_workflows(f"WorkflowId = '{handle.id}'"):
            history = await env.client.get_workflow_handle(handle.id, run_id=execution.run_id).fetch_history()
            events += len(history.events)
            table_s += table_seconds(history.events)
        table = store.acceptance.order_table(order_no)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"members: {count} over {province_count} provinces joined ({joined.counts.done}); plan change -> "
          f"{result.state} ({result.counts.done} moved, {result.counts.failed} failed)")
    print(f"wall time: {elapsed:.1f} s, {len(homes) / elapsed:.0f} members/s")
    print(f"history: {events} events, {events * 1000 / count:.0f} per 1 000 members")
    print(f"acceptance table: {len(table.members)} member rows, compiled in {table_s:.1f} s")
    print(f"peak worker memory: {peak_mib:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--provinces", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(bench(args.members, args.provinces))


if __name__ == "__main__":
    main()
