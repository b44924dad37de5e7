"""`vpdn order`: decisions on an unknown order, lists that say what they leave out, an order's members."""

from typer.testing import CliRunner

from cli import app
from models.orders import NewOrder

runner = CliRunner()


def test_decisions_on_an_unknown_order_are_refused():
    result = runner.invoke(app, ["--as", "bob", "order", "approve", "OPN-NOPE"])

    assert result.exit_code == 2
    assert result.output == "error: no order OPN-NOPE; list them with `vpdn order list`\n"


def test_order_list_says_when_it_shows_fewer_than_exist(active_service):
    for n in range(3):
        active_service.orders.record_order(NewOrder(
            order_no=f"ACQ-{n}", order_type="customer_acquisition", workflow_id=f"w{n}",
            customer_code="3100012345", requested_by="alice"), f"k{n}")

    listed = runner.invoke(app, ["order", "list", "--limit", "2"])

    assert listed.exit_code == 0
    assert len(listed.stdout.splitlines()) == 3  # the header and two orders
    assert "2 of 3 orders shown; --limit shows more" in listed.stderr


def test_order_members_with_no_match_says_so(active_service):
    active_service.orders.record_order(NewOrder(order_no="JOIN-0", order_type="member_join", workflow_id="w-j",
                                                customer_code="3100012345", requested_by="alice",
                                                service_id="SVC-OPN-0"), "k-j")

    result = runner.invoke(app, ["order", "members", "JOIN-0", "--state", "failed"])

    assert result.exit_code == 0
    assert result.stdout.strip() == "no member of order JOIN-0 is failed"
