"""Starting workflows from outside: an order's workflow (its id from the order number,
duplicates refused, the operators' search attributes set from the first moment), an order
on an existing service (queued on that service, update-with-start), and the provincial
CRMs' member notifications and customer record changes (signal-with-start)."""

from typing import Any

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from models import search_attributes
from models.customer import CUSTOMER_CHANGE_SIGNAL, CustomerChange, CustomerSyncState, customer_sync_workflow_id
from models.member_changes import MemberChangesState, NotificationRef
from models.orders import OrderType, member_changes_workflow_id, service_orders_workflow_id, workflow_id_for
from models.service_orders import ServiceOrder, ServiceOrdersState, Submission, SubmissionAnswer
from models.ui_metadata import fit, order_metadata
from workflows.customer_sync import CustomerSync
from workflows.member_changes import NOTIFY_SIGNAL, MemberChanges
from workflows.service_orders import ServiceOrders


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
) -> WorkflowHandle:
    """Start the workflow of one order. Raises WorkflowAlreadyStartedError when that order
    number was ever submitted before: the same order never runs twice."""
    metadata = order_metadata(order_type, order_no, customer_code, provinces, apn=getattr(order, "apn", None),
                              service_id=getattr(order, "service_id", None),
                              requested_by=getattr(order, "requested_by", None))
    return await client.start_workflow(
        run,
        order,
        id=workflow_id_for(order_type, order_no),
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=search_attributes.for_new_order(order_type, customer_code, provinces),
        static_summary=metadata.summary,
        static_details=metadata.details,
    )


async def notify_member_change(client: Client, task_queue: str, service_id: str, notification_id: str) -> WorkflowHandle:
    """Hand a CRM's notification (stored under its id; the signal carries nothing else) to
    the service's member-changes workflow, starting it if it is not running
    (signal-with-start)."""
    return await client.start_workflow(
        MemberChanges.run,
        MemberChangesState(service_id=service_id),
        id=member_changes_workflow_id(service_id),
        task_queue=task_queue,
        start_signal=NOTIFY_SIGNAL,
        start_signal_args=[NotificationRef(notification_id=notification_id)],
        static_summary=fit(f"members' own number changes · service {service_id}"),
        static_details=f"**members' own number changes** of service {service_id}\n\n"
                       "The provincial CRMs' notifications of a member's cancelled or changed number, taken one "
                       "at a time; each becomes exit/join orders on the service's queue.",
    )


async def notify_customer_change(client: Client, task_queue: str, change: CustomerChange) -> WorkflowHandle:
    """Deliver a provincial CRM's changed customer record to the customer's sync workflow,
    starting it if it is not running (signal-with-start)."""
    return await client.start_workflow(
        CustomerSync.run,
        CustomerSyncState(customer_code=change.customer_code),
        id=customer_sync_workflow_id(change.customer_code),
        task_queue=task_queue,
        start_signal=CUSTOMER_CHANGE_SIGNAL,
        start_signal_args=[change],
        static_summary=fit(f"customer information sync · customer {change.customer_code}"),
        static_details=f"**customer information sync** of customer {change.customer_code}\n\n"
                       "The provincial CRMs' changed records of this group customer, applied one at a time, "
                       "per province in the order of the province's record versions.",
    )


async def submit_service_order(client: Client, task_queue: str, order: ServiceOrder) -> SubmissionAnswer:
    """Queue an order on its service's one-order-at-a-time workflow, starting that workflow
    if needed (update-with-start). Raises WorkflowUpdateFailedError with the reason when the
    service refuses it (closing, duplicate)."""
    return await client.execute_update_with_start_workflow(
        ServiceOrders.submit,
        Submission(order=order),
        start_workflow_operation=WithStartWorkflowOperation(
            ServiceOrders.run,
            ServiceOrdersState(service_id=order.service_id),
            id=service_orders_workflow_id(order.service_id),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            task_queue=task_queue,
            static_summary=fit(f"order queue · service {order.service_id} · customer {order.customer_code}"),
            static_details=f"**order queue** of service {order.service_id} (customer {order.customer_code})\n\n"
                           "The orders on this service, run one at a time as child workflows.",
        ),
    )
