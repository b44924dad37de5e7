"""`vpdn`: the staff's command line. Start orders, inspect them, run the embedded default."""

import asyncio
import contextlib
import csv
import importlib.metadata
import getpass
import json
import re
import os
import sys
import time
import traceback
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, BinaryIO, NoReturn

import httpx
import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from typer.core import TyperGroup
from typer.exceptions import TyperException
from pydantic import BaseModel, ValidationError
from rich.columns import Columns
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.text import Text
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.service import RPCError

from adapters.passwords import SecretsRefused
from codec import CannotOpen, KeysRefused
from models.customer import AcquisitionResult, CustomerHierarchy
from models.fallout import FalloutPolicy
from models.hub import FaultKind, FaultSpec, SeedData
from models.orders import (
    OrderState,
    OrderStatus,
    OrderType,
    OrderView,
    TERMINAL_STATES,
)
from models.member_changes import MemberNotification
from models.members import (
    ItemState,
    MemberCounts,
    MemberOrderResult,
)
from models.plans import STANDARD
from models.words import counted, duration_text
from models.provinces import HQ, PROVINCE_CODES
from models.service import (
    RentalRule,
    ServiceOpeningResult,
)
from models.service_orders import SubmissionAnswer
import api_client
from acceptance_sheet import FORMATS, write_table
from api_client import ApiError
from cli_admin import admin_app
from cli_events import events_app
from cli_reconcile import nightly_app
from intake import Accepted, Intake, Refusal, RefusalKind, new_order_no, validation_text
from models.acceptance import AcceptanceTable
from reads import Reads, province_filter
from refusal import Unavailable
from settings import Settings, SettingsInvalid, connect_temporal
from setup_step import SetupMissing, run_setup
from simulator.db import SimulatorDatabaseOutdated
from store import OrderStore, SchemaNotCurrent, engine_for
from telemetry.logs import configure_logging
from telemetry.traces import start_tracing, stop_tracing
from workflows.common import failure_text

class Commands(TyperGroup):
    """Every command's failure reaches the operator as one line with a non-zero exit: a
    refusal (2), an unreachable or refusing service (1), a bug (70, its traceback kept in
    the data folder's cli-errors.log)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException, SystemExit):
            raise
        except Exception as error:  # noqa: BLE001 - the operator gets one line, never a traceback
            text, code = explain(error)
            errors.print(f"[red]error:[/red] {escape(text)}", highlight=False, soft_wrap=True)
            raise typer.Exit(code) from None


def explain(error: Exception) -> tuple[str, int]:
    """What went wrong, in one line, and the exit code."""
    if isinstance(error, Refusal):
        return f"{error.text}; nothing started", 2
    if isinstance(error, ApiError):
        return error.text, error.exit_code
    if isinstance(error, (KeysRefused, CannotOpen)):
        return str(error), 2
    if isinstance(error, WorkflowUpdateFailedError):
        return failure_text(error.cause), 2
    if isinstance(error, WorkflowFailureError):
        return f"the order failed: {failure_text(error.cause)}", 1
    if isinstance(error, RPCError):
        return f"Temporal refused: {error.message}", 1
    if isinstance(error, httpx.HTTPError):
        return f"the provinces' hub at {Settings().hub_url} did not answer properly: {error}", 1
    if isinstance(error, (SettingsInvalid, SchemaNotCurrent, SimulatorDatabaseOutdated, SetupMissing)):
        return str(error), 2
    if isinstance(error, OperationalError):
        return f"the order store is unreachable ({redacted_url(Settings().database_url)}): {error.orig}", 1
    log = Settings().data_dir / "cli-errors.log"
    with contextlib.suppress(OSError):
        log.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a") as file:
            file.write(f"--- {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n{traceback.format_exc()}")
    return f"unexpected {type(error).__name__}: {error} (a bug: the details are in {log})", 70


def redacted_url(url: str) -> str:
    """A database URL without its password."""
    return make_url(url).render_as_string(hide_password=True)


app = typer.Typer(help="VPDN order orchestrator (GPMS): cross-province VPDN orders on Temporal.",
                  no_args_is_help=True, cls=Commands, pretty_exceptions_enable=False, rich_markup_mode=None)


def show_version(asked: bool) -> None:
    if asked:
        print(f"vpdn {importlib.metadata.version('vpdn')}")
        raise typer.Exit()


@app.callback()
def options(version: Annotated[bool, typer.Option("--version", callback=show_version, is_eager=True,
                                                  help="Print the version and exit.")] = False,
            as_: Annotated[str | None, typer.Option("--as", metavar="NAME", help=(
                "Act as NAME: its token from the data folder's credentials.json (`vpdn up` writes it); "
                "else VPDN_API_TOKEN."))] = None) -> None:
    """VPDN order orchestrator (GPMS): cross-province VPDN orders on Temporal."""
    settings = Settings()  # every command refuses invalid settings at start (SettingsInvalid)
    start_tracing(settings.otlp_endpoint, "vpdn")
    api_client.act_as(as_)


customer_app = typer.Typer(help="Group customers: acquire from the provinces, show.", no_args_is_help=True, rich_markup_mode=None)
order_app = typer.Typer(help="Orders: status, audit trail, list; people's decisions.", no_args_is_help=True, rich_markup_mode=None)
fallout_app = typer.Typer(help="Fallout: held orders' worklist, decisions, policy.", no_args_is_help=True, rich_markup_mode=None)
tariff_app = typer.Typer(help="Group tariff packages: change.", no_args_is_help=True, rich_markup_mode=None)
member_app = typer.Typer(help="Members: join and exit a VPDN, change their plan.", no_args_is_help=True, rich_markup_mode=None)
service_app = typer.Typer(help="VPDN services: open, change, close, show, members.", no_args_is_help=True, rich_markup_mode=None)
db_app = typer.Typer(help="The order store's schema: upgrade, current version.", no_args_is_help=True, rich_markup_mode=None)
sim_app = typer.Typer(help="The provinces' simulator: seed data, inject faults, inspect.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(customer_app, name="customer")
app.add_typer(order_app, name="order")
app.add_typer(service_app, name="service")
app.add_typer(member_app, name="member")
app.add_typer(tariff_app, name="tariff")
app.add_typer(fallout_app, name="fallout")
app.add_typer(sim_app, name="sim")
app.add_typer(admin_app, name="admin")
app.add_typer(events_app, name="events")
app.add_typer(nightly_app, name="nightly")
app.add_typer(db_app, name="db")

console = Console()
errors = Console(stderr=True)

WaitOption = Annotated[bool, typer.Option(help="Show progress until the order ends (exit 3 when it is held "
                                                "for a decision, 1 when it fails).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
ByOption = Annotated[str, typer.Option("--by", help="Who asks (recorded in the audit trail).")]
OrderNoOption = Annotated[str | None, typer.Option(help="Business order number (default: generated).")]
PreApprovedOption = Annotated[str | None, typer.Option(help="The business audit was done outside GPMS by.")]


def fail(message: str, code: int = 1) -> NoReturn:
    errors.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def print_rows(headers: list[str], rows: list[list[str]], *, ids: tuple[str, ...], empty: str) -> None:
    """A table on a terminal, its id columns never cut (others wrap); tab-separated plain
    rows in a pipe, so ids can be copied and scripts can cut columns."""
    if not rows:
        console.print(empty)
        return
    if not console.is_terminal:
        for row in [headers, *rows]:
            print("\t".join(row))
        return
    table = Table()
    for index, header in enumerate(headers):
        if header in ids:
            table.add_column(header, no_wrap=True, min_width=max(len(row[index]) for row in [headers, *rows]))
        else:
            table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)


@contextlib.contextmanager
def answered() -> Iterator[None]:
    """A question GPMS refuses ends the command with its text: 1 when what was asked for
    does not exist, 2 for a bad question."""
    try:
        yield
    except Refusal as refusal:
        fail(refusal.text, code=1 if refusal.kind == RefusalKind.not_found else 2)


def reads() -> Reads:
    return intake().reads


def print_json(value: BaseModel | dict | list) -> None:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    print(json.dumps(value, indent=2, ensure_ascii=False))


def run(coroutine: Any) -> Any:
    """Run an async command, turning unreachable services into a clear error."""
    try:
        return asyncio.run(coroutine)
    except RuntimeError as error:
        if "connect" in str(error).lower():
            fail(f"cannot reach Temporal at {Settings().temporal_address}: is `vpdn up` running? ({error})")
        raise
    except RPCError as error:
        fail(f"Temporal refused: {error.message}")
    except Unavailable as error:
        fail(error.text)


def intake() -> Intake:
    settings = Settings()
    return Intake(settings, OrderStore(settings.database_url), lambda: connect_temporal(settings))


def submit(coroutine: Any) -> Any:
    """Run an intake call that submits an order; a refusal ends the command: nothing started."""
    try:
        return run(coroutine)
    except Refusal as refusal:
        fail(f"{refusal.text}; nothing started", code=2)


async def outcome(accepted: Accepted, result_type: type) -> Any:
    """Wait for a started order's result; a failed order ends the command with its cause."""
    client = await connect_temporal(Settings())
    try:
        return await client.get_workflow_handle(accepted.workflow_id, result_type=result_type).result()
    except WorkflowFailureError as error:
        fail(f"order {accepted.order_no} failed: {failure_text(error.cause)}")


# The embedded default and its parts


@app.command()
def up() -> None:
    """Start everything in the foreground: Temporal dev server, provinces' simulator, worker.

    Ctrl-C stops them all. Uses an already running Temporal server at TEMPORAL_ADDRESS.
    """
    from embedded import PortTaken, run_embedded

    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    try:
        asyncio.run(run_embedded(settings, console))
    except (SecretsRefused, PortTaken) as refusal:
        fail(str(refusal), code=2)
    except KeyboardInterrupt:
        fail("interrupted while starting: vpdn stopped", code=130)


@app.command()
def demo() -> None:
    """A whole service life against the simulated provinces, narrated with UI links (needs
    `vpdn up` running): acquire, open, join 200, tariff change, a fallout resolved, exit, close."""
    from demo import run_demo

    run(run_demo(Settings(), console))


@app.command()
def reconcile(as_json: JsonOption = False) -> None:
    """Compare what GPMS recorded with what every province holds; list every difference
    (exit 1 when there is one)."""
    from reconcile import Reconciler

    async def differences() -> list:
        settings = Settings()
        temporal = await connect_temporal(settings)  # the orders it knows, to find any never recorded
        async with httpx.AsyncClient(base_url=settings.hub_url, timeout=120) as hub:
            return await Reconciler(OrderStore(settings.database_url), hub, temporal, settings.task_queue).differences()

    try:
        found = run(differences())
    except httpx.HTTPError as error:
        fail(f"cannot read the provinces' holdings at {Settings().hub_url}: {error}")
    if as_json:
        print_json([vars(difference) for difference in found])
    elif found:
        for difference in found:
            console.print(str(difference), highlight=False)
        console.print(f"[red]{counted(len(found), 'difference')}[/red]")
    else:
        console.print("[green]GPMS and the provinces agree[/green]")
    if found:
        raise typer.Exit(1)


@app.command()
def worker() -> None:
    """Run only the worker (what production runs). SIGTERM or Ctrl-C stops it cleanly: running
    activities get VPDN_SHUTDOWN_GRACE seconds to finish."""
    from worker import run_worker

    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    try:
        asyncio.run(run_worker(settings))
    except SecretsRefused as refusal:
        fail(str(refusal), code=2)
    except KeyboardInterrupt:
        pass


@app.command("api")
def api_command(host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1") -> None:
    """Run only the API on VPDN_API_PORT (what production runs beside the workers)."""
    from api.server import serve

    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    console.print(f"GPMS API on http://{host}:{settings.api_port} (its documentation: /docs)")
    try:
        asyncio.run(serve(settings, host=host))
    except KeyboardInterrupt:
        pass


@app.command()
def simulator() -> None:
    """Run only the provinces' simulator (the hub and the 31 provinces' systems)."""
    from simulator.server import serve

    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    console.print(f"provinces' simulator on {settings.hub_url}")
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        pass


@app.command()
def setup() -> None:
    """An administrator's step, once per release: upgrade the order store and register the
    search attributes in the namespace (workers only check them)."""

    async def steps() -> list[str]:
        settings = Settings()
        return await run_setup(settings, await connect_temporal(settings))

    for line in run(steps()):
        console.print(line, highlight=False, soft_wrap=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the order store (VPDN_DATABASE_URL) to this release's schema; a database of an
    older release keeps its data."""
    from store import migrate

    url = Settings().database_url
    console.print(f"order store {redacted_url(url)}: at schema version {migrate.upgrade(engine_for(url))} (current)")


@db_app.command("current")
def db_current() -> None:
    """Print the order store's schema version (exit 1 when it needs `vpdn db upgrade`)."""
    from store import migrate

    url = Settings().database_url
    at, needed = migrate.current(engine_for(url)), migrate.head()
    if at != needed:
        fail(f"order store {redacted_url(url)}: at schema version {at or 'none'}, this vpdn needs {needed}: "
             f"{migrate.UPGRADE_HINT}")
    console.print(f"order store {redacted_url(url)}: at schema version {at} (current)")


# Customers


@customer_app.command("acquire")
def customer_acquire(
    customer_code: Annotated[str, typer.Argument(help="The 10-digit customer code (客户编码).")],
    by: ByOption = getpass.getuser(),
    order_no: OrderNoOption = None,
    as_json: JsonOption = False,
) -> None:
    """Acquire a group customer: query every province's CRM, identify it, store its hierarchy."""
    accepted = submit(intake().acquire_customer(
        {"order_no": order_no or new_order_no("ACQ"), "customer_code": customer_code, "requested_by": by}))
    if not as_json:
        console.print(f"order {accepted.order_no}: acquiring customer {customer_code.strip()} "
                      f"from {len(PROVINCE_CODES)} provinces (workflow {accepted.workflow_id})")
    result = run(outcome(accepted, AcquisitionResult))
    if as_json:
        print_json(result)
        return
    console.print(f"order {result.order_no} completed")
    print_hierarchy(result.hierarchy)

@customer_app.command("show")
def customer_show(customer_code: str, as_json: JsonOption = False) -> None:
    """Show a stored customer and its hierarchy (group and provincial branches)."""
    with answered():
        hierarchy = reads().customer(customer_code)
    if as_json:
        print_json(hierarchy)
    else:
        print_hierarchy(hierarchy)


def print_hierarchy(hierarchy: CustomerHierarchy) -> None:
    console.print(f"[bold]{hierarchy.name}[/bold]  customer {hierarchy.customer_code}  "
                  f"credit code {hierarchy.credit_code}")
    console.print(f"└─ group: {hierarchy.group_province}")
    for index, branch in enumerate(hierarchy.branches):
        console.print(f"   {'└─' if index == len(hierarchy.branches) - 1 else '├─'} branch {branch.province}: "
                      f"{branch.name}")
    for conflict in hierarchy.conflicts:
        console.print(f"   [yellow]! {conflict.province} files another enterprise under this code: "
                      f"{conflict.name} ({conflict.credit_code})[/yellow]")


@customer_app.command("notify")
def customer_notify(
    customer_code: Annotated[str, typer.Argument(help="The 10-digit customer code (客户编码).")],
    province: Annotated[str, typer.Option(help="The CRM's province whose record changed.")],
    version: Annotated[int, typer.Option(help="The province's version of its record (older = ignored).")],
    name: Annotated[str, typer.Option(help="The name in the province's record.")],
    credit_code: Annotated[str | None, typer.Option(help="The credit code (default: GPMS keeps its own).")] = None,
    level: Annotated[str, typer.Option(help="group or branch.")] = "branch",
    deleted: Annotated[bool, typer.Option("--deleted", help="The province no longer holds the customer.")] = False,
) -> None:
    """Deliver a provincial CRM's changed customer record, as the CRM would through the hub
    (signal-with-start of the customer's sync workflow)."""
    workflow_id, ignored = submit(intake().customer_change({
        "province": province, "customer_code": customer_code, "version": version, "name": name,
        "credit_code": credit_code, "level": level, "deleted": deleted}))
    record = f"{province.strip().upper()} record version {version} of customer {customer_code.strip()}"
    console.print(f"{record} not delivered: {ignored}" if ignored else f"{record} delivered (workflow {workflow_id})")

# Orders


@order_app.command("show")
def order_show(order_no: str, as_json: JsonOption = False) -> None:
    """Show an order's state and its audit trail (who did what, when)."""
    with answered():
        order = reads().order(order_no)
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
    order = find_order(order_no)
    status = run(reads().status(order))
    if as_json:
        print_json({"status": status.model_dump(mode="json"),
                    "events": [e.model_dump(mode="json") for e in order.events[-10:]]})
        return
    if not watch:
        console.print(status_view(order, status, member_counts(order)))
        return
    with Live(status_view(order, status, member_counts(order)), console=console, refresh_per_second=2) as live:
        while status.state not in TERMINAL_STATES:
            time.sleep(1)
            order = find_order(order_no)
            status = run(reads().status(order))
            live.update(status_view(order, status, member_counts(order)))


def member_counts(order: OrderView) -> MemberCounts | None:
    return reads().member_counts(order)


def status_view(order: OrderView, status: OrderStatus, members: MemberCounts | None = None) -> Group:
    """An order as an operator follows it: state, progress (over its members for a member
    order), jeopardy in red, the steps not finished by kind, those finished folded into a
    count per kind, the latest events."""
    colour = {"completed": "green", "failed": "red", "held": "red", "partial": "yellow", "pending": "cyan"}
    lines: list[Any] = [Text.from_markup(
        f"[bold]{order.order_no}[/bold] {order.order_type}  state [bold {colour.get(status.state, 'white')}]"
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
                   + (f" — {event.detail}" if event.detail else "")) for event in order.events[-5:]]
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
    with answered():
        found = reads().orders({"state": state, "order_type": order_type, "service_id": service,
                                "customer_code": customer, "province": province, "older_than": older_than}, limit)
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
    with answered():
        return reads().order(order_no)

def quoted(identifier: str) -> str:
    return urllib.parse.quote(identifier.strip(), safe="")


def decide(path: str, body: dict) -> None:
    """Send a person's decision through the API; say at once whether it was taken."""
    try:
        console.print(api_client.call("POST", path, body=body)["answer"], highlight=False)
    except ApiError as refusal:
        if refusal.status == 409:
            fail(f"refused: {escape(refusal.text)}", code=2)
        raise

# VPDN services


@service_app.command("open")
def service_open(
    file: Annotated[Path | None, typer.Option(help="The order as JSON (fields as below).")] = None,
    customer: Annotated[str | None, typer.Option(help="Customer code (acquired already).")] = None,
    apn: Annotated[str | None, typer.Option(help="The VPDN's APN / domain name.")] = None,
    access: Annotated[str | None, typer.Option(help="Access province (接入省).")] = None,
    provinces: Annotated[str | None, typer.Option(help="Related provinces, e.g. SH,GD,BJ.")] = None,
    paying: Annotated[str | None, typer.Option(help="Paying province (default: the access province).")] = None,
    rental_rule: Annotated[RentalRule | None, typer.Option(help="When the rental starts.")] = None,
    line_bandwidth: Annotated[int | None, typer.Option(help="Dedicated line bandwidth, Mbit/s.")] = None,
    line_address: Annotated[str | None, typer.Option(help="Dedicated line address.")] = None,
    order_no: OrderNoOption = None,
    pre_approved_by: PreApprovedOption = None,
    by: ByOption = getpass.getuser(),
    wait: Annotated[bool, typer.Option(help="Wait until the order ends.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Open a cross-province VPDN (业务开通). Everything is checked before anything starts."""
    fields = read_json_file(file, "order") if file else {}
    flags = {"customer_code": customer, "apn": apn, "access_province": access, "paying_province": paying,
             "rental_rule": rental_rule, "order_no": order_no, "pre_approved_by": pre_approved_by,
             "provinces": provinces.split(",") if provinces else None}
    fields.update({name: value for name, value in flags.items() if value is not None})
    if line_bandwidth or line_address:
        fields["line"] = {**fields.get("line", {}), "bandwidth_mbps": line_bandwidth, "address": line_address}
    fields.setdefault("order_no", new_order_no("OPN"))
    fields["requested_by"] = by
    accepted = submit(intake().open_service(fields))
    result = None
    if wait:
        wait_for_end(accepted.order_no)
        result = run(outcome(accepted, ServiceOpeningResult))
    if as_json:
        print_json({"order_no": accepted.order_no, "service_id": accepted.service_id,
                    "workflow_id": accepted.workflow_id,
                    **({"result": result.model_dump(mode="json")} if result else {})})
        return
    console.print(f"order {accepted.order_no} accepted: service {accepted.service_id}")
    if result:
        console.print(f"order {accepted.order_no} {result.state}; rental from {result.rental_start}")
    elif not fields.get("pre_approved_by"):
        console.print(f"awaiting business audit by an hq_auditor: vpdn order approve {accepted.order_no}")
    console.print(f"follow it: vpdn order status {accepted.order_no}")


def read_text_file(file: Path, what: str) -> str:
    """A UTF-8 text file's content, or a one-line refusal (with the line that is not UTF-8)."""
    try:
        content = file.read_bytes()
    except OSError as error:
        fail(f"cannot read {what} file {file}: {error.strerror or error}", code=2)
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as error:
        line = content.count(b"\n", 0, error.start) + 1
        fail(f"cannot read {what} file {file}: line {line} is not UTF-8 text", code=2)


def read_json_file(file: Path, what: str) -> dict:
    """A JSON object from a file, or a clear refusal."""
    try:
        content = json.loads(read_text_file(file, what))
    except ValueError as error:
        fail(f"cannot read {what} file {file}: {error}", code=2)
    if not isinstance(content, dict):
        fail(f"the {what} file {file} must hold a JSON object {{…}}, not {type(content).__name__}", code=2)
    return content


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
    if ended and ended.state not in (OrderState.completed, OrderState.partial):
        raise typer.Exit(1)


# `--wait` ends with this code when the order is held for a person's decision.
HELD_EXIT = 3


def wait_for_end(order_no: str) -> OrderView:
    """Follow an order in the order store until it ends; a held order ends the command
    (exit HELD_EXIT) saying what decision it waits for and how to give it."""
    store = OrderStore(Settings().database_url)
    with console.status(f"order {order_no}: waiting for it to be recorded") as shown:
        while True:
            order = store.orders.get_order(order_no)
            if order is not None and order.state in TERMINAL_STATES:
                return order
            if order is not None and order.state == OrderState.held:
                fail(held_text(store, order), code=HELD_EXIT)
            if order is not None:
                shown.update(f"order {order_no}: {order.state}" + (f" — {order.sub_state}" if order.sub_state else ""))
            time.sleep(0.5)


def held_text(store: OrderStore, order: OrderView) -> str:
    """What a held order waits for, and the command that decides it."""
    fallouts = [f for f in store.fallouts.list_fallouts(state="open") if f.order_no == order.order_no]
    if fallouts:
        fallout = fallouts[0]
        return (f"order {order.order_no} held: fallout {fallout.fallout_id} — {fallout.step} in {fallout.province}: "
                f"{fallout.text}; decide with `vpdn fallout resolve {fallout.fallout_id} --action "
                f"{'|'.join(fallout.allowed)}`")
    return (f"order {order.order_no} held: {order.sub_state}; decide with `vpdn order resolve {order.order_no} "
            "--action retry|done_by_hand`")

def order_fields(prefix: str, order_no: str | None, by: str, pre_approved_by: str | None) -> dict:
    return {"order_no": order_no or new_order_no(prefix), "requested_by": by, "pre_approved_by": pre_approved_by}

@tariff_app.command("change")
def tariff_change(
    service_id: str,
    file: Annotated[Path, typer.Option(help='JSON: {"parameters": {...}, "discounts": {...}, "new_discounts": {...}}')],
    order_no: OrderNoOption = None, by: ByOption = getpass.getuser(), pre_approved_by: PreApprovedOption = None,
    wait: WaitOption = False, as_json: JsonOption = False,
) -> None:
    """Change the group tariff package (集团资费套餐标准变更): every province gets the new
    version's complete set. Unknown names or no actual change are refused."""
    change = read_json_file(file, "tariff change")
    accepted = submit(intake().change_tariff(service_id, order_fields("TRF", order_no, by, pre_approved_by), change))
    print_queued(accepted, pre_approved_by, as_json, wait)

@service_app.command("change")
def service_change(
    service_id: str,
    file: Annotated[Path, typer.Option(help='JSON: {"line": {...}, "provinces": [...], "paying_province": "..", '
                                            '"confirm_rental": true}')],
    order_no: OrderNoOption = None, by: ByOption = getpass.getuser(), pre_approved_by: PreApprovedOption = None,
    wait: WaitOption = False, as_json: JsonOption = False,
) -> None:
    """Change a service (业务变更): its dedicated line, related provinces or paying province."""
    change = read_json_file(file, "service change")
    accepted = submit(intake().change_service(service_id, order_fields("CHG", order_no, by, pre_approved_by), change))
    print_queued(accepted, pre_approved_by, as_json, wait)

@service_app.command("close")
def service_close(
    service_id: str,
    order_no: OrderNoOption = None, by: ByOption = getpass.getuser(), pre_approved_by: PreApprovedOption = None,
    wait: WaitOption = False, as_json: JsonOption = False,
) -> None:
    """Close a VPDN (业务关闭): only once every member has left it."""
    accepted = submit(intake().close_service(service_id, order_fields("CLS", order_no, by, pre_approved_by)))
    print_queued(accepted, pre_approved_by, as_json, wait)

@service_app.command("members")
def service_members(service_id: str, as_json: JsonOption = False) -> None:
    """The members now in a VPDN, with their home provinces and member plans."""
    with answered():
        members = reads().service_members(service_id)
    if as_json:
        print_json([member.model_dump(mode="json") for member in members])
        return
    console.print(f"{counted(len(members), 'member')} in service {service_id}")
    for member in members:
        console.print(f"  {member.msisdn}  {member.home_province}  {member.plan or STANDARD}", highlight=False)


LangOption = Annotated[str, typer.Option("--lang", help="Column headers in zh (Chinese) or en (English).")]
OutOption = Annotated[Path, typer.Option("--out", help="The file to write: table.xlsx or table.csv.")]


def write_acceptance_table(table: AcceptanceTable, out: Path, lang: str, what: str) -> None:
    if out.suffix.lower() not in FORMATS:
        fail(f"--out {out}: the table is written as .xlsx or .csv", code=2)
    if lang not in ("zh", "en"):
        fail(f"--lang {lang}: zh or en", code=2)
    try:
        write_table(table, out, lang)
    except OSError as error:
        fail(f"cannot write {out}: {error}")
    console.print(f"acceptance basic information table of {what} written to {out} "
                  f"({len(table.members)} members, {len(table.provinces)} provinces)", highlight=False)


@service_app.command("report")
def service_report(
    service_id: str, out: OutOption,
    order_no: Annotated[str | None, typer.Option("--order", help="The table kept with this order.")] = None,
    lang: LangOption = "zh",
) -> None:
    """The VPDN acceptance basic information table (VPDN业务受理基础信息表) of a service as it
    stands, or the one kept with one of its orders, as XLSX or CSV."""
    try:
        table = intake().acceptance_table(service_id, order_no)
    except Refusal as refusal:
        fail(refusal.text, code=1 if refusal.kind == RefusalKind.not_found else 2)
    write_acceptance_table(table, out, lang, f"order {order_no}" if order_no else f"service {service_id}")


@service_app.command("show")
def service_show(service_id: str, as_json: JsonOption = False) -> None:
    """A VPDN service as GPMS records it: state, provinces, line, rental, contract, the
    tariff package in force, members per home province and the orders not yet ended."""
    with answered():
        service = reads().service_detail(service_id)
    homes, open_orders = service.members_by_home_province, service.open_orders
    if as_json:
        print_json(service)
        return
    console.print(f"[bold]{service.service_id}[/bold] {service.apn}  state [bold]{service.state}[/bold]  "
                  f"customer {service.customer_code}")
    console.print(f"access {service.access_province}, paid by {service.paying_province}"
                  + (" (off-site payment)" if service.off_site_payment else "")
                  + f", provinces {' '.join(service.provinces)}")
    console.print(f"line: {service.line}" if service.line else "no dedicated line", highlight=False)
    if service.rental_start:
        console.print(f"rental from {service.rental_start} ({service.rental_rule.replace('_', ' ')})")
    if service.contract:
        console.print(f"{service.contract.contract} — version {service.contract.version}, "
                      f"recorded by order {service.contract.order_no}", highlight=False, soft_wrap=True)
    else:
        console.print("no contract recorded")
    tariff = Table(title=f"tariff package {service.tariff.name}, version {service.tariff_version}",
                   title_justify="left")
    tariff.add_column("kind")
    tariff.add_column("name")
    tariff.add_column("value", justify="right")
    for kind, values in (("parameter", service.tariff.parameters), ("discount", service.tariff.discounts)):
        for name, value in sorted(values.items()):
            tariff.add_row(kind, name, str(value))
    console.print(tariff)
    console.print(f"{counted(sum(homes.values()), 'member')}"
                  + (": " + ", ".join(f"{home} {count}" for home, count in homes.items()) if homes else ""))
    for order in open_orders:
        console.print(f"order {order.order_no} {order.order_type}: {order.state}"
                      + (f" — {order.sub_state}" if order.sub_state else ""), highlight=False)
    if not open_orders:
        console.print("no order in progress or queued")


# Members


def open_member_file(file: Path) -> BinaryIO:
    """The member file, opened to be read as a stream."""
    try:
        return file.open("rb")
    except OSError as error:
        fail(f"cannot read member file {file}: {error.strerror or error}", code=2)


def member_order(service_id: str, file: Path, kind: str, order_no: str | None, by: str,
                 pre_approved_by: str | None, wait: bool, as_json: bool) -> None:
    """Submit a member join or exit from a member file; follow it with `wait`."""
    fields = order_fields("JOIN" if kind == "join" else "EXIT", order_no, by, pre_approved_by)
    with open_member_file(file) as stream, \
            console.status(f"checking and recording the members of order {fields['order_no']}…"):
        accepted = submit(intake().member_order(service_id, kind, stream, fields))
    if not as_json:
        console.print(f"order {accepted.order_no} accepted: {counted(accepted.member_count, 'member')} to {kind} "
                      f"{accepted.service_id} (member file read as {accepted.member_file_encoding.upper()})")
    follow_member_order(accepted, pre_approved_by, wait, as_json)


def follow_member_order(accepted: Accepted, pre_approved_by: str | None, wait: bool, as_json: bool) -> None:
    """Say where a member order stands; with `wait`, follow it to its end."""
    if not as_json:
        print_queue_position(accepted.queue, pre_approved_by)
    store = OrderStore(Settings().database_url)
    result = follow_members(store, accepted.order_no, accepted.member_count) if wait else None
    if as_json:
        print_json({"order_no": accepted.order_no, "workflow_id": accepted.workflow_id,
                    **({"result": result.model_dump(mode="json")} if result else {})})
    elif result:
        counts = result.counts
        console.print(f"order {accepted.order_no} {result.state}: {counts.done} done, {counts.invalid} refused "
                      f"by verification, {counts.failed} failed (vpdn order members {accepted.order_no})")
    else:
        console.print(f"follow it: vpdn order status {accepted.order_no}")

def print_queue_position(answer: SubmissionAnswer, pre_approved_by: str | None) -> None:
    if answer.waiting_behind:
        console.print(f"queued: waiting behind order {answer.waiting_behind} on the same service")
    if not pre_approved_by:
        console.print(f"it will await its business audit by an hq_auditor: vpdn order approve {answer.order_no}")


def follow_members(store: OrderStore, order_no: str, member_count: int) -> MemberOrderResult:
    """Show the members' progress until the order ends; its result."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task(f"order {order_no}", total=member_count)
        while True:
            counts = store.members.item_counts(order_no)
            stored = store.orders.get_order(order_no)
            where = (f"{stored.state}" + (f" — {stored.sub_state}" if stored.sub_state else "")) if stored else "queued"
            progress.update(task, completed=counts.settled, description=f"order {order_no}: {where}")
            if stored and stored.state in TERMINAL_STATES:
                return MemberOrderResult(order_no=order_no, state=stored.state, counts=counts)
            if stored and stored.state == OrderState.held:
                progress.stop()
                fail(held_text(store, stored), code=HELD_EXIT)
            time.sleep(0.5)


FileArgument = Annotated[Path, typer.Option("--file", help="CSV: msisdn[,name] per line.")]


@member_app.command("join")
def member_join(
    service_id: str, file: FileArgument, order_no: OrderNoOption = None, by: ByOption = getpass.getuser(),
    pre_approved_by: PreApprovedOption = None, wait: WaitOption = False, as_json: JsonOption = False,
) -> None:
    """Members join a VPDN (成员加入): verified by their home CRMs, opened per province."""
    member_order(service_id, file, "join", order_no, by, pre_approved_by, wait, as_json)


@member_app.command("exit")
def member_exit(
    service_id: str, file: FileArgument, order_no: OrderNoOption = None, by: ByOption = getpass.getuser(),
    pre_approved_by: PreApprovedOption = None, wait: WaitOption = False, as_json: JsonOption = False,
) -> None:
    """Members leave a VPDN (成员退出): AAA, HLR and billing entries removed."""
    member_order(service_id, file, "exit", order_no, by, pre_approved_by, wait, as_json)


@member_app.command("plan")
def member_plan(
    service_id: str, file: FileArgument,
    plan: Annotated[Path, typer.Option(help='JSON: {"name": "…", "tariff_version": N, "parameters": '
                                            '{"member_fee": "…"}} (member_* parameters of the current tariff).')],
    plan_from: Annotated[str, typer.Option("--from", help="Billing changes from next_day or next_month.")] = "next_day",
    order_no: OrderNoOption = None, by: ByOption = getpass.getuser(), pre_approved_by: PreApprovedOption = None,
    wait: WaitOption = False, as_json: JsonOption = False,
) -> None:
    """Move members to a member plan (成员套餐变更): per home province, the CRM's order and member billing."""
    fields = {**order_fields("PLAN", order_no, by, pre_approved_by), "plan_from": plan_from}
    plan_fields = read_json_file(plan, "plan")
    with open_member_file(file) as stream, \
            console.status(f"checking and recording the members of order {fields['order_no']}…"):
        accepted = submit(intake().member_plan_change(service_id, stream, plan_fields, fields))
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
    as the CRM would (signal-with-start of the service's member-changes workflow)."""
    fields = {"notification_id": notification_id, "province": province,
              "kind": {"cancelled": "number_cancelled", "changed": "number_changed"}.get(kind, kind),
              "msisdn": msisdn, "new_msisdn": new}
    service_id = submit(intake().member_notification(fields))
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
    notifications = OrderStore(Settings().database_url).notifications.list_notifications(
        service_id.strip() if service_id else None)
    if as_json:
        print_json([n.model_dump(mode="json") for n in notifications])
        return
    table = Table("notification", "received (UTC)", "from", "kind", "number", "new number", "service", "state",
                  "orders / reason")
    for n in notifications:
        table.add_row(n.notification_id, f"{n.received_at:%Y-%m-%d %H:%M:%S}", n.province, n.kind, n.msisdn,
                      n.new_msisdn or "", n.service_id or "", n.state, " ".join(n.orders) or n.reason)
    console.print(table if notifications else "no notification")

@order_app.command("report")
def order_report(order_no: str, out: OutOption, lang: LangOption = "zh") -> None:
    """The acceptance basic information table kept with an order (an opening or a member
    order that completed or ended partial), as XLSX or CSV."""
    try:
        table = intake().order_table(order_no)
    except Refusal as refusal:
        fail(refusal.text)
    write_acceptance_table(table, out, lang, f"order {order_no.strip()}")


@order_app.command("members")
def order_members(
    order_no: str,
    state: Annotated[ItemState | None, typer.Option(help="Only members in this state.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Per-member results of a member order: state, and the code and reason of a failure."""
    with answered():
        results = reads().members(order_no, state)
    if as_json:
        print_json([r.model_dump(mode="json") for r in results])
        return
    print_rows(["msisdn", "name", "home", "state", "code", "reason"],
               [[r.msisdn, r.name, r.home_province or "", r.state, r.code or "", r.detail] for r in results],
               ids=("msisdn",), empty=f"no member of order {order_no.strip()} is {state}" if state
               else f"order {order_no.strip()} has no member")


# Fallout


@fallout_app.command("list")
def fallout_list(
    province: Annotated[str | None, typer.Option(help="Only this province.")] = None,
    system: Annotated[str | None, typer.Option(help="Only this system (crm, hlr, billing, aaa, line, report…).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Resolved fallouts too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """The fallout worklist: open fallouts, oldest first."""
    with answered():
        fallouts = reads().fallouts(province, system, all_)
    if as_json:
        print_json([f.model_dump(mode="json") for f in fallouts])
        return
    now = datetime.now(UTC)
    rows = []
    for f in fallouts:
        created = f.created_at if f.created_at.tzinfo else f.created_at.replace(tzinfo=UTC)
        rows.append([f.fallout_id, age_text(now - created), f.order_no, f.province, f.system, f"{f.code} {f.text}",
                     " ".join(f.allowed), f.state if f.state == "open" else f"{f.decision} by {f.decided_by}"])
    print_rows(["fallout", "age", "order", "province", "system", "error", "allowed", "state"], rows,
               ids=("fallout", "order"), empty="no fallout" if all_ else "no open fallout")


def age_text(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    return f"{minutes // 1440}d {minutes // 60 % 24}h" if minutes >= 1440 else f"{minutes // 60}h {minutes % 60}m"


@fallout_app.command("resolve")
def fallout_resolve(
    fallout_id: str,
    action: Annotated[str, typer.Option(help="retry, skip or compensate.")],
    reason: ReasonOption = "",
) -> None:
    """Decide on a fallout: retry the step, skip it, or compensate the order (an operator)."""
    decide(f"/fallouts/{quoted(fallout_id)}/resolution", {"action": action, "reason": reason})


@fallout_app.command("policy")
def fallout_policy(as_json: JsonOption = False) -> None:
    """The fallout policy in force: the first matching rule decides."""
    path = Settings().fallout_policy_file
    policy = FalloutPolicy.load(path)
    if as_json:
        print_json(policy)
        return
    table = Table("order type", "step", "system", "code", "action", "why", title=f"fallout policy ({path})")
    for rule in policy.rules:
        action = {"retry": f"retry {rule.retries}x, then hold", "hold": f"hold {duration_text(rule.hold_for)}, then compensate"}
        table.add_row(rule.order_type, rule.step, rule.system, rule.code, action.get(rule.action, rule.action),
                      rule.why)
    console.print(table)


# The simulator's admin API


def sim_call(method: str, path: str, body: Any = None, params: dict | None = None) -> Any:
    settings = Settings()
    try:
        response = httpx.request(method, settings.hub_url + path, json=body, params=params, timeout=60)
    except httpx.HTTPError as error:
        fail(f"cannot reach the simulator at {settings.hub_url}: is `vpdn up` running? ({error})")
    if response.status_code >= 400:
        fail(f"simulator refused: HTTP {response.status_code} {response.text}")
    return response.json()


@sim_app.command("seed")
def sim_seed(
    file: Annotated[Path | None, typer.Option(help="JSON file with `customers` and `subscribers`.")] = None,
    customers: Annotated[int, typer.Option(help="Generate this many group customers.")] = 0,
    subscribers: Annotated[int, typer.Option(help="Generate this many subscribers.")] = 0,
    seed: Annotated[int, typer.Option(help="Random seed for generated data.")] = 1,
    members_file: Annotated[Path | None, typer.Option(
        help="Also write a members file (msisdn,name; UTF-8) of active subscribers seeded, ready for "
             "`vpdn member join --file`.")] = None,
    members: Annotated[int | None, typer.Option(
        help="How many members the --members-file holds (default 200; fewer if fewer were seeded).")] = None,
    members_home: Annotated[str | None, typer.Option(
        help="Only members of these home provinces in the --members-file, e.g. SD,BJ,GD.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Load provincial customer records and subscribers, from a file or generated."""
    if file is None and not (customers or subscribers):
        fail("give --file or --customers/--subscribers", code=2)
    if members_file is None and (members is not None or members_home is not None):
        fail("--members and --members-home say what goes in the --members-file: give it too", code=2)
    if members is not None and members < 1:
        fail(f"--members {members}: at least 1", code=2)
    with answered():
        homes = [province_filter(code) for code in members_home.split(",") if code.strip()] if members_home else None
    if homes and HQ in homes:
        fail(f"--members-home: {HQ} is no member's home province", code=2)
    if file is not None:
        try:
            data = SeedData.model_validate_json(read_text_file(file, "seed"))
        except ValidationError as error:
            fail(f"cannot load seed file {file}: {validation_text(error)}", code=2)
        result = sim_call("POST", "/admin/seed", data.model_dump())
    else:
        result = sim_call("POST", "/admin/seed/generate",
                          {"customers": customers, "subscribers": subscribers, "seed": seed})
        data = SeedData.model_validate(result)
    if as_json:
        written = write_members_file(members_file, data, members or 200, homes) if members_file else None
        print_json({**result, **({"members_file": {"path": str(members_file), "members": written}}
                                 if members_file else {})})
        return
    if file is not None:
        console.print(f"seeded {result['customers']} customer records and {result['subscribers']} subscribers")
    else:
        codes = sorted({c["customer_code"] for c in result["customers"]})
        console.print(f"seeded {len(codes)} group customers and {len(result['subscribers'])} subscribers")
        if codes:
            console.print("customer codes: " + " ".join(codes))
    if members_file:
        written = write_members_file(members_file, data, members or 200, homes)
        asked, of = members or 200, f" of {','.join(homes)}" if homes else ""
        console.print(f"wrote {counted(written, 'member')} (active subscribers{of}) to {members_file.resolve()}"
                      + (f"; only {written} were seeded, {asked} asked" if written < asked else ""),
                      highlight=False, soft_wrap=True)
        console.print(f"join them: vpdn member join <service> --file {members_file}", highlight=False)


def write_members_file(path: Path, data: SeedData, count: int, homes: list[str] | None) -> int:
    """Write a members file (header `msisdn,name`, UTF-8) of the seed's first `count` active
    subscribers (of those home provinces); how many it holds. None seeded is an error."""
    from simulator.seed import members

    rows = members(data, count, homes)
    if not rows:
        fail(f"no active subscriber{' of ' + ','.join(homes) if homes else ''} was seeded: "
             f"{path} not written")
    try:
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["msisdn", "name"])
            writer.writerows(rows)
    except OSError as error:
        fail(f"cannot write the members file {path}: {error.strerror or error}")
    return len(rows)


@sim_app.command("fault")
def sim_fault(
    kind: Annotated[FaultKind, typer.Argument(help="transient, reject, latency or no_report")],
    province: str = "*",
    system: str = "*",
    operation: str = "*",
    count: Annotated[int | None, typer.Option(help="Only the next N matching calls.")] = None,
    rate: Annotated[float | None, typer.Option(help="Share of matching calls hit (0..1).")] = None,
    code: str = "E9999",
    text: str = "injected fault",
    latency_ms: int = 0,
    msisdns: Annotated[str | None, typer.Option(help="reject only these members (comma list) in batches.")] = None,
) -> None:
    """Inject a fault into the simulated provinces' systems."""
    try:
        spec = FaultSpec(province=province.upper(), system=system, operation=operation, kind=kind,
                         count=count, rate=rate, code=code, text=text, latency_ms=latency_ms,
                         msisdns=msisdns.split(",") if msisdns else None)
    except ValidationError as error:
        fail(str(error), code=2)
    result = sim_call("POST", "/admin/faults", spec.model_dump())
    console.print(f"fault {result.get('id')} set: {kind} on {spec.province}/{spec.system}/{spec.operation}")


@sim_app.command("reset")
def sim_reset(
    all_: Annotated[bool, typer.Option("--all", help="Also forget every province's data.")] = False,
) -> None:
    """Clear injected faults (with --all, everything the provinces hold)."""
    sim_call("POST", "/admin/reset", params={"all": str(all_).lower()})
    console.print("simulator reset" + (" (all data)" if all_ else " (faults cleared)"))


@sim_app.command("holdings")
def sim_holdings(
    province: str,
    system: str,
    kind: Annotated[str | None, typer.Option(help="Only this kind of resource.")] = None,
) -> None:
    """What one province's system now holds."""
    params = {"kind": kind} if kind else None
    print_json(sim_call("GET", f"/admin/provinces/{province.upper()}/{system}/resources", params=params))


@sim_app.command("customer-change")
def sim_customer_change(
    customer_code: str,
    province: Annotated[str, typer.Option(help="The province whose CRM changes its record.")],
    name: Annotated[str | None, typer.Option(help="The new name (a new record needs one).")] = None,
    credit_code: Annotated[str | None, typer.Option(help="The new credit code.")] = None,
    level: Annotated[str | None, typer.Option(help="group or branch.")] = None,
    deleted: Annotated[bool, typer.Option("--deleted", help="The province no longer holds the customer.")] = False,
) -> None:
    """A province's CRM changes (or deletes) its record of a customer and pushes it to GPMS."""
    body = {"province": province, "name": name, "credit_code": credit_code, "level": level, "deleted": deleted}
    change = sim_call("POST", f"/admin/customers/{customer_code.strip()}/changes", body)
    console.print(f"{change['province']} record version {change['version']} of customer "
                  f"{change['customer_code']} sent to GPMS" + (" (deleted)" if change["deleted"] else ""))


def main() -> None:
    """The `vpdn` program: run the command, then leave without interpreter teardown, where
    the Temporal client's native threads can abort a finalizing interpreter (SDK issue #300)."""
    try:
        app()
        code = 0
    except SystemExit as exit_:
        if isinstance(exit_.code, str):
            errors.print(f"[red]error:[/red] {exit_.code}", highlight=False, soft_wrap=True)
        code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    stop_tracing()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
