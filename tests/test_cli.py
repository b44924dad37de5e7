"""CLI refusals: bad input gets a clear message and a non-zero exit, and nothing starts."""

import json

import pytest
from typer.testing import CliRunner, Result

from cli import app
from models.service import ServiceRegistration
from settings import Settings
from store import OrderStore
from tests.helpers import acquired_customer

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("VPDN_DATA_DIR", str(tmp_path))
    # Nothing listens here: a command that tried to start a workflow would fail differently.
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
    monkeypatch.setenv("VPDN_SIM_PORT", "1")


@pytest.mark.parametrize("code", ["12345", "12345678901", "31000A2345", ""])
def test_malformed_customer_code_is_refused_before_anything_starts(code):
    result = runner.invoke(app, ["customer", "acquire", code, "--by", "alice"])

    assert result.exit_code == 2
    assert "customer code must be exactly 10 digits" in result.output


def test_unreachable_temporal_is_reported_plainly():
    result = runner.invoke(app, ["customer", "acquire", "3100012345", "--by", "alice"])

    assert result.exit_code == 1
    assert "cannot reach Temporal at 127.0.0.1:1" in result.output


def test_showing_a_customer_not_in_gpms_says_how_to_acquire_it():
    result = runner.invoke(app, ["customer", "show", "3100012345"])

    assert result.exit_code == 1
    assert "vpdn customer acquire 3100012345" in result.output


def test_seed_without_a_source_is_refused():
    result = runner.invoke(app, ["sim", "seed"])

    assert result.exit_code == 2
    assert "give --file or --customers/--subscribers" in result.output


def test_unreachable_simulator_is_reported_plainly():
    result = runner.invoke(app, ["sim", "reset"])

    assert result.exit_code == 1
    assert "cannot reach the simulator" in result.output


ORDER = {
    "customer_code": "3100012345", "apn": "acme.vpdn.sh", "access_province": "SH", "provinces": ["GD"],
    "tariff": {"name": "Acme", "parameters": {"monthly_fee": "100", "member_fee": "5"}},
}


def open_with(tmp_path, **changes) -> Result:
    order_file = tmp_path / "order.json"
    order_file.write_text(json.dumps({**ORDER, **changes}))
    return runner.invoke(app, ["service", "open", "--file", str(order_file), "--by", "alice"])


@pytest.mark.parametrize("changes, message", [
    ({"access_province": "XX"}, "access_province: unknown province code 'XX'"),
    ({"provinces": ["GD", "GD"]}, "provinces: provinces are listed twice"),
    ({"apn": "no dots"}, "apn: APN 'no dots' is not a domain name"),
    ({"tariff": {"name": "Acme", "parameters": {"monthly_fee": "100"}}},
     "tariff.parameters: tariff package is missing parameters: member_fee"),
    ({"line": {"bandwidth_mbps": 0, "address": "x"}}, "line.bandwidth_mbps"),
    ({"rental_rule": "someday"}, "rental_rule"),
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
    store.register_service(ServiceRegistration(
        order_no="OPN-0", service_id="SVC-OPN-0", customer_code="3100012345", apn="acme.vpdn.sh",
        access_province="SH", paying_province="SH", provinces=["SH"], tariff=ORDER["tariff"]))

    result = open_with(tmp_path)

    assert result.exit_code == 2
    assert "APN acme.vpdn.sh is already used by service SVC-OPN-0; nothing started" in result.output


def test_decisions_on_an_unknown_order_are_refused():
    result = runner.invoke(app, ["order", "approve", "OPN-NOPE", "--by", "bob"])

    assert result.exit_code == 1
    assert "no order OPN-NOPE" in result.output
