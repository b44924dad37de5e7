"""Following an order through the API: `--wait`'s progress, what a held order waits for
(exit HELD_EXIT), and where a queued order stands."""

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import typer
from pydantic import TypeAdapter
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from models.fallout import FalloutView
from models.orders import (
    OrderState,
    OrderView,
    TERMINAL_STATES,
)
from models.members import (
    MemberOrderResult,
)
from models.service_orders import SubmissionAnswer
import api_client
from api_client import ApiError
from models.views import Accepted, OrderStatusView
from cli.output import console, fail, print_json, quoted, read, submitted


def print_queued(accepted: Accepted, pre_approved_by: str | None, as_json: bool, wait: bool) -> None:
    """Say where an order queued on its service stands; with `wait`, follow it to its end."""
    if not as_json:
        console.print(f"order {accepted.order_no} accepted for service {accepted.service_id}")
        print_queue_position(accepted.queue, pre_approved_by)
    ended = wait_for_end(accepted.order_no) if wait else None
    if as_json:
        print_json({**accepted.queue.model_dump(mode="json"),
                    **({"state": ended.state, "detail": ended.events[-1].detail} if ended else {})})
    elif ended:
        console.print(f"order {ended.order_no} {ended.state}: {ended.events[-1].detail or ended.events[-1].event}")
    else:
        console.print(f"follow it: vpdn order status {accepted.order_no}")
    if ended:
        exit_unless_done(ended.state)


# The ends of an order that did its work (for all its members, or some).
DONE_STATES = (OrderState.completed, OrderState.partial)


def exit_unless_done(state: str) -> None:
    """`--wait` exits 1 when the order ended without doing its work (failed, rejected, cancelled)."""
    if state not in DONE_STATES:
        raise typer.Exit(1)


# `--wait` ends with this code when the order is held for a person's decision.
HELD_EXIT = 3


def recorded(path: str, answer: Any) -> Any:
    """What the API answers at `path` about an order, or None while the order is not yet
    recorded (queued behind another order of its service)."""
    try:
        return TypeAdapter(answer).validate_python(api_client.call("GET", path))
    except ApiError as error:
        if error.status == 404:
            return None
        raise


class _Terminated(Exception):
    """SIGTERM while following an order."""


def _terminated(signum: int, frame: Any) -> None:
    raise _Terminated


@contextlib.contextmanager
def following(order_no: str) -> Iterator[None]:
    """Ctrl-C or SIGTERM while following an order stops the following, not the order: one
    line saying so and where to look again, exit 130 (Ctrl-C) or 143 (SIGTERM)."""
    # Only the main thread receives signals (a command run in another thread has none to catch).
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if in_main else None
    try:
        yield
    except (KeyboardInterrupt, _Terminated) as interrupt:
        fail(f"stopped following order {order_no}; the order goes on: vpdn order status {order_no}",
             code=130 if isinstance(interrupt, KeyboardInterrupt) else 143)
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)


def wait_for_end(order_no: str) -> OrderView:
    """Follow an order through the API until it ends; a held order ends the command
    (exit HELD_EXIT) saying what decision it waits for and how to give it."""
    with following(order_no), console.status(f"order {order_no}: waiting for it to be recorded") as shown:
        while True:
            order = recorded(f"/orders/{quoted(order_no)}", OrderView)
            if order is not None and order.state in TERMINAL_STATES:
                return order
            if order is not None and order.state == OrderState.held:
                fail(held_text(order.order_no, order.sub_state), code=HELD_EXIT)
            if order is not None:
                shown.update(f"order {order_no}: {order.state}" + (f" — {order.sub_state}" if order.sub_state else ""))
            time.sleep(0.5)


def held_text(order_no: str, sub_state: str) -> str:
    """What a held order waits for, and the command that decides it."""
    fallouts = [f for f in read("/fallouts", list[FalloutView]) if f.order_no == order_no]
    if fallouts:
        fallout = fallouts[0]
        return (f"order {order_no} held: fallout {fallout.fallout_id} — {fallout.step} in {fallout.province}: "
                f"{fallout.text}; an operator decides: `vpdn --as OPERATOR fallout resolve {fallout.fallout_id} --action "
                f"{'|'.join(fallout.allowed)}`")
    return (f"order {order_no} held: {sub_state}; an operator decides: `vpdn --as OPERATOR order resolve {order_no} "
            "--action retry|done_by_hand`")


def order_fields(service_id: str, order_no: str | None, pre_approved_by: str | None) -> dict:
    return submitted({"service_id": service_id, "order_no": order_no, "pre_approved_by": pre_approved_by})


def follow_member_order(accepted: Accepted, pre_approved_by: str | None, wait: bool, as_json: bool) -> None:
    """Say where a member order stands; with `wait`, follow it to its end."""
    if not as_json:
        print_queue_position(accepted.queue, pre_approved_by)
    result = follow_members(accepted.order_no, accepted.member_count) if wait else None
    if as_json:
        print_json({"order_no": accepted.order_no, "workflow_id": accepted.workflow_id,
                    **({"result": result.model_dump(mode="json")} if result else {})})
    elif result:
        counts = result.counts
        console.print(f"order {accepted.order_no} {result.state}: {counts.done} done, {counts.invalid} refused "
                      f"by verification, {counts.failed} failed (vpdn order members {accepted.order_no})")
    else:
        console.print(f"follow it: vpdn order status {accepted.order_no}")
    if result:
        exit_unless_done(result.state)


def print_queue_position(answer: SubmissionAnswer, pre_approved_by: str | None) -> None:
    if answer.waiting_behind:
        console.print(f"queued: waiting behind order {answer.waiting_behind} on the same service")
    if not pre_approved_by:
        console.print(f"it will await its business audit by an hq_auditor: vpdn order approve {answer.order_no}")


def follow_members(order_no: str, member_count: int) -> MemberOrderResult:
    """Show the members' progress (asked of the API) until the order ends; its result."""
    with following(order_no), Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                       TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task(f"order {order_no}", total=member_count)
        while True:
            view = recorded(f"/orders/{quoted(order_no)}/status", OrderStatusView)
            status = view.status if view else None
            where = (f"{status.state}" + (f" — {status.sub_state}" if status.sub_state else "")) if status else "queued"
            progress.update(task, completed=view.members.settled if view and view.members else 0,
                            description=f"order {order_no}: {where}")
            if status and status.state in TERMINAL_STATES:
                return MemberOrderResult(order_no=order_no, state=status.state, counts=view.members)
            if status and status.state == OrderState.held:
                progress.stop()
                fail(held_text(order_no, status.sub_state), code=HELD_EXIT)
            time.sleep(0.5)

