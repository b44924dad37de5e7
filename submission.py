"""Starting an order's workflow: its id from the order number, duplicates refused, and the
search attributes operators filter by set from the first moment."""

from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy

from models import search_attributes
from models.orders import OrderState, OrderType, workflow_id_for


async def start_order(
    client: Client,
    task_queue: str,
    run: Any,
    order: Any,
    *,
    order_type: OrderType,
    order_no: str,
    customer_code: str,
    provinces: list[str],
    summary: str,
) -> WorkflowHandle:
    """Start the workflow of one order. Raises WorkflowAlreadyStartedError when that order
    number was ever submitted before: the same order never runs twice."""
    return await client.start_workflow(
        run,
        order,
        id=workflow_id_for(order_type, order_no),
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=TypedSearchAttributes([
            SearchAttributePair(search_attributes.ORDER_TYPE, order_type),
            SearchAttributePair(search_attributes.ORDER_STATE, OrderState.acknowledged),
            SearchAttributePair(search_attributes.CUSTOMER_CODE, customer_code),
            SearchAttributePair(search_attributes.PROVINCES, provinces),
            SearchAttributePair(search_attributes.JEOPARDY, False),
        ]),
        static_summary=summary,
    )
