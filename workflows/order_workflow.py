"""What every order workflow shares: the business audit, the provinces' reports, people's
decisions (updates with validators), cancellation, and compensation that holds the order
for a person when an undo fails."""

import asyncio
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, ClassVar, Generic, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.common import OrderTracker, failure_text, fan_out, four_eyes
from workflows.fallout import Fallouts
from workflows.provinces import ProvinceWork
from workflows.saga import Saga

with workflow.unsafe.imports_passed_through():
    from activities.billing import RentalActivities
    from activities.order_store import OrderStoreActivities
    from models.acceptance import TableRequest
    from models.fallout import FalloutDecision
    from models.hub import REPORT_SIGNAL, CompletionReport
    from models.orders import (
        CompensationDecision,
        Decision,
        OrderState,
        OrderStatus,
        OrderType,
        TERMINAL_STATES,
    )
    from models.provinces import HQ
    from models.service import ReportTimers
    from models.service_steps import RentalStart, ServiceStep

ACCEPTANCE_TABLE_PATCH = "acceptance-table"
TABLE_TIMEOUT = timedelta(minutes=5)  # a 100 000-member table is written in one transaction
AWAITING_AUDIT = "awaiting business audit"
AWAITING_RENTAL_CONFIRMATION = "awaiting the customer's rental-start confirmation"
ORDER_REJECTED = "OrderRejected"
ORDER_FAILED = "OrderFailed"
UNDO_ONLY_WHAT_WAS_DONE = "undo-only-where-done"

Result = TypeVar("Result")


class Rejected(Exception):
    """The order is refused (audit rejected, bad order): nothing to do in the provinces."""


class OrderWorkflow(Generic[Result]):
    """Base of the order workflows. A subclass sets `order_type`, calls `_setup` from its
    `__init__`, runs its steps with `_run_order`, and says what its result is in a state."""

    order_type: ClassVar[OrderType]

    def _setup(self, order_no: str, timers: ReportTimers, requested_by: str, service_id: str = "") -> None:
        self._order_no = order_no
        self._service_id = service_id
        self._requested_by = requested_by  # who may not decide its audit, skips or undos by hand
        self._tracker = OrderTracker(order_no, self.order_type)
        self._fallouts = Fallouts(self._tracker, requested_by)
        self._provinces = ProvinceWork(self._tracker, timers, self._fallouts)
        self._saga = Saga(self._tracker)
        self._audit: tuple[bool, Decision] | None = None
        self._rental_confirmation: Decision | None = None
        self._cancellation: Decision | None = None
        self._compensation_decision: CompensationDecision | None = None
        self._flow: asyncio.Task | None = None

    async def _result(self, state: OrderState) -> Result:
        """The order's result when it ends `state` without completing its steps."""
        raise NotImplementedError

    async def _run_order(self, steps: Coroutine[Any, Any, Result]) -> Result:
        """Run the order's steps; on a rejection, a failure or a cancellation undo what was
        done and end the order rejected, failed or cancelled."""
        self._flow = asyncio.create_task(steps)
        try:
            result = await self._flow
        except Rejected as rejection:
            await self._saga.compensate()
            await self._tracker.record("order rejected", state=OrderState.rejected, detail=str(rejection))
            raise ApplicationError(str(rejection), type=ORDER_REJECTED, non_retryable=True) from None
        except asyncio.CancelledError:
            result = await self._cancelled()
        except (ActivityError, ApplicationError) as failure:
            if self._cancellation is None:
                await self._unwind(OrderState.failed, failure_text(failure), "gpms")
                raise ApplicationError(f"{self.order_type} failed: {failure_text(failure)}",
                                       type=ORDER_FAILED, non_retryable=True) from None
            result = await self._cancelled()  # what failed meanwhile is undone with the rest
        await workflow.wait_condition(workflow.all_handlers_finished)
        return result

    async def _cancelled(self) -> Result:
        """An accepted cancellation: everything done is undone, and the order ends cancelled."""
        cancellation = self._cancellation or Decision(by="temporal", reason="workflow cancelled")
        return await self._unwind(OrderState.cancelled,
                                  f"cancelled by {cancellation.by}: {cancellation.reason}", cancellation.by)

    async def _business_audit(self, pre_approved_by: str | None) -> None:
        """Business audit (业务审核): done outside GPMS, or a person approves or rejects."""
        tracker = self._tracker
        if pre_approved_by:  # a reference the submitter entered: the submitter is the actor
            await tracker.record("business audit approved outside GPMS", actor=self._requested_by,
                                 detail=f"by {pre_approved_by}, as entered by {self._requested_by}")
            return
        await tracker.record("order waits for its business audit", state=OrderState.pending, sub_state=AWAITING_AUDIT)
        await workflow.wait_condition(lambda: self._audit is not None)
        approved, decision = self._audit
        if not approved:
            raise Rejected(f"business audit rejected by {decision.by}: {decision.reason}")
        await tracker.record("business audit approved", actor=decision.by, detail=decision.reason)

    async def _unwind(self, final: OrderState, cause: str, actor: str) -> Result:
        """Compensate, then end `final`; an undo that fails holds the order until a person
        has it retried or says it was done by hand. The audit trail is written as it goes,
        but a failed write never stops the compensation."""
        tracker = self._tracker
        self._provinces.compensating = True
        await tracker.note("compensating", state=OrderState.in_progress, sub_state=f"compensating: {cause}",
                           detail=cause, actor=actor)
        while failed := await self._saga.compensate():
            await tracker.note(
                "held: compensation failed", state=OrderState.held,
                sub_state=f"compensation failed: {', '.join(failed)}", detail=cause,
            )
            self._compensation_decision = None
            await workflow.wait_condition(lambda: self._compensation_decision is not None)
            decision = self._compensation_decision
            if decision.action == "done_by_hand":
                await tracker.note(f"compensation finished by hand: {', '.join(failed)}", state=final,
                                   actor=decision.by, detail=decision.reason or cause)
                return await self._result(final)
            await tracker.note("compensation retried", state=OrderState.in_progress, actor=decision.by,
                               sub_state=f"compensating: {cause}", detail=decision.reason)
        await tracker.note(f"order {final}", state=final, detail=cause, actor=actor)
        return await self._result(final)

    def _step(self, province: str, attempt: int = 1) -> ServiceStep:
        """This order's step at a province on its service (the idempotency key's parts)."""
        return ServiceStep(order_no=self._order_no, service_id=self._service_id, province=province,
                           attempt=attempt)

    async def _in_every_province(
        self, name: str, provinces: list[str], activity: Any, arg: Callable[[str, int], Any],
        undo_name: str, undo_activity: Any, undo_arg: Callable[[str, int], Any],
    ) -> None:
        """One work order to each province at once, each reported complete; the undo (in
        every province that was asked, except one that refused it) is registered before any is sent. `arg(province,
        attempt)` and `undo_arg(province, attempt)` build the activities' arguments."""
        asked: list[str] = []

        def to_undo() -> list[str]:
            if not workflow.patched(UNDO_ONLY_WHAT_WAS_DONE):  # orders undone before asked every province
                return list(asked)
            return [province for province in asked if not self._provinces.refused(name, province)]

        self._saga.add(undo_name, lambda attempt: fan_out(to_undo(), lambda province: self._provinces.run(
            undo_name, province, undo_activity, undo_arg(province, attempt))))

        async def one(province: str) -> None:
            asked.append(province)
            await self._provinces.run(name, province, activity, arg(province, 1))

        await self._provinces.in_every_province(name, provinces, one)

    async def _rental_starts(self, rental: Callable[..., RentalStart], off_site_payment: bool) -> None:
        """The rental starts in the access province's billing and, when another province
        pays (异地付费), at HQ settlement; `rental(attempt)` builds the rental."""
        access = rental().province
        self._saga.add("stop the rental", lambda attempt: self._provinces.run(
            "stop rental", access, RentalActivities.stop_rental, rental(attempt)))
        await self._provinces.run("rental start", access, RentalActivities.start_rental, rental())
        if off_site_payment:
            self._saga.add("withdraw the settlement record", lambda attempt: self._provinces.run(
                "withdraw settlement record", HQ, RentalActivities.cancel_settlement, rental(attempt)))
            await self._provinces.run("rental start to HQ settlement", HQ, RentalActivities.record_settlement,
                                      rental())

    async def _keep_acceptance_table(self, request: TableRequest) -> None:
        """Compile the acceptance basic information table (VPDN业务受理基础信息表) of the order
        and keep it with the order (orders started before tables existed keep none)."""
        if workflow.patched(ACCEPTANCE_TABLE_PATCH):
            await workflow.execute_activity_method(
                OrderStoreActivities.compile_acceptance_table, request, start_to_close_timeout=TABLE_TIMEOUT,
                summary="compile the acceptance basic information table")

    async def _wait_for_person(self, event: str, sub_state: str, decided: Any) -> None:
        """Put the order in `pending` with what it waits for, until `decided()` holds."""
        await self._tracker.record(event, state=OrderState.pending, sub_state=sub_state)
        await workflow.wait_condition(decided)

    def _require_pending(self, sub_state: str, verb: str, already_decided: bool) -> None:
        status = self._tracker.status
        if status.state != OrderState.pending or status.sub_state != sub_state or already_decided:
            raise ValueError(f"order {self._order_no} cannot be {verb}: it is {status.state}"
                             + (f" ({status.sub_state})" if status.sub_state else ""))

    # What people and provinces send

    @workflow.signal(name=REPORT_SIGNAL)
    async def report(self, report: CompletionReport) -> None:
        """A province's completion report (报竣); one the order does not believe is written
        to the audit trail and shown in its status. Once the order has ended, it is dropped."""
        if self._tracker.status.state in TERMINAL_STATES:
            workflow.logger.info("report %s for ended order %s dropped", report.report_id, self._order_no)
            return
        if unexpected := self._provinces.receive(report):
            await self._tracker.record("unexpected completion report ignored", detail=str(unexpected))

    @workflow.query
    def status(self) -> OrderStatus:
        return self._tracker.view()

    @workflow.update
    def approve(self, decision: Decision) -> str:
        self._audit = (True, decision)
        return f"order {self._order_no} approved by {decision.by}"

    @approve.validator
    def _validate_approve(self, decision: Decision) -> None:
        self._require_pending(AWAITING_AUDIT, "approved", self._audit is not None)
        four_eyes(self._order_no, self._requested_by, decision.by, "approves its business audit")

    @workflow.update
    def reject(self, decision: Decision) -> str:
        self._audit = (False, decision)
        return f"order {self._order_no} rejected by {decision.by}"

    @reject.validator
    def _validate_reject(self, decision: Decision) -> None:
        self._require_pending(AWAITING_AUDIT, "rejected", self._audit is not None)
        if not decision.reason:
            raise ValueError("a rejection needs a reason")
        four_eyes(self._order_no, self._requested_by, decision.by, "rejects its business audit")

    @workflow.update
    def confirm_rental(self, decision: Decision) -> str:
        self._rental_confirmation = decision
        return f"rental start of order {self._order_no} confirmed by {decision.by}"

    @confirm_rental.validator
    def _validate_confirm_rental(self, decision: Decision) -> None:
        self._require_pending(AWAITING_RENTAL_CONFIRMATION, "confirmed", self._rental_confirmation is not None)

    async def _customer_confirms_rental(self) -> None:
        """The customer confirms the rental start (确认起租): pending until `confirm_rental`."""
        await self._wait_for_person("rental start waits for the customer", AWAITING_RENTAL_CONFIRMATION,
                                    lambda: self._rental_confirmation is not None)
        confirmation = self._rental_confirmation
        await self._tracker.record("customer confirmed the rental start", state=OrderState.in_progress,
                                   actor=confirmation.by, detail=confirmation.reason)

    @workflow.update
    def cancel(self, decision: Decision) -> str:
        self._cancellation = decision
        self._provinces.cancelling = True
        self._flow.cancel()
        return f"order {self._order_no} is being cancelled and compensated"

    @cancel.validator
    def _validate_cancel(self, decision: Decision) -> None:
        if not decision.reason:
            raise ValueError("a cancellation needs a reason")
        if self._cancellation or self._flow is None or self._flow.done() or self._tracker.ending:
            status = self._tracker.status
            raise ValueError(f"order {self._order_no} can no longer be cancelled "
                             f"(it is {status.state}: {status.sub_state or 'finishing'})")

    @workflow.update
    def resolve_fallout(self, decision: FalloutDecision) -> str:
        self._fallouts.decision = decision
        return f"fallout {decision.fallout_id}: {decision.action} by {decision.by}"

    @resolve_fallout.validator
    def _validate_resolve_fallout(self, decision: FalloutDecision) -> None:
        self._fallouts.validate(decision)

    @workflow.update
    def resolve_compensation(self, decision: CompensationDecision) -> str:
        self._compensation_decision = decision
        return f"order {self._order_no}: compensation {decision.action} by {decision.by}"

    @resolve_compensation.validator
    def _validate_resolve_compensation(self, decision: CompensationDecision) -> None:
        if self._tracker.status.state != OrderState.held or self._compensation_decision is not None:
            raise ValueError(f"order {self._order_no} is not held for a failed compensation")
        if decision.action == "done_by_hand":
            four_eyes(self._order_no, self._requested_by, decision.by, "records its compensation done by hand")
