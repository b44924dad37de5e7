"""`--wait`: the command's exit code says how the order ended."""

from datetime import UTC, datetime

import pytest
import typer
from typer.testing import CliRunner

from cli import app, follow, services
from models.members import MemberCounts, MemberOrderResult
from models.orders import OrderEventView, OrderState, OrderType, OrderView
from models.service_orders import SubmissionAnswer
from models.views import Accepted

ACCEPTED = Accepted(order_no="J1", order_type=OrderType.member_join, workflow_id="member_join-J1",
                    service_id="SVC-1", member_count=3, queue=SubmissionAnswer(order_no="J1", position=0))


def ended(monkeypatch, state: str) -> None:
    monkeypatch.setattr(follow, "follow_members", lambda order_no, count: MemberOrderResult(
        order_no=order_no, state=state, counts=MemberCounts(requested=3, done=0, failed=3)))


@pytest.mark.parametrize("state", ["failed", "rejected", "cancelled"])
@pytest.mark.parametrize("as_json", [False, True])
def test_waiting_on_a_member_order_that_does_not_complete_exits_1(monkeypatch, capsys, state, as_json):
    ended(monkeypatch, state)

    with pytest.raises(typer.Exit) as exit:
        follow.follow_member_order(ACCEPTED, pre_approved_by="bob", wait=True, as_json=as_json)

    assert exit.value.exit_code == 1
    assert state in capsys.readouterr().out


@pytest.mark.parametrize("state", ["completed", "partial"])
def test_waiting_on_a_member_order_that_completes_or_ends_partial_exits_0(monkeypatch, capsys, state):
    ended(monkeypatch, state)

    follow.follow_member_order(ACCEPTED, pre_approved_by="bob", wait=True, as_json=False)

    assert f"order J1 {state}" in capsys.readouterr().out


def test_waiting_on_an_opening_that_is_rejected_exits_1_saying_why(monkeypatch):
    at = datetime(2026, 12, 4, tzinfo=UTC)
    monkeypatch.setattr(services, "submit", lambda kind, json: Accepted(
        order_no="O1", order_type=OrderType.service_opening, workflow_id="service_opening-O1", service_id="SVC-1"))
    monkeypatch.setattr(services, "wait_for_end", lambda order_no: OrderView(
        order_no=order_no, order_type=OrderType.service_opening, workflow_id="service_opening-O1",
        customer_code="3100012345", service_id="SVC-1", state=OrderState.rejected, sub_state="", requested_by="alice",
        provinces=["SH"], created_at=at, updated_at=at,
        events=[OrderEventView(at=at, actor="bob", event="rejected", detail="tariff not approved",
                               state=OrderState.rejected)]))

    result = CliRunner().invoke(app, ["service", "open", "--customer", "3100012345", "--apn", "a.vpdn", "--wait"])

    assert result.exit_code == 1
    assert "order O1 rejected: tariff not approved" in result.output
