"""`vpdn customer`: acquire a group customer, show it, deliver a CRM's changed record."""

from typing import Annotated

import typer
from rich.markup import escape

from models.customer import AcquisitionResult, CustomerHierarchy
from models.orders import (
    OrderState,
)
from models.provinces import PROVINCE_CODES
from cli.follow import wait_for_end
from cli.output import (
    JsonOption, OrderNoOption, console, deliver, fail, print_json, quoted, read, submit, submitted,
)


customer_app = typer.Typer(help="Group customers: acquire from the provinces, show.", no_args_is_help=True, rich_markup_mode=None)


@customer_app.command("acquire")
def customer_acquire(
    customer_code: Annotated[str, typer.Argument(help="The 10-digit customer code (客户编码).")],
    order_no: OrderNoOption = None,
    as_json: JsonOption = False,
) -> None:
    """Acquire a group customer (an account_manager): query every province's CRM, identify it,
    store its hierarchy. Waits until it ends."""
    accepted = submit("customer-acquisition", json=submitted({"customer_code": customer_code, "order_no": order_no}))
    if not as_json:
        console.print(f"order {accepted.order_no}: acquiring customer {customer_code.strip()} "
                      f"from {len(PROVINCE_CODES)} provinces (workflow {accepted.workflow_id})")
    ended = wait_for_end(accepted.order_no)
    if ended.state != OrderState.completed:
        fail(f"order {accepted.order_no} {ended.state}: {escape(ended.events[-1].detail or ended.events[-1].event)}")
    result = AcquisitionResult(order_no=accepted.order_no,
                               hierarchy=read(f"/customers/{quoted(customer_code)}", CustomerHierarchy))
    if as_json:
        print_json(result)
        return
    console.print(f"order {result.order_no} completed")
    print_hierarchy(result.hierarchy)


@customer_app.command("show")
def customer_show(customer_code: str, as_json: JsonOption = False) -> None:
    """Show a stored customer and its hierarchy (group and provincial branches)."""
    hierarchy = read(f"/customers/{quoted(customer_code)}", CustomerHierarchy)
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
    """Deliver a provincial CRM's changed customer record, as the CRM would through the hub's
    door of the API (as the hub: `vpdn --as hub customer notify …`)."""
    taken = deliver("/hub/customer-changes", {
        "province": province, "customer_code": customer_code, "version": version, "name": name,
        "credit_code": credit_code, "level": level, "deleted": deleted})
    console.print(taken["detail"], highlight=False, soft_wrap=True)

