"""`vpdn fallout`: the worklist of held orders, the policy, and decisions on a fallout."""

import json
from datetime import UTC, datetime

from typer.testing import CliRunner

from cli import app
from models.fallout import Fallout, FalloutDecision
from models.orders import NewOrder
from store import OrderStore

runner = CliRunner()


def held_opening(store: OrderStore, order_no: str, allowed: tuple[str, ...] = ("retry", "compensate")) -> str:
    """An opening held on a line-center fallout, as the order store records it; its fallout's id."""
    store.orders.record_order(NewOrder(order_no=order_no, order_type="service_opening", workflow_id=f"w-{order_no}",
                                       customer_code="3100012345", requested_by="alice"), f"k-{order_no}")
    store.fallouts.open_fallout(Fallout(
        fallout_id=f"{order_no}-F1", order_no=order_no, order_type="service_opening", step="dedicated-line scheduling",
        province="SH", system="line", code="E6001", text="duct full", allowed=list(allowed),
        deadline=datetime.now(UTC)))
    return f"{order_no}-F1"


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


def test_the_fallout_policy_is_shown_as_data():
    result = runner.invoke(app, ["fallout", "policy", "--json"])

    rules = json.loads(result.stdout)["rules"]
    assert rules[0]["code"] == "DEADLINE" and rules[0]["action"] == "hold"
    assert rules[-1] == {**rules[-1], "action": "compensate", "order_type": "*", "code": "*"}


def test_resolving_an_unknown_fallout_is_refused():
    result = runner.invoke(app, ["--as", "carol", "fallout", "resolve", "OPN-9-F7", "--action", "retry"])

    assert result.exit_code == 2
    assert "no fallout OPN-9-F7" in result.output


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
