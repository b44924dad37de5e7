"""`vpdn reconcile`: does what GPMS recorded agree with what every province holds?

For each service in the order store, what its provinces should hold — the group tariff
package of the current version in every related province, the access CRM's work order,
the line order when there is a line, the running rental from its start date (and its
settlement record), and for every member the HLR subscription and member billing (on the
member's plan) in its home province and the AAA account in the access province — is
compared with the provinces' holdings (through the hub's admin API, which
the simulator offers). Holdings of a service GPMS does not count as open are differences
too.
"""

from dataclasses import dataclass

import httpx

from models.plans import STANDARD, MemberPlan
from models.provinces import HQ, PROVINCE_CODES
from store import OrderStore

OPEN_STATES = ("active", "closing")


@dataclass(frozen=True)
class Difference:
    service_id: str
    province: str
    system: str
    kind: str
    key: str
    problem: str  # "missing", "unexpected", "stale version 1 (GPMS has 2)"

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
    def __init__(self, store: OrderStore, hub: httpx.AsyncClient) -> None:
        self._store = store
        self._hub = hub
        self._holdings: dict[tuple[str, str], list[dict]] = {}

    async def differences(self) -> list[Difference]:
        """Every difference between the order store and the provinces' holdings."""
        sites = [(p, s) for p in PROVINCE_CODES for s in ("crm", "hlr", "billing", "aaa", "line")]
        for province, system in sites + [(HQ, "settlement")]:
            response = await self._hub.get(f"/admin/provinces/{province}/{system}/resources",
                                           params={"limit": 1_000_000})
            response.raise_for_status()
            self._holdings[province, system] = response.json()
        found: list[Difference] = []
        for service in self._store.services.list_services():
            found += self._service(service, service.state in OPEN_STATES)
        return found

    def _held(self, province: str, system: str, kind: str) -> dict[str, dict]:
        return {r["key"]: r["data"] for r in self._holdings[province, system] if r["kind"] == kind}

    def _service(self, service, expected_open: bool) -> list[Difference]:
        found: list[Difference] = []

        def check(province: str, system: str, kind: str, key: str, expected: bool, version: int | None = None,
                  start_date: str | None = None):
            held = self._held(province, system, kind)
            if expected and key not in held:
                found.append(Difference(service.service_id, province, system, kind, key, "missing"))
            elif not expected and key in held:
                found.append(Difference(service.service_id, province, system, kind, key, "unexpected"))
            elif expected and version is not None and held[key].get("version") != version:
                found.append(Difference(service.service_id, province, system, kind, key,
                                        f"stale version {held[key].get('version')} (GPMS has {version})"))
            elif expected and start_date is not None and held[key].get("start_date") != start_date:
                found.append(Difference(service.service_id, province, system, kind, key,
                                        f"starts {held[key].get('start_date')} (GPMS has {start_date})"))

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
                found.append(Difference(sid, home, "billing", "member_billing", msisdn,
                                        f"plan {plan_text(held.get('plan'))} (GPMS has {plan_text(plans.get(msisdn))})"))
        member_sites = [(p, "hlr", "vpdn_subscription") for p in PROVINCE_CODES]
        member_sites += [(p, "billing", "member_billing") for p in PROVINCE_CODES] + [(access, "aaa", "aaa_account")]
        for province, system, kind in member_sites:
            for msisdn, data in self._held(province, system, kind).items():
                if data.get("service_id") == sid and msisdn not in members:
                    found.append(Difference(sid, province, system, kind, msisdn, "unexpected"))
        return found
