"""One report clock per fan-out stage: the provinces of a stage (a work order to each at
once) wait for their completion reports on one SLA timer and one deadline timer from the
stage's start, not a pair of timers each. Past the SLA the provinces still missing are
flagged in jeopardy (each cleared when its late report comes); past the deadline their
steps fail, as with timers of their own."""

import asyncio
from collections.abc import Callable

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.common import OrderTracker

with workflow.unsafe.imports_passed_through():
    from models.service import ReportTimers


class StageClock:
    def __init__(self, name: str, timers: ReportTimers, tracker: OrderTracker) -> None:
        self.name = name
        self._timers = timers
        self._tracker = tracker
        self._waiting: dict[str, str] = {}  # reports waited on the clock: key → what (step in province)
        self._overdue: set[str] = set()  # past the SLA: being flagged
        self._flagged: set[str] = set()  # flagged (the audit trail says so)
        self._joined: set[str] = set()  # provinces whose first report waited on the clock
        self._late = False  # past the SLA: no report joins any more
        self._expired = False  # past the deadline
        self._failure: ActivityError | None = None  # a jeopardy flag that could not be written
        self.over = False  # the stage ended

    def takes(self, province: str) -> bool:
        """Whether a report of this province waits on the clock: its first one, before the SLA."""
        if self._late or province in self._joined:
            return False
        self._joined.add(province)
        return True

    async def watch(self) -> None:
        """The stage's timers, named in the Temporal UI by the stage: the SLA, then (while
        reports are missing) the deadline."""
        timers = self._timers
        try:
            await workflow.wait_condition(lambda: self.over, timeout=timers.jeopardy_after,
                                          timeout_summary=f"jeopardy: {self.name} reports")
            return
        except asyncio.TimeoutError:
            self._late = True
        try:
            for key in list(self._waiting):
                if key in self._waiting:  # not arrived while an earlier province was flagged
                    self._overdue.add(key)
                    await self._tracker.jeopardy(self._waiting[key], overdue=True)
                    self._flagged.add(key)
        except ActivityError as failure:
            self._failure = failure  # the reports waited on the clock fail with it
            return
        if not self._waiting:
            return
        try:
            await workflow.wait_condition(lambda: self.over or not self._waiting,
                                          timeout=timers.fail_after - timers.jeopardy_after,
                                          timeout_summary=f"report deadline: {self.name}")
        except asyncio.TimeoutError:
            self._expired = True

    async def wait(self, key: str, what: str, arrived: Callable[[], bool]) -> bool:
        """Wait for a report on the clock; False when the deadline passed first. A report
        flagged overdue clears its flag when it comes."""
        self._waiting[key] = what
        try:
            await workflow.wait_condition(lambda: arrived() or self._expired or self._failure is not None)
        finally:
            del self._waiting[key]
        if not arrived():
            if self._failure is not None:
                raise self._failure
            return False
        if key in self._overdue:
            await workflow.wait_condition(lambda: key in self._flagged or self._failure is not None)
            await self._tracker.jeopardy(what, overdue=False)
        return True
