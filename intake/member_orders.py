"""Member orders: join, exit and plan change. The member file is read as a stream and
checked, its members staged (bound to the order number and the file's content), checked
against the service, and the order queued. Recording the order is the commit point: a
refused submission takes back what it staged, and never what another one did."""

from collections.abc import Callable
from datetime import timedelta
from typing import BinaryIO

from intake.base import IntakeBase
from intake.validation import list_some, validated
from models.member_file import MemberFile, MemberFileError
from models.members import MemberOrder
from models.orders import OrderType
from models.plans import MemberPlan, MemberPlanChangeOrder, PlanRefused, check_plan
from models.service_orders import SubmissionAnswer
from models.views import Accepted
from models.words import are, counted
from refusal import Refusal, RefusalKind
from store import StagingConflict

# A staging nobody submitted within this time is an orphan (its command died): cleared.
ORPHANS_CLEARED_AFTER = timedelta(minutes=15)


class MemberOrderIntake(IntakeBase):
    async def member_order(self, service_id: str, kind: str, member_file: bytes | BinaryIO,
                           fields: dict) -> Accepted:
        """Member join or exit (成员加入/退出): refused for a join of members already in the
        VPDN, or an exit of numbers that are not in it."""
        service = self.active_service(service_id, f"member {kind}")
        members, count = self._member_file(member_file)
        order: MemberOrder = validated(MemberOrder, {
            **fields, "kind": kind, "service_id": service.service_id, "customer_code": service.customer_code,
            "apn": service.apn, "access_province": service.access_province, "provinces": service.provinces,
            "member_count": count})
        answer = await self._stage_and_submit(order, members, self._refuse_members)
        return self._accepted(order.order_no, OrderType(f"member_{kind}"), service_id=service.service_id,
                              member_count=count, member_file_encoding=members.encoding, queue=answer)

    async def member_plan_change(self, service_id: str, member_file: bytes | BinaryIO, plan: dict,
                                 fields: dict) -> Accepted:
        """Member plan change (成员套餐变更): refused for numbers that are not members, a plan
        that does not fit the service's current tariff version, or one that changes nothing
        for some of the members."""
        service = self.active_service(service_id, "member plan change")
        members, count = self._member_file(member_file)
        parsed: MemberPlan = validated(MemberPlan, plan, "plan")
        try:
            check_plan(parsed, service.tariff, service.tariff_version)
        except PlanRefused as error:
            raise Refusal(str(error)) from None
        order: MemberPlanChangeOrder = validated(MemberPlanChangeOrder, {
            **fields, "service_id": service.service_id, "customer_code": service.customer_code, "apn": service.apn,
            "access_province": service.access_province, "provinces": service.provinces,
            "member_count": count, "plan": parsed.model_dump()})

        def refuse(order: MemberPlanChangeOrder) -> None:
            count, first = self._store.staging.refused_members(order.order_no, order.service_id, order.kind)
            if count:
                raise Refusal(f"{counted(count, 'number')} {are(count)} not an active member of service {order.service_id}: "
                              f"{list_some(first, count)}")
            on_plan, first = self._store.terms.staged_on_plan(order.order_no, order.service_id, parsed)
            if on_plan:
                raise Refusal(f"the plan changes nothing for {on_plan} members already on plan {parsed}: "
                              f"{list_some(first, on_plan)}")

        answer = await self._stage_and_submit(order, members, refuse)
        return self._accepted(order.order_no, OrderType.member_plan_change, service_id=service.service_id,
                              member_count=count, member_file_encoding=members.encoding, queue=answer)

    @staticmethod
    def _member_file(member_file: bytes | BinaryIO) -> tuple[MemberFile, int]:
        """The member file, checked (read as a stream), and how many members it lists."""
        members = MemberFile(member_file)
        try:
            return members, members.check()
        except MemberFileError as error:
            raise Refusal(str(error)) from None

    async def _stage_and_submit(self, order: MemberOrder, members: MemberFile,
                                refuse: Callable[[MemberOrder], None]) -> SubmissionAnswer:
        """Stage a member order's members, `refuse` what the service cannot take, then queue it."""
        self._check_order_no(order.order_no)
        self._store.staging.clear_orphans(ORPHANS_CLEARED_AFTER)
        try:
            staged = self._store.staging.stage(order.order_no, order.service_id, order.kind, members)
        except StagingConflict as conflict:
            raise Refusal(staging_conflict_text(conflict), RefusalKind.conflict) from None
        try:
            refuse(order)
            return await self._submit(order)
        except BaseException:
            if staged:
                self._store.staging.discard(order.order_no)
            raise

    def _refuse_members(self, order: MemberOrder) -> None:
        count, first = self._store.staging.refused_members(order.order_no, order.service_id, order.kind)
        if count and order.kind == "join":
            raise Refusal(f"{counted(count, 'member')} {are(count)} already in service {order.service_id}: {list_some(first, count)}")
        if count:
            raise Refusal(f"{counted(count, 'number')} {are(count)} not a member of service {order.service_id} (unknown or already "
                          f"exited): {list_some(first, count)}")


def staging_conflict_text(conflict: StagingConflict) -> str:
    if conflict.submitted:
        return f"order {conflict.order_no} was already submitted: its members cannot change; choose a new order number"
    return (f"order {conflict.order_no} is being submitted with other members (staged at "
            f"{conflict.staged_at:%H:%M:%S} UTC): choose a new order number (an interrupted submission is "
            f"cleared {int(ORPHANS_CLEARED_AFTER.total_seconds() // 60)} minutes after it was staged)")
