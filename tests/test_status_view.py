"""What `vpdn order status --watch` shows of a big member order: progress over its members
from the first moment, the unfinished work first, finished steps folded into counts."""

from rich.console import Console

from cli.orders import status_view
from models.members import MemberCounts
from models.orders import OrderState, OrderStatus, OrderType, StepStatus, UnexpectedReport
from reads import OrderStatusView


def join_of_4000(steps: list[StepStatus]) -> OrderStatus:
    return OrderStatus(order_no="JOIN-BIG", order_type=OrderType.member_join, state=OrderState.in_progress,
                       sub_state="opening 160 batches", steps=steps)


def shown(status: OrderStatus, members: MemberCounts) -> str:
    console = Console(record=True, width=80)
    console.print(status_view(OrderStatusView(status=status, members=members, events=[])))
    return console.export_text()


def test_a_big_join_shows_its_members_progress_and_only_the_unfinished_batches():
    steps = [StepStatus(name=f"HLR subscription GD#{n}", province="GD", state="done") for n in range(1, 160)]
    steps.append(StepStatus(name="HLR subscription GD#160", province="GD", state="running"))
    status = join_of_4000(steps)

    text = shown(status, MemberCounts(requested=4000, home_done=3000, invalid=132))

    assert "3132/4000 members" in text
    assert "GD#160:running" in text
    assert "1/1" not in text and text.count("GD#") == 1
    assert "│ HLR subscription │ 159/160 │ GD#160:running │" in text


def test_a_finished_kind_of_step_is_one_line():
    status = join_of_4000([StepStatus(name=f"member billing GD#{n}", province="GD", state="done")
                                  for n in range(1, 11)])

    text = shown(status, MemberCounts(requested=4000, home_done=4000))

    assert "finished: member billing 10/10" in text


def test_an_unexpected_report_is_shown_with_its_contents_and_why_it_was_not_believed():
    status = join_of_4000([])
    status.unexpected_reports.append(UnexpectedReport(
        report_id="x", province="XZ", system="sms", operation="nothing", idempotency_key="OPN-1:service_work_order:GD",
        outcome="completed", why="the work order with this key went to GD crm service_work_order"))

    text = " ".join(shown(status, MemberCounts(requested=4000)).split())

    assert ("unexpected report x from XZ sms nothing for OPN-1:service_work_order:GD: completed (the work order "
            "with this key went to GD crm service_work_order)") in text
