"""`vpdn order`: show, status (live), list, members, the acceptance table; people's decisions."""

import re
import time
from typing import Annotated, Any

import typer
from rich.columns import Columns
from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.text import Text
from rich.table import Table

from models.orders import (
    OrderState,
    OrderType,
    OrderView,
    TERMINAL_STATES,
)
from models.members import (
    ItemState,
    MemberResult,
)
import api_client
from api_client import ApiError
from models.views import OrderList, OrderStatusView
from cli.follow import following
from cli.output import (
    JsonOption, LangOption, OutOption, console, errors, fail, print_json, print_rows, quoted, read,
    write_acceptance_table,
)


order_app = typer.Typer(help="Orders: status, audit trail, list; people's decisions.", no_args_is_help=True, rich_markup_mode=None)


@order_app.command("show")
def order_show(order_no: str, as_json: JsonOption = False) -> None:
    """Show an order's state and its audit trail (who did what, when)."""
    order = find_order(order_no)
    if as_json:
        print_json(order)
        return
    console.print(f"[bold]{order.order_no}[/bold] {order.order_type}  state [bold]{order.state}[/bold]"
                  + (f" ({order.sub_state})" if order.sub_state else ""))
    table = Table("at (UTC)", "actor", "event", "state", "detail")
    for event in order.events:
        table.add_row(f"{event.at:%Y-%m-%d %H:%M:%S}", event.actor, event.event, event.state or "", event.detail)
    console.print(table)


@order_app.command("status")
def order_status(
    order_no: str,
    watch: Annotated[bool, typer.Option(help="Follow the order live until it ends.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Where a running (or ended) order stands: state, what it waits for, steps per province,
    jeopardy, and the last events of its audit trail."""
    view = order_status_view(order_no)
    if as_json:
        print_json({"status": view.status.model_dump(mode="json"),
                    "events": [e.model_dump(mode="json") for e in view.events]})
        return
    if not watch:
        console.print(status_view(view))
        return
    with following(order_no), Live(status_view(view), console=console, refresh_per_second=2) as live:
        while view.status.state not in TERMINAL_STATES:
            time.sleep(1)
            view = order_status_view(order_no)
            live.update(status_view(view))
    if not console.is_terminal:  # the live view's last line ends in a pipe too
        console.line()


def order_status_view(order_no: str) -> OrderStatusView:
    return read(f"/orders/{quoted(order_no)}/status", OrderStatusView)


def status_view(view: OrderStatusView) -> Group:
    """An order as an operator follows it: state, progress (over its members for a member
    order), jeopardy in red, the steps not finished by kind, those finished folded into a
    count per kind, the latest events."""
    status, members = view.status, view.members
    colour = {"completed": "green", "failed": "red", "held": "red", "partial": "yellow", "pending": "cyan"}
    lines: list[Any] = [Text.from_markup(
        f"[bold]{status.order_no}[/bold] {status.order_type}  state [bold {colour.get(status.state, 'white')}]"
        f"{status.state}[/]" + (f" — {escape(status.sub_state)}" if status.sub_state else ""))]
    if members is not None and members.requested:
        lines.append(Columns([ProgressBar(total=members.requested, completed=members.settled, width=40),
                              Text(f"{members.settled}/{members.requested} members")]))
    elif status.steps:
        done = sum(step.state in FINISHED_STEP_STATES for step in status.steps)
        lines.append(Columns([ProgressBar(total=len(status.steps), completed=done, width=40),
                              Text(f"{done}/{len(status.steps)} steps")]))
    if status.contract:
        lines.append(Text(status.contract))
    lines += [Text(f"in jeopardy: {late} is overdue", style="bold red") for late in status.jeopardy]
    lines += [Text(f"unexpected {report}", style="yellow") for report in status.unexpected_reports]
    kinds: dict[str, list] = {}
    for step in status.steps:
        kinds.setdefault(BATCH_SUFFIX.sub("", step.name), []).append(step)
    table = Table("step", "done", "not done")
    finished = []
    for kind, group in kinds.items():
        done = sum(step.state in FINISHED_STEP_STATES for step in group)
        retried = sum(step.attempts > 1 for step in group)
        count = f"{done}/{len(group)}" + (f" ({retried} retried)" if retried else "")
        if done == len(group):
            finished.append(f"{kind} {count}")
            continue
        table.add_row(kind, count, " ".join(
            f"{BATCH_SUFFIX.search(step.name).group(1) if BATCH_SUFFIX.search(step.name) else step.province or ''}:"
            f"{step.state}" for step in group if step.state not in FINISHED_STEP_STATES))
    if table.rows:
        lines.append(table)
    if finished:
        lines.append(Text("finished: " + ", ".join(finished)))
    lines += [Text(f"  {event.at:%Y-%m-%d %H:%M:%S}  {event.actor}: {event.event}"
                   + (f" — {event.detail}" if event.detail else "")) for event in view.events[-5:]]
    return Group(*lines)


FINISHED_STEP_STATES = ("done", "skipped")


# A member batch's step is named after its kind and its batch: `HLR subscription GD#3`.
BATCH_SUFFIX = re.compile(r" ([A-Z]{2}#\d+)$")


@order_app.command("list")
def order_list(
    state: Annotated[OrderState | None, typer.Option(help="Only orders in this state.")] = None,
    order_type: Annotated[OrderType | None, typer.Option("--type", help="Only this type of order.")] = None,
    service: Annotated[str | None, typer.Option(help="Only this service's orders.")] = None,
    customer: Annotated[str | None, typer.Option(help="Only this customer code.")] = None,
    province: Annotated[str | None, typer.Option(help="Only orders touching this province.")] = None,
    older_than: Annotated[str | None, typer.Option(help="Only orders unchanged for this long: 30m, 4h, 2d.")] = None,
    limit: int = 50,
    as_json: JsonOption = False,
) -> None:
    """Orders from the order store, newest first."""
    found = read("/orders", OrderList, state=state, type=order_type, service=service, customer=customer,
                 province=province, older_than=older_than, limit=limit)
    orders = found.orders
    if as_json:
        print_json([order.model_dump(mode="json", exclude={"events"}) for order in orders])
        return
    print_rows(["order", "type", "customer", "service", "state", "waiting for", "updated (UTC)"],
               [[order.order_no, order.order_type, order.customer_code, order.service_id or "", order.state,
                 order.sub_state, f"{order.updated_at:%Y-%m-%d %H:%M}"] for order in orders],
               ids=("order", "service"), empty="no order matches")
    if found.total > len(orders):
        errors.print(f"{limit} of {found.total} orders shown; --limit shows more", highlight=False)


ReasonOption = Annotated[str, typer.Option("--reason", help="Why (recorded in the audit trail).")]


@order_app.command("approve")
def order_approve(order_no: str, reason: ReasonOption = "") -> None:
    """Approve an order's business audit (业务审核): an hq_auditor who did not submit it."""
    decide(f"/orders/{quoted(order_no)}/approval", {"reason": reason})


@order_app.command("reject")
def order_reject(order_no: str, reason: ReasonOption) -> None:
    """Reject an order's business audit; nothing is done in the provinces."""
    decide(f"/orders/{quoted(order_no)}/rejection", {"reason": reason})


@order_app.command("confirm-rental")
def order_confirm_rental(order_no: str, reason: ReasonOption = "") -> None:
    """Record the customer's confirmation that the rental starts (today): an account_manager."""
    decide(f"/orders/{quoted(order_no)}/rental-confirmation", {"reason": reason})


@order_app.command("cancel")
def order_cancel(order_no: str, reason: ReasonOption) -> None:
    """Cancel an order before it completes: what was done is compensated (an operator)."""
    decide(f"/orders/{quoted(order_no)}/cancellation", {"reason": reason})


@order_app.command("resolve")
def order_resolve(
    order_no: str,
    action: Annotated[str, typer.Option(help="retry: try the failed undos again; done_by_hand: "
                                             "they were completed by hand.")],
    reason: ReasonOption = "",
) -> None:
    """Decide on an order held because a compensation failed (an operator)."""
    decide(f"/orders/{quoted(order_no)}/compensation-resolution", {"action": action, "reason": reason})


def find_order(order_no: str) -> OrderView:
    return read(f"/orders/{quoted(order_no)}", OrderView)


def decide(path: str, body: dict) -> None:
    """Send a person's decision through the API; say at once whether it was taken."""
    try:
        console.print(api_client.call("POST", path, body=body)["answer"], highlight=False)
    except ApiError as refusal:
        if refusal.status == 409:
            fail(f"refused: {escape(refusal.text)}", code=2)
        raise


@order_app.command("report")
def order_report(order_no: str, out: OutOption, lang: LangOption = "zh") -> None:
    """The acceptance basic information table kept with an order (an opening or a member
    order that completed or ended partial), as XLSX or CSV."""
    write_acceptance_table(f"/orders/{quoted(order_no)}/acceptance-table", out, lang, f"order {order_no.strip()}")


@order_app.command("members")
def order_members(
    order_no: str,
    state: Annotated[ItemState | None, typer.Option(help="Only members in this state.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Per-member results of a member order: state, and the code and reason of a failure."""
    results = read(f"/orders/{quoted(order_no)}/members", list[MemberResult], state=state)
    if as_json:
        print_json([r.model_dump(mode="json") for r in results])
        return
    print_rows(["msisdn", "name", "home", "state", "code", "reason"],
               [[r.msisdn, r.name, r.home_province or "", r.state, r.code or "", r.detail] for r in results],
               ids=("msisdn",), empty=f"no member of order {order_no.strip()} is {state}" if state
               else f"order {order_no.strip()} has no member")

