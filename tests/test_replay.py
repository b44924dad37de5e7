"""Every recorded history still replays on today's workflow code: a change that would break
running orders fails here. Refresh them (when a change is intended and guarded with
`workflow.patched`) as the README says."""

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from codec import data_converter
from tests.conftest import PAYLOAD_KEYS
from worker import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_every_workflow_type_has_recorded_histories():
    recorded = {path.name.rsplit("-", 1)[0] for path in HISTORIES}
    assert recorded == {workflow.__name__ for workflow in WORKFLOWS}


@pytest.mark.parametrize("path", HISTORIES, ids=[path.stem for path in HISTORIES])
async def test_recorded_history_replays(path: Path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    # debug_mode: no 2 s deadlock timer on a workflow activation. On a loaded machine a first
    # activation can take longer, and a replay, unlike a worker, does not retry the task.
    await Replayer(workflows=WORKFLOWS, data_converter=data_converter(PAYLOAD_KEYS),
                   debug_mode=True).replay_workflow(history)
