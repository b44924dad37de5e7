"""`vpdn member`: join, exit, plan change (member files streamed to the API), CRMs'
notifications of members' own number changes."""

import json
import os
import stat
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.table import Table

from models.member_changes import MemberNotification, NotificationView
from models.words import counted
from models.views import Accepted
from cli.follow import follow_member_order, order_fields
from cli.output import (
    JsonOption, OrderNoOption, PreApprovedOption, WaitOption, console, deliver, fail, print_json, read,
    read_json_file, submit,
)


member_app = typer.Typer(help="Members: join and exit a VPDN, change their plan.", no_args_is_help=True, rich_markup_mode=None)


def open_member_file(file: Path) -> BinaryIO:
    """The member file, opened to be read as a stream."""
    try:
        return file.open("rb")
    except OSError as error:
        fail(f"cannot read member file {file}: {error.strerror or error}", code=2)


class PipeStream:
    """A member file that is a pipe (`--file <(…)`), read as it comes: the upload cannot ask
    its length (a pipe's size reads as 0), so it is sent in chunks of unknown total."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)


def submit_members(kind: str, file: Path, fields: dict) -> Accepted:
    """Upload a member order's file to the API as it is read (multipart, streamed: never
    held in memory) with the order's `fields`; the order taken."""
    with open_member_file(file) as stream, console.status("checking and recording the members…"):
        upload = stream if stat.S_ISREG(os.fstat(stream.fileno()).st_mode) else PipeStream(stream)
        return submit(kind, data=fields, files={"file": (file.name, upload, "text/csv")})


def member_order(service_id: str, file: Path, kind: str, order_no: str | None,
                 pre_approved_by: str | None, wait: bool, as_json: bool) -> None:
    """Submit a member join or exit from a member file; follow it with `wait`."""
    accepted = submit_members(f"member-{kind}", file, order_fields(service_id, order_no, pre_approved_by))
    if not as_json:
        console.print(f"order {accepted.order_no} accepted: {counted(accepted.member_count, 'member')} to {kind} "
                      f"{accepted.service_id} (member file read as {accepted.member_file_encoding.upper()})")
    follow_member_order(accepted, pre_approved_by, wait, as_json)


FileArgument = Annotated[Path, typer.Option("--file", help="CSV: msisdn[,name] per line.")]


@member_app.command("join")
def member_join(
    service_id: str, file: FileArgument, order_no: OrderNoOption = None,
    pre_approved_by: PreApprovedOption = None, wait: WaitOption = False, as_json: JsonOption = False,
) -> None:
    """Members join a VPDN (成员加入): verified by their home CRMs, opened per province."""
    member_order(service_id, file, "join", order_no, pre_approved_by, wait, as_json)


@member_app.command("exit")
def member_exit(
    service_id: str, file: FileArgument, order_no: OrderNoOption = None,
    pre_approved_by: PreApprovedOption = None, wait: WaitOption = False, as_json: JsonOption = False,
) -> None:
    """Members leave a VPDN (成员退出): AAA, HLR and billing entries removed."""
    member_order(service_id, file, "exit", order_no, pre_approved_by, wait, as_json)


@member_app.command("plan")
def member_plan(
    service_id: str, file: FileArgument,
    plan: Annotated[Path, typer.Option(help='JSON: {"name": "…", "tariff_version": N, "parameters": '
                                            '{"member_fee": "…"}} (member_* parameters of the current tariff).')],
    plan_from: Annotated[str, typer.Option("--from", help="Billing changes from next_day or next_month.")] = "next_day",
    order_no: OrderNoOption = None, pre_approved_by: PreApprovedOption = None,
    wait: WaitOption = False, as_json: JsonOption = False,
) -> None:
    """Move members to a member plan (成员套餐变更): per home province, the CRM's order and member billing."""
    fields = {**order_fields(service_id, order_no, pre_approved_by), "plan_from": plan_from,
              "plan": json.dumps(read_json_file(plan, "plan"))}
    accepted = submit_members("member-plan-change", file, fields)
    if not as_json:
        console.print(f"order {accepted.order_no} accepted: {counted(accepted.member_count, 'member')} of "
                      f"{accepted.service_id} change their plan (member file read as "
                      f"{accepted.member_file_encoding.upper()})")
    follow_member_order(accepted, pre_approved_by, wait, as_json)


@member_app.command("notify")
def member_notify(
    kind: Annotated[str, typer.Argument(help="cancelled (销号) or changed (换号)")],
    msisdn: str,
    province: Annotated[str, typer.Option(help="The CRM's province that sends the notification.")],
    notification_id: Annotated[str, typer.Option("--id", help="The CRM's notification id (sent twice = once).")],
    new: Annotated[str | None, typer.Option(help="The new number, for a change.")] = None,
) -> None:
    """Deliver a provincial CRM's notification that a member cancelled or changed its number,
    as the CRM would through the hub's door of the API (`vpdn --as hub member notify …`)."""
    fields = {"notification_id": notification_id, "province": province,
              "kind": {"cancelled": "number_cancelled", "changed": "number_changed"}.get(kind, kind),
              "msisdn": msisdn, "new_msisdn": new}
    service_id = deliver("/hub/member-changes", fields)["service_id"]
    caused = [order_no for order_no, _kind in MemberNotification.model_validate(fields).order_numbers()]
    orders = (f"its order {caused[0]} (the number exits) waits its turn" if len(caused) == 1 else
              f"its orders {caused[0]} (the old number exits) and {caused[1]} (the new number joins) wait their turn")
    console.print(f"notification {notification_id} received for service {service_id}: once it is checked, {orders} "
                  f"on the service; see `vpdn member notifications {service_id}`", highlight=False)


@member_app.command("notifications")
def member_notifications(
    service_id: Annotated[str | None, typer.Argument(help="Only this service's.")] = None,
    as_json: JsonOption = False,
) -> None:
    """CRMs' notifications of members' own number changes, latest first: accepted with the
    orders they caused, or refused with the reason."""
    notifications = read("/member-notifications", list[NotificationView],
                         service=service_id.strip() if service_id else None)
    if as_json:
        print_json([n.model_dump(mode="json") for n in notifications])
        return
    table = Table("notification", "received (UTC)", "from", "kind", "number", "new number", "service", "state",
                  "orders / reason")
    for n in notifications:
        table.add_row(n.notification_id, f"{n.received_at:%Y-%m-%d %H:%M:%S}", n.province, n.kind, n.msisdn,
                      n.new_msisdn or "", n.service_id or "", n.state, " ".join(n.orders) or n.reason)
    console.print(table if notifications else "no notification")

