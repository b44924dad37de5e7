"""`vpdn tariff change`: a change, or its amended contract, that cannot apply is refused and
nothing starts."""

import json

import pytest
from typer.testing import CliRunner

from cli import app
from models.orders import NewOrder

runner = CliRunner()


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
