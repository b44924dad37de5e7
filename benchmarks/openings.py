"""Load: N concurrent service openings, each over all 31 provinces.

Runs a Temporal dev server (in memory), the provinces' simulator as its own process with
zero added latency, and the worker in this process; starts N openings at once (approval
given at submission, no line, rental next day) and prints completed/s, p50/p95 end-to-end
time, and the p95 time the orchestrator adds per step: from a province's completion report
(the signal) to the workflow's next step being scheduled.

    .venv/bin/python benchmarks/openings.py --openings 50
"""

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from temporalio.api.enums.v1 import EventType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import local_environment  # noqa: E402
from models.customer import CustomerHierarchy  # noqa: E402
from models.orders import OrderType  # noqa: E402
from models.provinces import PROVINCE_CODES  # noqa: E402
from models.service import ServiceOpeningOrder  # noqa: E402
from store import OrderStore  # noqa: E402
from submission import start_order  # noqa: E402
from worker import build_worker  # noqa: E402
from workflows.service_opening import ServiceOpening  # noqa: E402

CUSTOMER = "3100012345"
NEXT_STEP = {EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def orchestrator_delays(history) -> list[float]:
    """Seconds from each report signal to the next step scheduled after it."""
    delays, pending = [], []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            pending.append(event.event_time.ToDatetime())
        elif event.event_type in NEXT_STEP and pending:
            delays.append((event.event_time.ToDatetime() - pending[-1]).total_seconds())
            pending = []
    return delays


async def bench(count: int) -> None:
    async with local_environment() as (env, settings):
        store = OrderStore(settings.database_url)
        store.customers.save_customer(CustomerHierarchy(customer_code=CUSTOMER, name="Bench", credit_code="X",
                                              group_province="SH"))
        orders = [ServiceOpeningOrder(
            order_no=f"LOAD-{n}", customer_code=CUSTOMER, apn=f"load{n}.vpdn.sh", access_province="SH",
            provinces=list(PROVINCE_CODES), requested_by="bench", pre_approved_by="bench",
            tariff={"name": "t", "parameters": {"monthly_fee": "1", "member_fee": "1"}},
            contract={"number": f"LOAD-CT-{n}", "signed_on": "2026-11-20", "signed_by": "bench",
                      "tariff_reference": "BENCH-TRF"}) for n in range(count)]
        async with build_worker(env.client, settings):
            started = time.monotonic()

            async def one(order: ServiceOpeningOrder) -> tuple[float, object]:
                begin = time.monotonic()
                handle = await start_order(env.client, settings.task_queue, ServiceOpening.run, order,
                                           order_type=OrderType.service_opening, order_no=order.order_no,
                                           customer_code=CUSTOMER, provinces=order.provinces)
                await handle.result()
                return time.monotonic() - begin, handle

            outcomes = await asyncio.gather(*(one(order) for order in orders))
            wall = time.monotonic() - started
        delays = []
        for _, handle in outcomes:
            delays += orchestrator_delays(await handle.fetch_history())
    durations = [duration for duration, _ in outcomes]
    print(f"openings: {count} over {len(PROVINCE_CODES)} provinces each, all completed")
    print(f"wall time: {wall:.1f} s, {count / wall:.2f} completed/s")
    print(f"end to end: p50 {statistics.median(durations):.1f} s, p95 {percentile(durations, 0.95):.1f} s")
    print(f"orchestrator per step (report to next step): p50 {statistics.median(delays) * 1000:.0f} ms, "
          f"p95 {percentile(delays, 0.95) * 1000:.0f} ms over {len(delays)} steps")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--openings", type=int, default=50)
    asyncio.run(bench(parser.parse_args().openings))


if __name__ == "__main__":
    main()
