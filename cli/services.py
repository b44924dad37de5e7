"""`vpdn service` and `vpdn tariff`: open, change, close, show, members, report."""

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from models.orders import (
    OrderState,
)
from models.plans import STANDARD
from models.words import counted
from models.service import (
    RentalRule,
    ServiceOpeningResult,
)
from models.views import ServiceDetail, ServiceMember
from cli.follow import DONE_STATES, order_fields, print_queued, wait_for_end
from cli.output import (
    JsonOption, LangOption, OrderNoOption, OutOption, PreApprovedOption, WaitOption, console, fail,
    print_json, quoted, read, read_json_file, submit, submitted, write_acceptance_table,
)


tariff_app = typer.Typer(help="Group tariff packages: change.", no_args_is_help=True, rich_markup_mode=None)


service_app = typer.Typer(help="VPDN services: open, change, close, show, members.", no_args_is_help=True, rich_markup_mode=None)


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
    wait: Annotated[bool, typer.Option(help="Wait until the order ends.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Open a cross-province VPDN (业务开通), as an account_manager. Everything is checked
    before anything starts."""
    fields = read_json_file(file, "order") if file else {}
    flags = {"customer_code": customer, "apn": apn, "access_province": access, "paying_province": paying,
             "rental_rule": rental_rule, "order_no": order_no, "pre_approved_by": pre_approved_by,
             "provinces": provinces.split(",") if provinces else None}
    fields.update({name: value for name, value in flags.items() if value is not None})
    line_flags = {"bandwidth_mbps": line_bandwidth, "address": line_address}
    if any(value is not None for value in line_flags.values()):
        line = fields.get("line")
        fields["line"] = {**(line if isinstance(line, dict) else {}), **submitted(line_flags)}
    accepted = submit("service-opening", json=fields)
    result = None
    if wait:
        ended = wait_for_end(accepted.order_no)
        if ended.state not in DONE_STATES:
            fail(f"order {accepted.order_no} {ended.state}: {escape(ended.events[-1].detail or ended.events[-1].event)}")
        service = read(f"/services/{quoted(accepted.service_id)}", ServiceDetail)
        result = ServiceOpeningResult(order_no=accepted.order_no, service_id=accepted.service_id, state=ended.state,
                                      rental_start=service.rental_start)
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


@tariff_app.command("change")
def tariff_change(
    service_id: str,
    file: Annotated[Path, typer.Option(help='JSON: {"parameters": {...}, "discounts": {...}, "new_discounts": {...}}')],
    order_no: OrderNoOption = None, pre_approved_by: PreApprovedOption = None,
    wait: WaitOption = False, as_json: JsonOption = False,
) -> None:
    """Change the group tariff package (集团资费套餐标准变更): every province gets the new
    version's complete set. Unknown names or no actual change are refused."""
    change = read_json_file(file, "tariff change")
    accepted = submit("tariff-change", json={**order_fields(service_id, order_no, pre_approved_by), "change": change})
    print_queued(accepted, pre_approved_by, as_json, wait)


@service_app.command("change")
def service_change(
    service_id: str,
    file: Annotated[Path, typer.Option(help='JSON: {"line": {...}, "provinces": [...], "paying_province": "..", '
                                            '"confirm_rental": true}')],
    order_no: OrderNoOption = None, pre_approved_by: PreApprovedOption = None,
    wait: WaitOption = False, as_json: JsonOption = False,
) -> None:
    """Change a service (业务变更): its dedicated line, related provinces or paying province."""
    change = read_json_file(file, "service change")
    accepted = submit("service-change", json={**order_fields(service_id, order_no, pre_approved_by), "change": change})
    print_queued(accepted, pre_approved_by, as_json, wait)


@service_app.command("close")
def service_close(
    service_id: str,
    order_no: OrderNoOption = None, pre_approved_by: PreApprovedOption = None,
    wait: WaitOption = False, as_json: JsonOption = False,
) -> None:
    """Close a VPDN (业务关闭): only once every member has left it."""
    accepted = submit("service-closure", json=order_fields(service_id, order_no, pre_approved_by))
    print_queued(accepted, pre_approved_by, as_json, wait)


@service_app.command("members")
def service_members(service_id: str, as_json: JsonOption = False) -> None:
    """The members now in a VPDN, with their home provinces and member plans."""
    members = read(f"/services/{quoted(service_id)}/members", list[ServiceMember])
    if as_json:
        print_json([member.model_dump(mode="json") for member in members])
        return
    console.print(f"{counted(len(members), 'member')} in service {service_id}")
    for member in members:
        console.print(f"  {member.msisdn}  {member.home_province}  {member.plan or STANDARD}", highlight=False)


@service_app.command("report")
def service_report(
    service_id: str, out: OutOption,
    order_no: Annotated[str | None, typer.Option("--order", help="The table kept with this order.")] = None,
    lang: LangOption = "zh",
) -> None:
    """The VPDN acceptance basic information table (VPDN业务受理基础信息表) of a service as it
    stands, or the one kept with one of its orders, as XLSX or CSV."""
    write_acceptance_table(f"/services/{quoted(service_id)}/acceptance-table", out, lang,
                           f"order {order_no}" if order_no else f"service {service_id}", order=order_no)


@service_app.command("show")
def service_show(service_id: str, as_json: JsonOption = False) -> None:
    """A VPDN service as GPMS records it: state, provinces, line, rental, contract, the
    tariff package in force, members per home province and the orders not yet ended."""
    service = read(f"/services/{quoted(service_id)}", ServiceDetail)
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

