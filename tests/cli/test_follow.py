"""Following an order: `--wait`'s exit code says how a member order ended; Ctrl-C or SIGTERM
while `--wait` follows it stops the following, not the order, and says so in one line with
where to look again; `--watch` in a pipe."""

import os
import signal
from datetime import UTC, datetime

import pytest
import typer
from typer.testing import CliRunner

import cli.follow
import cli.members
import cli.orders
import cli.services
from cli import app
from models.members import MemberCounts, MemberOrderResult
from models.orders import OrderEventView, OrderState, OrderStatus, OrderType
from models.service_orders import SubmissionAnswer
from models.views import Accepted, OrderStatusView

runner = CliRunner()


class RunnerTerminated(Exception):
    """What SIGTERM does in this test when the command leaves it unhandled."""


@pytest.fixture(autouse=True)
def isolated(cli_environment, cli_api):
    previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(RunnerTerminated()))
    yield
    signal.signal(signal.SIGTERM, previous)


@pytest.fixture
def accepted_and_running(monkeypatch):
    """Every order submitted is accepted, queued behind nothing, and never ends."""
    def accept(kind: str, **_: object) -> Accepted:
        return Accepted(order_no="ORD-1", order_type="service_closure", workflow_id="vpdn-close-ORD-1",
                        service_id="SVC-1", member_count=3, member_file_encoding="utf-8",
                        queue=SubmissionAnswer(order_no="ORD-1", position=0))

    monkeypatch.setattr(cli.services, "submit", accept)
    monkeypatch.setattr(cli.members, "submit", accept)
    monkeypatch.setattr(cli.follow, "recorded", lambda path, answer: None)


def interrupted_by(monkeypatch, interrupt: str) -> None:
    """The person's Ctrl-C, or a service manager's SIGTERM, while the command waits."""
    def sleep(seconds: float) -> None:
        if interrupt == "ctrl-c":
            raise KeyboardInterrupt
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(cli.follow.time, "sleep", sleep)


@pytest.mark.parametrize("interrupt, code", [("ctrl-c", 130), ("sigterm", 143)])
@pytest.mark.parametrize("command", [
    ["--as", "alice", "service", "close", "SVC-1", "--pre-approved-by", "hq-wang", "--wait"],
    ["--as", "alice", "member", "join", "SVC-1", "--file", "MEMBERS", "--pre-approved-by", "hq-wang", "--wait"],
])
def test_an_interrupted_wait_stops_following_and_says_the_order_goes_on(tmp_path, monkeypatch, accepted_and_running,
                                                                      command, interrupt, code):
    members = tmp_path / "members.csv"
    members.write_text("13800000001\n13800000002\n13800000003\n")
    interrupted_by(monkeypatch, interrupt)

    result = runner.invoke(app, [str(members) if arg == "MEMBERS" else arg for arg in command])

    assert result.exit_code == code, result.output
    assert "error: stopped following order ORD-1; the order goes on: vpdn order status ORD-1" in result.output
    assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL  # the command's handler is gone again


def test_watching_an_order_in_a_pipe_ends_its_last_line(monkeypatch):
    now = datetime.now(UTC)
    ended = OrderStatusView(
        status=OrderStatus(order_no="OPN-1", order_type="service_opening", state=OrderState.completed),
        members=None,
        events=[OrderEventView(at=now, actor="gpms", event="service active", detail="rental from 2026-12-05",
                               state=OrderState.completed)])
    monkeypatch.setattr(cli.orders, "order_status_view", lambda order_no: ended)

    result = runner.invoke(app, ["order", "status", "OPN-1", "--watch"])

    assert result.exit_code == 0, result.output
    assert result.output.endswith("rental from 2026-12-05\n")


ACCEPTED = Accepted(order_no="J1", order_type=OrderType.member_join, workflow_id="member_join-J1",
                    service_id="SVC-1", member_count=3, queue=SubmissionAnswer(order_no="J1", position=0))


def ended(monkeypatch, state: str) -> None:
    monkeypatch.setattr(cli.follow, "follow_members", lambda order_no, count: MemberOrderResult(
        order_no=order_no, state=state, counts=MemberCounts(requested=3, done=0, failed=3)))


@pytest.mark.parametrize("state", ["failed", "rejected", "cancelled"])
@pytest.mark.parametrize("as_json", [False, True])
def test_waiting_on_a_member_order_that_does_not_complete_exits_1(monkeypatch, capsys, state, as_json):
    ended(monkeypatch, state)

    with pytest.raises(typer.Exit) as exit:
        cli.follow.follow_member_order(ACCEPTED, pre_approved_by="bob", wait=True, as_json=as_json)

    assert exit.value.exit_code == 1
    assert state in capsys.readouterr().out


@pytest.mark.parametrize("state", ["completed", "partial"])
def test_waiting_on_a_member_order_that_completes_or_ends_partial_exits_0(monkeypatch, capsys, state):
    ended(monkeypatch, state)

    cli.follow.follow_member_order(ACCEPTED, pre_approved_by="bob", wait=True, as_json=False)

    assert f"order J1 {state}" in capsys.readouterr().out
