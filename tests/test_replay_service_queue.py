"""A service's order queue replays when a worker that did not have it cached took a
submission together with the end of the order ahead of it (the update first): the live
answer named the ended order as the one ahead, the replay does not. Recorded on a dev server
with two `vpdn worker`s restarted between the orders of SVC-OPN-PT-0006 (payloads opened)."""

from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from codec import data_converter
from tests.conftest import PAYLOAD_KEYS
from worker import WORKFLOWS

HISTORY = Path(__file__).parent / "histories_regression" / "ServiceOrders-ahead_named_an_ended_order.json"


async def test_a_queue_whose_submission_came_with_the_end_of_the_order_ahead_replays():
    history = WorkflowHistory.from_json("vpdn-service-SVC-OPN-PT-0006", HISTORY.read_text())
    await Replayer(workflows=WORKFLOWS, data_converter=data_converter(PAYLOAD_KEYS),
                   debug_mode=True).replay_workflow(history)
