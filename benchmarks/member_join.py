"""Member join (and exit) at scale: N members over P home provinces, end to end, beside the
direct-call baseline (`baseline.py`).

Runs a real Temporal dev server (in memory), the provinces' simulator as its own process on
loopback with zero added latency, and the worker in this process; submits a member file of
N numbers through the intake (read as a stream, staged, checked, queued on the service) and
waits for the join's result; with `--exit`, then every member's exit the same way. Each
round then runs the same join without Temporal in each `--mode` (store: with the order
store's writes; provinces: the provinces' calls only), on new numbers, and prints each
time and vpdn's ratio to it. Prints members/s, history events per 1 000 members and the
peak memory of this (worker) process during each order (and since the start: the
benchmark's own member lists and seed requests, and the baseline, run in it too).
The order store is SQLite in the data folder, or `--database-url` (PostgreSQL, emptied).

    .venv/bin/python benchmarks/member_join.py --members 10000 --provinces 5 --rounds 2
    .venv/bin/python benchmarks/member_join.py --members 100000 --provinces 5 --exit --mode none \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench
"""

import argparse
import asyncio
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path

import httpx
from temporalio.service import RPCError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.baseline import baseline_for  # noqa: E402
from benchmarks.cpu import cpu_seconds, cpu_used  # noqa: E402
from benchmarks.harness import local_environment  # noqa: E402
from intake import Intake  # noqa: E402
from models.customer import CustomerHierarchy  # noqa: E402
from models.members import MemberOrder, MemberOrderResult  # noqa: E402
from models.provinces import PROVINCE_CODES  # noqa: E402
from models.service import ServiceRegistration  # noqa: E402
from store import OrderStore  # noqa: E402
from worker import build_worker  # noqa: E402

CUSTOMER = "3100012345"
SERVICE = "SVC-BENCH"


def members(count: int, provinces: list[str], run: int) -> list[dict]:
    """`count` subscribers for one run: numbers no other run has (13 + run + 7 digits)."""
    rng = random.Random(count * 100 + run)
    numbers = rng.sample(range(10**7), count)
    return [{"msisdn": f"13{run:02d}{n:07d}", "home_province": provinces[i % len(provinces)]}
            for i, n in enumerate(numbers)]


async def run_order(intake: Intake, client, kind: str, numbers: list[str], order_no: str,
                    ) -> tuple[MemberOrderResult, float, int]:
    """Submit a member order through the intake, wait for its result: (result, seconds, history events)."""
    started = time.monotonic()
    accepted = await intake.member_order(SERVICE, kind, ("\n".join(numbers) + "\n").encode(), {
        "order_no": order_no, "requested_by": "bench", "pre_approved_by": "bench"})
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


async def bench(count: int, province_count: int, exit_too: bool, rounds: int, modes: list[str]) -> None:
    async with local_environment() as local:
        env, settings = local.env, local.settings
        provinces = list(PROVINCE_CODES[:province_count])
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
        baselines = {mode: baseline_for(settings, mode, store) for mode in modes}
        times: dict[str, list[float]] = {runner: [] for runner in ["vpdn", *modes]}
        runs = 0
        async with build_worker(env.client, settings):
            for round_no in range(1, rounds + 1):
                for runner in times:
                    runs += 1
                    subscribers = members(count, provinces, runs)
                    async with httpx.AsyncClient(base_url=settings.hub_url, timeout=300) as http:
                        (await http.post("/admin/seed", json={"subscribers": subscribers})).raise_for_status()
                    numbers = [s["msisdn"] for s in subscribers]
                    order_no = f"JOIN-{runner.upper()}-{count}-{round_no}"
                    if runner == "vpdn":
                        local.door.app = local.door.api
                        before, cpu_before = reset_peak(), cpu_seconds()
                        result, elapsed, events = await run_order(intake, env.client, "join", numbers, order_no)
                        report(f"round {round_no} vpdn join", result, elapsed, events, count)
                        print(f"  peak worker memory during it: {peak_since_reset():.0f} MiB ({before:.0f} MiB "
                              f"before it; since the start {peak_mib():.0f} MiB); {cpu_used(cpu_before)}")
                        if exit_too:
                            joined, before, exit_cpu_before = numbers, reset_peak(), cpu_seconds()
                            report(f"round {round_no} vpdn exit", *await run_order(
                                intake, env.client, "exit", joined, f"EXIT-{count}-{round_no}"), len(joined))
                            print(f"  peak worker memory during it: {peak_since_reset():.0f} MiB "
                                  f"({before:.0f} MiB before it); {cpu_used(exit_cpu_before)}")
                    else:
                        baseline, local.door.app = baselines[runner]
                        started, cpu_before = time.monotonic(), cpu_seconds()
                        counts = await baseline.member_join(MemberOrder(
                            order_no=order_no, kind="join", service_id=SERVICE, customer_code=CUSTOMER,
                            apn="bench.vpdn", access_province="SH", provinces=provinces, member_count=count,
                            requested_by="bench", pre_approved_by="bench"), numbers)
                        elapsed = time.monotonic() - started
                        print(f"round {round_no} baseline ({runner}): {count} members, {counts.done or counts.home_done} "
                              f"through every step, {counts.invalid} refused; {elapsed:.1f} s, "
                              f"{count / elapsed:.0f} members/s, vpdn/baseline {times['vpdn'][-1] / elapsed:.2f}")
                        print(f"  {cpu_used(cpu_before)}")
                    times[runner].append(elapsed)
    summary(times)
    print(f"order store: {settings.database_url.split('@')[-1]}; peak memory of this process: {peak_mib():.0f} MiB")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> float:
    """Start measuring this process's peak memory again (Linux: VmHWM reset to VmRSS); the memory now, MiB.
    The members' list and the seed request this benchmark builds before an order are not counted."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mib("VmRSS")


def peak_since_reset() -> float:
    return _status_mib("VmHWM")


def _status_mib(field: str) -> float:
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field))
    return int(line.split()[1]) / 1024


def summary(times: dict[str, list[float]]) -> None:
    """Each runner's times and vpdn's ratio to each baseline (medians over the rounds)."""
    vpdn = statistics.median(times["vpdn"])
    print("summary: " + "; ".join(
        f"{runner} {' '.join(f'{t:.1f}' for t in runs)} s" for runner, runs in times.items()))
    for runner, runs in times.items():
        if runner != "vpdn":
            print(f"  vpdn / {runner} baseline: {vpdn / statistics.median(runs):.2f} (medians)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--provinces", type=int, default=5)
    parser.add_argument("--exit", action="store_true", help="then every member exits")
    parser.add_argument("--database-url", help="the order store (default: SQLite in the data folder)")
    parser.add_argument("--rounds", type=int, default=1, help="vpdn and baseline runs, alternating")
    parser.add_argument("--mode", choices=["both", "store", "provinces", "none"], default="both",
                        help="the baseline: with the order store, the provinces' calls only, both, or none")
    args = parser.parse_args()
    if args.database_url:
        os.environ["VPDN_DATABASE_URL"] = args.database_url
    modes = {"both": ["store", "provinces"], "none": []}.get(args.mode, [args.mode])
    asyncio.run(bench(args.members, args.provinces, args.exit, args.rounds, modes))


if __name__ == "__main__":
    main()
