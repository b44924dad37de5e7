"""What staff read when an order's workflow cannot answer its status query."""

from temporalio.client import WorkflowQueryFailedError

from models.orders import NewOrder, OrderState, OrderType
from reads import Reads
from tests.helpers import CUSTOMER


class FailingQueries:
    """A Temporal client whose workflows fail every query, as one whose task is failing does."""

    def get_workflow_handle(self, workflow_id: str) -> "FailingQueries":
        return self

    async def query(self, *args, **kwargs):
        raise WorkflowQueryFailedError("Workflow task failed")


async def test_a_status_whose_query_fails_is_what_the_order_store_says(store):
    store.orders.record_order(NewOrder(order_no="TRF-1", order_type=OrderType.tariff_change,
                                       workflow_id="vpdn-tariff-TRF-1", customer_code=CUSTOMER,
                                       requested_by="alice"), "accepted")

    async def connect():
        return FailingQueries()

    reads = Reads(store, connect)
    status = await reads.status(reads.order("TRF-1"))

    assert (status.order_no, status.state) == ("TRF-1", OrderState.acknowledged)
