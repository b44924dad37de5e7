"""The production shape on one machine, each part its own process: the dev server as the
cluster's stand-in (started without vpdn's search attributes: `vpdn setup` registers them),
the order store on PostgreSQL (a scratch database made for the run), `vpdn api`, two
`vpdn worker` and the provinces' simulator. Orders go in through the CLI as different
people (alice submits, bob approves); while the members join, one worker gets SIGTERM (it
lets its activities finish and exits 0) and the other SIGKILL, and a third takes over. Every
order must end completed, and `vpdn reconcile` must find GPMS and the provinces agreeing.

    .venv/bin/python benchmarks/production_shape.py --services 3 --members 300
"""

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import VPDN, free_port, shared_keys, shared_secrets, wait_healthy  # noqa: E402
from embedded import reachable  # noqa: E402
from settings import temporal_cli_path  # noqa: E402

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
TERMINAL = {"completed", "partial", "failed", "rejected", "cancelled"}


def vpdn(*args: str, check: bool = True, token: str | None = None) -> subprocess.CompletedProcess:
    """A `vpdn` command; with `token`, acting as its holder through the API (VPDN_API_TOKEN)."""
    env = {**os.environ, **({"VPDN_API_TOKEN": token} if token else {})}
    done = subprocess.run([VPDN, *args], capture_output=True, text=True, timeout=300, env=env)
    if check and done.returncode != 0:
        raise SystemExit(f"vpdn {' '.join(args)} failed ({done.returncode}): {done.stderr or done.stdout}")
    return done


class Processes:
    """The parts, each its own process with its log in the data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir, self.running = data_dir, {}

    def start(self, name: str, *command: str) -> subprocess.Popen:
        log = open(self.data_dir / f"{name}.log", "ab")
        self.running[name] = subprocess.Popen(list(command), stdout=log, stderr=log)
        return self.running[name]

    def stop(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=60)


def scratch_database(server_url: str) -> tuple[str, callable]:
    """A new database on the PostgreSQL server, and how to drop it."""
    name = f"vpdn_shape_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return make_url(server_url).set(database=name).render_as_string(hide_password=False), drop


def opening(code: str, index: int) -> dict:
    return {"customer_code": code, "apn": f"shape{index}.vpdn", "access_province": "BJ", "provinces": ["SH", "GD"],
            "tariff": {"name": f"Shape {index}", "parameters": {"monthly_fee": "2000", "member_fee": "8"}},
            "contract": {"number": f"SHAPE-{index}", "signed_on": "2026-11-20", "signed_by": "am-zhang",
                         "tariff_reference": "HQ-TRF-2026-0173"}}


async def until_ended(order_nos: list[str], timeout_s: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout_s
    while True:
        states = {o["order_no"]: o["state"] for o in json.loads(vpdn("order", "list", "--limit", "500", "--json").stdout)
                  if o["order_no"] in order_nos}
        if len(states) == len(order_nos) and set(states.values()) <= TERMINAL or time.monotonic() > deadline:
            return states
        await asyncio.sleep(1)


async def run(services: int, members: int, server_url: str) -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="vpdn-shape-"))
    database_url, drop_database = scratch_database(server_url)
    os.environ.update({
        "VPDN_DATA_DIR": str(data_dir), "VPDN_DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}", "VPDN_SIM_PORT": str(free_port()),
        "VPDN_API_PORT": str(free_port()), "VPDN_SIM_REPORT_DELAY": "0.2", "VPDN_SHUTDOWN_GRACE": "30",
        "VPDN_PASSWORD_SECRET_FILE": shared_secrets(data_dir), "VPDN_PAYLOAD_KEYS_FILE": shared_keys(data_dir)})
    address, parts = os.environ["TEMPORAL_ADDRESS"], Processes(data_dir)
    started, failures = time.monotonic(), []
    try:
        parts.start("temporal", str(temporal_cli_path()), "server", "start-dev", "--ip", "127.0.0.1",
                    "--port", address.rpartition(":")[2], "--headless", "--log-level", "error",
                    "--db-filename", str(data_dir / "temporal.db"))
        while not await reachable(address):
            await asyncio.sleep(0.25)
        print(vpdn("setup").stdout.strip())
        tokens = {name: vpdn("admin", "token", "create", "--name", name, "--role", role).stdout.strip()
                  for name, role in (("hub", "hub"), ("bob", "hq_auditor"), ("alice", "account_manager"),
                                     ("carol", "operator"))}
        os.environ["VPDN_API_TOKEN"] = tokens["bob"]  # who reads: bob (every staff role reads)
        os.environ["VPDN_HUB_TOKEN"] = tokens["hub"]
        parts.start("api", VPDN, "api")
        parts.start("simulator", VPDN, "simulator")
        await wait_healthy(f"http://127.0.0.1:{os.environ['VPDN_API_PORT']}")
        await wait_healthy(f"http://127.0.0.1:{os.environ['VPDN_SIM_PORT']}")
        workers = [parts.start(f"worker-{n}", VPDN, "worker") for n in (1, 2)]

        seeded = vpdn("sim", "seed", "--customers", str(services), "--subscribers", str(members * services * 3),
                      "--members-file", str(data_dir / "members.csv"), "--members", str(members * services)).stdout
        codes = re.search(r"customer codes: ([\d ]+)", seeded).group(1).split()
        lines = (data_dir / "members.csv").read_text().splitlines()
        orders = []
        for index, code in enumerate(codes, 1):
            vpdn("customer", "acquire", code, "--order-no", f"ACQ-SHAPE-{index}", token=tokens["alice"])
            (data_dir / f"order-{index}.json").write_text(json.dumps(opening(code, index)))
            vpdn("service", "open", "--file", str(data_dir / f"order-{index}.json"), "--order-no", f"OPN-SHAPE-{index}",
                 token=tokens["alice"])
            vpdn("order", "approve", f"OPN-SHAPE-{index}")  # four eyes: bob approves alice's order
            orders.append(f"OPN-SHAPE-{index}")
        opened = await until_ended(orders, 300)
        for index in range(1, len(codes) + 1):
            part = data_dir / f"members-{index}.csv"
            part.write_text("\n".join([lines[0], *lines[1 + (index - 1) * members:1 + index * members]]) + "\n")
            vpdn("member", "join", f"SVC-OPN-SHAPE-{index}", "--file", str(part), "--order-no", f"JOIN-SHAPE-{index}",
                 "--pre-approved-by", "hq-wang", token=tokens["alice"])
            orders.append(f"JOIN-SHAPE-{index}")
        await asyncio.sleep(2)  # the joins' batches are running
        workers[0].send_signal(signal.SIGTERM)
        workers[1].kill()
        graceful = workers[0].wait(timeout=90)
        parts.start("worker-3", VPDN, "worker")
        states = {**opened, **await until_ended(orders, 600)}
        reconciled = vpdn("reconcile", check=False, token=tokens["carol"])  # an operator

        print(f"orders: {len(states)}: " + ", ".join(f"{no} {state}" for no, state in sorted(states.items())))
        print(f"worker 1 after SIGTERM exited {graceful}; worker 2 SIGKILLed; worker 3 finished the run")
        print(reconciled.stdout.strip().splitlines()[-1] if reconciled.stdout.strip() else reconciled.stderr.strip())
        failures += [f"{no}: {state}" for no, state in states.items() if state != "completed"]
        failures += [f"{no}: not ended" for no in orders if no not in states]
        if graceful != 0:
            failures.append(f"the SIGTERMed worker exited {graceful}, not 0")
        if reconciled.returncode != 0:
            failures.append("reconcile found differences")
    finally:
        parts.stop()
        drop_database()
    print(f"wall time: {time.monotonic() - started:.0f} s (logs in {data_dir})")
    for failure in failures:
        print(f"FAILED {failure}")
    return 1 if failures else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=3)
    parser.add_argument("--members", type=int, default=300, help="members joining each service")
    parser.add_argument("--postgres", default=os.environ.get("VPDN_SHAPE_POSTGRES_URL", DEFAULT_SERVER),
                        help="a PostgreSQL server's URL where the run may create and drop a scratch database")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(run(args.services, args.members, args.postgres)))


if __name__ == "__main__":
    main()
