"""The nightly reconciliation through the API: its schedule and recent runs (`GET /nightly`,
staff readers), a run now (`POST /nightly/runs`, operators: the schedule's own action, so a
run still going is never doubled) and one run followed to its counts."""

import asyncio
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from temporalio.client import Client, ScheduleDescription, ScheduleHandle, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import Principal, Role, require
from api.orders import Reader
from models.reconciliation import NightlyResult, reconciliation_ids
from models.views import NightlyRunView, NightlySchedule
from refusal import Refusal, RefusalKind, Unavailable
from workflows.common import failure_text

router = APIRouter(prefix="/nightly", tags=["nightly"])
Operator = Annotated[Principal, Depends(require(Role.operator))]
START_WAIT_S = 30


async def _schedule(request: Request) -> tuple[Client, ScheduleHandle]:
    intake = request.app.state.intake
    client = await intake.temporal()
    return client, client.get_schedule_handle(reconciliation_ids(intake.settings.task_queue)[0])


async def _described(handle: ScheduleHandle) -> ScheduleDescription:
    try:
        return await handle.describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise Refusal(f"no nightly reconciliation schedule {handle.id}: run `vpdn setup`",
                          RefusalKind.not_found) from None
        raise


def _zone(description: ScheduleDescription) -> ZoneInfo:
    return ZoneInfo(description.schedule.spec.time_zone_name or "UTC")


async def _run_view(client: Client, workflow_id: str, zone: ZoneInfo, run_id: str | None = None) -> NightlyRunView:
    handle = client.get_workflow_handle(workflow_id, run_id=run_id, result_type=NightlyResult)
    try:
        described = await handle.describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise Refusal(f"no nightly run {workflow_id}", RefusalKind.not_found) from None
        raise
    state = described.status.name.lower() if described.status else "unknown"
    outcome = state
    if described.status == WorkflowExecutionStatus.COMPLETED:
        result = await handle.result()
        outcome = (f"{result.differences} differences, {result.new_on_worklist} new on the worklist, "
                   f"{result.deliveries_pruned} event deliveries pruned")
    elif described.status == WorkflowExecutionStatus.FAILED:
        try:
            await handle.result()
        except WorkflowFailureError as failure:
            outcome = f"failed: {failure_text(failure.cause)}"
    return NightlyRunView(workflow_id=workflow_id, started=_at(described.start_time, zone), state=state,
                          outcome=outcome)


def _at(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).isoformat(timespec="seconds")


@router.get("", response_model=NightlySchedule)
async def show(request: Request, _: Reader) -> NightlySchedule:
    """When the nightly reconciliation runs next, and how its recent runs went."""
    client, handle = await _schedule(request)
    description = await _described(handle)
    zone = _zone(description)
    return NightlySchedule(
        schedule=handle.id, time_zone=str(zone), paused=description.schedule.state.paused,
        overlap=description.schedule.policy.overlap.name.lower(),
        next_runs=[t.astimezone(zone).isoformat(timespec="minutes") for t in description.info.next_action_times],
        skipped_overlapping=description.info.num_actions_skipped_overlap,
        recent_runs=[await _run_view(client, action.action.workflow_id, zone, action.action.first_execution_run_id)
                     for action in description.info.recent_actions])


@router.post("/runs", response_model=NightlyRunView, status_code=202)
async def run_now(request: Request, _: Operator) -> NightlyRunView:
    """Run the nightly reconciliation now (refused while a run is going: the schedule would
    skip it); the run started, to follow at `GET /nightly/runs/{workflow_id}`."""
    client, handle = await _schedule(request)
    description = await _described(handle)
    if description.info.running_actions:
        going = description.info.running_actions[-1].workflow_id
        raise Refusal(f"nightly run {going} is still going: a run now would be skipped; follow it with "
                      "`vpdn nightly show`", RefusalKind.conflict)
    before = {action.action.workflow_id for action in description.info.recent_actions}
    await handle.trigger()
    for _ in range(START_WAIT_S * 5):  # the schedule starts it within a moment
        info = (await handle.describe()).info
        started = [action for action in info.running_actions if action.workflow_id not in before] or [
            action.action for action in info.recent_actions if action.action.workflow_id not in before]
        if started:
            return await _run_view(client, started[-1].workflow_id, _zone(description),
                                   started[-1].first_execution_run_id)
        await asyncio.sleep(0.2)
    raise Unavailable(f"the schedule {handle.id} did not start the run within {START_WAIT_S} s: are the workers "
                      "running? See `vpdn nightly show`")


@router.get("/runs/{workflow_id}", response_model=NightlyRunView)
async def show_run(request: Request, workflow_id: str, _: Reader) -> NightlyRunView:
    """One nightly run: running, or its counts, or why it failed."""
    client, handle = await _schedule(request)
    if not workflow_id.startswith(reconciliation_ids(request.app.state.intake.settings.task_queue)[1]):
        raise Refusal(f"no nightly run {workflow_id}", RefusalKind.not_found)
    return await _run_view(client, workflow_id, _zone(await _described(handle)))
