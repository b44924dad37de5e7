"""`vpdn service open` as an operator types it: flags that override the order file, and
`--wait` on an opening that does not complete."""

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

import cli.services
from cli import app
from models.orders import OrderEventView, OrderState, OrderView
from models.views import Accepted

runner = CliRunner()

ORDER = {
    "customer_code": "3100012345", "apn": "acme.vpdn.sh", "access_province": "SH", "provinces": ["GD"],
    "tariff": {"name": "Acme", "parameters": {"monthly_fee": "100", "member_fee": "5"}},
    "line": {"bandwidth_mbps": 100, "address": "8 Guomao Rd, Haikou"},
    "contract": {"number": "CT-2026-001", "signed_on": "2026-11-20", "signed_by": "am-zhang",
                 "tariff_reference": "HQ-TRF-2026-0173"},
}


@pytest.fixture
def submitted(monkeypatch) -> list[dict]:
    """What the command submits to the API (the opening accepted as OPN-W)."""
    bodies: list[dict] = []

    def submit(kind: str, json: dict) -> Accepted:
        bodies.append(json)
        return Accepted(order_no="OPN-W", order_type="service_opening", workflow_id="vpdn-open-OPN-W",
                        service_id="SVC-OPN-W")

    monkeypatch.setattr(cli.services, "submit", submit)
    return bodies


def open_with(tmp_path, *flags: str):
    order_file = tmp_path / "order.json"
    order_file.write_text(json.dumps(ORDER))
    return runner.invoke(app, ["--as", "alice", "service", "open", "--file", str(order_file), *flags])


def test_a_line_address_flag_keeps_the_files_bandwidth(tmp_path, submitted):
    result = open_with(tmp_path, "--line-address", "1 New Rd, Haikou")

    assert result.exit_code == 0, result.output
    assert submitted[0]["line"] == {"bandwidth_mbps": 100, "address": "1 New Rd, Haikou"}


def test_a_line_bandwidth_of_zero_is_sent_to_be_refused_not_ignored(tmp_path, submitted):
    open_with(tmp_path, "--line-bandwidth", "0")

    assert submitted[0]["line"] == {"bandwidth_mbps": 0, "address": "8 Guomao Rd, Haikou"}


@pytest.mark.parametrize("state, event, detail", [
    (OrderState.rejected, "order rejected", "business audit rejected by bob: no budget"),
    (OrderState.cancelled, "order cancelled", "cancelled by carol: duplicate"),
])
def test_waiting_on_an_opening_that_does_not_complete_says_how_it_ended(tmp_path, submitted, monkeypatch,
                                                                       state, event, detail):
    now = datetime.now(UTC)
    ended = OrderView(order_no="OPN-W", order_type="service_opening", workflow_id="vpdn-open-OPN-W",
                      customer_code="3100012345", service_id="SVC-OPN-W", state=state, sub_state="",
                      requested_by="alice", provinces=["SH", "GD"], created_at=now, updated_at=now,
                      events=[OrderEventView(at=now, actor="gpms", event=event, detail=detail, state=state)])
    monkeypatch.setattr(cli.services, "wait_for_end", lambda order_no: ended)

    result = open_with(tmp_path, "--wait")

    assert result.exit_code == 1
    assert f"error: order OPN-W {state}: {detail}" in result.output
    assert "no service" not in result.output


def test_in_a_pipe_a_long_line_is_never_cut_inside_an_order_number(tmp_path, monkeypatch):
    long_no = "OPN-" + "2026120414" * 6  # 64 characters, as an order number may be
    monkeypatch.setattr(cli.services, "submit", lambda kind, json: Accepted(
        order_no=long_no, order_type="service_opening", workflow_id=f"vpdn-open-{long_no}", service_id="SVC-LONG"))

    result = open_with(tmp_path)

    assert result.exit_code == 0, result.output
    assert f"awaiting business audit by an hq_auditor: vpdn order approve {long_no}" in (
        result.output.splitlines())
