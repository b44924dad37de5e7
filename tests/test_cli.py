"""CLI refusals: bad input gets a clear message and a non-zero exit, and nothing starts."""

import json
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner, Result

from cli import app
from models.customer import CustomerHierarchy, ProvincialCustomerRecord
from models.fallout import Fallout, FalloutDecision
from models.members import MemberLine
from models.orders import NewOrder
from models.plans import MemberPlan
from models.service import ServiceRegistration
from settings import Settings
from store import OrderStore
from tests.helpers import acquired_customer

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated(cli_environment, cli_api):
    """Every command reaches the API over this test's order store, as `vpdn up`'s people."""


@pytest.mark.parametrize("code", ["12345", "12345678901", "31000A2345", ""])
def test_malformed_customer_code_is_refused_before_anything_starts(code):
    result = runner.invoke(app, ["--as", "alice", "customer", "acquire", code])

    assert result.exit_code == 2
    assert "customer code must be exactly 10 digits" in result.output


def test_unreachable_temporal_is_reported_plainly():
    result = runner.invoke(app, ["--as", "alice", "customer", "acquire", "3100012345"])

    assert result.exit_code == 1
    assert "cannot reach Temporal at 127.0.0.1:1" in result.output


def test_showing_a_customer_not_in_gpms_says_how_to_acquire_it():
    result = runner.invoke(app, ["customer", "show", "3100012345"])

    assert result.exit_code == 1
    assert "vpdn customer acquire 3100012345" in result.output


def test_showing_a_malformed_customer_code_is_refused_without_suggesting_to_acquire_it():
    result = runner.invoke(app, ["customer", "show", "123"])

    assert result.exit_code == 2
    assert result.output == "error: customer code must be exactly 10 digits, got '123'\n"


def test_seed_without_a_source_is_refused():
    result = runner.invoke(app, ["sim", "seed"])

    assert result.exit_code == 2
    assert "give --file or --customers/--subscribers" in result.output


@pytest.mark.parametrize("option, message", [
    (["--rate", "5"], "rate: Input should be less than or equal to 1"),
    (["--count", "-1"], "count: Input should be greater than or equal to 1"),
    (["--province", "XX"], "unknown province 'XX'; valid provinces: BJ"),
])
def test_a_fault_out_of_range_is_refused_in_one_line_naming_the_option(option, message):
    result = runner.invoke(app, ["sim", "fault", "reject", "--province", "GD", *option])

    assert result.exit_code == 2
    assert result.output.strip().startswith(f"error: {message}") and len(result.output.strip().splitlines()) == 1


def test_unreachable_simulator_is_reported_plainly():
    result = runner.invoke(app, ["sim", "reset"])

    assert result.exit_code == 1
    assert "cannot reach the simulator" in result.output


ORDER = {
    "customer_code": "3100012345", "apn": "acme.vpdn.sh", "access_province": "SH", "provinces": ["GD"],
    "tariff": {"name": "Acme", "parameters": {"monthly_fee": "100", "member_fee": "5"}},
    "contract": {"number": "CT-2026-001", "signed_on": "2026-11-20", "signed_by": "am-zhang",
                 "tariff_reference": "HQ-TRF-2026-0173"},
}


def open_with(tmp_path, **changes) -> Result:
    order_file = tmp_path / "order.json"
    order_file.write_text(json.dumps({**ORDER, **changes}))
    return runner.invoke(app, ["--as", "alice", "service", "open", "--file", str(order_file)])


@pytest.mark.parametrize("changes, message", [
    ({"access_province": "XX"}, "access_province: unknown province code 'XX'"),
    ({"provinces": ["GD", "GD"]}, "provinces: provinces are listed twice"),
    ({"apn": "no dots"}, "apn: APN 'no dots' is not a domain name"),
    ({"tariff": {"name": "Acme", "parameters": {"monthly_fee": "100"}}},
     "tariff.parameters: tariff package is missing parameters: member_fee"),
    ({"line": {"bandwidth_mbps": 0, "address": "x"}}, "line.bandwidth_mbps"),
    ({"rental_rule": "someday"}, "rental_rule"),
    ({"tariff": {"name": "Acme", "parameters": {"monthly_fee": "abc", "member_fee": "-5", "speed": "fast"}}},
     "tariff.parameters: fees are amounts in yuan such as 30 or 12.50: monthly_fee 'abc', member_fee '-5'"),
])
def test_bad_service_opening_is_refused_with_the_field_and_reason(tmp_path, changes, message):
    result = open_with(tmp_path, **changes)

    assert result.exit_code == 2
    assert message in result.output


def test_service_opening_for_a_customer_not_acquired_is_refused(tmp_path):
    result = open_with(tmp_path)

    assert result.exit_code == 2
    assert "customer 3100012345 is not acquired: run `vpdn customer acquire 3100012345` first" in result.output


def test_service_opening_with_an_apn_in_use_is_refused(tmp_path):
    store = OrderStore(Settings().database_url)
    acquired_customer(store)
    store.services.register_service(ServiceRegistration(
        order_no="OPN-0", service_id="SVC-OPN-0", customer_code="3100012345", apn="acme.vpdn.sh",
        access_province="SH", paying_province="SH", provinces=["SH"], tariff=ORDER["tariff"]))

    result = open_with(tmp_path)

    assert result.exit_code == 2
    assert "APN acme.vpdn.sh is already used by service SVC-OPN-0; nothing started" in result.output


def test_decisions_on_an_unknown_order_are_refused():
    result = runner.invoke(app, ["--as", "bob", "order", "approve", "OPN-NOPE"])

    assert result.exit_code == 2
    assert result.output == "error: no order OPN-NOPE; list them with `vpdn order list`\n"


def test_a_decision_needs_the_role_of_the_person_acting():
    result = runner.invoke(app, ["--as", "bob", "fallout", "resolve", "OPN-1-F1", "--action", "retry"])

    assert result.exit_code == 2
    assert result.output == "error: bob lacks the role operator\n"


def test_a_decision_without_a_person_says_how_to_choose_one(tmp_path):
    stranger = runner.invoke(app, ["--as", "mallory", "order", "approve", "OPN-1"])
    (tmp_path / "credentials.json").unlink()
    nobody = runner.invoke(app, ["order", "approve", "OPN-1"])

    assert nobody.exit_code == 2
    assert "who is acting? choose a person with `vpdn --as NAME …`" in " ".join(nobody.output.split())
    assert stranger.exit_code == 2 and "no credentials for mallory" in stranger.output


def test_without_a_person_the_default_reads_and_is_refused_a_write_naming_the_role(active_service):
    shown = runner.invoke(app, ["service", "members", "SVC-OPN-0", "--json"])
    approved = runner.invoke(app, ["order", "approve", "OPN-1"])
    submitted = runner.invoke(app, ["service", "close", "SVC-OPN-0"])

    assert shown.exit_code == 0 and json.loads(shown.stdout)[0]["msisdn"] == "13800000001"
    assert (approved.exit_code, approved.output) == (2, "error: viewer lacks the role hq_auditor\n")
    assert (submitted.exit_code, submitted.output) == (
        2, "error: viewer lacks the role account_manager; nothing started\n")
    assert active_service.orders.list_orders() == []


def test_a_token_the_api_does_not_know_is_refused_in_one_line(monkeypatch):
    monkeypatch.setenv("VPDN_API_TOKEN", "vpdn_forged")

    result = runner.invoke(app, ["order", "list"])

    assert result.exit_code == 2
    assert result.output.startswith("error: the API at http://127.0.0.1:") and result.output.endswith(
        "refused the token: the token is unknown, expired or revoked\n")


def test_an_unreachable_api_is_reported_plainly(monkeypatch):
    monkeypatch.setenv("VPDN_API_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("VPDN_API_TOKEN", "vpdn_anything")

    result = runner.invoke(app, ["order", "cancel", "OPN-1", "--reason", "gone"])

    assert result.exit_code == 1
    assert "cannot reach the API at http://127.0.0.1:1: is `vpdn up` (or `vpdn api`) running?" in result.output


@pytest.fixture
def active_service(tmp_path) -> OrderStore:
    store = OrderStore(Settings().database_url)
    acquired_customer(store)
    store.services.register_service(ServiceRegistration(
        order_no="OPN-0", service_id="SVC-OPN-0", customer_code="3100012345", apn="acme.vpdn.sh",
        access_province="SH", paying_province="SH", provinces=["SH"], tariff=ORDER["tariff"],
        contract={**ORDER["contract"], "number": "CT-OPN-0"}))
    store.services.set_service_state("SVC-OPN-0", "active")
    store.staging.stage("JOIN-0", "SVC-OPN-0", "join", [MemberLine(msisdn="13800000001")])
    store.members.assign_batches("JOIN-0", 10)
    store.members.record_results("JOIN-0", {"13800000001": ("home_done", None, "")}, homes={"13800000001": "GD"})
    store.members.finish_members("JOIN-0", "SVC-OPN-0", "join")
    return store


def members_file(tmp_path, text: str) -> str:
    path = tmp_path / "members.csv"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("text, message", [
    ("msisdn,name\n13800000002,Li\n1380000000X,Wang\n", "line 3: '1380000000X' is not an 11-digit mobile number"),
    ("13800000002\n13800000003\n13800000002\n", "line 3: 13800000002 is listed twice (first on line 1)"),
    ("\n\n", "it lists no member"),
])
def test_bad_member_files_are_refused_with_every_bad_line(tmp_path, active_service, text, message):
    result = runner.invoke(app, ["--as", "alice", "member", "join", "SVC-OPN-0", "--file", members_file(tmp_path, text)])

    assert result.exit_code == 2
    assert message in result.output
    assert "nothing started" in result.output


def test_joining_members_already_in_the_vpdn_is_refused_with_the_list(tmp_path, active_service):
    result = runner.invoke(app, ["--as", "alice", "member", "join", "SVC-OPN-0", "--file",
                                 members_file(tmp_path, "13800000001\n13800000002\n")])

    assert result.exit_code == 2
    assert "1 member is already in service SVC-OPN-0: 13800000001; nothing started" in result.output
    assert active_service.orders.list_orders() == []


def test_exiting_numbers_that_are_not_members_is_refused_with_the_list(tmp_path, active_service):
    result = runner.invoke(app, ["--as", "alice", "member", "exit", "SVC-OPN-0", "--file",
                                 members_file(tmp_path, "13800000001\n13900000009\n")])

    assert result.exit_code == 2
    assert "1 number is not a member of service SVC-OPN-0 (unknown or already exited): 13900000009" in result.output


def test_members_cannot_join_a_service_that_is_not_active(tmp_path, active_service):
    active_service.services.set_service_state("SVC-OPN-0", "closed")

    result = runner.invoke(app, ["--as", "alice", "member", "join", "SVC-OPN-0", "--file", members_file(tmp_path, "13800000002\n")])

    assert result.exit_code == 2
    assert "service SVC-OPN-0 is closed" in result.output


def test_a_notification_for_a_number_in_no_vpdn_is_refused(active_service):
    result = runner.invoke(app, ["--as", "hub", "member", "notify", "cancelled", "13900000009", "--province", "GD", "--id", "N1"])

    assert result.exit_code == 2
    assert "13900000009 is not a member of any VPDN" in result.output


@pytest.mark.parametrize("change, message", [
    ({"parameters": {"speed": "fast"}}, "unknown in the current package: parameter speed"),
    ({"discounts": {"night": "0.5"}}, "unknown in the current package: discount night"),
    ({"parameters": {"monthly_fee": "100"}}, "the change changes nothing"),
    ({"parameters": {"monthly_fee": "12.345"}}, "fees are amounts in yuan such as 30 or 12.50: monthly_fee '12.345'"),
])
def test_a_tariff_change_that_cannot_apply_is_refused(tmp_path, active_service, change, message):
    path = tmp_path / "change.json"
    path.write_text(json.dumps(change))

    result = runner.invoke(app, ["--as", "alice", "tariff", "change", "SVC-OPN-0", "--file", str(path)])

    assert result.exit_code == 2
    assert message in result.output and "nothing started" in result.output


def test_closing_a_service_with_members_is_refused_saying_how_many_and_how_to_list_them(active_service):
    result = runner.invoke(app, ["--as", "alice", "service", "close", "SVC-OPN-0"])

    assert result.exit_code == 2
    assert "still has 1 member:" in result.output
    assert "vpdn service members SVC-OPN-0" in result.output


def test_orders_on_a_closed_service_are_refused(tmp_path, active_service):
    active_service.services.set_service_state("SVC-OPN-0", "closed")
    path = tmp_path / "change.json"
    path.write_text(json.dumps({"line": {"bandwidth_mbps": 10, "address": "x"}}))

    result = runner.invoke(app, ["--as", "alice", "service", "change", "SVC-OPN-0", "--file", str(path)])

    assert result.exit_code == 2
    assert "service SVC-OPN-0 is closed: it takes no service change" in result.output


def held_opening(store: OrderStore, order_no: str, allowed: tuple[str, ...] = ("retry", "compensate")) -> str:
    """An opening held on a line-center fallout, as the order store records it; its fallout's id."""
    store.orders.record_order(NewOrder(order_no=order_no, order_type="service_opening", workflow_id=f"w-{order_no}",
                                       customer_code="3100012345", requested_by="alice"), f"k-{order_no}")
    store.fallouts.open_fallout(Fallout(
        fallout_id=f"{order_no}-F1", order_no=order_no, order_type="service_opening", step="dedicated-line scheduling",
        province="SH", system="line", code="E6001", text="duct full", allowed=list(allowed),
        deadline=datetime.now(UTC)))
    return f"{order_no}-F1"


def test_a_failed_json_command_prints_nothing_on_stdout_and_says_why_on_stderr():
    result = runner.invoke(app, ["order", "show", "OPN-NOPE", "--json"])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == "error: no order OPN-NOPE; list them with `vpdn order list`"


def test_the_fallout_worklist_prints_json_for_scripts(active_service):
    held_opening(active_service, "OPN-9", ("retry", "skip", "compensate"))

    listed = runner.invoke(app, ["fallout", "list", "--province", "sh", "--json"])
    other = runner.invoke(app, ["fallout", "list", "--system", "crm", "--json"])

    assert listed.exit_code == 0
    assert [(f["fallout_id"], f["code"], f["allowed"]) for f in json.loads(listed.stdout)] == [
        ("OPN-9-F1", "E6001", ["retry", "skip", "compensate"])]
    assert json.loads(other.stdout) == []


LONG_ORDER_NO = "OPN20261203184512345678-GUANGDONG-PORTS"


def test_order_and_fallout_lists_never_cut_an_id(active_service):
    held_opening(active_service, LONG_ORDER_NO)

    orders = runner.invoke(app, ["order", "list"], terminal_width=80)
    fallouts = runner.invoke(app, ["fallout", "list"], terminal_width=80)

    assert orders.exit_code == 0 and fallouts.exit_code == 0
    assert LONG_ORDER_NO in orders.stdout.split()
    assert [line.split("\t")[0] for line in fallouts.stdout.splitlines()] == ["fallout", f"{LONG_ORDER_NO}-F1"]


def test_order_list_says_when_it_shows_fewer_than_exist(active_service):
    for n in range(3):
        active_service.orders.record_order(NewOrder(
            order_no=f"ACQ-{n}", order_type="customer_acquisition", workflow_id=f"w{n}",
            customer_code="3100012345", requested_by="alice"), f"k{n}")

    listed = runner.invoke(app, ["order", "list", "--limit", "2"])

    assert listed.exit_code == 0
    assert len(listed.stdout.splitlines()) == 3  # the header and two orders
    assert "2 of 3 orders shown; --limit shows more" in listed.stderr


@pytest.mark.parametrize("args, message", [
    (["fallout", "list", "--province", "GDD"], "unknown province 'GDD'; valid provinces: BJ TJ"),
    (["fallout", "list", "--system", "crn"], "unknown system 'crn'; valid systems: crm hlr"),
    (["order", "list", "--province", "XX"], "unknown province 'XX'"),
    (["order", "list", "--customer", "abc"], "customer code must be exactly 10 digits, got 'abc'"),
    (["--as", "carol", "events", "subscribe", "http://listener.example/ev", "--province", "XX"],
     "unknown province code 'XX'; valid codes: BJ TJ"),
])
def test_a_mistyped_filter_is_refused_with_the_valid_values(args, message):
    result = runner.invoke(app, args)

    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize("args", [
    ["order", "show", "."], ["order", "status", ".."], ["order", "status", ""], ["service", "show", "../orders"],
    ["--as", "carol", "order", "cancel", "..", "--reason", "x"],
])
def test_an_id_that_is_no_path_segment_is_refused_in_one_line_not_sent_elsewhere(args):
    result = runner.invoke(app, args)

    assert result.exit_code == 2, result.output
    assert result.output.strip().startswith("error: ") and len(result.output.strip().splitlines()) == 1
    assert "is not an order number, service id, fallout id or customer code" in result.output


def test_the_fallout_policy_is_shown_as_data():
    result = runner.invoke(app, ["fallout", "policy", "--json"])

    rules = json.loads(result.stdout)["rules"]
    assert rules[0]["code"] == "DEADLINE" and rules[0]["action"] == "hold"
    assert rules[-1] == {**rules[-1], "action": "compensate", "order_type": "*", "code": "*"}


def test_resolving_an_unknown_fallout_is_refused():
    result = runner.invoke(app, ["--as", "carol", "fallout", "resolve", "OPN-9-F7", "--action", "retry"])

    assert result.exit_code == 2
    assert "no fallout OPN-9-F7" in result.output


@pytest.mark.parametrize("content", ["null", "[1, 2]", '"text"'])
def test_an_order_file_that_is_not_a_json_object_is_refused(tmp_path, content):
    path = tmp_path / "order.json"
    path.write_text(content)

    result = runner.invoke(app, ["--as", "alice", "service", "open", "--file", str(path)])

    assert result.exit_code == 2
    assert "must hold a JSON object" in result.output


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_an_order_file_with_a_number_json_does_not_allow_is_refused_in_one_line(tmp_path, constant):
    path = tmp_path / "order.json"
    path.write_text('{"customer_code": "3100012345", "timers": {"jeopardy_after": %s}}' % constant)

    result = runner.invoke(app, ["--as", "alice", "service", "open", "--file", str(path)])

    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: cannot read order file {path}: {constant} is not a number JSON allows"]


def test_a_member_file_that_is_not_utf8_is_refused_in_one_line_naming_the_line(tmp_path, active_service):
    path = tmp_path / "members.csv"
    path.write_bytes(b"13800000002\n\xff\xfe\x00garbage\n")

    result = runner.invoke(app, ["--as", "alice", "member", "join", "SVC-OPN-0", "--file", str(path)])

    assert result.exit_code == 2
    assert result.output == "error: member file refused: line 2: neither UTF-8 nor GB18030 (GBK) text; nothing started\n"


def test_an_opening_without_a_contract_is_refused(tmp_path):
    acquired_customer(OrderStore(Settings().database_url))

    result = open_with(tmp_path, contract=None)

    assert result.exit_code == 2
    assert "contract: an opening carries its contract: number, signed_on, signed_by" in result.output
    assert "nothing started" in result.output


def test_an_opening_with_a_contract_number_of_another_customers_service_is_refused(tmp_path, active_service):
    active_service.customers.save_customer(active_service.customers.get_customer("3100012345").model_copy(
        update={"customer_code": "3100099999"}))

    result = open_with(tmp_path, customer_code="3100099999", apn="other.vpdn.sh",
                       contract={**ORDER["contract"], "number": "CT-OPN-0"})

    assert result.exit_code == 2
    assert "contract CT-OPN-0 is already used by service SVC-OPN-0 of customer 3100012345" in result.output


def test_an_opening_with_a_contract_signed_in_the_future_is_refused(tmp_path, active_service):
    result = open_with(tmp_path, apn="future.vpdn.sh", contract={**ORDER["contract"], "signed_on": "2099-01-01"})

    assert result.exit_code == 2
    assert "contract: signed_on 2099-01-01 is in the future" in result.output


@pytest.mark.parametrize("contract, message", [
    ({"number": "CT-OPN-0"}, "contract: CT-OPN-0 is the contract in force: an amendment changes it"),
    ({"number": "bad number!"}, "contract.number"),
    ({"signed_by": "am-li"}, "contract.number: is required"),
    ({"number": "CT-NEXT", "signed_on": "2099-01-01"}, "contract: signed_on 2099-01-01 is in the future"),
])
def test_a_tariff_change_with_an_amended_contract_that_cannot_apply_is_refused(
    tmp_path, active_service, contract, message
):
    path = tmp_path / "change.json"
    path.write_text(json.dumps({"parameters": {"monthly_fee": "120"}, "contract": contract}))

    result = runner.invoke(app, ["--as", "alice", "tariff", "change", "SVC-OPN-0", "--file", str(path)])

    assert result.exit_code == 2
    assert message in result.output and "nothing started" in result.output


def test_service_show_prints_the_contract_in_force(active_service):
    result = runner.invoke(app, ["service", "show", "SVC-OPN-0"])

    assert result.exit_code == 0
    assert ("contract CT-OPN-0 signed 2026-11-20 by am-zhang (approved tariff HQ-TRF-2026-0173) — version 1, "
            "recorded by order OPN-0") in result.output


def test_service_show_gives_the_line_tariff_members_per_province_and_the_orders_not_ended(active_service):
    active_service.orders.record_order(NewOrder(
        order_no="TRF-1", order_type="tariff_change", workflow_id="w-trf", customer_code="3100012345",
        requested_by="alice", service_id="SVC-OPN-0"), "k-trf")

    shown = runner.invoke(app, ["service", "show", "SVC-OPN-0"])
    data = json.loads(runner.invoke(app, ["service", "show", "SVC-OPN-0", "--json"]).stdout)

    assert shown.exit_code == 0
    text = " ".join(shown.stdout.split())
    assert "access SH, paid by SH, provinces SH" in text and "no dedicated line" in text
    assert "parameter │ monthly_fee │" in text and "{'" not in text
    assert "1 member: GD 1" in text
    assert "order TRF-1 tariff_change: acknowledged" in text
    assert data["members_by_home_province"] == {"GD": 1}
    assert [o["order_no"] for o in data["open_orders"]] == ["TRF-1"]


def plan_file(tmp_path, plan: dict) -> str:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    return str(path)


@pytest.mark.parametrize("members, plan, message", [
    ("13800000001\n13900000009\n", {"name": "gold", "tariff_version": 1, "parameters": {"member_fee": "9"}},
     "1 number is not an active member of service SVC-OPN-0: 13900000009"),
    ("13800000001\n", {"name": "gold", "tariff_version": 1, "parameters": {"member_speed": "9", "monthly_fee": "1"}},
     "unknown plan parameters: member_speed, monthly_fee (member parameters of tariff version 1: member_fee)"),
    ("13800000001\n", {"name": "gold", "tariff_version": 2, "parameters": {"member_fee": "9"}},
     "the plan refers to tariff version 2; the service's current version is 1"),
    ("13800000001\n", {"name": "standard", "tariff_version": 1, "parameters": {}},
     "the plan changes nothing for 1 members already on plan standard (v1): 13800000001"),
    ("13800000001\n", {"tariff_version": 1}, "plan.name: is required"),
])
def test_a_member_plan_change_that_cannot_apply_is_refused(tmp_path, active_service, members, plan, message):
    result = runner.invoke(app, ["--as", "alice", "member", "plan", "SVC-OPN-0", "--file", members_file(tmp_path, members),
                                 "--plan", plan_file(tmp_path, plan)])

    assert result.exit_code == 2
    assert message in result.output and "nothing started" in result.output
    assert active_service.orders.list_orders() == []


def test_a_member_plan_change_on_a_service_that_is_not_active_is_refused(tmp_path, active_service):
    active_service.services.set_service_state("SVC-OPN-0", "closing")

    result = runner.invoke(app, ["--as", "alice", "member", "plan", "SVC-OPN-0", "--file", members_file(tmp_path, "13800000001\n"),
                                 "--plan", plan_file(tmp_path, {"name": "gold", "tariff_version": 1})])

    assert result.exit_code == 2
    assert "service SVC-OPN-0 is being closed: it accepts no further orders" in result.output


def test_service_members_shows_each_members_plan(active_service):
    standard = json.loads(runner.invoke(app, ["service", "members", "SVC-OPN-0", "--json"]).stdout)
    active_service.staging.stage("PLAN-0", "SVC-OPN-0", "plan_change", [MemberLine(msisdn="13800000001")])
    active_service.members.assign_batches("PLAN-0", 10)
    active_service.members.record_results("PLAN-0", {"13800000001": ("home_done", None, "")})
    gold = MemberPlan(name="gold", tariff_version=1, parameters={"member_fee": "9"})
    active_service.terms.record_plan_change("PLAN-0", "SVC-OPN-0", gold, "2026-12-01", [])

    result = runner.invoke(app, ["service", "members", "SVC-OPN-0"])

    assert standard == [{"msisdn": "13800000001", "home_province": "GD", "plan": None}]
    assert "13800000001  GD  gold (v1: member_fee=9)" in result.output


def test_service_report_writes_the_acceptance_table_as_xlsx_with_english_headers(tmp_path, active_service):
    out = tmp_path / "table.xlsx"

    result = runner.invoke(app, ["service", "report", "SVC-OPN-0", "--out", str(out), "--lang", "en"])

    assert result.exit_code == 0, result.output
    workbook = load_workbook(out)
    assert workbook.sheetnames == ["Service", "Members", "Provinces"]
    service = {row[0]: row[1] for row in workbook["Service"].iter_rows(min_row=2, values_only=True)}
    assert (service["Contract number"], service["Customer name"], service["Access province"]) == (
        "CT-OPN-0", "Acme Logistics", "SH")
    assert [row[:5] for row in workbook["Members"].iter_rows(values_only=True)] == [
        ("Number", "Name", "Home province", "Plan", "State"), ("13800000001", None, "GD", "standard", "active")]


@pytest.mark.parametrize("args, message", [
    (["service", "report", "SVC-OPN-0", "--out", "table.pdf"], "the table is written as .xlsx or .csv"),
    (["service", "report", "SVC-NOPE", "--out", "table.csv"], "no service SVC-NOPE"),
    (["service", "report", "SVC-OPN-0", "--order", "OPN-0", "--out", "table.csv"],
     "order OPN-0 has no acceptance table: it is acknowledged"),
    (["order", "report", "JOIN-9", "--out", "table.csv"], "no order JOIN-9"),
])
def test_a_report_that_cannot_be_written_is_refused(active_service, args, message):
    active_service.orders.record_order(NewOrder(order_no="OPN-0", order_type="service_opening", workflow_id="w0",
                                                customer_code="3100012345", requested_by="alice",
                                                service_id="SVC-OPN-0"), "k")

    result = runner.invoke(app, args)

    assert result.exit_code != 0
    assert message in result.output
# Numbers, codes and files that cannot corrupt other orders


@pytest.mark.parametrize("code", ["１２３４５６７８９０", "٣١٠٠٠١٢٣٤٥"])
def test_a_customer_code_of_other_than_ascii_digits_is_refused_before_anything_starts(code):
    result = runner.invoke(app, ["--as", "alice", "customer", "acquire", code])

    assert result.exit_code == 2, result.output
    assert "customer code must be exactly 10 digits" in result.output


def test_an_order_number_longer_than_64_characters_is_refused_before_anything_starts():
    result = runner.invoke(app, ["--as", "alice", "customer", "acquire", "3100012345", "--order-no", "A" * 65])

    assert result.exit_code == 2, result.output
    assert "order_no: String should have at most 64 characters" in result.output


def test_an_order_number_of_another_order_type_is_refused_before_anything_starts(tmp_path, active_service):
    active_service.orders.record_order(NewOrder(order_no="JOIN-0", order_type="member_join",
                                                workflow_id="vpdn-join-JOIN-0", customer_code="3100012345",
                                                requested_by="alice"), "k")

    result = open_with(tmp_path, order_no="JOIN-0", apn="other.vpdn.sh")

    assert result.exit_code == 2, result.output
    assert "order JOIN-0 was already submitted (member_join vpdn-join-JOIN-0); nothing started" in result.output


@pytest.mark.parametrize("timers", [{"fail_after": "P31D"}, {"jeopardy_after": "P3D", "fail_after": "P2D"}])
def test_report_timers_beyond_30_days_or_out_of_order_are_refused(tmp_path, timers):
    result = open_with(tmp_path, timers={"jeopardy_after": "PT4H", **timers})

    assert result.exit_code == 2, result.output
    assert "report timers need 0 < jeopardy_after < fail_after ≤ 30 days" in result.output


def test_a_member_file_with_a_300_000_character_line_is_refused_in_one_line_naming_it(tmp_path, active_service):
    text = "13800000002\n13800000003," + "x" * 300_000 + "\n13800000004\n"

    result = runner.invoke(app, ["--as", "alice", "member", "join", "SVC-OPN-0", "--file", members_file(tmp_path, text)])

    assert result.exit_code == 2, result.output
    assert result.output == ("error: member file refused: line 2: longer than 1000 characters: not a member "
                             "line; nothing started\n")
    assert active_service.orders.list_orders() == []


def test_a_member_number_with_full_width_digits_is_refused(tmp_path, active_service):
    number = "13" + "８０００００００２"  # a mobile number's shape, in full-width digits after the 13
    result = runner.invoke(app, ["--as", "alice", "member", "join", "SVC-OPN-0", "--file", members_file(tmp_path, number + "\n")])

    assert result.exit_code == 2, result.output
    assert f"line 1: '{number}' is not an 11-digit mobile number" in result.output


def test_a_seed_file_that_is_not_utf8_is_refused_in_one_line_naming_the_line(tmp_path):
    path = tmp_path / "seed.json"
    path.write_bytes(b'{"subscribers": [\n  {"msisdn": "13800000001", "home_province": "GD",\n'
                     b'   "name": "\xe9t\xe9"}]}\n')

    result = runner.invoke(app, ["sim", "seed", "--file", str(path)])

    assert result.exit_code == 2, result.output
    assert result.output == f"error: cannot read seed file {path}: line 3 is not UTF-8 text\n"


def test_an_api_whose_order_store_is_unreachable_is_one_line_naming_the_store(monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("SELECT", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr("store.orders.OrderRecords.list_orders", unreachable)
    result = runner.invoke(app, ["order", "list"])

    assert result.exit_code == 1
    assert result.output == f"error: the order store is unreachable ({Settings().database_url}): connection refused\n"


def test_a_bug_is_one_line_with_its_traceback_kept_in_the_data_folder(monkeypatch, tmp_path):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("cli.orders.print_rows", broken)
    result = runner.invoke(app, ["order", "list"])

    assert result.exit_code == 70
    assert "unexpected ZeroDivisionError: division by zero (a bug: the details are in" in result.output
    assert "Traceback" not in result.output
    assert "ZeroDivisionError" in (tmp_path / "cli-errors.log").read_text()


def test_a_bug_with_a_many_line_message_is_still_one_line(monkeypatch, tmp_path):
    def broken(*args, **kwargs):
        raise ValueError("3 validation errors for OrderView\norder_no\n  Field required")

    monkeypatch.setattr("cli.orders.print_rows", broken)
    result = runner.invoke(app, ["order", "list"])

    assert result.exit_code == 70
    assert result.output.splitlines() == [
        f"error: unexpected ValueError: 3 validation errors for OrderView (a bug: the details are in "
        f"{tmp_path / 'cli-errors.log'})"]
    assert "Field required" in (tmp_path / "cli-errors.log").read_text()


def test_vpdn_prints_its_version():
    result = runner.invoke(app, ["--version"])

    assert result.exit_code == 0
    assert result.stdout.strip() == "vpdn 0.1.0"


def test_help_shows_flags_as_flags():
    result = runner.invoke(app, ["order", "list", "--help"])

    assert "--json " in result.stdout and "<bool>" not in result.stdout


def test_the_customer_tree_draws_the_last_branch_apart_from_the_others():
    store = OrderStore(Settings().database_url)
    store.customers.save_customer(CustomerHierarchy(
        customer_code="3100012345", name="Acme Logistics", credit_code="91310000MA1FL0001X", group_province="SH",
        branches=[ProvincialCustomerRecord(province=p, customer_code="3100012345", name=f"Acme {p}",
                                           credit_code="91310000MA1FL0001X", level="branch") for p in ("GD", "BJ")]))

    shown = runner.invoke(app, ["customer", "show", "3100012345"])

    assert [line.strip()[:12] for line in shown.stdout.splitlines() if "branch" in line] == [
        "├─ branch BJ", "└─ branch GD"]



def test_resolving_a_fallout_twice_says_who_resolved_it_and_how(active_service):
    held_opening(active_service, "OPN-8")
    active_service.fallouts.resolve_fallout(FalloutDecision(fallout_id="OPN-8-F1", action="retry", by="ops-wang",
                                                            reason="duct cleared"))

    again = runner.invoke(app, ["--as", "carol", "fallout", "resolve", "OPN-8-F1", "--action", "compensate"])

    assert again.exit_code == 2
    assert "fallout OPN-8-F1 was already resolved: retry by ops-wang (duct cleared)" in again.output


def test_a_decision_outside_its_choices_is_refused_in_the_clis_words(active_service):
    held_opening(active_service, "OPN-7")

    result = runner.invoke(app, ["--as", "carol", "fallout", "resolve", "OPN-7-F1", "--action", "bogus"])

    assert result.exit_code == 2
    assert result.output.strip() == "error: action: 'bogus' is not one of retry, skip, compensate, repair, accept or ignore"


def test_the_fallout_policy_says_hold_times_in_words():
    shown = runner.invoke(app, ["fallout", "policy"])

    assert "hold 1 day," in shown.stdout and "0:00:00" not in shown.stdout


def test_order_members_with_no_match_says_so(active_service):
    active_service.orders.record_order(NewOrder(order_no="JOIN-0", order_type="member_join", workflow_id="w-j",
                                                customer_code="3100012345", requested_by="alice",
                                                service_id="SVC-OPN-0"), "k-j")

    result = runner.invoke(app, ["order", "members", "JOIN-0", "--state", "failed"])

    assert result.exit_code == 0
    assert result.stdout.strip() == "no member of order JOIN-0 is failed"


@pytest.fixture
def simulator_db(monkeypatch):
    """The CLI's simulator calls answered in-process by the simulator app on its own database."""
    import asyncio

    import httpx

    from simulator import create_app

    app = create_app(Settings(), report_sink=lambda *_: None, change_sink=lambda *_: None)

    def request(method, url, json=None, params=None, timeout=None):
        async def call():
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as client:
                return await client.request(method, url, json=json, params=params)
        return asyncio.run(call())

    monkeypatch.setattr(httpx, "request", request)
    yield app.state.engine
    app.state.engine.dispose()


def seeded_subscribers(engine) -> dict[str, tuple[str, str]]:
    from sqlmodel import Session, select

    from simulator.db import Subscriber

    with Session(engine) as session:
        return {s.msisdn: (s.home_province, s.status) for s in session.exec(select(Subscriber))}


def test_sim_seed_writes_a_members_file_of_active_subscribers_it_seeded(simulator_db, tmp_path):
    path = tmp_path / "members.csv"

    result = runner.invoke(app, ["sim", "seed", "--customers", "2", "--subscribers", "1000",
                                 "--members-file", str(path), "--members", "40", "--members-home", "sd,BJ"])

    assert result.exit_code == 0, result.output
    assert f"wrote 40 members (active subscribers of SD,BJ) to {path}" in result.output
    lines = path.read_bytes().decode("utf-8").splitlines()
    assert lines[0] == "msisdn,name"
    rows = [line.split(",") for line in lines[1:]]
    seeded = seeded_subscribers(simulator_db)
    assert len({msisdn for msisdn, _name in rows}) == 40
    assert all(seeded[msisdn][0] in ("SD", "BJ") and seeded[msisdn][1] == "active" for msisdn, _name in rows)
    assert all(name.strip() for _msisdn, name in rows)


def test_sim_seed_from_a_file_writes_only_its_active_subscribers_and_says_when_fewer_than_asked(
    simulator_db, tmp_path
):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"subscribers": [
        {"msisdn": "13800000001", "home_province": "GD"},
        {"msisdn": "13800000002", "home_province": "GD", "status": "suspended"},
        {"msisdn": "13800000003", "home_province": "SH"},
    ]}))
    path = tmp_path / "members.csv"

    result = runner.invoke(app, ["sim", "seed", "--file", str(seed), "--members-file", str(path)])

    assert result.exit_code == 0, result.output
    assert "wrote 2 members" in result.output and "only 2 were seeded, 200 asked" in result.output
    assert [line.split(",")[0] for line in path.read_text(encoding="utf-8").splitlines()] == [
        "msisdn", "13800000001", "13800000003"]


@pytest.mark.parametrize("args, message", [
    (["--members", "10"], "give it too"),
    (["--members-file", "m.csv", "--members-home", "GDD"], "unknown province 'GDD'"),
    (["--members-file", "m.csv", "--members-home", "[bold]GD"], "unknown province '[bold]GD'"),  # shown as typed
    (["--members-file", "m.csv", "--members", "0"], "--members 0: at least 1"),
])
def test_sim_seed_refuses_a_members_file_it_cannot_write_before_seeding(args, message):
    result = runner.invoke(app, ["sim", "seed", "--subscribers", "10", *args])

    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize("args, message", [
    (["cancelled", "13800000001", "--id", "N123"],
     "its order MCH-N123-EXIT (the number exits) waits its turn on the service"),
    (["changed", "13800000001", "--new", "15500000001", "--id", "N124"],
     "its orders MCH-N124-OLD (the old number exits) and MCH-N124-NEW (the new number joins) wait their turn"),
])
def test_a_member_notification_names_the_orders_it_causes(monkeypatch, args, message):
    import cli.members

    monkeypatch.setattr(cli.members, "deliver", lambda path, body: {"detail": "received", "service_id": "SVC-OPN-0"})

    result = runner.invoke(app, ["--as", "hub", "member", "notify", *args, "--province", "GD"])

    assert result.exit_code == 0, result.output
    assert message in " ".join(result.output.split())
    assert "vpdn member notifications SVC-OPN-0" in " ".join(result.output.split())


def test_orders_on_a_service_being_closed_name_the_closure(tmp_path, active_service):
    active_service.orders.record_order(NewOrder(
        order_no="CLS-1", order_type="service_closure", workflow_id="vpdn-close-CLS-1", customer_code="3100012345",
        requested_by="alice", service_id="SVC-OPN-0"), "k")
    active_service.services.set_service_state("SVC-OPN-0", "closing")
    path = tmp_path / "change.json"
    path.write_text(json.dumps({"parameters": {"monthly_fee": "200"}}))

    result = runner.invoke(app, ["--as", "alice", "tariff", "change", "SVC-OPN-0", "--file", str(path)])

    assert result.exit_code == 2
    assert "service SVC-OPN-0 is being closed by order CLS-1: it accepts no further orders" in result.output
