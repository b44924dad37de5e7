"""Delivering the provinces' completion reports (报竣) to the workflows that wait for them."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from models.hub import CompletionReport
from settings import Settings, connect_temporal
from simulator.db import PendingReport, utcnow

log = logging.getLogger(__name__)

# Delivers one report: (workflow_id, signal name, report).
ReportSink = Callable[[str, str, CompletionReport], Awaitable[None]]

POLL_INTERVAL_S = 0.1
DUE_BATCH = 500
MAX_RETRY_DELAY_S = 60.0


class LazyClient:
    """The Temporal client, connected on first use, so the simulator starts even while
    Temporal is down."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Client | None = None
        self._connecting = asyncio.Lock()

    async def __call__(self) -> Client:
        async with self._connecting:
            if self._client is None:
                self._client = await connect_temporal(self._settings)
        return self._client


class TemporalSink:
    """Delivers a report as a signal to its workflow."""

    def __init__(self, client: LazyClient) -> None:
        self._client = client

    async def __call__(self, workflow_id: str, signal: str, report: CompletionReport) -> None:
        client = await self._client()
        await client.get_workflow_handle(workflow_id).signal(
            signal, report, rpc_timeout=timedelta(seconds=10)
        )


class Reporter:
    """Sends the reports that have fallen due. A report whose workflow no longer exists is
    dropped; any other failure is retried later, waiting longer each time."""

    def __init__(self, engine: Engine, sink: ReportSink, retry_delay_s: float) -> None:
        self._engine = engine
        self._sink = sink
        self._retry_delay_s = retry_delay_s

    async def run(self) -> None:
        """Send due reports until cancelled."""
        while True:
            try:
                await self.send_due()
            except Exception:  # noqa: BLE001 - keep sending; the reports stay pending
                log.exception("sending due reports failed")
            await asyncio.sleep(POLL_INTERVAL_S)

    async def send_due(self) -> int:
        """Send every report due now; return how many were delivered."""
        due = await run_in_threadpool(self._due_reports)
        delivered = await asyncio.gather(*(self._send(pending) for pending in due))
        return sum(delivered)

    def _due_reports(self) -> list[PendingReport]:
        with Session(self._engine) as session:
            query = (
                select(PendingReport)
                .where(PendingReport.sent == False, PendingReport.due_at <= utcnow())  # noqa: E712
                .order_by(PendingReport.due_at)
                .limit(DUE_BATCH)
            )
            return list(session.exec(query))

    async def _send(self, pending: PendingReport) -> bool:
        report = CompletionReport.model_validate(pending.report)
        try:
            await self._sink(pending.workflow_id, pending.signal, report)
        except Exception as err:  # noqa: BLE001 - retried, unless the workflow is gone
            gone = isinstance(err, RPCError) and err.status == RPCStatusCode.NOT_FOUND
            note = f"dropped, workflow not found: {err}" if gone else f"will retry: {err!r}"
            log.warning("report %s not delivered, %s", pending.report_id, note)
            await run_in_threadpool(self._record_attempt, pending.report_id, gone, note)
            return False
        await run_in_threadpool(self._record_attempt, pending.report_id, True, None)
        return True

    def _record_attempt(self, report_id: str, done: bool, note: str | None) -> None:
        """Mark the report sent (or dropped), or due again after a growing delay."""
        with Session(self._engine) as session, session.begin():
            pending = session.get(PendingReport, report_id)
            pending.attempts += 1
            pending.sent = done
            pending.last_error = note
            if not done:
                delay = min(MAX_RETRY_DELAY_S, self._retry_delay_s * 2**pending.attempts)
                pending.due_at = utcnow() + timedelta(seconds=delay)
