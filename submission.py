"""Starting workflows from outside: an order's workflow (its id from the order number,
duplicates refused, the operators' search attributes set from the first moment), and the
provincial CRMs' member notifications (signal-with-start)."""

from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy

from models import search_attributes
from models.members import MemberChangesState, MemberNotification
from models.orders import OrderType, member_changes_workflow_id, workflow_id_for
from workflows.member_changes import NOTIFY_SIGNAL, MemberChanges


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
        search_attributes=search_attributes.for_new_order(order_type, customer_code, provinces),
        static_summary=summary,
    )


async def notify_member_change(
    client: Client, task_queue: str, service: MemberChangesState, notification: MemberNotification
) -> WorkflowHandle:
    """Deliver a CRM's notification to the service's member-changes workflow, starting it
    if it is not running (signal-with-start)."""
    return await client.start_workflow(
        MemberChanges.run,
        service,
        id=member_changes_workflow_id(service.service_id),
        task_queue=task_queue,
        start_signal=NOTIFY_SIGNAL,
        start_signal_args=[notification],
        static_summary=f"members' own number changes of {service.apn}",
    )
