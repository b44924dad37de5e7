"""`vpdn sim`: the provinces' simulator's admin API (seed, faults, holdings, a CRM's change)."""

import csv
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from pydantic import ValidationError
from rich.markup import escape

from models.hub import FaultKind, FaultSpec, SeedData
from models.words import counted
from models.provinces import HQ
from refusal import validation_text
from settings import Settings
from cli.output import JsonOption, answered, console, fail, print_json, read_text_file


sim_app = typer.Typer(help="The provinces' simulator: seed data, inject faults, inspect.", no_args_is_help=True, rich_markup_mode=None)


def sim_call(method: str, path: str, body: Any = None, params: dict | None = None) -> Any:
    settings = Settings()
    try:
        response = httpx.request(method, settings.hub_url + path, json=body, params=params, timeout=60)
    except httpx.HTTPError as error:
        fail(f"cannot reach the simulator at {settings.hub_url}: is `vpdn up` running? ({error})")
    if response.status_code >= 400:
        try:
            detail = response.json().get("message") or response.text
        except (ValueError, AttributeError):
            detail = response.text
        fail(f"the simulator refused: {escape(detail)}", code=2 if response.status_code < 500 else 1)
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
    from reads import province_filter

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
    kind: Annotated[FaultKind, typer.Argument(help="transient, reject, latency, no_report or lost_answer")],
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
    from reads import province_filter

    if province != "*":
        with answered():
            province = province_filter(province)
    try:
        spec = FaultSpec(province=province.upper(), system=system, operation=operation, kind=kind,
                         count=count, rate=rate, code=code, text=text, latency_ms=latency_ms,
                         msisdns=msisdns.split(",") if msisdns else None)
    except ValidationError as error:
        fail(validation_text(error), code=2)
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

