"""Load: N concurrent service openings, each over all 31 provinces, beside the direct-call
baseline (`baseline.py`).

Runs a Temporal dev server (in memory), the provinces' simulator as its own process with
zero added latency, and the worker in this process (or `--workers K` worker processes,
`vpdn worker`); starts N openings at once (approval given at submission, no line, rental
next day) and prints completed/s, p50/p95 end-to-end time, history events per opening, and
the p95 time the orchestrator adds per step: from a province's completion report (the
signal) to the workflow's next step being scheduled. Each round then runs the same N
openings without Temporal in each `--mode` and prints each time and vpdn's ratio to it.
The order store is SQLite in the data folder, or `--database-url` (PostgreSQL, emptied).

    .venv/bin/python benchmarks/openings.py --openings 50 --rounds 2
    .venv/bin/python benchmarks/openings.py --openings 50 --workers 3 \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench
"""

import argparse
import asyncio
import contextlib
import os
import resource
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from temporalio.api.enums.v1 import EventType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.baseline import baseline_for  # noqa: E402
from benchmarks.cpu import cpu_seconds, cpu_used  # noqa: E402
from benchmarks.harness import local_environment, worker_processes, workers_polling  # noqa: E402
from benchmarks.member_join import summary  # noqa: E402
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


def event_kinds(history) -> Counter:
    """An opening's history events by kind: the event type, with the activity's (or the
    marker's, or the timer's) name where it has one, so that each step's share shows."""
    kinds, activities = Counter(), {}
    for event in history.events:
        kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()
        if event.HasField("activity_task_scheduled_event_attributes"):
            activities[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
            kind += f" {activities[event.event_id]}"
        elif kind.startswith("activity_task_"):
            attributes = getattr(event, f"{kind}_event_attributes")
            kind += f" {activities.get(attributes.scheduled_event_id, '?')}"
        elif event.HasField("marker_recorded_event_attributes"):
            kind += f" {event.marker_recorded_event_attributes.marker_name}"
        kinds[kind] += 1
    return kinds


def opening_orders(count: int, prefix: str) -> list[ServiceOpeningOrder]:
    return [ServiceOpeningOrder(
        order_no=f"{prefix}-{n}", customer_code=CUSTOMER, apn=f"{prefix.lower()}-{n}.vpdn.sh", access_province="SH",
        provinces=list(PROVINCE_CODES), requested_by="bench", pre_approved_by="bench",
        tariff={"name": "t", "parameters": {"monthly_fee": "1", "member_fee": "1"}},
        contract={"number": f"{prefix}-CT-{n}", "signed_on": "2026-11-20", "signed_by": "bench",
                  "tariff_reference": "BENCH-TRF"}) for n in range(count)]


async def vpdn_openings(client, settings, orders: list[ServiceOpeningOrder]) -> float:
    """Start every opening at once, wait for all; print what they cost; the wall time."""
    started = time.monotonic()

    async def one(order: ServiceOpeningOrder) -> tuple[float, object]:
        begin = time.monotonic()
        handle = await start_order(client, settings.task_queue, ServiceOpening.run, order,
                                   order_type=OrderType.service_opening, order_no=order.order_no,
                                   customer_code=CUSTOMER, provinces=order.provinces)
        await handle.result()
        return time.monotonic() - begin, handle

    outcomes = await asyncio.gather(*(one(order) for order in orders))
    wall = time.monotonic() - started
    delays, events, kinds = [], 0, Counter()
    for _, handle in outcomes:
        history = await handle.fetch_history()
        delays += orchestrator_delays(history)
        events += len(history.events)
        kinds += event_kinds(history)
    durations = [duration for duration, _ in outcomes]
    count = len(orders)
    print(f"vpdn: {count} openings over {len(PROVINCE_CODES)} provinces each, all completed")
    print(f"  wall time: {wall:.1f} s, {count / wall:.2f} completed/s; history: {events / count:.0f} events per opening")
    print(f"  end to end: p50 {statistics.median(durations):.1f} s, p95 {percentile(durations, 0.95):.1f} s")
    print(f"  orchestrator per step (report to next step): p50 {statistics.median(delays) * 1000:.0f} ms, "
          f"p95 {percentile(delays, 0.95) * 1000:.0f} ms over {len(delays)} steps")
    print("  history events per opening, by kind: " + ", ".join(
        f"{kind} {n / count:.1f}" for kind, n in kinds.most_common()))
    return wall


async def bench(count: int, rounds: int, modes: list[str], workers: int) -> None:
    async with local_environment() as local:
        env, settings = local.env, local.settings
        store = OrderStore(settings.database_url)
        store.customers.save_customer(CustomerHierarchy(customer_code=CUSTOMER, name="Bench", credit_code="X",
                                                        group_province="SH"))
        baselines = {mode: baseline_for(settings, mode, store) for mode in modes}
        times: dict[str, list[float]] = {runner: [] for runner in ["vpdn", *modes]}
        running = worker_processes(workers) if workers else build_worker(env.client, settings)
        async with contextlib.AsyncExitStack() as stack:
            if workers:
                stack.enter_context(running)
                await workers_polling(env.client, settings.task_queue, workers)
            else:
                await stack.enter_async_context(running)
            for round_no in range(1, rounds + 1):
                for runner in times:
                    orders = opening_orders(count, f"{runner.upper()}{round_no}")
                    print(f"round {round_no}: ", end="")
                    cpu_before = cpu_seconds()
                    if runner == "vpdn":
                        local.door.app = local.door.api
                        elapsed = await vpdn_openings(env.client, settings, orders)
                    else:
                        baseline, local.door.app = baselines[runner]
                        started = time.monotonic()
                        await asyncio.gather(*(baseline.service_opening(order) for order in orders))
                        elapsed = time.monotonic() - started
                        print(f"baseline ({runner}): {count} openings in {elapsed:.1f} s, "
                              f"vpdn/baseline {times['vpdn'][-1] / elapsed:.2f}")
                    times[runner].append(elapsed)
                    print(f"  {cpu_used(cpu_before)}")
    summary(times)
    worker = "this process" if not workers else f"{workers} worker processes"
    print(f"order store: {settings.database_url.split('@')[-1]}; worker: {worker}; peak memory: this process "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB, largest child process "
          f"(a worker or the simulator) {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--openings", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1, help="vpdn and baseline runs, alternating")
    parser.add_argument("--mode", choices=["both", "store", "provinces", "none"], default="both",
                        help="the baseline: with the order store, the provinces' calls only, both, or none")
    parser.add_argument("--workers", type=int, default=0, help="worker processes (default: the worker in this process)")
    parser.add_argument("--database-url", help="the order store (default: SQLite in the data folder)")
    args = parser.parse_args()
    if args.database_url:
        os.environ["VPDN_DATABASE_URL"] = args.database_url
    modes = {"both": ["store", "provinces"], "none": []}.get(args.mode, [args.mode])
    asyncio.run(bench(args.openings, args.rounds, modes, args.workers))


if __name__ == "__main__":
    main()
