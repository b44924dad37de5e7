"""What the provinces' CRMs tell GPMS through the hub: members' own changes, customer record
changes and completion reports (报竣), each handed to the workflow that owns it."""

from temporalio.service import RPCError, RPCStatusCode

from intake.base import IntakeBase
from intake.validation import validated
from models.customer import CustomerChange, customer_sync_workflow_id
from models.hub import REPORT_SIGNAL, CompletionReport
from models.member_changes import MemberNotification, standing_refusal
from refusal import Refusal, RefusalKind
from store import NotificationConflict
from submission import notify_customer_change, notify_member_change
from workflows.customer_sync import CustomerSync


class ProvinceNoticeIntake(IntakeBase):
    async def member_notification(self, fields: dict) -> str:
        """A CRM's notification that a member cancelled or changed its number: kept in the
        store under its id; refused with the reason when GPMS's records refuse it (not a
        member, not its home province, service not active), else handed (by id only) to the
        service's member-changes workflow, which checks it again with the new number's home
        CRM and queues the orders it causes. Returns the service's id."""
        notification: MemberNotification = validated(MemberNotification, fields)
        service_id = self._store.members.service_of_member(notification.msisdn)
        if service_id is None:
            refused = "the number is not a member of any VPDN"
        else:
            service = self._store.services.get_service(service_id)
            refused = standing_refusal(service_id, service and service.state, self._store.members.active_member_home(
                service_id, notification.msisdn), notification.province)
        try:
            self._store.notifications.receive(notification, service_id, refused=refused)
        except NotificationConflict as error:
            raise Refusal(str(error), RefusalKind.conflict) from None
        if service_id is None:
            raise Refusal(f"{notification.msisdn} is not a member of any VPDN: nothing to do")
        if refused:
            raise Refusal(f"notification {notification.notification_id} changes nothing: {refused}")
        await notify_member_change(await self._connect(), self._settings.task_queue, service_id,
                                   notification.notification_id)
        return service_id

    async def customer_change(self, fields: dict) -> tuple[str, str]:
        """A CRM's changed record of a group customer; the customer's sync workflow applies it
        in version order. Returns the workflow's id, and why it is ignored when it is not
        newer than the version of that province's record already received (else "")."""
        change: CustomerChange = validated(CustomerChange, fields)
        client = await self._connect()
        try:
            latest = await client.get_workflow_handle(customer_sync_workflow_id(change.customer_code)).query(
                CustomerSync.latest_version, change.province)
        except RPCError:
            latest = 0  # no sync of this customer yet
        if change.version <= latest:
            return customer_sync_workflow_id(change.customer_code), (
                f"version {latest} of the {change.province} record was already received: "
                f"version {change.version} is {'a repeat' if change.version == latest else 'older'} and is ignored")
        handle = await notify_customer_change(client, self._settings.task_queue, change)
        return handle.id, ""

    async def completion_report(self, workflow_id: str, report: CompletionReport) -> None:
        """Hand a province's completion report to its order's workflow, which believes it only
        for a work order it sent (else records it as unexpected). Refused once the order has
        ended: the report changes nothing."""
        client = await self._connect()
        try:
            await client.get_workflow_handle(workflow_id).signal(REPORT_SIGNAL, report)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            raise Refusal(f"report {report.report_id}: its order has ended, the report changes nothing",
                          RefusalKind.conflict) from None
