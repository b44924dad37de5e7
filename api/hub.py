"""The hub's door: what the provinces tell GPMS through the HQ hub, POSTed as the `hub` role.

- a completion report (报竣) names its work order by the opaque correlation reference the
  work order carried (`store/correlations.py`); it is handed to that order's workflow;
- a member's own number change or cancellation (换号, 销号) goes to the intake, which keeps it
  and hands it to the service's member-changes workflow;
- a customer record change (客户信息同步) goes to the intake and the customer's sync workflow.

Each is idempotent by its id (report id, notification id, customer + province + version): a
repeat is answered 202 again and changes nothing. 202 means the message is durably with its
workflow (the signal was taken); a 4xx says in one line why it never will be; a 503 asks the
hub to send it again later.
"""

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel
from temporalio.service import RPCError

from api.auth import Role, require
from intake import Intake
from models.customer import CustomerChange
from models.hub import CompletionReport, HubReport
from models.member_changes import MemberNotification
from refusal import Refusal, RefusalKind, Unavailable
from store import OrderStore

router = APIRouter(prefix="/hub", tags=["hub"], dependencies=[Depends(require(Role.hub))])

T = TypeVar("T")


class Taken(BaseModel):
    """GPMS has the message: what becomes of it (and, for a member change, the service whose
    member it is)."""

    detail: str
    service_id: str | None = None


async def handed(delivery: Awaitable[T]) -> T:
    """A delivery to Temporal; the engine unreachable is a 503 the hub retries, not a 500."""
    try:
        return await delivery
    except (RPCError, RuntimeError) as error:
        raise Unavailable(f"GPMS cannot reach its order engine ({error}): send the message again later") from None


@router.post("/completion-reports", status_code=status.HTTP_202_ACCEPTED)
async def completion_report(report: HubReport, request: Request) -> Taken:
    """A province's completion report for a work order GPMS sent. Refused (404) for a
    reference GPMS never sent; one from another province, system or operation than the work
    order went to is refused (422) and recorded on the order as unexpected, never applied."""
    store: OrderStore = request.app.state.store
    intake: Intake = request.app.state.intake
    found = await asyncio.to_thread(store.correlations.resolve, report.correlation)
    if found is None:
        raise Refusal(f"report {report.report_id}: no work order was sent with correlation reference "
                      f"{report.correlation}", RefusalKind.not_found)
    work_order, first_report = found
    if first_report == report.report_id:
        return Taken(detail=f"report {report.report_id} was already delivered: nothing changes")
    await handed(intake.completion_report(work_order.workflow_id, CompletionReport(
        **report.model_dump(exclude={"correlation"}), idempotency_key=work_order.idempotency_key)))
    sent_to = (work_order.province, work_order.system, work_order.operation)
    if (report.province, report.system, report.operation) != sent_to:
        raise Refusal(f"report {report.report_id} comes from {report.province} {report.system} {report.operation}, "
                      f"but its work order went to {' '.join(sent_to)}: recorded on the order as unexpected, not applied")
    await asyncio.to_thread(store.correlations.delivered, report.correlation, report.report_id)
    return Taken(detail=f"report {report.report_id} delivered to its order")


@router.post("/member-changes", status_code=status.HTTP_202_ACCEPTED)
async def member_change(notification: MemberNotification, request: Request) -> Taken:
    """A CRM's notification that a member cancelled or changed its number: refused (422) with
    the reason when it fails its checks, 409 for a notification id received with other content."""
    intake: Intake = request.app.state.intake
    service_id = await handed(intake.member_notification(notification.model_dump()))
    return Taken(detail=f"notification {notification.notification_id} received for service {service_id}: "
                        "its orders are queued on the service once it is checked", service_id=service_id)


@router.post("/customer-changes", status_code=status.HTTP_202_ACCEPTED)
async def customer_change(change: CustomerChange, request: Request) -> Taken:
    """A CRM's changed record of a group customer, applied in the order of the province's
    record versions; a version not newer than the one received is taken and ignored."""
    intake: Intake = request.app.state.intake
    _workflow_id, ignored = await handed(intake.customer_change(change.model_dump()))
    return Taken(detail=ignored or f"version {change.version} of the {change.province} record of customer "
                                   f"{change.customer_code} handed to its sync")
