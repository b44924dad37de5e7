"""Work orders to the provinces' systems: register the report expected, send the work order,
then wait for its completion report (报竣) with an SLA (jeopardy) and a hard deadline (the
step fails). Every work order of every process goes through `run`, which applies the
fallout policy to a failure."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ActivityCancellationType

from workflows.common import BEIJING, PROVINCE_RETRY, OrderTracker, failure_text, fan_out, run_local
from workflows.fallout import Fallouts
from workflows.report_clock import StageClock

with workflow.unsafe.imports_passed_through():
    from activities import PROVINCE_REJECTED
    from activities.aaa import AaaActivities
    from activities.work_orders import expected_report
    from models.acceptance import ProvinceReport
    from models.hub import CompletionReport, ExpectedReport
    from models.orders import UnexpectedReport
    from models.service import ReportTimers
    from models.service_steps import WorkOrderAck
    from models.words import duration_text
    from telemetry import metrics

REPORT_DEADLINE_PASSED = "ReportDeadlinePassed"
UNEXPECTED_ACKNOWLEDGEMENT = "UnexpectedAcknowledgement"
# A step asked again after a failure that was no refusal (a missing report, an unknown outcome)
# reuses its key: the province deduplicates it and answers (and reports) as the first time.
SAME_KEY_UNLESS_REFUSED = "retry-same-key-unless-refused"
# The provinces of a fan-out stage wait for their reports on one clock (orders started before
# had a pair of timers per province).
ONE_CLOCK_PER_STAGE = "one-report-clock-per-stage"
# The work orders of a fan-out stage are sent by local activities (orders started before sent
# them by activities, each completion a round trip through the server).
FAN_OUT_CALLS_LOCAL = "fan-out-calls-local"
# A report that came before its work order was recorded counts once the order sends it: a local
# activity's call is recorded only when its workflow task completes, and when that task is lost
# (timed out on a busy worker, the worker stopped) the report reaches the order before it.
EARLY_REPORT_COUNTS = "early-report-counts"
PROVINCE_CALL_TIMEOUT = timedelta(seconds=30)
# A call that heartbeats as it progresses (the AAA step hashes its batch's passwords first,
# which a loaded machine makes slow) has until the step's deadline, as long as no 30 s pass
# without a heartbeat (orders started before gave it 30 s in all, then started it over).
HEARTBEATING_CALLS = "heartbeating-calls"
# The calls that heartbeat as they progress.
HEARTBEATING = (AaaActivities.create_accounts,)
# The latest unexpected reports shown in the status (the audit trail keeps every one).
UNEXPECTED_SHOWN = 20


def is_rejection(error: BaseException) -> bool:
    """Whether a failure is the province's own refusal (it did nothing), not an unknown outcome."""
    while isinstance(error, ActivityError) and error.cause is not None:
        error = error.cause
    return isinstance(error, ApplicationError) and error.type == PROVINCE_REJECTED


def next_request(request: int, error: BaseException) -> int:
    """The request a retried step sends: a new one (a new key) only after the province refused
    (it did nothing, and it answers a repeated key with its refusal); otherwise the same key
    again, so that a retry does exactly what the first attempt did and nothing twice."""
    if is_rejection(error) or not workflow.patched(SAME_KEY_UNLESS_REFUSED):
        return request + 1
    return request


class ProvinceWork:
    """An order's work orders and the reports received for them (the `report` signal). A
    report counts only for a work order registered before it was sent, from the province,
    system and operation it was sent to; the first one counts; anything else is kept as an
    unexpected report, never applied."""

    def __init__(self, tracker: OrderTracker, timers: ReportTimers, fallouts: Fallouts) -> None:
        self._tracker = tracker
        self._timers = timers
        self._fallouts = fallouts
        # While the order is being undone, failures go to the saga, not to fallout.
        self.compensating = False
        # A cancellation was accepted: no further step starts once the one in flight returns.
        self.cancelling = False
        self._expected: dict[str, ExpectedReport] = {}
        self._reports: dict[str, CompletionReport] = {}
        self._early: dict[str, CompletionReport] = {}  # the first report for a key before its work order
        self._report_ids: set[str] = set()
        self._refused: set[tuple[str, str]] = set()
        # The completion reports the order's steps received, with their dates (acceptance table).
        self.reported: list[ProvinceReport] = []
        self._clocks: dict[str, StageClock] = {}  # the fan-out stages running, by step name

    def receive(self, report: CompletionReport) -> UnexpectedReport | None:
        """Believe a report for a work order sent; return it as unexpected otherwise (a
        report delivered twice counts once, and a repeat of the first one is no news)."""
        if report.report_id in self._report_ids:
            return None
        self._report_ids.add(report.report_id)
        key = report.idempotency_key
        expected, first = self._expected.get(key), self._reports.get(key)
        if expected is None:
            self._early.setdefault(key, report)
            why = "no work order was sent with this key"
        elif (report.province, report.system, report.operation) != (
                expected.province, expected.system, expected.operation):
            why = f"the work order with this key went to {expected.province} {expected.system} {expected.operation}"
        elif first is None:
            self._reports[key] = report
            return None
        elif (first.outcome, first.code) == (report.outcome, report.code):
            return None
        else:
            why = f"contradicts report {first.report_id} ({first.outcome}), which counts"
        unexpected = UnexpectedReport(**report.model_dump(exclude={"data"}), why=why)
        shown = self._tracker.status.unexpected_reports
        shown[:] = [*shown, unexpected][-UNEXPECTED_SHOWN:]
        return unexpected

    async def in_every_province(self, name: str, provinces: list[str],
                                call: Callable[[str], Awaitable[None]]) -> None:
        """Run the step `name` in every province at once (`call(province)`, a `run` of that
        step). The stage's reports wait on one clock from the stage's start: past the SLA the
        provinces whose report is still missing are flagged in jeopardy, past the deadline
        their steps fail. A province's request after a failure waits on its own timers."""
        if not provinces or not workflow.patched(ONE_CLOCK_PER_STAGE):
            await fan_out(provinces, call)
            return
        clock = self._clocks[name] = StageClock(name, self._timers, self._tracker)
        watch = asyncio.create_task(clock.watch())
        try:
            await fan_out(provinces, call)
        finally:
            clock.over = True
            del self._clocks[name]
            await watch

    def refused(self, name: str, province: str) -> bool:
        """Whether the province refused every request of that step (so it holds nothing of it)."""
        return (name, province) in self._refused

    async def run(self, name: str, province: str, activity: Any, arg: Any,
                  meanwhile: Callable[[], Awaitable[None]] | None = None) -> None:
        """Send one work order and wait until the province reports it complete; `meanwhile`
        runs once between the two (a work order completed only after another one). A
        failure of the work order goes to the fallout policy (retry, skip, hold for a
        person, or compensate)."""
        request, only_refusals = 1, True
        while True:
            try:
                ack = await self._send(name, province, activity, arg.retried(request))
                if meanwhile is not None:  # its failures are its own: they pass through
                    await meanwhile()
                    meanwhile = None
                await self._complete(name, province, ack)
                return
            except _StepFailure as failure:
                error = failure.error
            only_refusals = only_refusals and is_rejection(error)
            try:
                action = await self._after_failure(name, province, error, can_skip=True)
            except BaseException:
                if only_refusals:
                    self._refused.add((name, province))
                raise
            if action == "skip":
                self._tracker.find_step(name, province).state = "skipped"
                if meanwhile is not None:
                    await meanwhile()
                return
            request = next_request(request, error)

    async def _after_failure(self, name: str, province: str, error: BaseException, can_skip: bool) -> str:
        """retry or skip, as the fallout policy or a person decides; else the error stands."""
        if self.compensating:
            raise error
        action = await self._fallouts.decide(name, province, error, can_skip)
        if action == "compensate":
            raise error
        return action

    async def _send(self, name: str, province: str, activity: Any, arg: Any) -> WorkOrderAck:
        """Register the report expected, then send the work order; `accepted` means that
        report follows."""
        expected = expected_report(activity, arg)
        if expected is not None:
            self._expected[expected.idempotency_key] = expected
            await self._take_early_report(expected)
        try:
            ack: WorkOrderAck = await self._call_once(name, province, activity, arg)
        except (ActivityError, ApplicationError) as error:
            raise _StepFailure(error) from None
        if ack.status == "accepted":
            if expected is None:
                raise _StepFailure(ApplicationError(
                    f"{name} in {province}: the province will report, but no report is expected",
                    type=UNEXPECTED_ACKNOWLEDGEMENT, non_retryable=True))
            self._tracker.find_step(name, province).state = "awaiting report"
        return ack

    async def _take_early_report(self, expected: ExpectedReport) -> None:
        """A report for this work order that came before it was recorded (shown as unexpected)
        counts now, if it comes from where the work order goes and none counts yet."""
        key = expected.idempotency_key
        early = self._early.pop(key, None)
        if early is None or key in self._reports:
            return
        sent_to = (expected.province, expected.system, expected.operation)
        if (early.province, early.system, early.operation) != sent_to or not workflow.patched(EARLY_REPORT_COUNTS):
            return
        self._reports[key] = early
        shown = self._tracker.status.unexpected_reports
        shown[:] = [unexpected for unexpected in shown if unexpected.report_id != early.report_id]
        await self._tracker.note("early completion report counted",
                                 detail=f"report {early.report_id} from {' '.join(sent_to)} came before its work "
                                        "order was recorded")

    async def call(self, name: str, province: str, activity: Any, arg: Any) -> Any:
        """Call the province's system (transient failures retried until the deadline); a
        failure for good goes to the fallout policy (retry, hold for a person, or compensate)."""
        request = 1
        while True:
            try:
                return await self._call_once(name, province, activity, arg.retried(request))
            except (ActivityError, ApplicationError) as error:
                await self._after_failure(name, province, error, can_skip=False)
                request = next_request(request, error)

    async def _call_once(self, name: str, province: str, activity: Any, arg: Any) -> Any:
        """One call; when a cancellation came while it was in flight, the call is settled
        (asked again with the same key if its outcome is unknown) and the order stops here,
        so that its undo comes after the call, whatever it answered."""
        step = self._tracker.step(name, province)
        try:
            answer = await self._execute(name, province, activity, arg)
        except BaseException as error:
            step.state, step.detail = "failed", failure_text(error)
            if self.cancelling and not self.compensating:
                if not is_rejection(error):
                    await self._settle(name, province, activity, arg)
                raise asyncio.CancelledError() from error
            raise
        step.state = "done"
        if self.cancelling and not self.compensating:
            raise asyncio.CancelledError()
        return answer

    async def _settle(self, name: str, province: str, activity: Any, arg: Any) -> None:
        """Ask again with the same key until the province answers (a repeated key gets the
        first answer and changes nothing), so nothing it does comes after the undo."""
        try:
            await self._execute(name, province, activity, arg)
        except (ActivityError, ApplicationError) as error:
            workflow.logger.warning("%s in %s: outcome still unknown before its undo: %s",
                                    name, province, failure_text(error))

    def _execute(self, name: str, province: str, activity: Any, arg: Any) -> Awaitable[Any]:
        """One call, retried on transient failures until the report deadline; the calls of a
        fan-out stage are local activities (their completions cost the order no round trip);
        a heartbeating call may take until the deadline, as long as it heartbeats."""
        options = dict(
            start_to_close_timeout=PROVINCE_CALL_TIMEOUT,
            schedule_to_close_timeout=self._timers.fail_after,
            retry_policy=PROVINCE_RETRY,
            # A cancelled order waits for a call in flight, so its undo comes after it.
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        summary = f"{name} ({province})"
        if activity in HEARTBEATING and workflow.patched(HEARTBEATING_CALLS):
            return workflow.execute_activity_method(activity, arg, summary=summary, **options | dict(
                start_to_close_timeout=self._timers.fail_after, heartbeat_timeout=PROVINCE_CALL_TIMEOUT))
        if name in self._clocks and workflow.patched(FAN_OUT_CALLS_LOCAL):
            return run_local(activity, arg, summary, **options)
        return workflow.execute_activity_method(activity, arg, summary=summary, **options)

    async def _complete(self, name: str, province: str, ack: WorkOrderAck) -> None:
        """Wait for the completion report of a work order the province accepted."""
        step = self._tracker.find_step(name, province)
        if ack.status == "accepted":
            try:
                await self._wait(ack.idempotency_key, name, province)
            except (ActivityError, ApplicationError) as error:
                step.state, step.detail = "failed", failure_text(error)
                raise _StepFailure(error) from None
            except BaseException as error:
                step.state, step.detail = "failed", failure_text(error)
                raise
            self.reported.append(ProvinceReport(province=province, step=name,
                                                reported_on=workflow.now().astimezone(BEIJING).date().isoformat()))
        step.state = "done"

    async def _wait(self, idempotency_key: str, name: str, province: str) -> CompletionReport:
        """Past the SLA the order is flagged in jeopardy until the report comes; past the
        deadline, or on a rejection in the report, the step fails. A province's first request
        of a fan-out stage waits on the stage's clock, any other on its own timers."""
        what, sent = f"{name} in {province}", workflow.now()
        arrived = lambda: idempotency_key in self._reports  # noqa: E731
        clock = self._clocks.get(name)
        if clock is not None and clock.takes(province):
            if not await clock.wait(idempotency_key, what, arrived):
                raise self._deadline_passed(what)
        else:
            await self._on_own_timers(what, arrived, province, name)
        report = self._reports[idempotency_key]
        workflow.metric_meter().create_histogram_float(metrics.REPORT_WAIT, "work order to its report", "s").record(
            (workflow.now() - sent).total_seconds(), {"province": province, "system": report.system})
        if report.outcome == "rejected":
            raise ApplicationError(
                f"province {report.province} {report.system} rejected: {report.code} {report.text}",
                type=PROVINCE_REJECTED, non_retryable=True,
            )
        return report

    async def _on_own_timers(self, what: str, arrived: Callable[[], bool], province: str, name: str) -> None:
        """The report's own SLA and deadline timers, each named in the Temporal UI by what it waits for."""
        timers = self._timers
        try:
            await workflow.wait_condition(arrived, timeout=timers.jeopardy_after,
                                          timeout_summary=f"jeopardy: {province} {name} report")
        except asyncio.TimeoutError:
            await self._tracker.jeopardy(what, overdue=True)
            try:
                await workflow.wait_condition(arrived, timeout=timers.fail_after - timers.jeopardy_after,
                                              timeout_summary=f"report deadline: {province} {name}")
            except asyncio.TimeoutError:
                raise self._deadline_passed(what) from None
            await self._tracker.jeopardy(what, overdue=False)

    def _deadline_passed(self, what: str) -> ApplicationError:
        return ApplicationError(f"{what}: no completion report within {duration_text(self._timers.fail_after)}",
                                type=REPORT_DEADLINE_PASSED, non_retryable=True)


class _StepFailure(Exception):
    """A work order's own failure, told apart from that of a step run in the meantime."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error
