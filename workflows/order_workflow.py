"""What every order workflow shares: the business audit, the provinces' reports, people's
decisions (updates with validators), cancellation, and compensation that holds the order
for a person when an undo fails."""

import asyncio
from collections.abc import Coroutine
from typing import Any, ClassVar, Generic, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.common import OrderTracker, failure_text
from workflows.provinces import ProvinceWork
from workflows.saga import Saga

with workflow.unsafe.imports_passed_through():
    from models.hub import REPORT_SIGNAL, CompletionReport
    from models.orders import CompensationDecision, Decision, OrderState, OrderStatus, OrderType
    from models.service import ReportTimers

AWAITING_AUDIT = "awaiting business audit"
ORDER_REJECTED = "OrderRejected"
ORDER_FAILED = "OrderFailed"

Result = TypeVar("Result")


class Rejected(Exception):
    """The order is refused (audit rejected, bad order): nothing to do in the provinces."""


class OrderWorkflow(Generic[Result]):
    """Base of the order workflows. A subclass sets `order_type`, calls `_setup` from its
    `__init__`, runs its steps with `_run_order`, and says what its result is in a state."""

    order_type: ClassVar[OrderType]

    def _setup(self, order_no: str, timers: ReportTimers) -> None:
        self._order_no = order_no
        self._tracker = OrderTracker(order_no, self.order_type)
        self._provinces = ProvinceWork(self._tracker, timers)
        self._saga = Saga(self._tracker)
        self._audit: tuple[bool, Decision] | None = None
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
            cancellation = self._cancellation or Decision(by="temporal", reason="workflow cancelled")
            result = await self._unwind(OrderState.cancelled,
                                        f"cancelled by {cancellation.by}: {cancellation.reason}", cancellation.by)
        except (ActivityError, ApplicationError) as failure:
            await self._unwind(OrderState.failed, failure_text(failure), "gpms")
            raise ApplicationError(f"{self.order_type} failed: {failure_text(failure)}",
                                   type=ORDER_FAILED, non_retryable=True) from None
        await workflow.wait_condition(workflow.all_handlers_finished)
        return result

    async def _business_audit(self, pre_approved_by: str | None) -> None:
        """Business audit (业务审核): done outside GPMS, or a person approves or rejects."""
        tracker = self._tracker
        if pre_approved_by:
            await tracker.record("business audit approved outside GPMS", actor=pre_approved_by)
            return
        await tracker.record("order waits for its business audit", state=OrderState.pending, sub_state=AWAITING_AUDIT)
        await workflow.wait_condition(lambda: self._audit is not None)
        approved, decision = self._audit
        if not approved:
            raise Rejected(f"business audit rejected by {decision.by}: {decision.reason}")
        await tracker.record("business audit approved", actor=decision.by, detail=decision.reason)

    async def _unwind(self, final: OrderState, cause: str, actor: str) -> Result:
        """Compensate, then end `final`; an undo that fails holds the order until a person
        has it retried or says it was done by hand."""
        tracker = self._tracker
        await tracker.record("compensating", state=OrderState.in_progress, sub_state=f"compensating: {cause}",
                             detail=cause, actor=actor)
        while failed := await self._saga.compensate():
            await tracker.record(
                "held: compensation failed", state=OrderState.held,
                sub_state=f"compensation failed: {', '.join(failed)}", detail=cause,
            )
            self._compensation_decision = None
            await workflow.wait_condition(lambda: self._compensation_decision is not None)
            decision = self._compensation_decision
            if decision.action == "done_by_hand":
                await tracker.record(f"compensation finished by hand: {', '.join(failed)}", state=final,
                                     actor=decision.by, detail=decision.reason or cause)
                return await self._result(final)
            await tracker.record("compensation retried", state=OrderState.in_progress, actor=decision.by,
                                 sub_state=f"compensating: {cause}", detail=decision.reason)
        await tracker.record(f"order {final}", state=final, detail=cause, actor=actor)
        return await self._result(final)

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
    def report(self, report: CompletionReport) -> None:
        """A province's completion report (报竣)."""
        self._provinces.receive(report)

    @workflow.query
    def status(self) -> OrderStatus:
        return self._tracker.status

    @workflow.update
    def approve(self, decision: Decision) -> str:
        self._audit = (True, decision)
        return f"order {self._order_no} approved by {decision.by}"

    @approve.validator
    def _validate_approve(self, decision: Decision) -> None:
        self._require_pending(AWAITING_AUDIT, "approved", self._audit is not None)

    @workflow.update
    def reject(self, decision: Decision) -> str:
        self._audit = (False, decision)
        return f"order {self._order_no} rejected by {decision.by}"

    @reject.validator
    def _validate_reject(self, decision: Decision) -> None:
        self._require_pending(AWAITING_AUDIT, "rejected", self._audit is not None)
        if not decision.reason:
            raise ValueError("a rejection needs a reason")

    @workflow.update
    def cancel(self, decision: Decision) -> str:
        self._cancellation = decision
        self._flow.cancel()
        return f"order {self._order_no} is being cancelled and compensated"

    @cancel.validator
    def _validate_cancel(self, decision: Decision) -> None:
        if not decision.reason:
            raise ValueError("a cancellation needs a reason")
        if self._cancellation or self._flow is None or self._flow.done():
            status = self._tracker.status
            raise ValueError(f"order {self._order_no} can no longer be cancelled "
                             f"(it is {status.state}: {status.sub_state or 'finishing'})")

    @workflow.update
    def resolve_compensation(self, decision: CompensationDecision) -> str:
        self._compensation_decision = decision
        return f"order {self._order_no}: compensation {decision.action} by {decision.by}"

    @resolve_compensation.validator
    def _validate_resolve_compensation(self, decision: CompensationDecision) -> None:
        if self._tracker.status.state != OrderState.held or self._compensation_decision is not None:
            raise ValueError(f"order {self._order_no} is not held for a failed compensation")
