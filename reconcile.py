"""`vpdn reconcile`: does what GPMS recorded agree with what every province holds?

Each province's system is compared with what GPMS expects it to hold as a merge-walk, both
sides a page at a time (`reconcile_compare`): memory holds pages, not a province's holdings.
Holdings of a service GPMS does not count as open (closed), or does not know at all
(discarded after a failed opening, or never recorded), are differences too.

Two checks only the simulator can answer, labelled so: an effect one step applied more than
once (its write log) and an AAA password hash that does not match the password the member's
SMS carried (a real AAA never shows the hash with the SMS). With a Temporal client, an order
Temporal knows that the order store never recorded is a difference as well.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import httpx
from temporalio.client import Client

from activities.aaa import password_sent
from adapters.hub import HubClient
from adapters.passwords import password_matches
from models.orders import WORKFLOW_ID_PREFIX
from models.provinces import HQ, PROVINCE_CODES
from reconcile_compare import Difference, compare_site, expected_at
from store import OrderStore
from store.services import OPEN_STATES

SIMULATOR_ONLY = "(simulator-only check)"
# An order's workflow records the order first thing; younger ones may not have yet.
RECORDING_GRACE = timedelta(minutes=1)
SITES = [(p, s) for p in PROVINCE_CODES for s in ("crm", "hlr", "billing", "aaa", "line")] + [(HQ, "settlement")]


class Reconciler:
    """`temporal` and its `task_queue`: where to find the orders' workflows (None: not checked);
    `simulator_checks`: whether the hub is the simulator, which can answer its own checks;
    `page_size`: the holdings (and GPMS's members) read per request; `on_page(text)`: called
    after each page of holdings (an activity's heartbeat)."""

    def __init__(self, store: OrderStore, hub: httpx.AsyncClient, temporal: Client | None = None,
                 task_queue: str = "", simulator_checks: bool = True, page_size: int = 500,
                 on_page: Callable[[str], None] | None = None) -> None:
        self._store = store
        self._hub = hub
        self._page_size = page_size
        self._on_page = on_page
        self.pages_read = 0
        self._temporal = temporal
        self._task_queue = task_queue
        self._simulator_checks = simulator_checks
        self._sent: dict[str, list[str]] = {}  # the SMS texts sent to each number (simulator checks)
        self._password_problems: list[Difference] = []
        self.passwords_checked = 0  # AAA accounts whose hash was checked against their SMS

    async def differences(self) -> list[Difference]:
        """Every difference between the order store and the provinces' holdings."""
        services = await asyncio.to_thread(self._store.services.list_services)  # the store's reads block
        open_services = [service for service in services if service.state in OPEN_STATES]
        known = {service.service_id for service in services}
        if self._simulator_checks:
            for sms in await self._get("/admin/sms"):
                self._sent.setdefault(sms["msisdn"], []).append(sms["text"])
        found: list[Difference] = []
        for province, system in SITES:
            expected = expected_at(self._store, open_services, province, system, self._page_size)
            found += await compare_site(province, system, expected, self._pages(province, system), known)
        if self._simulator_checks:
            found += await self._repeated_writes() + self._password_problems
        if self._temporal is not None:
            found += await self._never_recorded()
        return found

    async def _pages(self, province: str, system: str) -> AsyncIterator[list[dict]]:
        """The province's system's holdings a page at a time; its AAA accounts' passwords
        checked page by page (simulator checks)."""
        read = 0
        async for page in HubClient(http=self._hub).holdings(province, system, self._page_size):
            read += len(page)
            self.pages_read += 1
            if self._on_page is not None:
                self._on_page(f"{province} {system}: {read} read")
            if self._simulator_checks and system == "aaa":
                self._password_problems += await asyncio.to_thread(self._passwords, province, page)
            yield page

    async def _get(self, path: str, **params) -> list[dict]:
        response = await self._hub.get(path, params=params)
        response.raise_for_status()
        return response.json()

    async def _repeated_writes(self) -> list[Difference]:
        """Effects one step applied more than once: a resource written again, a second SMS."""
        return [Difference(f"order {r['step'].split(':')[0]}", r["province"], r["system"], r["kind"], r["key"],
                           f"written {r['writes']} times by step {r['step']} {SIMULATOR_ONLY}", "simulator")
                for r in await self._get("/admin/writes/repeated", limit=1_000_000)]

    def _passwords(self, province: str, page: list[dict]) -> list[Difference]:
        """Each AAA account's password hash against the password its member's latest SMS for
        that APN carried."""
        found = []
        for account in (r for r in page if r["kind"] == "aaa_account"):
            data, text = account["data"], f"password hash does not match the password sent by SMS {SIMULATOR_ONLY}"
            sent = [p for t in self._sent.get(account["key"], []) if (p := password_sent(t, data.get("apn", "")))]
            self.passwords_checked += 1
            try:
                if not sent:
                    text = f"no password SMS for this account {SIMULATOR_ONLY}"
                elif password_matches(sent[-1], data.get("password_hash", "")):
                    continue
            except ValueError:
                pass
            found.append(Difference(data.get("service_id", "?"), province, "aaa", "aaa_account", account["key"],
                                    text, "simulator"))
        return found

    async def _never_recorded(self) -> list[Difference]:
        """Orders Temporal knows (started over a minute ago) that the order store never recorded."""
        query = f"TaskQueue = '{self._task_queue}' AND WorkflowId STARTS_WITH 'vpdn-'"
        found = []
        async for execution in self._temporal.list_workflows(query):
            order_no = next((execution.id.removeprefix(f"{prefix}-") for prefix in WORKFLOW_ID_PREFIX.values()
                             if execution.id.startswith(f"{prefix}-")), None)
            young = execution.start_time > datetime.now(UTC) - RECORDING_GRACE
            if order_no is None or young or self._store.orders.get_order(order_no) is not None:
                continue
            status = execution.status.name.lower() if execution.status else "unknown"
            found.append(Difference(f"order {order_no}", "GPMS", "order store", "order", execution.id,
                                    f"never recorded (its workflow is {status})", "never recorded"))
        return found
