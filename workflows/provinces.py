"""Work orders to the provinces' systems: send one, then wait for its completion report
(报竣) with an SLA (jeopardy) and a hard deadline (the step fails)."""

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ActivityCancellationType

from workflows.common import BEIJING, PROVINCE_RETRY, OrderTracker, failure_text
from workflows.fallout import Fallouts

with workflow.unsafe.imports_passed_through():
    from activities import PROVINCE_REJECTED
    from models.acceptance import ProvinceReport
    from models.hub import CompletionReport
    from models.service import ReportTimers, WorkOrderAck

REPORT_DEADLINE_PASSED = "ReportDeadlinePassed"
PROVINCE_CALL_TIMEOUT = timedelta(seconds=30)


class ProvinceWork:
    """An order's work orders and the reports received for them (by the `report` signal,
    keyed by the work order's idempotency key; a report delivered twice counts once)."""

    def __init__(self, tracker: OrderTracker, timers: ReportTimers, fallouts: Fallouts) -> None:
        self._tracker = tracker
        self._timers = timers
        self._fallouts = fallouts
        # While the order is being undone, failures go to the saga, not to fallout.
        self.compensating = False
        self._reports: dict[str, CompletionReport] = {}
        self._report_ids: set[str] = set()
        # The completion reports the order's steps received, with their dates (acceptance table).
        self.reported: list[ProvinceReport] = []

    def receive(self, report: CompletionReport) -> None:
        if report.report_id not in self._report_ids:
            self._report_ids.add(report.report_id)
            self._reports[report.idempotency_key] = report

    async def run(self, name: str, province: str, activity: Any, arg: Any) -> None:
        """Send one work order and wait until the province reports it complete; a failure
        goes to the fallout policy (retry, skip, hold for a person, or compensate)."""
        attempt = 1
        while True:
            try:
                await self.complete(name, province, await self.send(name, province, activity, arg.retried(attempt)))
                return
            except (ActivityError, ApplicationError) as error:
                action = await self._after_failure(name, province, error, can_skip=True)
                if action == "skip":
                    self._tracker.find_step(name, province).state = "skipped"
                    return
                attempt += 1

    async def _after_failure(self, name: str, province: str, error: BaseException, can_skip: bool) -> str:
        """retry or skip, as the fallout policy or a person decides; else the error stands."""
        if self.compensating:
            raise error
        action = await self._fallouts.decide(name, province, error, can_skip)
        if action == "compensate":
            raise error
        return action

    async def send(self, name: str, province: str, activity: Any, arg: Any) -> WorkOrderAck:
        """Send a work order; `accepted` means its completion report follows."""
        ack: WorkOrderAck = await self._call_once(name, province, activity, arg)
        if ack.status == "accepted":
            self._tracker.find_step(name, province).state = "awaiting report"
        return ack

    async def call(self, name: str, province: str, activity: Any, arg: Any) -> Any:
        """Call the province's system (transient failures retried until the deadline); a
        failure for good goes to the fallout policy (retry, hold for a person, or compensate)."""
        attempt = 1
        while True:
            try:
                return await self._call_once(name, province, activity, arg.retried(attempt))
            except (ActivityError, ApplicationError) as error:
                await self._after_failure(name, province, error, can_skip=False)
                attempt += 1

    async def _call_once(self, name: str, province: str, activity: Any, arg: Any) -> Any:
        step = self._tracker.step(name, province)
        try:
            answer = await workflow.execute_activity_method(
                activity,
                arg,
                start_to_close_timeout=PROVINCE_CALL_TIMEOUT,
                schedule_to_close_timeout=self._timers.fail_after,
                retry_policy=PROVINCE_RETRY,
                # A cancelled order waits for a call in flight, so its undo comes after it.
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                summary=f"{name} ({province})",
            )
        except BaseException as error:
            step.state, step.detail = "failed", failure_text(error)
            raise
        step.state = "done"
        return answer

    async def complete(self, name: str, province: str, ack: WorkOrderAck) -> None:
        """Wait for the completion report of a work order the province accepted."""
        step = self._tracker.find_step(name, province)
        if ack.status == "accepted":
            try:
                await self._wait(ack.idempotency_key, f"{name} in {province}")
            except BaseException as error:
                step.state, step.detail = "failed", failure_text(error)
                raise
            self.reported.append(ProvinceReport(province=province, step=name,
                                                reported_on=workflow.now().astimezone(BEIJING).date().isoformat()))
        step.state = "done"

    async def _wait(self, idempotency_key: str, what: str) -> CompletionReport:
        """Past the SLA the order is flagged in jeopardy until the report comes; past the
        deadline, or on a rejection in the report, the step fails."""
        arrived = lambda: idempotency_key in self._reports  # noqa: E731
        timers = self._timers
        try:
            await workflow.wait_condition(arrived, timeout=timers.jeopardy_after)
        except asyncio.TimeoutError:
            await self._tracker.jeopardy(what, overdue=True)
            try:
                await workflow.wait_condition(arrived, timeout=timers.fail_after - timers.jeopardy_after)
            except asyncio.TimeoutError:
                raise ApplicationError(
                    f"{what}: no completion report within {timers.fail_after}",
                    type=REPORT_DEADLINE_PASSED, non_retryable=True,
                ) from None
            await self._tracker.jeopardy(what, overdue=False)
        report = self._reports[idempotency_key]
        if report.outcome == "rejected":
            raise ApplicationError(
                f"province {report.province} {report.system} rejected: {report.code} {report.text}",
                type=PROVINCE_REJECTED, non_retryable=True,
            )
        return report
