"""What the simulated hub tells GPMS, through GPMS's door like a real hub: the provinces'
completion reports (报竣) and the CRMs' customer record changes, POSTed to the API with the
hub's bearer token. The simulator knows GPMS by its HTTP API only."""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session, select

from models.customer import CustomerChange
from models.hub import HubReport
from settings import Settings
from simulator.db import PendingReport, utcnow

log = logging.getLogger(__name__)

# Delivers one report; raises ReportRefused when GPMS will never take it.
ReportSink = Callable[[HubReport], Awaitable[None]]

POLL_INTERVAL_S = 0.1
DUE_BATCH = 500
MAX_RETRY_DELAY_S = 60.0
# Answers that say nothing of the message itself: the hub's credentials, or GPMS overloaded.
RETRIED_4XX = {401, 403, 408, 429}


# GPMS's own slowness (connecting, answering) fails a delivery after 10 s; a report waiting for
# one of the client's connections (more reports due at once than it has) only waits its turn:
# counted as a failure, it would be sent again only after a growing delay (up to a minute).
DOOR_TIMEOUT = httpx.Timeout(10.0, pool=None)


class ReportRefused(Exception):
    """GPMS refused the message for what it says (4xx): sending it again will not help."""


class GpmsDoor:
    """GPMS's API as the hub reaches it (`settings.api_url`), authenticated as the hub: the
    token VPDN_HUB_TOKEN, else the `hub` entry of the data folder's credentials.json (read
    when first needed, so `vpdn up` may write it after the simulator started)."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._settings = settings
        self._http = httpx.AsyncClient(base_url=settings.api_url, timeout=DOOR_TIMEOUT, transport=transport)

    async def report(self, report: HubReport) -> None:
        await self._post("/hub/completion-reports", report)

    async def customer_change(self, change: CustomerChange) -> None:
        await self._post("/hub/customer-changes", change)

    async def _post(self, path: str, message: BaseModel) -> None:
        """Raises ReportRefused for a 4xx on the message, any other error to be retried."""
        response = await self._http.post(path, json=message.model_dump(mode="json"),
                                         headers={"Authorization": f"Bearer {self._token()}"})
        if response.is_client_error and response.status_code not in RETRIED_4XX:
            raise ReportRefused(f"HTTP {response.status_code} {_detail(response)}")
        if not response.is_success:
            raise RuntimeError(f"GPMS answered HTTP {response.status_code} {_detail(response)}")

    def _token(self) -> str:
        if self._settings.hub_token:
            return self._settings.hub_token
        try:
            return json.loads(self._settings.credentials_file.read_text())["hub"]["token"]
        except (OSError, ValueError, KeyError, TypeError):
            raise RuntimeError(f"no hub token: set VPDN_HUB_TOKEN or a hub entry in "
                               f"{self._settings.credentials_file}") from None

    async def aclose(self) -> None:
        await self._http.aclose()


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json()["detail"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


class Reporter:
    """Sends the reports that have fallen due. A report GPMS refuses is dropped (one log
    line); any other failure (GPMS down, Temporal unreachable) is retried later, waiting
    longer each time."""

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
        try:
            await self._sink(HubReport.model_validate(pending.report))
        except ReportRefused as refusal:
            log.warning("report %s dropped, refused by GPMS: %s", pending.report_id, refusal)
            await run_in_threadpool(self._record_attempt, pending.report_id, True, f"refused: {refusal}")
            return False
        except Exception as err:  # noqa: BLE001 - retried: GPMS or its engine is down
            log.warning("report %s not delivered, will retry: %s", pending.report_id, err)
            await run_in_threadpool(self._record_attempt, pending.report_id, False, f"will retry: {err!r}")
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
