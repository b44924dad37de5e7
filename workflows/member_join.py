"""Process 7, member join (成员加入): verification, audit, then per home-province batches.

Per batch: the home CRM's member opening order with only that province's users; HLR VPDN
subscription and member billing (rental from the next day) in the home province; then the
access CRM's opening order with the batch's users, AAA accounts and each password by SMS;
each CRM reports completion. A member a province refuses fails alone and what it left is
removed; a province that fails a whole batch fails that batch's members alone. The order
ends completed, partial or failed from its members.
"""

from datetime import timedelta

from temporalio import workflow

from workflows.common import BEIJING, fan_out
from workflows.member_orders import MemberOrderWorkflow

with workflow.unsafe.imports_passed_through():
    from activities.aaa import AaaActivities
    from activities.billing import MemberBillingActivities
    from activities.crm import CrmActivities
    from activities.hlr import HlrActivities
    from models.members import (
        BatchRef,
        ItemState,
        MemberOrder,
        MemberOrderResult,
        MemberOrderStep,
        MemberStep,
        VerificationPage,
    )
    from models.orders import OrderState, OrderType
    from models.provinces import HQ

VERIFICATION_PAGE = 1000
BATCHES_KNOWN_TO_UNDO = "join-undo-knows-its-batches"


@workflow.defn
class MemberJoin(MemberOrderWorkflow):
    order_type = OrderType.member_join

    @workflow.init
    def __init__(self, order: MemberOrder) -> None:
        self._setup_members(order)

    @workflow.run
    async def run(self, order: MemberOrder) -> MemberOrderResult:
        return await self._run_order(self._join())

    async def _join(self) -> MemberOrderResult:
        order, tracker = self._order, self._tracker
        batches = order.resume_batches
        if batches is None:
            await self._accept()
            await tracker.record("member verification", state=OrderState.in_progress,
                                 sub_state=f"verifying {order.member_count} members with their home CRMs")
            valid, batches = await self._verify()
            await self._business_audit(order.pre_approved_by)
            if batches is None:  # pages recorded before verification cut the batches
                batches = await self._assign_batches()
            await tracker.record(
                f"opening {valid} members in {len({b.home_province for b in batches})} home provinces",
                state=OrderState.in_progress, sub_state=f"opening {len(batches)} batches")
        # Nothing reaches a province before the audit: only from here on is there anything to undo.
        self._saga.add("remove the members joined so far", lambda attempt: self._remove_all(attempt, batches))
        await self._run_batches(batches, order.resume_from)
        return await self._finish()

    async def _verify(self) -> tuple[int, list[BatchRef] | None]:
        """Member verification (成员核查), a page of numbers per call to the hub: how many
        are valid, and their batches (cut by the page that completed the verification; the
        choice follows the pages' recorded results, so a replay takes it as the run did)."""
        order = self._order
        pages = range((order.member_count + VERIFICATION_PAGE - 1) // VERIFICATION_PAGE)
        outcomes = await fan_out(pages, lambda page: self._provinces.call(
            f"member verification page {page + 1}", HQ, CrmActivities.verify_members,
            VerificationPage(order_no=order.order_no, page=page, size=VERIFICATION_PAGE)))
        valid, invalid = sum(o.ok for o in outcomes), sum(o.failed for o in outcomes)
        await self._tracker.record("member verification done",
                                   detail=f"{valid} valid, {invalid} refused (see vpdn order members)")
        return valid, next((o.batches for o in outcomes if o.batches is not None), None)

    async def _batch(self, ref: BatchRef) -> None:
        home, access = self._batch_of(ref), self._batch_of(ref, self._order.access_province)
        rental_start = (workflow.now().astimezone(BEIJING).date() + timedelta(days=1)).isoformat()

        async def in_home_province() -> None:
            await self._work_order("member opening order", CrmActivities.member_order, MemberOrderStep(
                batch=home, stage="member_opening_order", acting_on=ItemState.valid,
                operation="member_opening_order"), effective_from=rental_start)
            if (await self._members_step("HLR subscription", HlrActivities.subscribe_members, MemberStep(
                    batch=home, stage="hlr_subscribe", acting_on=ItemState.valid))).failed:
                await self._remove_failed(ref, "hlr_subscribe")
            if (await self._members_step("member billing", MemberBillingActivities.open_members, MemberStep(
                    batch=home, stage="billing_open", acting_on=ItemState.valid, ok_state=ItemState.home_done,
                    rental_start=rental_start))).failed:
                await self._remove_failed(ref, "billing_open")

        async def in_access_province() -> None:
            await self._work_order("access opening order", CrmActivities.member_order, MemberOrderStep(
                batch=access, stage="access_opening_order", acting_on=ItemState.home_done,
                operation="access_opening_order"))
            if (await self._members_step("AAA accounts and passwords", AaaActivities.create_accounts, MemberStep(
                    batch=access, stage="aaa_create", acting_on=ItemState.home_done))).failed:
                await self._remove_failed(ref, "aaa_create")

        if await self._guarded(ref, "home_province", [ItemState.valid, ItemState.home_done], in_home_province()):
            await self._guarded(ref, "access_province", [ItemState.home_done], in_access_province())

    async def _remove_all(self, attempt: int, batches: list[BatchRef]) -> None:
        """Compensation of a cancelled or failed join: every member not yet done fails, and
        what it left behind is removed."""
        if not workflow.patched(BATCHES_KNOWN_TO_UNDO):  # joins undone before: they asked the store again
            batches = self._order.resume_batches or await self._assign_batches()

        async def undo(ref: BatchRef) -> None:
            await self._fail_batch(ref, [ItemState.valid, ItemState.home_done], f"cancelled-{attempt}",
                                   "the order was cancelled or failed")
            await self._remove_failed(ref, f"cancelled-{attempt}")

        await fan_out(batches, undo)
