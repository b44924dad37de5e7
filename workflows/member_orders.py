"""What member join and member exit share: batches of one home province each, run a few at
a time, with per-member results kept in the order store; a province-wide failure fails its
batch's members alone; long orders continue as new; the order rolls up from its members."""

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.common import BEIJING, STORE_TIMEOUT, failure_text, fan_out, in_store
from workflows.order_workflow import OrderWorkflow

with workflow.unsafe.imports_passed_through():
    from activities.aaa import AaaActivities
    from activities.billing import MemberBillingActivities
    from activities.hlr import HlrActivities
    from activities.order_store import OrderStoreActivities
    from models.members import (
        BatchOutcome,
        BatchReport,
        BatchRef,
        FailedBatch,
        FinishedMembers,
        ItemState,
        MemberBatch,
        MemberCounts,
        MemberOrder,
        MemberOrderResult,
        MemberStep,
    )
    from models.acceptance import TableRequest
    from models.orders import NewOrder, OrderState, roll_up, workflow_id_for

# Batches in flight at once per home province. A batch is one call (up to BATCH_SIZE members)
# at a time to its home province's CRM, HLR or billing, so 4 batches put at most 4 bulk calls
# (2 000 members) on a province's hub at once: well within what a provincial hub takes from
# GPMS, and no province waits behind another's batches. What the access province, which sees
# every batch's access steps, takes at once stays bounded by the worker's activity slots and
# the hub rate limit (VPDN_ACTIVITY_SLOTS, VPDN_HUB_RATE_LIMIT).
BATCHES_PER_PROVINCE = 4
# Orders started before the per-province windows ran 8 batches at once over all provinces.
BATCH_WINDOW = 8
WINDOW_PER_PROVINCE = "batch-window-per-province"
BATCH_FAILED = "E5000"


class MemberOrderWorkflow(OrderWorkflow[MemberOrderResult]):
    """Base of MemberJoin, MemberExit and MemberPlanChange; a subclass says what one batch
    does (and, if it differs, how its members done are recorded)."""

    done_verb = "joined"

    def _setup_members(self, order: MemberOrder) -> None:
        self._setup(order.order_no, order.timers, order.requested_by)
        self._order = order
        self._reports: list[BatchReport] = list(order.reports)  # the CRMs' completion reports

    async def _batch(self, ref: BatchRef) -> None:
        raise NotImplementedError

    async def _accept(self) -> None:
        order = self._order
        await self._tracker.accept(NewOrder(
            order_no=order.order_no, order_type=self.order_type,
            workflow_id=workflow_id_for(self.order_type, order.order_no),
            customer_code=order.customer_code, requested_by=order.requested_by,
            service_id=order.service_id,
        ))

    async def _run_batches(self, batches: list[BatchRef], first: int) -> None:
        """Run batches `first`…, a few per home province at a time; after `batches_per_run`
        of them continue as new, so the history of a 100 000-member order stays short."""
        order = self._order
        last = min(len(batches), first + order.batches_per_run)
        if workflow.patched(WINDOW_PER_PROVINCE):
            windows = {ref.home_province: asyncio.Semaphore(BATCHES_PER_PROVINCE) for ref in batches}
        else:
            windows = dict.fromkeys((ref.home_province for ref in batches), asyncio.Semaphore(BATCH_WINDOW))

        async def run(ref: BatchRef) -> None:
            async with windows[ref.home_province]:
                await self._batch(ref)

        await fan_out(batches[first:last], run)
        if last < len(batches):
            await self._tracker.record(f"{last} of {len(batches)} batches done; continuing as new")
            await workflow.wait_condition(workflow.all_handlers_finished)
            workflow.continue_as_new(order.model_copy(update={"resume_batches": batches, "resume_from": last,
                                                              "reports": self._reports}))

    def _batch_of(self, ref: BatchRef, province: str | None = None) -> MemberBatch:
        order = self._order
        return MemberBatch(order_no=order.order_no, service_id=order.service_id, apn=order.apn,
                           province=province or ref.home_province, batch_no=ref.batch_no,
                           home_province=ref.home_province)

    async def _members_step(self, name: str, activity: Any, step: MemberStep) -> BatchOutcome:
        """One batch step on a province's system; its per-member results counted in the status."""
        label = f"{name} {step.batch.home_province}#{step.batch.batch_no}"
        outcome: BatchOutcome = await self._provinces.call(label, step.batch.province, activity, step)
        self._tracker.find_step(label, step.batch.province).detail = f"{outcome.ok} ok, {outcome.failed} failed"
        return outcome

    async def _work_order(self, name: str, activity: Any, step: MemberStep, effective_from: str = "") -> None:
        """A CRM member order for a batch, sent and reported complete (the report's date kept
        for the acceptance table, with the date the change takes effect)."""
        batch = step.batch
        await self._provinces.run(f"{name} {batch.home_province}#{batch.batch_no}", batch.province, activity, step)
        self._reports.append(BatchReport(
            home_province=batch.home_province, batch_no=batch.batch_no, province=batch.province, stage=step.stage,
            reported_on=workflow.now().astimezone(BEIJING).date().isoformat(), effective_from=effective_from))

    async def _fail_batch(self, ref: BatchRef, from_states: list[ItemState], stage: str, cause: str) -> None:
        """A province-wide failure: the batch's members still in progress fail with the cause
        (the other batches go on)."""
        batch = f"batch {ref.home_province}#{ref.batch_no}"
        steps = [FailedBatch(order_no=self._order.order_no, home_province=ref.home_province, batch_no=ref.batch_no,
                             from_state=state, stage=stage, code=BATCH_FAILED, detail=cause) for state in from_states]
        for step in steps[:-1]:
            await in_store(OrderStoreActivities.fail_batch, step, f"{batch} failed")
        await self._tracker.record(f"{batch} failed at {stage}", detail=cause,
                                   after=(OrderStoreActivities.fail_batch, steps[-1], f"{batch} failed"))

    async def _remove_failed(self, ref: BatchRef, stage: str) -> None:
        """Remove what the members that failed at `stage` left behind: AAA account, HLR
        subscription, member billing (each only where present)."""
        steps = [
            ("remove AAA accounts", AaaActivities.remove_accounts, self._order.access_province),
            ("remove HLR subscriptions", HlrActivities.unsubscribe_members, ref.home_province),
            ("close member billing", MemberBillingActivities.close_members, ref.home_province),
        ]
        for name, activity, province in steps:
            outcome = await self._members_step(name, activity, MemberStep(
                batch=self._batch_of(ref, province), stage=f"undo-{stage}",
                acting_on=ItemState.failed, failed_stage=stage))
            if outcome.failed:
                raise ApplicationError(f"{name} failed for {outcome.failed} members of batch "
                                       f"{ref.home_province}#{ref.batch_no}", type="MemberCompensationFailed")

    async def _guarded(self, ref: BatchRef, stage: str, from_states: list[ItemState], steps: Any,
                       remove_left_behind: bool = True) -> bool:
        """Run a batch's steps in one province; if the province fails them for good, fail
        the batch's members still in `from_states` and remove what they left behind."""
        try:
            await steps
        except (ActivityError, ApplicationError) as error:
            await self._fail_batch(ref, from_states, stage, failure_text(error))
            if remove_left_behind:
                await self._remove_failed(ref, stage)
            return False
        return True

    async def _record_done(self) -> None:
        """Record the members done: joined ones `active` in the service, exited ones `exited`."""
        order = self._order
        await workflow.execute_activity_method(
            OrderStoreActivities.finish_members,
            FinishedMembers(order_no=order.order_no, service_id=order.service_id, kind=order.kind,
                            reports=self._reports),
            start_to_close_timeout=STORE_TIMEOUT, summary="record the members",
        )

    async def _finish(self) -> MemberOrderResult:
        """Members done are recorded; the order rolls up from its members."""
        order = self._order
        await self._record_done()
        counts = await self._counts()
        state = roll_up([OrderState.completed] * counts.done + [OrderState.failed] * (counts.invalid + counts.failed))
        if state in (OrderState.completed, OrderState.partial):
            await self._keep_acceptance_table(TableRequest(
                order_no=order.order_no, service_id=order.service_id, order_state=state,
                batch_reports=self._reports))
        await self._tracker.record(
            f"members {self.done_verb}: {counts.done} of {counts.requested}", state=state,
            detail=f"{counts.invalid} refused by member verification, {counts.failed} failed",
        )
        return MemberOrderResult(order_no=order.order_no, state=state, counts=counts)

    async def _counts(self) -> MemberCounts:
        return await in_store(OrderStoreActivities.member_counts, self._order.order_no, "count the members' results")

    async def _result(self, state: OrderState) -> MemberOrderResult:
        return MemberOrderResult(order_no=self._order.order_no, state=state, counts=await self._counts())

    async def _assign_batches(self) -> list[BatchRef]:
        return await workflow.execute_activity_method(
            OrderStoreActivities.assign_batches, self._order.order_no,
            start_to_close_timeout=STORE_TIMEOUT, summary="cut the members into batches")
