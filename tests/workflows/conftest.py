"""With VPDN_RECORD_HISTORIES=1, each workflow test leaves the histories of the workflows it
ran in tests/histories/ (one per workflow type and outcome, the first met), for the replay
test that guards running orders against non-deterministic changes."""

import os
from pathlib import Path

import pytest_asyncio
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
OUTCOMES = {WorkflowExecutionStatus.COMPLETED: "completed", WorkflowExecutionStatus.FAILED: "failed",
            WorkflowExecutionStatus.TERMINATED: "running"}  # long-lived ones end their tests terminated


@pytest_asyncio.fixture(autouse=True)
async def record_histories(client, settings):
    yield
    if not os.environ.get("VPDN_RECORD_HISTORIES") or not await has_visibility(client):
        return
    async for execution in client.list_workflows(f"TaskQueue = '{settings.task_queue}'"):
        outcome = OUTCOMES.get(execution.status)
        path = HISTORIES / f"{execution.workflow_type}-{outcome}.json"
        if outcome and not path.exists():
            history = await client.get_workflow_handle(execution.id, run_id=execution.run_id).fetch_history()
            path.write_text(history.to_json())


async def has_visibility(client) -> bool:
    """The time-skipping test server cannot list workflows; its tests record nothing."""
    try:
        await client.count_workflows()
    except RPCError:
        return False
    return True
