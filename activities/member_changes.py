"""Activities of members' own number changes: check a CRM's notification, then stage and
queue the orders it causes. The numbers are read from the order store; what goes back to
the workflow (orders, a refusal's reason) never names one."""

import asyncio
from collections.abc import Awaitable, Callable

from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from adapters.crm import ProvincialCrm
from adapters.hub import HubRejected
from models.hub import idempotency_key
from models.member_changes import NotificationCheck, NotificationView, QueuedChange, standing_refusal
from models.members import MemberLine, MemberOrder, verification_failure
from models.provinces import HQ
from models.service import ServiceView
from models.service_orders import ServiceOrder, SubmissionAnswer
from store import OrderStore, StagingConflict
from workflows.common import failure_text

Submit = Callable[[ServiceOrder], Awaitable[SubmissionAnswer]]


class MemberChangeActivities:
    def __init__(self, crm: ProvincialCrm, store: OrderStore, submit: Submit) -> None:
        self._crm = crm
        self._store = store
        self._submit = submit

    @activity.defn
    async def check_notification(self, notification_id: str) -> NotificationCheck:
        """Check a CRM's notification before anything is staged: the service is active, the
        old number is an active member of it, the notifying province is that number's home
        province, and a new number is valid in its home CRM (member verification through the
        hub; key: (MCH-<id>, "verify_new_number", HQ)). A refusal is recorded with its
        reason. Checked once: a retry or a repeat gets the recorded answer."""
        notification = await asyncio.to_thread(self._store.notifications.get, notification_id)
        if notification is None:
            raise ApplicationError(f"no notification {notification_id}", type="UnknownNotification",
                                   non_retryable=True)
        service = await asyncio.to_thread(self._store.services.get_service, notification.service_id)
        if notification.state == "received":
            if reason := await self._refusal(notification, service):
                await asyncio.to_thread(self._store.notifications.refuse, notification_id, reason)
            else:
                await asyncio.to_thread(self._store.notifications.accept, notification_id,
                                        [order_no for order_no, _ in notification.order_numbers()])
            notification = await asyncio.to_thread(self._store.notifications.get, notification_id)
        if notification.state == "refused":
            return NotificationCheck(refused=notification.reason)
        return NotificationCheck(orders=[
            MemberOrder(order_no=order_no, kind=kind, service_id=service.service_id,
                        customer_code=service.customer_code, apn=service.apn,
                        access_province=service.access_province, provinces=service.provinces, member_count=1,
                        requested_by=f"crm-{notification.province}", pre_approved_by=f"crm-{notification.province}")
            for order_no, kind in notification.order_numbers()])

    async def _refusal(self, notification: NotificationView, service: ServiceView | None) -> str:
        """Why the notification changes nothing ("" when it passes every check)."""
        home = await asyncio.to_thread(self._store.members.active_member_home, notification.service_id,
                                       notification.msisdn)
        if refusal := standing_refusal(notification.service_id, service and service.state, home,
                                       notification.province):
            return refusal
        if notification.new_msisdn is None:
            return ""
        key = idempotency_key(notification.order_numbers()[0][0], "verify_new_number", HQ)
        try:
            [answer] = await self._crm.verify_members([notification.new_msisdn], key)
        except HubRejected as rejection:
            return f"the new number could not be verified: {rejection.code} {rejection.text}"
        if failure := verification_failure(answer):
            return f"the new number is refused by its home CRM: {failure[0]} {failure[1]}"
        return ""

    @activity.defn
    async def queue_order(self, change: QueuedChange) -> bool:
        """Stage the order's member (the notification's old or new number) and queue the
        order on its service like every other order. False when the service refuses it (a
        closure was accepted before): recorded on the notification. Idempotent: an order
        recorded before is not queued again."""
        order = change.order
        if await asyncio.to_thread(self._store.orders.get_order, order.order_no):
            return True
        notification = await asyncio.to_thread(self._store.notifications.get, change.notification_id)
        member = MemberLine(msisdn=notification.new_msisdn if order.kind == "join" else notification.msisdn)
        try:
            staged = await asyncio.to_thread(self._store.staging.stage, order.order_no, order.service_id,
                                             order.kind, [member])
        except StagingConflict:
            return await self._refused(change, f"order {order.order_no} is bound to other members")
        try:
            await self._submit(order)
        except WorkflowUpdateFailedError as error:
            if staged:
                await asyncio.to_thread(self._store.staging.discard, order.order_no)
            return await self._refused(change, f"order {order.order_no} refused: {failure_text(error.cause)}")
        return True

    async def _refused(self, change: QueuedChange, reason: str) -> bool:
        await asyncio.to_thread(self._store.notifications.refuse, change.notification_id, reason)
        return False
