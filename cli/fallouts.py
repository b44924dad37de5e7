"""`vpdn fallout` (worklist, decisions, policy) and `vpdn reconcile`."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from models.fallout import FalloutPolicy, FalloutView
from models.words import counted, duration_text
import api_client
from cli.orders import ReasonOption, decide
from cli.output import JsonOption, console, print_json, print_rows, quoted, read


fallout_app = typer.Typer(help="Fallout: held orders' worklist, decisions, policy.", no_args_is_help=True, rich_markup_mode=None)


def reconcile(as_json: JsonOption = False) -> None:
    """Compare what GPMS recorded with what every province holds (an operator); list every
    difference (exit 1 when there is one)."""
    from reconcile import Difference

    found = [Difference(**d) for d in api_client.call("POST", "/reconcile", timeout=300)["differences"]]
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


@fallout_app.command("list")
def fallout_list(
    province: Annotated[str | None, typer.Option(help="Only this province.")] = None,
    system: Annotated[str | None, typer.Option(help="Only this system (crm, hlr, billing, aaa, line, report…).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Resolved fallouts too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """The fallout worklist: open fallouts, oldest first."""
    fallouts = read("/fallouts", list[FalloutView], province=province, system=system, all=all_)
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
    policy = read("/fallout-policy", FalloutPolicy)
    if as_json:
        print_json(policy)
        return
    table = Table("order type", "step", "system", "code", "action", "why", title="fallout policy")
    for rule in policy.rules:
        action = {"retry": f"retry {rule.retries}x, then hold", "hold": f"hold {duration_text(rule.hold_for)}, then compensate"}
        table.add_row(rule.order_type, rule.step, rule.system, rule.code, action.get(rule.action, rule.action),
                      rule.why)
    console.print(table)

