"""Member files read as a stream: the memory a 1 000 000-line file takes.

Writes a member file of N lines (`msisdn,name`), then, each in a fresh process, prints the
peak memory (RSS) of
- parsing it: `MemberFile.check()` (every line checked, duplicates found) and reading its
  members again, as the intake does before and while staging them;
- `vpdn member join` with it, start to end, and the `vpdn api` it uploads the file to: parse,
  stage every member in a SQLite order store, check them against the service, then fail to
  reach Temporal (none runs here) and take the staging back.

    .venv/bin/python benchmarks/member_file.py --lines 1000000
"""

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

VPDN = str(Path(sys.executable).parent / "vpdn")


def write_file(path: Path, lines: int) -> None:
    with path.open("w") as file:
        file.write("msisdn,name\n")
        for n in range(lines):
            file.write(f"13{n:09d},Member {n}\n")


def parse(path: Path) -> None:
    """In this (fresh) process: check the file and read its members once more."""
    from models.member_file import MemberFile

    started = time.monotonic()
    with path.open("rb") as stream:
        members = MemberFile(stream)
        count = members.check()
        read = sum(1 for _ in members)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"parse: {count} members checked, {read} read again in {time.monotonic() - started:.1f} s; "
          f"peak memory {peak:.0f} MiB")


def member_join(path: Path, data: Path) -> None:
    """`vpdn member join` end to end against a service in a fresh SQLite order store, through
    `vpdn api` (started here, its Temporal unreachable): the CLI streams the file up, the API
    checks and stages it, fails to reach Temporal and takes the staging back."""
    from benchmarks.harness import free_port, shared_keys, wait_healthy
    from models.customer import CustomerHierarchy
    from models.service import ServiceRegistration
    from store import OrderStore, engine_for, migrate

    migrate.upgrade(engine_for(f"sqlite:///{data / 'gpms.db'}"))
    store = OrderStore(f"sqlite:///{data / 'gpms.db'}")
    store.customers.save_customer(CustomerHierarchy(customer_code="3100012345", name="Bench", credit_code="X",
                                                    group_province="SH"))
    store.services.register_service(ServiceRegistration(
        order_no="OPN-FILE", service_id="SVC-FILE", customer_code="3100012345", apn="file.vpdn",
        access_province="SH", paying_province="SH", provinces=["SH"],
        tariff={"name": "t", "parameters": {"monthly_fee": "1", "member_fee": "1"}}))
    store.services.set_service_state("SVC-FILE", "active")
    port = free_port()
    env = {**os.environ, "VPDN_DATA_DIR": str(data), "TEMPORAL_ADDRESS": "127.0.0.1:1", "VPDN_API_PORT": str(port),
           "VPDN_PAYLOAD_KEYS_FILE": shared_keys(data),
           "VPDN_API_TOKEN": store.tokens.create("bench", ["account_manager"], expires_at=None)}
    api = subprocess.Popen([VPDN, "api"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    asyncio.run(wait_healthy(f"http://127.0.0.1:{port}"))
    started = time.monotonic()
    command = subprocess.Popen([VPDN, "member", "join", "SVC-FILE", "--file", str(path)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = command.stderr.read()
    _, status, cli_usage = os.wait4(command.pid, 0)
    elapsed = time.monotonic() - started
    api.terminate()
    _, _, api_usage = os.wait4(api.pid, 0)
    print(f"vpdn member join: exit {os.waitstatus_to_exitcode(status)} ({stderr.strip()[:160]}) after "
          f"{elapsed:.1f} s; peak memory: the command {cli_usage.ru_maxrss / 1024:.0f} MiB, "
          f"vpdn api {api_usage.ru_maxrss / 1024:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--part", choices=["parse", "join"], help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part == "parse":
        parse(args.file)
        return
    if args.part == "join":
        member_join(args.file, Path(tempfile.mkdtemp(prefix="vpdn-bench-")))
        return
    with tempfile.TemporaryDirectory(prefix="vpdn-bench-") as folder:
        path = Path(folder) / "members.csv"
        write_file(path, args.lines)
        print(f"member file: {args.lines} lines, {path.stat().st_size / 2**20:.1f} MiB")
        for part in ("parse", "join"):
            subprocess.run([sys.executable, __file__, "--part", part, "--file", str(path)], check=True)


if __name__ == "__main__":
    main()
