"""Process 9, member plan change (成员套餐变更): modelled on member join, as the slides draw
no chart for it.

Order accepted → business audit → per home-province batches of the members: the home CRM's
member plan change order with only that province's members, and its completion report;
then the members' billing moves to the plan from a date per the rental rules (next day, or
next month). No HLR or AAA change. A member that fails keeps its old plan everywhere: billing
gets back the plan GPMS records for it (that record changes only for members done). The
members done are recorded on the new plan; the order ends completed, partial or failed.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.common import BEIJING, STORE_TIMEOUT, fan_out
from workflows.member_orders import MemberOrderWorkflow

with workflow.unsafe.imports_passed_through():
    from activities.billing import MemberBillingActivities
    from activities.crm import CrmActivities
    from activities.order_store import OrderStoreActivities
    from models.members import BatchRef, ItemState, MemberOrderResult, MemberStep
    from models.orders import OrderState, OrderType
    from models.plans import FinishedPlanChange, MemberPlanChangeOrder, PlanStep


@workflow.defn
class MemberPlanChange(MemberOrderWorkflow):
    order_type = OrderType.member_plan_change
    done_verb = "moved to the new plan"

    @workflow.init
    def __init__(self, order: MemberPlanChangeOrder) -> None:
        self._setup_members(order)
        self._plan_from = ""

    @workflow.run
    async def run(self, order: MemberPlanChangeOrder) -> MemberOrderResult:
        return await self._run_order(self._change())

    async def _change(self) -> MemberOrderResult:
        order = self._order
        batches = order.resume_batches
        if batches is None:
            await self._accept()
            await self._business_audit(order.pre_approved_by)
        self._plan_from = self._first_billing_day()
        self._saga.add("put back the old plan of the members not done", lambda attempt: self._restore_all(attempt))
        if batches is None:
            batches = await self._assign_batches()
            await self._tracker.record(
                f"moving {order.member_count} members to plan {order.plan} from {self._plan_from}",
                state=OrderState.in_progress,
                sub_state=f"changing {len(batches)} batches in {len({b.home_province for b in batches})} "
                          "home provinces")
        await self._run_batches(batches, order.resume_from)
        return await self._finish()

    def _first_billing_day(self) -> str:
        """Billing changes per the rental rules: the next day, or the first of the next month."""
        today = workflow.now().astimezone(BEIJING).date()
        if self._order.plan_from == "next_month":
            return (today.replace(day=28) + timedelta(days=4)).replace(day=1).isoformat()
        return (today + timedelta(days=1)).isoformat()

    async def _batch(self, ref: BatchRef) -> None:
        order, home = self._order, self._batch_of(ref)

        def step(stage: str, ok_state: ItemState | None = None) -> PlanStep:
            return PlanStep(batch=home, stage=stage, acting_on=ItemState.valid, ok_state=ok_state,
                            plan=order.plan, plan_from=self._plan_from)

        async def in_home_province() -> None:
            await self._work_order("member plan change order", CrmActivities.member_plan_order,
                                   step("member_plan_order"), effective_from=self._plan_from)
            outcome = await self._members_step("member billing plan", MemberBillingActivities.change_plans,
                                               step("billing_plan", ItemState.home_done))
            if outcome.failed:
                await self._restore_plans(ref, "billing_plan")

        if not await self._guarded(ref, "home_province", [ItemState.valid], in_home_province(),
                                   remove_left_behind=False):
            await self._restore_plans(ref, "home_province")

    async def _restore_plans(self, ref: BatchRef, stage: str) -> None:
        """The members that failed at `stage` get back, in billing, the plan GPMS records."""
        name = "restore member billing plans"
        outcome = await self._members_step(name, MemberBillingActivities.restore_plans, MemberStep(
            batch=self._batch_of(ref), stage=f"undo-{stage}", acting_on=ItemState.failed, failed_stage=stage))
        if outcome.failed:
            raise ApplicationError(f"{name} failed for {outcome.failed} members of batch "
                                   f"{ref.home_province}#{ref.batch_no}", type="MemberCompensationFailed")

    async def _restore_all(self, attempt: int) -> None:
        """Compensation of a cancelled or failed plan change: every member not done fails, and
        billing gets its old plan back."""
        batches = self._order.resume_batches or await self._assign_batches()

        async def undo(ref: BatchRef) -> None:
            stage = f"cancelled-{attempt}"
            await self._fail_batch(ref, [ItemState.valid, ItemState.home_done], stage,
                                   "the order was cancelled or failed")
            await self._restore_plans(ref, stage)

        await fan_out(batches, undo)

    async def _record_done(self) -> None:
        order = self._order
        await workflow.execute_activity_method(
            OrderStoreActivities.finish_plan_change,
            FinishedPlanChange(order_no=order.order_no, service_id=order.service_id, plan=order.plan,
                               plan_from=self._plan_from, reports=self._reports),
            start_to_close_timeout=STORE_TIMEOUT, summary="record the members' new plan")
