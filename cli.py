"""`vpdn`: the staff's command line. Start orders, inspect them, run the embedded default."""

import asyncio
import getpass
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import WorkflowAlreadyStartedError

from models.customer import AcquireCustomerInput, AcquisitionResult, CustomerHierarchy, check_customer_code
from models.hub import FaultKind, FaultSpec, SeedData
from models.orders import OrderType, workflow_id_for
from models.provinces import PROVINCE_CODES
from settings import Settings, connect_temporal
from store import OrderStore
from submission import start_order
from workflows.common import failure_text
from workflows.customer_acquisition import CustomerAcquisition

app = typer.Typer(help="VPDN order orchestrator (GPMS): cross-province VPDN orders on Temporal.",
                  no_args_is_help=True)
customer_app = typer.Typer(help="Group customers: acquire from the provinces, show.", no_args_is_help=True)
order_app = typer.Typer(help="Orders: show an order and its audit trail.", no_args_is_help=True)
sim_app = typer.Typer(help="The provinces' simulator: seed data, inject faults, inspect.", no_args_is_help=True)
app.add_typer(customer_app, name="customer")
app.add_typer(order_app, name="order")
app.add_typer(sim_app, name="sim")

console = Console()
errors = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
ByOption = Annotated[str, typer.Option("--by", help="Who asks (recorded in the audit trail).")]


def fail(message: str, code: int = 1) -> NoReturn:
    errors.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def print_json(value: BaseModel | dict | list) -> None:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    print(json.dumps(value, indent=2, ensure_ascii=False))


def new_order_no(prefix: str) -> str:
    return f"{prefix}{datetime.now(UTC):%Y%m%d%H%M%S%f}"


def run(coroutine: Any) -> Any:
    """Run an async command, turning unreachable services into a clear error."""
    try:
        return asyncio.run(coroutine)
    except RuntimeError as error:
        if "connect" in str(error).lower():
            fail(f"cannot reach Temporal at {Settings().temporal_address}: is `vpdn up` running? ({error})")
        raise


# The embedded default and its parts


@app.command()
def up() -> None:
    """Start everything in the foreground: Temporal dev server, provinces' simulator, worker.

    Ctrl-C stops them all. Uses an already running Temporal server at TEMPORAL_ADDRESS.
    """
    from embedded import run_embedded

    asyncio.run(run_embedded(Settings(), console))


@app.command()
def worker() -> None:
    """Run only the worker (what production runs)."""
    from worker import run_worker

    try:
        asyncio.run(run_worker(Settings()))
    except KeyboardInterrupt:
        pass


@app.command()
def simulator() -> None:
    """Run only the provinces' simulator (the hub and the 31 provinces' systems)."""
    from simulator.server import serve

    settings = Settings()
    console.print(f"provinces' simulator on {settings.hub_url}")
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        pass


# Customers


@customer_app.command("acquire")
def customer_acquire(
    customer_code: Annotated[str, typer.Argument(help="The 10-digit customer code (客户编码).")],
    by: ByOption = getpass.getuser(),
    order_no: Annotated[str | None, typer.Option(help="Business order number (default: generated).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Acquire a group customer: query every province's CRM, identify it, store its hierarchy."""
    try:
        order = AcquireCustomerInput(
            order_no=order_no or new_order_no("ACQ"), customer_code=customer_code, requested_by=by
        )
    except ValidationError as error:
        fail("; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors()), code=2)
    result = run(_acquire(order, as_json))
    if as_json:
        print_json(result)
        return
    console.print(f"order {result.order_no} completed")
    print_hierarchy(result.hierarchy)


async def _acquire(order: AcquireCustomerInput, as_json: bool) -> AcquisitionResult:
    settings = Settings()
    client = await connect_temporal(settings)
    workflow_id = workflow_id_for(OrderType.customer_acquisition, order.order_no)
    if not as_json:
        console.print(f"order {order.order_no}: acquiring customer {order.customer_code} "
                      f"from {len(PROVINCE_CODES)} provinces (workflow {workflow_id})")
    try:
        handle = await start_order(
            client, settings.task_queue, CustomerAcquisition.run, order,
            order_type=OrderType.customer_acquisition, order_no=order.order_no,
            customer_code=order.customer_code, provinces=list(PROVINCE_CODES),
            summary=f"Customer acquisition {order.customer_code} by {order.requested_by}",
        )
        return await handle.result()
    except WorkflowAlreadyStartedError:
        fail(f"order {order.order_no} was already submitted (workflow {workflow_id}); nothing started")
    except WorkflowFailureError as error:
        fail(f"order {order.order_no} failed: {failure_text(error.cause)}")


@customer_app.command("show")
def customer_show(customer_code: str, as_json: JsonOption = False) -> None:
    """Show a stored customer and its hierarchy (group and provincial branches)."""
    hierarchy = OrderStore(Settings().database_url).get_customer(customer_code.strip())
    if hierarchy is None:
        fail(f"customer {customer_code} is not in GPMS; acquire it with `vpdn customer acquire {customer_code}`")
    if as_json:
        print_json(hierarchy)
    else:
        print_hierarchy(hierarchy)


def print_hierarchy(hierarchy: CustomerHierarchy) -> None:
    console.print(f"[bold]{hierarchy.name}[/bold]  customer {hierarchy.customer_code}  "
                  f"credit code {hierarchy.credit_code}")
    console.print(f"└─ group: {hierarchy.group_province}")
    for branch in hierarchy.branches:
        console.print(f"   └─ branch {branch.province}: {branch.name}")
    for conflict in hierarchy.conflicts:
        console.print(f"   [yellow]! {conflict.province} files another enterprise under this code: "
                      f"{conflict.name} ({conflict.credit_code})[/yellow]")


# Orders


@order_app.command("show")
def order_show(order_no: str, as_json: JsonOption = False) -> None:
    """Show an order's state and its audit trail (who did what, when)."""
    order = OrderStore(Settings().database_url).get_order(order_no.strip())
    if order is None:
        fail(f"no order {order_no}")
    if as_json:
        print_json(order)
        return
    console.print(f"[bold]{order.order_no}[/bold] {order.order_type}  state [bold]{order.state}[/bold]"
                  + (f" ({order.sub_state})" if order.sub_state else ""))
    table = Table("at (UTC)", "actor", "event", "state", "detail")
    for event in order.events:
        table.add_row(f"{event.at:%Y-%m-%d %H:%M:%S}", event.actor, event.event, event.state or "", event.detail)
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
    as_json: JsonOption = False,
) -> None:
    """Load provincial customer records and subscribers, from a file or generated."""
    if file is None and not (customers or subscribers):
        fail("give --file or --customers/--subscribers", code=2)
    if file is not None:
        try:
            data = SeedData.model_validate_json(file.read_text())
        except (OSError, ValidationError) as error:
            fail(f"cannot load seed file {file}: {error}", code=2)
        result = sim_call("POST", "/admin/seed", data.model_dump())
    else:
        result = sim_call("POST", "/admin/seed/generate",
                          {"customers": customers, "subscribers": subscribers, "seed": seed})
    if as_json:
        print_json(result)
    elif file is not None:
        console.print(f"seeded {result['customers']} customer records and {result['subscribers']} subscribers")
    else:
        codes = sorted({c["customer_code"] for c in result["customers"]})
        console.print(f"seeded {len(codes)} group customers and {len(result['subscribers'])} subscribers")
        if codes:
            console.print("customer codes: " + " ".join(codes))


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
) -> None:
    """Inject a fault into the simulated provinces' systems."""
    try:
        spec = FaultSpec(province=province.upper(), system=system, operation=operation, kind=kind,
                         count=count, rate=rate, code=code, text=text, latency_ms=latency_ms)
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


if __name__ == "__main__":
    app()
