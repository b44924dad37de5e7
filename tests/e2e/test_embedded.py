"""End to end: `vpdn up` (real dev server binary, simulator, worker) driven by the CLI."""

import csv
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from store import OrderStore
from telemetry.logs import MSISDN
from tests.conftest import POSTGRES_URL
from tests.helpers import drop_schema

VPDN = str(Path(sys.executable).parent / "vpdn")
CODE = "4400054321"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "VPDN_DATA_DIR": str(tmp_path / "data"),
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "VPDN_UI_PORT": str(free_port()),
        "VPDN_SIM_PORT": str(free_port()),
        "VPDN_API_PORT": str(free_port()),
        "VPDN_SIM_REPORT_DELAY": "0.1",
    }


def vpdn(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([VPDN, *args], env=env, capture_output=True, text=True, timeout=120)


class Up:
    """`vpdn up` in the background, as an operator runs it in a terminal; its output is read
    as it comes (a full pipe would stall it)."""

    def __init__(self, env: dict) -> None:
        self.env = env
        self.process = subprocess.Popen([VPDN, "up"], env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self.output: list[str] = []
        self._banner = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._banner.wait(timeout=120) or self.process.poll() is not None:
            self.stop()
            pytest.fail("vpdn up did not come up:\n" + "".join(self.output))

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            if "Ctrl-C stops everything" in line:
                self._banner.set()
        self._banner.set()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                subprocess.run(["pkill", "-f", self.env["VPDN_DATA_DIR"]])
        self._reader.join(timeout=10)
        return self.process.returncode


def test_vpdn_up_acquires_a_customer_through_the_cli_and_keeps_history_across_restarts_in_a_private_folder(
    env, tmp_path
):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"customers": [
        {"province": "GD", "customer_code": CODE, "name": "Pearl River Ports", "credit_code": "91440000PRP0001A",
         "level": "group"},
        {"province": "HN", "customer_code": CODE, "name": "Pearl River Ports Hunan", "credit_code": "91440000PRP0001A"},
    ]}))

    up = Up(env)
    try:
        banner = "".join(up.output)
        assert f"http://localhost:{env['VPDN_UI_PORT']}" in banner
        assert f"http://127.0.0.1:{env['VPDN_API_PORT']}/docs" in banner
        # Another terminal gets the settings this one runs with.
        assert f"TEMPORAL_ADDRESS={env['TEMPORAL_ADDRESS']}" in banner and f"VPDN_DATA_DIR={env['VPDN_DATA_DIR']}" in banner
        # The banner's example works as printed: the demo country is seeded at first start.
        demo_code = re.search(r"vpdn --as alice customer acquire (\d{10})", banner).group(1)
        demo = vpdn(env, "--as", "alice", "customer", "acquire", demo_code)
        assert demo.returncode == 0, demo.stderr
        assert "completed" in demo.stdout and "group:" in demo.stdout
        assert vpdn(env, "sim", "seed", "--file", str(seed)).returncode == 0

        acquired = vpdn(env, "--as", "alice", "customer", "acquire", CODE, "--order-no", "ACQ-E2E-1", "--json")
        assert acquired.returncode == 0, acquired.stderr
        assert [b["province"] for b in json.loads(acquired.stdout)["hierarchy"]["branches"]] == ["HN"]

        shown = vpdn(env, "customer", "show", CODE)
        assert "Pearl River Ports" in shown.stdout and "branch HN" in shown.stdout

        order = json.loads(vpdn(env, "order", "show", "ACQ-E2E-1", "--json").stdout)
        assert order["state"] == "completed"
        assert order["events"][0]["actor"] == "alice"

        again = vpdn(env, "--as", "alice", "customer", "acquire", CODE, "--order-no", "ACQ-E2E-1")
        assert again.returncode == 2  # refused: nothing started
        assert "already submitted" in again.stderr

        malformed = vpdn(env, "--as", "alice", "customer", "acquire", "44000X")
        assert malformed.returncode == 2
        assert "customer code must be exactly 10 digits" in malformed.stderr
    finally:
        assert up.stop() == 0, "".join(up.output)
    assert "vpdn stopped" in "".join(up.output)

    # The dev server kept its history in the data folder: after a restart the order is still there.
    up = Up(env)
    try:
        described = subprocess.run(
            [str(Path(sys.executable).parent / "temporal"), "workflow", "describe", "--workflow-id",
             "vpdn-acquire-ACQ-E2E-1", "--address", env["TEMPORAL_ADDRESS"], "--output", "json"],
            capture_output=True, text=True, timeout=60)
        assert described.returncode == 0, described.stderr
        assert "COMPLETED" in described.stdout
    finally:
        assert up.stop() == 0
    # Order store, simulator database, history and log, secrets: the owner's alone.
    data = Path(env["VPDN_DATA_DIR"])
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = {f.name: stat.S_IMODE(f.stat().st_mode) for f in data.iterdir()}
    assert {"gpms.db", "simulator.db", "temporal.db", "temporal.log", "password-secrets"} <= set(files)
    assert {name: mode for name, mode in files.items() if mode != 0o600} == {}


def wait_for_order(env: dict, order_no: str, condition, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        status = json.loads(vpdn(env, "order", "status", order_no, "--json").stdout)["status"]
        if condition(status):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.3)


def test_a_whole_service_life_through_the_cli(env, tmp_path):
    """acquire → open (audit, rental confirmation) → join → tariff change → service change →
    exit → close."""
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"customers": [
        {"province": "SD", "customer_code": CODE, "name": "Qilu Energy", "credit_code": "91370000QE0001B",
         "level": "group"}]}))
    order = tmp_path / "order.json"
    order.write_text(json.dumps({
        "customer_code": CODE, "apn": "qilu.vpdn.sd", "access_province": "SD", "provinces": ["BJ", "GD"],
        "tariff": {"name": "Qilu 2026", "parameters": {"monthly_fee": "3000", "member_fee": "8"}},
        "line": {"bandwidth_mbps": 200, "address": "1 Jingshi Rd, Jinan"},
        "paying_province": "BJ", "rental_rule": "on_confirmation",
        "contract": {"number": "QL-2026-018", "signed_on": "2026-11-18", "signed_by": "am-sun",
                     "tariff_reference": "HQ-TRF-2026-0099"}}))

    up = Up(env)
    try:
        assert vpdn(env, "sim", "seed", "--file", str(seed)).returncode == 0
        assert vpdn(env, "--as", "alice", "customer", "acquire", CODE).returncode == 0

        opened = vpdn(env, "--as", "alice", "service", "open", "--file", str(order), "--order-no", "OPN-E2E")
        assert opened.returncode == 0, opened.stderr
        assert "vpdn order approve OPN-E2E" in opened.stdout
        again = vpdn(env, "--as", "alice", "service", "open", "--file", str(order), "--order-no", "OPN-E2E-2")
        assert again.returncode == 2 and "already used by service SVC-OPN-E2E" in again.stderr

        wait_for_order(env, "OPN-E2E", lambda s: s["sub_state"] == "awaiting business audit")
        assert vpdn(env, "--as", "bob", "order", "approve", "OPN-E2E").returncode == 0
        twice = vpdn(env, "--as", "bob", "order", "approve", "OPN-E2E")
        assert twice.returncode == 2 and "refused: order OPN-E2E cannot be approved" in twice.stderr

        wait_for_order(env, "OPN-E2E", lambda s: s["sub_state"].startswith("awaiting the customer"))
        assert vpdn(env, "--as", "alice", "order", "confirm-rental", "OPN-E2E").returncode == 0
        status = wait_for_order(env, "OPN-E2E", lambda s: s["state"] == "completed")
        assert {step["name"] for step in status["steps"]} >= {"dedicated-line scheduling", "rental start to HQ settlement"}

        service = json.loads(vpdn(env, "service", "show", "SVC-OPN-E2E", "--json").stdout)
        assert (service["state"], service["provinces"]) == ("active", ["SD", "BJ", "GD"])
        held = json.loads(vpdn(env, "sim", "holdings", "GD", "crm").stdout)
        assert [r["kind"] for r in held] == ["group_tariff_package"]
        listed = json.loads(vpdn(env, "order", "list", "--type", "service_opening", "--json").stdout)
        assert [(o["order_no"], o["state"]) for o in listed] == [("OPN-E2E", "completed")]

        # 200 members join, two of them unknown to every home CRM.
        numbers = [f"138{n:08d}" for n in range(200)]
        subscribers = [{"msisdn": m, "home_province": ["BJ", "GD", "SD"][i % 3]} for i, m in enumerate(numbers[2:])]
        seed.write_text(json.dumps({"subscribers": subscribers}))
        assert vpdn(env, "sim", "seed", "--file", str(seed)).returncode == 0
        members = tmp_path / "members.csv"
        members.write_text("msisdn,name\n" + "\n".join(f"{m},member {i}" for i, m in enumerate(numbers)))
        joined = vpdn(env, "--as", "alice", "member", "join", "SVC-OPN-E2E", "--file", str(members),
                      "--order-no", "JOIN-E2E", "--pre-approved-by", "hq-wang", "--wait", "--json")
        assert joined.returncode == 0, joined.stderr
        result = json.loads(joined.stdout)["result"]
        assert (result["state"], result["counts"]["done"], result["counts"]["invalid"]) == ("partial", 198, 2)
        invalid = json.loads(vpdn(env, "order", "members", "JOIN-E2E", "--state", "invalid", "--json").stdout)
        assert {(m["msisdn"], m["code"]) for m in invalid} == {(numbers[0], "E2001"), (numbers[1], "E2001")}
        assert len(json.loads(vpdn(env, "sim", "holdings", "SD", "aaa").stdout)) == 198

        # 30 of them move to a member plan; the join's acceptance table is kept with it.
        plan = tmp_path / "plan.json"
        plan.write_text(json.dumps({"name": "field staff", "tariff_version": 1, "parameters": {"member_fee": "12"}}))
        movers = tmp_path / "movers.csv"
        movers.write_text("\n".join(numbers[2:32]))
        moved = vpdn(env, "--as", "alice", "member", "plan", "SVC-OPN-E2E", "--file", str(movers), "--plan", str(plan),
                      "--order-no", "PLAN-E2E", "--pre-approved-by", "hq-wang", "--wait", "--json")
        assert json.loads(moved.stdout)["result"]["state"] == "completed", moved.stderr
        on_plan = json.loads(vpdn(env, "service", "members", "SVC-OPN-E2E", "--json").stdout)
        assert sum(m["plan"] is not None and m["plan"]["name"] == "field staff" for m in on_plan) == 30
        report = vpdn(env, "order", "report", "JOIN-E2E", "--out", str(tmp_path / "join.csv"), "--lang", "en")
        assert report.returncode == 0, report.stderr
        rows = list(csv.reader((tmp_path / "join.csv").open(encoding="utf-8-sig")))
        assert ["Contract number", "QL-2026-018"] in rows
        assert sum(row[:1] in ([numbers[0]], [numbers[2]]) for row in rows) == 2

        # The rest of the service's life, each order queued on the service in turn.
        change = tmp_path / "tariff.json"
        change.write_text(json.dumps({"parameters": {"monthly_fee": "3300"}, "new_discounts": {"loyalty": "0.9"}}))
        tariff = vpdn(env, "--as", "alice", "tariff", "change", "SVC-OPN-E2E", "--file", str(change),
                      "--order-no", "TRF-E2E", "--pre-approved-by", "hq-wang")
        assert tariff.returncode == 0, tariff.stderr
        line = tmp_path / "line.json"
        line.write_text(json.dumps({"line": {"bandwidth_mbps": 500, "address": "1 Jingshi Rd, Jinan"}}))
        changed = vpdn(env, "--as", "alice", "service", "change", "SVC-OPN-E2E", "--file", str(line),
                       "--order-no", "CHG-E2E", "--pre-approved-by", "hq-wang")
        assert changed.returncode == 0, changed.stderr
        wait_for_order(env, "TRF-E2E", lambda s: s["state"] == "completed")
        wait_for_order(env, "CHG-E2E", lambda s: s["state"] == "completed")
        packages = json.loads(vpdn(env, "sim", "holdings", "GD", "crm", "--kind", "group_tariff_package").stdout)
        assert [p["data"]["version"] for p in packages] == [2]

        refused = vpdn(env, "--as", "alice", "service", "close", "SVC-OPN-E2E")
        assert refused.returncode == 2 and "still has 198 members" in refused.stderr
        leavers = tmp_path / "leavers.csv"
        leavers.write_text("\n".join(numbers[2:]))
        left = vpdn(env, "--as", "alice", "member", "exit", "SVC-OPN-E2E", "--file", str(leavers),
                    "--order-no", "EXIT-E2E", "--pre-approved-by", "hq-wang", "--wait", "--json")
        assert json.loads(left.stdout)["result"]["state"] == "completed", left.stderr
        closed = vpdn(env, "--as", "alice", "service", "close", "SVC-OPN-E2E", "--order-no", "CLS-E2E",
                      "--pre-approved-by", "hq-wang")
        assert closed.returncode == 0, closed.stderr
        wait_for_order(env, "CLS-E2E", lambda s: s["state"] == "completed")
        assert json.loads(vpdn(env, "service", "show", "SVC-OPN-E2E", "--json").stdout)["state"] == "closed"
        for province in ("SD", "BJ", "GD"):
            for kind in ("group_tariff_package", "service_order"):
                assert json.loads(vpdn(env, "sim", "holdings", province, "crm", "--kind", kind).stdout) == []
            assert json.loads(vpdn(env, "sim", "holdings", province, "hlr").stdout) == []
        assert json.loads(vpdn(env, "sim", "holdings", "SD", "aaa").stdout) == []
        assert json.loads(vpdn(env, "sim", "holdings", "SD", "line").stdout) == []
        again = vpdn(env, "--as", "alice", "tariff", "change", "SVC-OPN-E2E", "--file", str(change))
        assert again.returncode == 2 and "is closed" in again.stderr
    finally:
        assert up.stop() == 0


def test_the_demo_runs_a_whole_service_life_to_the_end_and_logs_json_without_a_member_number(env):
    env = {**env, "VPDN_LOG_FORMAT": "json", "VPDN_LOG_LEVEL": "DEBUG"}
    up = Up(env)
    try:
        demo = vpdn(env, "demo")
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "demo finished" in demo.stdout
        assert "197 joined, 3 refused" in demo.stdout
        listed = json.loads(vpdn(env, "order", "list", "--customer", "9100000001", "--json").stdout)
        assert {o["state"] for o in listed} <= {"completed", "partial"} and len(listed) == 8
        assert "on the new plan, 2 kept their plan" in demo.stdout
        assert len(list((Path(env["VPDN_DATA_DIR"])).glob("acceptance-*"))) == 2
        assert json.loads(vpdn(env, "fallout", "list", "--json").stdout) == []
        watched = vpdn(env, "order", "status", listed[0]["order_no"], "--watch")
        assert watched.returncode == 0 and "completed" in watched.stdout
        reconciled = vpdn(env, "--as", "carol", "reconcile")
        assert reconciled.returncode == 0 and "GPMS and the provinces agree" in reconciled.stdout, reconciled.stdout
    finally:
        assert up.stop() == 0
    # The demo's rejections, refused members and fallout are business as usual: no traceback
    # in the operator's window, nor in the demo's own output.
    assert "Traceback" not in "".join(up.output) + demo.stdout + demo.stderr
    # Every log line is one JSON object; those of a province call name the order and the call;
    # no member number is in any of them.
    logged = [json.loads(line) for line in up.output if line.startswith("{")]
    assert any(line.get("order_no") and line.get("province") and line.get("system") for line in logged), logged[-20:]
    assert not MSISDN.search("".join(up.output))


@pytest.mark.skipif(not POSTGRES_URL, reason="VPDN_TEST_POSTGRES_URL is not set: the PostgreSQL scenario is skipped")
def test_a_service_opens_through_vpdn_up_with_the_order_store_on_postgresql(env, tmp_path):
    drop_schema(POSTGRES_URL)
    env = {**env, "VPDN_DATABASE_URL": POSTGRES_URL}
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"customers": [
        {"province": "ZJ", "customer_code": CODE, "name": "Westlake Tea", "credit_code": "91330000WT01", "level": "group"}]}))
    order = tmp_path / "order.json"
    order.write_text(json.dumps({
        "customer_code": CODE, "apn": "westlake.vpdn.zj", "access_province": "ZJ", "provinces": ["SH", "JS"],
        "tariff": {"name": "Westlake", "parameters": {"monthly_fee": "900", "member_fee": "6"}},
        "contract": {"number": "WL-2026-002", "signed_on": "2026-11-19", "signed_by": "am-qian",
                     "tariff_reference": "HQ-TRF-2026-0101"}}))

    up = Up(env)
    try:
        assert vpdn(env, "sim", "seed", "--file", str(seed)).returncode == 0
        assert vpdn(env, "--as", "alice", "customer", "acquire", CODE).returncode == 0
        opened = vpdn(env, "--as", "alice", "service", "open", "--file", str(order), "--order-no", "OPN-PG",
                      "--pre-approved-by", "hq", "--wait")
        assert opened.returncode == 0, opened.stderr
        assert json.loads(vpdn(env, "order", "show", "OPN-PG", "--json").stdout)["state"] == "completed"
        assert json.loads(vpdn(env, "service", "show", "SVC-OPN-PG", "--json").stdout)["state"] == "active"
    finally:
        assert up.stop() == 0
    assert OrderStore(POSTGRES_URL).services.get_service("SVC-OPN-PG").provinces == ["ZJ", "SH", "JS"]


def test_vpdn_up_with_a_port_taken_says_which_setting_moves_it_and_starts_nothing(env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(env["VPDN_SIM_PORT"])))
        taken.listen()
        started = vpdn(env, "up")
    assert started.returncode == 2
    assert f"port {env['VPDN_SIM_PORT']}" in started.stderr and "VPDN_SIM_PORT" in started.stderr
    assert "vpdn is up" not in started.stdout
    assert not dev_server_running(env)


def test_a_killed_vpdn_up_leaves_no_dev_server_running(env):
    up = Up(env)
    assert dev_server_running(env)
    up.process.kill()
    up.process.wait(timeout=30)
    deadline = time.monotonic() + 30
    while dev_server_running(env):
        assert time.monotonic() < deadline, "the dev server outlived vpdn up"
        time.sleep(0.2)


def dev_server_running(env: dict) -> bool:
    """Whether a Temporal dev server with this test's data folder is running."""
    found = subprocess.run(["pgrep", "-f", f"start-dev.*{env['VPDN_DATA_DIR']}"], capture_output=True)
    return found.returncode == 0
