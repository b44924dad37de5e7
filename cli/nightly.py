"""`vpdn nightly`: the nightly reconciliation's schedule — when it runs next, how its recent
runs went — and a run now (an operator; the schedule's action, never beside a run going)."""

import time

import typer

import api_client
from cli.output import JsonOption, console, print_json, quoted, read
from models.views import NightlyRunView, NightlySchedule

nightly_app = typer.Typer(help="The nightly reconciliation: its schedule and runs; a run now.",
                          no_args_is_help=True, rich_markup_mode=None)


@nightly_app.command("show")
def show(as_json: JsonOption = False) -> None:
    """When the nightly reconciliation runs next, and how its recent runs went."""
    shown = read("/nightly", NightlySchedule)
    if as_json:
        print_json(shown)
        return
    console.print(f"schedule {shown.schedule} ({shown.time_zone}), overlap {shown.overlap}"
                  + (", PAUSED" if shown.paused else ""), highlight=False)
    console.print(f"next runs: {', '.join(shown.next_runs) or 'none'}", highlight=False)
    for run in shown.recent_runs:
        console.print(f"  {run.started}  {run.workflow_id}  {run.outcome}", highlight=False)
    if not shown.recent_runs:
        console.print("  no run yet")


@nightly_app.command("run")
def run_now(as_json: JsonOption = False) -> None:
    """Run the nightly reconciliation now and wait for its counts (differences go to the
    fallout worklist: `vpdn fallout list`); exit 1 when the run fails."""
    run = NightlyRunView.model_validate(api_client.call("POST", "/nightly/runs"))
    with console.status(f"nightly run {run.workflow_id}: running"):
        while run.state == "running":
            time.sleep(0.5)
            run = read(f"/nightly/runs/{quoted(run.workflow_id)}", NightlyRunView)
    if as_json:
        print_json(run)
    else:
        console.print(f"{run.workflow_id}: {run.outcome}", highlight=False)
    if run.state != "completed":
        raise typer.Exit(1)
