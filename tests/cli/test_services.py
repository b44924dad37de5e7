"""`vpdn service`: openings, changes and closures refused with the field and reason (nothing
starts), and what show, members and report print."""

import json

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner, Result

from cli import app
from models.members import MemberLine
from models.orders import NewOrder
from models.plans import MemberPlan
from models.service import ServiceRegistration
from settings import Settings
from store import OrderStore
from tests.helpers import OPENING_ORDER
from tests.helpers import acquired_customer

runner = CliRunner()


def open_with(tmp_path, **changes) -> Result:
    order_file = tmp_path / "order.json"
    order_file.write_text(json.dumps({**OPENING_ORDER, **changes}))
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
        access_province="SH", paying_province="SH", provinces=["SH"], tariff=OPENING_ORDER["tariff"]))

    result = open_with(tmp_path)

    assert result.exit_code == 2
    assert "APN acme.vpdn.sh is already used by service SVC-OPN-0; nothing started" in result.output


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
                       contract={**OPENING_ORDER["contract"], "number": "CT-OPN-0"})

    assert result.exit_code == 2
    assert "contract CT-OPN-0 is already used by service SVC-OPN-0 of customer 3100012345" in result.output


def test_an_opening_with_a_contract_signed_in_the_future_is_refused(tmp_path, active_service):
    result = open_with(tmp_path, apn="future.vpdn.sh", contract={**OPENING_ORDER["contract"], "signed_on": "2099-01-01"})

    assert result.exit_code == 2
    assert "contract: signed_on 2099-01-01 is in the future" in result.output


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
