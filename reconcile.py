"""`vpdn reconcile`: does what GPMS recorded agree with what every province holds?

For each service in the order store, what its provinces should hold — the group tariff
package of the current version in every related province, the access CRM's work order,
the line order when there is a line, the running rental from its start date (and its
settlement record), and for every member the HLR subscription and member billing (on the
member's plan) in its home province and the AAA account in the access province — is
compared with the provinces' holdings, read through the hub a page at a time. Holdings of a
service GPMS does not count as open (closed), or does not know at all (discarded after a failed opening, or never recorded), are differences too.

Two checks only the simulator can answer, labelled so: an effect one step applied more than
once (its write log) and an AAA password hash that does not match the password the member's
SMS carried (a real AAA never shows the hash with the SMS). With a Temporal client, an order
Temporal knows that the order store never recorded is a difference as well.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from temporalio.client import Client

from activities.aaa import password_sent
from adapters.hub import HubClient
from adapters.passwords import password_matches
from models.orders import WORKFLOW_ID_PREFIX
from models.plans import STANDARD, MemberPlan
from models.provinces import HQ, PROVINCE_CODES
from store import OrderStore

OPEN_STATES = ("active", "closing")
# What a province holds for a service (work orders sent are records, not holdings).
HELD_KINDS = ("group_tariff_package", "service_order", "line_order", "rental", "rental_record",
              "vpdn_subscription", "member_billing", "aaa_account")
SIMULATOR_ONLY = "(simulator-only check)"
# An order's workflow records the order first thing; younger ones may not have yet.
RECORDING_GRACE = timedelta(minutes=1)


@dataclass(frozen=True)
class Difference:
    service_id: str
    province: str
    system: str
    kind: str
    key: str
    problem: str  # "missing", "unexpected", "stale version 1 (GPMS has 2)"
    # For the worklist: the problem's class (missing, unexpected, stale, starts, plan, unknown
    # service, simulator), what GPMS holds and what the province holds, and the latter's data.
    code: str = ""
    gpms_holds: str = ""
    province_holds: str = ""

    def __str__(self) -> str:
        return f"{self.service_id}: {self.province} {self.system} {self.kind} {self.key}: {self.problem}"


def same_plan(recorded: MemberPlan | None, billed: dict | None) -> bool:
    """Whether billing bills a member on the plan GPMS records (None: the standard plan)."""
    billed_plan = MemberPlan.model_validate(billed) if billed else None
    if recorded is None:
        return billed_plan is None or billed_plan.same_as(None)
    return recorded.same_as(billed_plan)


def plan_text(plan: MemberPlan | dict | None) -> str:
    return str(MemberPlan.model_validate(plan)) if plan else STANDARD


class Reconciler:
    """`temporal` and its `task_queue`: where to find the orders' workflows (None: not checked);
    `simulator_checks`: whether the hub is the simulator, which can answer its own checks;
    `page_size`: the holdings read from a province's system per request; `on_page(text)`:
    called after each page (an activity's heartbeat)."""

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
        self._holdings: dict[tuple[str, str], list[dict]] = {}
        self.passwords_checked = 0  # AAA accounts whose hash was checked against their SMS

    async def differences(self) -> list[Difference]:
        """Every difference between the order store and the provinces' holdings."""
        sites = [(p, s) for p in PROVINCE_CODES for s in ("crm", "hlr", "billing", "aaa", "line")]
        hub = HubClient(http=self._hub)
        for province, system in sites + [(HQ, "settlement")]:
            held = self._holdings[province, system] = []
            async for page in hub.holdings(province, system, self._page_size):
                held += page
                self.pages_read += 1
                if self._on_page is not None:
                    self._on_page(f"{province} {system}: {len(held)} read")
        found = await asyncio.to_thread(self._compare)  # the order store's reads block
        if self._simulator_checks:
            found += await self._repeated_writes() + await self._passwords()
        if self._temporal is not None:
            found += await self._never_recorded()
        return found

    def _compare(self) -> list[Difference]:
        """Every service's holdings against GPMS's records, and holdings of services it does not know."""
        found: list[Difference] = []
        services = self._store.services.list_services()
        held_by_service: dict[str, list[tuple[str, str, str, str]]] = {}
        for (province, system), held in self._holdings.items():
            for r in held:
                if r["kind"] in HELD_KINDS:
                    held_by_service.setdefault(r["data"].get("service_id"), []).append(
                        (province, system, r["kind"], r["key"]))
        for service in services:
            found += self._service(service, service.state in OPEN_STATES, held_by_service.get(service.service_id, []))
        return found + self._unknown_services({service.service_id for service in services})

    async def _get(self, path: str, **params) -> list[dict]:
        response = await self._hub.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def _unknown_services(self, known: set[str]) -> list[Difference]:
        """Anything held for a service the order store does not know."""
        known = known | {None}
        return [Difference(resource["data"]["service_id"], province, system, resource["kind"], resource["key"],
                           "unexpected: the service is unknown to GPMS", "unknown service",
                           "nothing: the service is unknown", f"{resource['kind']} {resource['key']}")
                for (province, system), held in self._holdings.items() for resource in held
                if resource["kind"] in HELD_KINDS and resource["data"].get("service_id") not in known]

    async def _repeated_writes(self) -> list[Difference]:
        """Effects one step applied more than once: a resource written again, a second SMS."""
        return [Difference(f"order {r['step'].split(':')[0]}", r["province"], r["system"], r["kind"], r["key"],
                           f"written {r['writes']} times by step {r['step']} {SIMULATOR_ONLY}", "simulator")
                for r in await self._get("/admin/writes/repeated", limit=1_000_000)]

    async def _passwords(self) -> list[Difference]:
        """Each AAA account's password hash against the password its member's latest SMS for
        that APN carried."""
        sent: dict[str, list[str]] = {}
        for sms in await self._get("/admin/sms"):
            sent.setdefault(sms["msisdn"], []).append(sms["text"])
        accounts = [(province, r) for (province, system), held in self._holdings.items() if system == "aaa"
                    for r in held if r["kind"] == "aaa_account"]

        def problem(account: dict) -> str | None:
            data = account["data"]
            passwords = [p for text in sent.get(account["key"], []) if (p := password_sent(text, data.get("apn", "")))]
            if not passwords:
                return f"no password SMS for this account {SIMULATOR_ONLY}"
            try:
                matches = password_matches(passwords[-1], data.get("password_hash", ""))
            except ValueError:
                matches = False
            return None if matches else f"password hash does not match the password sent by SMS {SIMULATOR_ONLY}"

        problems = await asyncio.to_thread(lambda: [problem(account) for _, account in accounts])
        self.passwords_checked = len(accounts)
        return [Difference(account["data"].get("service_id", "?"), province, "aaa", "aaa_account", account["key"],
                           text, "simulator") for (province, account), text in zip(accounts, problems) if text]

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

    def held(self, difference: Difference) -> dict:
        """What the province holds of a difference's resource, as it holds it (after `differences`)."""
        if (difference.province, difference.system) not in self._holdings:
            return {}
        return self._held(difference.province, difference.system, difference.kind).get(difference.key, {})

    def _held(self, province: str, system: str, kind: str) -> dict[str, dict]:
        return {r["key"]: r["data"] for r in self._holdings[province, system] if r["kind"] == kind}

    def _service(self, service, expected_open: bool, its_holdings: list[tuple[str, str, str, str]]
                 ) -> list[Difference]:
        """The service's holdings against GPMS's record of it; `its_holdings`: (province, system,
        kind, key) of everything held for it — what GPMS does not expect is unexpected."""
        found: list[Difference] = []
        checked: set[tuple[str, str, str, str]] = set()

        def check(province: str, system: str, kind: str, key: str, expected: bool, version: int | None = None,
                  start_date: str | None = None):
            held, what = self._held(province, system, kind), f"{kind} {key}"
            checked.add((province, system, kind, key))

            def differs(problem: str, code: str, gpms: str, province_has: str) -> None:
                found.append(Difference(service.service_id, province, system, kind, key, problem, code, gpms,
                                        province_has))

            if expected and key not in held:
                differs("missing", "missing", what, "nothing")
            elif not expected and key in held:
                differs("unexpected", "unexpected", "nothing", what)
            elif expected and version is not None and held[key].get("version") != version:
                differs(f"stale version {held[key].get('version')} (GPMS has {version})", "stale",
                        f"{what} version {version}", f"{what} version {held[key].get('version')}")
            elif expected and start_date is not None and held[key].get("start_date") != start_date:
                differs(f"starts {held[key].get('start_date')} (GPMS has {start_date})", "starts",
                        f"{what} from {start_date}", f"{what} from {held[key].get('start_date')}")

        sid, access = service.service_id, service.access_province
        all_provinces = sorted({*service.provinces, access})
        for province in all_provinces:
            check(province, "crm", "group_tariff_package", sid,
                  expected_open and province in service.provinces, service.tariff_version)
        check(access, "crm", "service_order", sid, expected_open)
        check(access, "line", "line_order", sid, expected_open and service.line is not None)
        if service.rental_id:
            check(access, "billing", "rental", service.rental_id, expected_open, start_date=service.rental_start)
            check(HQ, "settlement", "rental_record", service.rental_id, expected_open and service.off_site_payment,
                  start_date=service.rental_start)
        members = self._store.members.member_homes(sid) if expected_open else {}
        plans = self._store.terms.plans(sid) if expected_open else {}
        billing = {home: self._held(home, "billing", "member_billing") for home in set(members.values())}
        for msisdn, home in members.items():
            check(home, "hlr", "vpdn_subscription", msisdn, True)
            check(home, "billing", "member_billing", msisdn, True)
            check(access, "aaa", "aaa_account", msisdn, True)
            held = billing[home].get(msisdn)
            if held is not None and not same_plan(plans.get(msisdn), held.get("plan")):
                billed, recorded = plan_text(held.get("plan")), plan_text(plans.get(msisdn))
                found.append(Difference(sid, home, "billing", "member_billing", msisdn,
                                        f"plan {billed} (GPMS has {recorded})", "plan",
                                        f"member_billing {msisdn} on plan {recorded}",
                                        f"member_billing {msisdn} on plan {billed}"))
        for province, system, kind, key in its_holdings:
            if (province, system, kind, key) not in checked:
                found.append(Difference(sid, province, system, kind, key, "unexpected", "unexpected", "nothing",
                                        f"{kind} {key}"))
        return found
