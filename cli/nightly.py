"""`vpdn nightly`: the nightly reconciliation's schedule — when it runs next, how its recent
runs went — and a run now (the schedule's action, overlap skipped as every night)."""

import asyncio
import json
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from temporalio.client import Client, ScheduleHandle
from temporalio.service import RPCError, RPCStatusCode

from models.reconciliation import NightlyResult, reconciliation_ids
from settings import Settings, connect_temporal

nightly_app = typer.Typer(help="The nightly reconciliation: its schedule and runs; a run now.",
                          no_args_is_help=True, rich_markup_mode=None)
WAIT_FOR_START_S = 30


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


async def _schedule(settings: Settings) -> tuple[Client, ScheduleHandle]:
    try:
        client = await connect_temporal(settings)
    except RuntimeError as error:
        _fail(f"cannot reach Temporal at {settings.temporal_address}: {error}")
    return client, client.get_schedule_handle(reconciliation_ids(settings.task_queue)[0])


async def _outcome(client: Client, workflow_id: str, run_id: str) -> str:
    """How one run went: its counts once completed, else its status."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id, result_type=NightlyResult)
    status = (await handle.describe()).status
    if status is None or status.name != "COMPLETED":
        return status.name.lower() if status else "unknown"
    result = await handle.result()
    return (f"{result.differences} differences, {result.new_on_worklist} new on the worklist, "
            f"{result.deliveries_pruned} event deliveries pruned")


async def _show(settings: Settings) -> dict:
    client, handle = await _schedule(settings)
    try:
        description = await handle.describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            _fail(f"no nightly reconciliation schedule {handle.id}: run `vpdn setup`")
        raise
    zone = ZoneInfo(description.schedule.spec.time_zone_name or "UTC")
    runs = [{"started": action.started_at.astimezone(zone).isoformat(timespec="seconds"),
             "workflow_id": action.action.workflow_id,
             "outcome": await _outcome(client, action.action.workflow_id, action.action.first_execution_run_id)}
            for action in description.info.recent_actions]
    return {"schedule": handle.id, "time_zone": str(zone), "paused": description.schedule.state.paused,
            "overlap": description.schedule.policy.overlap.name.lower(),
            "next_runs": [t.astimezone(zone).isoformat(timespec="minutes") for t in description.info.next_action_times],
            "skipped_overlapping": description.info.num_actions_skipped_overlap, "recent_runs": runs}


@nightly_app.command("show")
def show(as_json: Annotated[bool, typer.Option("--json", help="As JSON, for scripts.")] = False) -> None:
    """When the nightly reconciliation runs next, and how its recent runs went."""
    shown = asyncio.run(_show(Settings()))
    if as_json:
        typer.echo(json.dumps(shown, indent=2))
        return
    typer.echo(f"schedule {shown['schedule']} ({shown['time_zone']}), overlap {shown['overlap']}"
               + (", PAUSED" if shown["paused"] else ""))
    typer.echo(f"next runs: {', '.join(shown['next_runs']) or 'none'}")
    for run in shown["recent_runs"] or [{"started": "no run yet", "workflow_id": "", "outcome": ""}]:
        typer.echo(f"  {run['started']}  {run['workflow_id']}  {run['outcome']}".rstrip())


async def _run_now(settings: Settings) -> str:
    client, handle = await _schedule(settings)
    try:
        recent = (await handle.describe()).info.recent_actions
        await handle.trigger()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            _fail(f"no nightly reconciliation schedule {handle.id}: run `vpdn setup`")
        raise
    last = recent[-1].action.workflow_id if recent else None
    for _ in range(WAIT_FOR_START_S * 5):  # the schedule starts it within a moment (or skips it)
        info = (await handle.describe()).info
        started = info.running_actions[-1] if info.running_actions else (
            info.recent_actions[-1].action if info.recent_actions and
            info.recent_actions[-1].action.workflow_id != last else None)
        if started is not None:
            await client.get_workflow_handle(started.workflow_id, run_id=started.first_execution_run_id).result()
            return f"{started.workflow_id}: {await _outcome(client, started.workflow_id, started.first_execution_run_id)}"
        await asyncio.sleep(0.2)
    return "not started within 30 s: a run still going makes the schedule skip it (see `vpdn nightly show`)"


@nightly_app.command("run")
def run_now() -> None:
    """Run the nightly reconciliation now and wait for its counts (differences go to the
    fallout worklist: `vpdn fallout list`)."""
    typer.echo(asyncio.run(_run_now(Settings())))
