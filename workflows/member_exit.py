"""Process 7, member exit (成员退出): the reverse of a join, per home-province batch.

Per batch: the access province removes the members' AAA accounts and its CRM reports; the
home province removes their HLR subscriptions and member billing and its CRM reports. A
province that fails a batch fails its members alone (they stay in the VPDN, reported for a
person). Members done are recorded `exited`.
"""

from temporalio import workflow

from workflows.member_orders import MemberOrderWorkflow

with workflow.unsafe.imports_passed_through():
    from activities.aaa import AaaActivities
    from activities.billing import MemberBillingActivities
    from activities.crm import CrmActivities
    from activities.hlr import HlrActivities
    from models.members import BatchRef, ItemState, MemberOrder, MemberOrderResult, MemberOrderStep, MemberStep
    from models.orders import OrderState, OrderType


@workflow.defn
class MemberExit(MemberOrderWorkflow):
    order_type = OrderType.member_exit
    done_verb = "exited"

    @workflow.init
    def __init__(self, order: MemberOrder) -> None:
        self._setup_members(order)

    @workflow.run
    async def run(self, order: MemberOrder) -> MemberOrderResult:
        return await self._run_order(self._exit())

    async def _exit(self) -> MemberOrderResult:
        order = self._order
        batches = order.resume_batches
        if batches is None:
            await self._accept()
            await self._business_audit(order.pre_approved_by)
            batches = await self._assign_batches()
            await self._tracker.record(f"removing {order.member_count} members", state=OrderState.in_progress,
                                       sub_state=f"closing {len(batches)} batches")
        await self._run_batches(batches, order.resume_from)
        return await self._finish()

    async def _batch(self, ref: BatchRef) -> None:
        home, access = self._batch_of(ref), self._batch_of(ref, self._order.access_province)

        async def in_access_province() -> None:
            await self._members_step("remove AAA accounts", AaaActivities.remove_accounts, MemberStep(
                batch=access, stage="aaa_remove", acting_on=ItemState.valid))
            await self._work_order("access closing order", CrmActivities.member_order, MemberOrderStep(
                batch=access, stage="access_closing_order", acting_on=ItemState.valid,
                operation="access_closing_order"))

        async def in_home_province() -> None:
            await self._members_step("remove HLR subscriptions", HlrActivities.unsubscribe_members, MemberStep(
                batch=home, stage="hlr_unsubscribe", acting_on=ItemState.valid))
            await self._members_step("close member billing", MemberBillingActivities.close_members, MemberStep(
                batch=home, stage="billing_close", acting_on=ItemState.valid, ok_state=ItemState.home_done))
            await self._work_order("member closing order", CrmActivities.member_order, MemberOrderStep(
                batch=home, stage="member_closing_order", acting_on=ItemState.home_done,
                operation="member_closing_order"))

        # Nothing is put back when an exit fails: the members stay, reported for a person.
        left = [ItemState.valid, ItemState.home_done]
        if await self._guarded(ref, "access_province", left, in_access_province(), remove_left_behind=False):
            await self._guarded(ref, "home_province", left, in_home_province(), remove_left_behind=False)
