"""Process 3, service opening (业务开通): a new cross-province VPDN, from order to rental start.

Steps: order accepted → business audit → group business acceptance orders to all related
provinces (each configures the group tariff package and reports) → the access CRM's work
order, with the local dedicated-line scheduling order when there is a line → rental starts
per the rule (billing; HQ settlement for off-site payment) → service active.
Every step with an effect registers its undo first; a failure or a cancellation undoes
them in reverse. An undo that fails holds the order for a person.
"""

import asyncio
from datetime import timedelta, timezone

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.common import STORE_TIMEOUT, OrderTracker, failure_text, fan_out
from workflows.provinces import ProvinceWork
from workflows.saga import Saga

with workflow.unsafe.imports_passed_through():
    from activities.billing import RentalActivities
    from activities.crm import CrmActivities
    from activities.line import LineActivities
    from activities.order_store import OrderStoreActivities
    from models.hub import REPORT_SIGNAL, CompletionReport
    from models.orders import (
        CompensationDecision,
        Decision,
        NewOrder,
        OrderState,
        OrderStatus,
        OrderType,
        workflow_id_for,
    )
    from models.provinces import HQ
    from models.service import (
        AccessWorkOrder,
        LineScheduling,
        RentalRule,
        RentalStart,
        ServiceOpeningOrder,
        ServiceOpeningResult,
        ServiceRegistration,
        ServiceStep,
        TariffConfiguration,
    )

BEIJING = timezone(timedelta(hours=8))
AWAITING_AUDIT = "awaiting business audit"
AWAITING_RENTAL_CONFIRMATION = "awaiting the customer's rental-start confirmation"
ORDER_REJECTED = "OrderRejected"


class Rejected(Exception):
    """The order is refused (audit rejected, APN taken): nothing to do in the provinces."""


@workflow.defn
class ServiceOpening:
    @workflow.init
    def __init__(self, order: ServiceOpeningOrder) -> None:
        self._order = order
        self._tracker = OrderTracker(order.order_no, OrderType.service_opening)
        self._provinces = ProvinceWork(self._tracker, order.timers)
        self._saga = Saga(self._tracker)
        self._audit: tuple[bool, Decision] | None = None
        self._rental_confirmation: Decision | None = None
        self._cancellation: Decision | None = None
        self._compensation_decision: CompensationDecision | None = None
        self._flow: asyncio.Task | None = None

    @workflow.run
    async def run(self, order: ServiceOpeningOrder) -> ServiceOpeningResult:
        self._flow = asyncio.create_task(self._open())
        try:
            result = await self._flow
        except Rejected as rejection:
            await self._saga.compensate()
            await self._tracker.record("order rejected", state=OrderState.rejected, detail=str(rejection))
            raise ApplicationError(str(rejection), type=ORDER_REJECTED, non_retryable=True) from None
        except asyncio.CancelledError:
            cancellation = self._cancellation or Decision(by="temporal", reason="workflow cancelled")
            return await self._unwind(OrderState.cancelled, f"cancelled by {cancellation.by}: {cancellation.reason}",
                                      cancellation.by)
        except (ActivityError, ApplicationError) as failure:
            await self._unwind(OrderState.failed, failure_text(failure), "gpms")
            raise ApplicationError(f"service opening failed: {failure_text(failure)}",
                                   type="ServiceOpeningFailed", non_retryable=True) from None
        await workflow.wait_condition(workflow.all_handlers_finished)
        return result

    async def _open(self) -> ServiceOpeningResult:
        order, tracker = self._order, self._tracker
        await tracker.accept(NewOrder(
            order_no=order.order_no, order_type=OrderType.service_opening,
            workflow_id=workflow_id_for(OrderType.service_opening, order.order_no),
            customer_code=order.customer_code, requested_by=order.requested_by,
            provinces=order.provinces, service_id=order.service_id,
        ))
        await self._register_service()
        await self._business_audit()
        await tracker.record(
            f"order initiated: group business acceptance orders to {len(order.provinces)} provinces",
            state=OrderState.in_progress, sub_state="awaiting every province's tariff configuration",
        )
        await self._configure_tariff_everywhere()
        await tracker.record("every province confirmed its group tariff package configuration",
                             sub_state="awaiting the access province's completion")
        await self._access_work_order()
        rental_start = await self._start_rental()
        await workflow.execute_activity_method(
            OrderStoreActivities.activate_service, order.service_id,
            start_to_close_timeout=STORE_TIMEOUT, summary="service active",
        )
        await tracker.record(
            "service active", state=OrderState.completed,
            detail=f"service {order.service_id} ({order.apn}) active in {', '.join(order.provinces)}; "
                   f"rental from {rental_start}",
        )
        return ServiceOpeningResult(order_no=order.order_no, service_id=order.service_id,
                                    state=OrderState.completed, rental_start=rental_start)

    async def _register_service(self) -> None:
        order = self._order
        self._saga.add("discard the service record", lambda attempt: workflow.execute_activity_method(
            OrderStoreActivities.discard_service_if_present, order.service_id,
            start_to_close_timeout=STORE_TIMEOUT, summary="discard the service record",
        ))
        try:
            await workflow.execute_activity_method(
                OrderStoreActivities.register_service,
                ServiceRegistration(
                    order_no=order.order_no, service_id=order.service_id, customer_code=order.customer_code,
                    apn=order.apn, access_province=order.access_province,
                    paying_province=order.paying_province, provinces=order.provinces, tariff=order.tariff,
                ),
                start_to_close_timeout=STORE_TIMEOUT, summary="record the service",
            )
        except ActivityError as error:
            raise Rejected(failure_text(error)) from None

    async def _business_audit(self) -> None:
        """Business audit (业务审核): done outside GPMS, or a person approves or rejects."""
        order, tracker = self._order, self._tracker
        if order.pre_approved_by:
            await tracker.record("business audit approved outside GPMS", actor=order.pre_approved_by)
            return
        await tracker.record("order waits for its business audit", state=OrderState.pending, sub_state=AWAITING_AUDIT)
        await workflow.wait_condition(lambda: self._audit is not None)
        approved, decision = self._audit
        if not approved:
            raise Rejected(f"business audit rejected by {decision.by}: {decision.reason}")
        await tracker.record("business audit approved", actor=decision.by, detail=decision.reason)

    async def _configure_tariff_everywhere(self) -> None:
        """Every related province configures the group tariff package (配置集团资费套餐)."""
        order = self._order
        asked: list[str] = []
        self._saga.add("cancel the group tariff package", lambda attempt: fan_out(
            list(asked), lambda province: self._provinces.run(
                "cancel group tariff package", province, CrmActivities.cancel_group_tariff,
                self._step(province, attempt),
            ),
        ))

        async def configure(province: str) -> None:
            asked.append(province)
            await self._provinces.run(
                "configure group tariff package", province, CrmActivities.configure_group_tariff,
                TariffConfiguration(**self._step(province).model_dump(), tariff=order.tariff),
            )

        await fan_out(order.provinces, configure)

    async def _access_work_order(self) -> None:
        """The access CRM's work order; with a line, the line center schedules it and reports
        the line completion before the CRM reports its own completion (业务竣工)."""
        order, access = self._order, self._order.access_province
        self._saga.add("withdraw the access CRM work order", lambda attempt: self._provinces.run(
            "withdraw access CRM work order", access, CrmActivities.cancel_work_order,
            self._step(access, attempt)))
        crm_ack = await self._provinces.send(
            "access CRM work order", access, CrmActivities.service_work_order,
            AccessWorkOrder(**self._step(access).model_dump(), with_line=order.line is not None),
        )
        if order.line:
            self._saga.add("cancel the line scheduling", lambda attempt: self._provinces.run(
                "cancel line scheduling", access, LineActivities.cancel_line, self._step(access, attempt)))
            await self._provinces.run(
                "dedicated-line scheduling", access, LineActivities.schedule_line,
                LineScheduling(**self._step(access).model_dump(), line=order.line),
            )
        await self._provinces.complete("access CRM work order", access, crm_ack)
        await self._tracker.record("access province reported completion")

    async def _start_rental(self) -> str:
        """Rental starts per the rule (按照规则起租) in billing; for off-site payment the start
        also goes to HQ settlement."""
        order, access = self._order, self._order.access_province
        start_date = await self._rental_start_date()
        rental = lambda attempt=1: RentalStart(  # noqa: E731
            **self._step(access, attempt).model_dump(), start_date=start_date,
            rule=order.rental_rule, paying_province=order.paying_province)
        self._saga.add("stop the rental", lambda attempt: self._provinces.run(
            "stop rental", access, RentalActivities.stop_rental, rental(attempt)))
        await self._provinces.run("rental start", access, RentalActivities.start_rental, rental())
        if order.off_site_payment:
            self._saga.add("withdraw the settlement record", lambda attempt: self._provinces.run(
                "withdraw settlement record", HQ, RentalActivities.cancel_settlement, rental(attempt)))
            await self._provinces.run("rental start to HQ settlement", HQ, RentalActivities.record_settlement,
                                      rental())
        return start_date

    async def _rental_start_date(self) -> str:
        rule, tracker = self._order.rental_rule, self._tracker
        today = workflow.now().astimezone(BEIJING).date()
        if rule == RentalRule.next_day:
            return (today + timedelta(days=1)).isoformat()
        if rule == RentalRule.next_month:
            return (today.replace(day=28) + timedelta(days=4)).replace(day=1).isoformat()
        await tracker.record("rental start waits for the customer", state=OrderState.pending,
                             sub_state=AWAITING_RENTAL_CONFIRMATION)
        await workflow.wait_condition(lambda: self._rental_confirmation is not None)
        confirmation = self._rental_confirmation
        await tracker.record("customer confirmed the rental start", state=OrderState.in_progress,
                             actor=confirmation.by, detail=confirmation.reason)
        return workflow.now().astimezone(BEIJING).date().isoformat()

    def _step(self, province: str, attempt: int = 1) -> ServiceStep:
        return ServiceStep(order_no=self._order.order_no, service_id=self._order.service_id,
                           province=province, attempt=attempt)

    # Failure and cancellation

    async def _unwind(self, final: OrderState, cause: str, actor: str) -> ServiceOpeningResult:
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
                return self._result(final)
            await tracker.record("compensation retried", state=OrderState.in_progress, actor=decision.by,
                                 sub_state=f"compensating: {cause}", detail=decision.reason)
        await tracker.record(f"order {final}", state=final, detail=cause, actor=actor)
        return self._result(final)

    def _result(self, state: OrderState) -> ServiceOpeningResult:
        return ServiceOpeningResult(order_no=self._order.order_no, service_id=self._order.service_id,
                                    state=state)

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
        return f"order {self._order.order_no} approved by {decision.by}"

    @approve.validator
    def _validate_approve(self, decision: Decision) -> None:
        self._require_waiting(AWAITING_AUDIT, "approved")

    @workflow.update
    def reject(self, decision: Decision) -> str:
        self._audit = (False, decision)
        return f"order {self._order.order_no} rejected by {decision.by}"

    @reject.validator
    def _validate_reject(self, decision: Decision) -> None:
        self._require_waiting(AWAITING_AUDIT, "rejected")
        if not decision.reason:
            raise ValueError("a rejection needs a reason")

    @workflow.update
    def confirm_rental(self, decision: Decision) -> str:
        self._rental_confirmation = decision
        return f"rental start of order {self._order.order_no} confirmed by {decision.by}"

    @confirm_rental.validator
    def _validate_confirm_rental(self, decision: Decision) -> None:
        self._require_waiting(AWAITING_RENTAL_CONFIRMATION, "confirmed")

    @workflow.update
    def cancel(self, decision: Decision) -> str:
        self._cancellation = decision
        self._flow.cancel()
        return f"order {self._order.order_no} is being cancelled and compensated"

    @cancel.validator
    def _validate_cancel(self, decision: Decision) -> None:
        if not decision.reason:
            raise ValueError("a cancellation needs a reason")
        if self._cancellation or self._flow is None or self._flow.done():
            raise ValueError(f"order {self._order.order_no} can no longer be cancelled "
                             f"(it is {self._tracker.status.state}: {self._tracker.status.sub_state or 'finishing'})")

    @workflow.update
    def resolve_compensation(self, decision: CompensationDecision) -> str:
        self._compensation_decision = decision
        return f"order {self._order.order_no}: compensation {decision.action} by {decision.by}"

    @resolve_compensation.validator
    def _validate_resolve_compensation(self, decision: CompensationDecision) -> None:
        if self._tracker.status.state != OrderState.held or self._compensation_decision is not None:
            raise ValueError(f"order {self._order.order_no} is not held for a failed compensation")

    def _require_waiting(self, sub_state: str, verb: str) -> None:
        status = self._tracker.status
        if status.state != OrderState.pending or status.sub_state != sub_state or self._flow_done_waiting(sub_state):
            raise ValueError(f"order {self._order.order_no} cannot be {verb}: it is {status.state}"
                             + (f" ({status.sub_state})" if status.sub_state else ""))

    def _flow_done_waiting(self, sub_state: str) -> bool:
        """A decision already taken but not yet recorded also refuses a second one."""
        if sub_state == AWAITING_AUDIT:
            return self._audit is not None
        return self._rental_confirmation is not None
