"""One province's system against GPMS, as a merge-walk: what GPMS expects it to hold and what
it holds, both in the order of kind and key, read a page at a time from the order store and
through the hub — so memory holds a page of each side, whatever a province holds.

GPMS expects, of each open service: the group tariff package of the current version in each
related province's CRM, the access CRM's work order, the line order when there is a line,
the running rental from its start date in the access province's billing (and its record at
HQ settlement for off-site payment); of each member, the HLR subscription and the member
billing (on the member's plan) in its home province and the AAA account in the access
province. Anything else held for a known service is unexpected; held for a service GPMS does
not know, it is a difference of its own.
"""

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

from models.plans import STANDARD, MemberPlan
from models.service import ServiceView
from store import OrderStore

# What a province holds for a service, by system (work orders sent are records, not holdings).
HELD_KINDS = {"crm": ("group_tariff_package", "service_order"), "line": ("line_order",),
              "billing": ("member_billing", "rental"), "settlement": ("rental_record",),
              "hlr": ("vpdn_subscription",), "aaa": ("aaa_account",)}
MEMBER_KINDS = {"vpdn_subscription": "home", "member_billing": "home", "aaa_account": "access"}


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
    province_data: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __str__(self) -> str:
        return f"{self.service_id}: {self.province} {self.system} {self.kind} {self.key}: {self.problem}"


@dataclass(frozen=True)
class Expected:
    """What GPMS expects a province to hold of one resource."""

    kind: str
    key: str
    service_id: str
    version: int | None = None
    start_date: str | None = None
    plan: MemberPlan | None = None
    billed: bool = False  # member billing: on `plan`


def same_plan(recorded: MemberPlan | None, billed: dict | None) -> bool:
    """Whether billing bills a member on the plan GPMS records (None: the standard plan)."""
    billed_plan = MemberPlan.model_validate(billed) if billed else None
    if recorded is None:
        return billed_plan is None or billed_plan.same_as(None)
    return recorded.same_as(billed_plan)


def plan_text(plan: MemberPlan | dict | None) -> str:
    return str(MemberPlan.model_validate(plan)) if plan else STANDARD


def _services_expected(open_services: list[ServiceView], province: str, kind: str) -> list[Expected]:
    """The service-level resources of that kind GPMS expects at the province, by key."""
    found = []
    for s in open_services:
        at_access = s.access_province == province
        if kind == "group_tariff_package" and province in s.provinces:
            found.append(Expected(kind, s.service_id, s.service_id, version=s.tariff_version))
        elif (kind == "service_order" and at_access) or (kind == "line_order" and at_access and s.line):
            found.append(Expected(kind, s.service_id, s.service_id))
        elif s.rental_id and ((kind == "rental" and at_access) or (kind == "rental_record" and s.off_site_payment)):
            found.append(Expected(kind, s.rental_id, s.service_id, start_date=s.rental_start))
    return sorted(found, key=lambda e: e.key)


async def expected_at(store: OrderStore, open_services: list[ServiceView], province: str, system: str,
                      page_size: int) -> AsyncIterator[Expected]:
    """What GPMS expects the province's system to hold, in the order of kind and key; members
    read from the order store a page at a time."""
    for kind in sorted(HELD_KINDS[system]):
        if kind not in MEMBER_KINDS:
            for expected in _services_expected(open_services, province, kind):
                yield expected
            continue
        where = {MEMBER_KINDS[kind]: province}
        after = ""
        while True:
            page = await asyncio.to_thread(store.terms.members_page, after=after, limit=page_size, **where)
            for msisdn, service_id, plan in page:
                yield Expected(kind, msisdn, service_id, plan=plan, billed=kind == "member_billing")
            if len(page) < page_size:
                break
            after = page[-1][0]


async def _held(pages: AsyncIterator[list[dict]], kinds: Iterable[str]) -> AsyncIterator[dict]:
    async for page in pages:
        for resource in page:
            if resource["kind"] in kinds:
                yield resource


async def compare_site(province: str, system: str, expected: AsyncIterator[Expected],
                       pages: AsyncIterator[list[dict]], known: set[str]) -> list[Difference]:
    """Walk both sides at once (each sorted by kind and key): a resource on one side only is
    missing or unexpected; on both, its version, start date or plan must be GPMS's."""
    found: list[Difference] = []
    held_items = _held(pages, HELD_KINDS[system])
    e, h = await anext(expected, None), await anext(held_items, None)
    last: tuple[str, str] | None = None
    while e is not None or h is not None:
        e_at = (e.kind, e.key) if e is not None else None
        h_at = (h["kind"], h["key"]) if h is not None else None
        if e_at is not None and e_at == last:  # a number in two services: the first counts
            e = await anext(expected, None)
            continue
        if h_at is None or (e_at is not None and e_at < h_at):
            found.append(Difference(e.service_id, province, system, e.kind, e.key, "missing", "missing",
                                    f"{e.kind} {e.key}", "nothing"))
            last, e = e_at, await anext(expected, None)
            continue
        if e_at is None or h_at < e_at:
            found += _unexpected(province, system, h, known)
        elif (difference := _differs(province, system, e, h)) is not None:
            found.append(difference)
        if e_at == h_at:
            last, e = e_at, await anext(expected, None)
        h = await anext(held_items, None)
    return found


def _unexpected(province: str, system: str, held: dict, known: set[str]) -> list[Difference]:
    """A resource GPMS does not expect (none when it names no service at all)."""
    kind, key, service_id = held["kind"], held["key"], held["data"].get("service_id")
    what = f"{kind} {key}"
    if service_id is None:
        return []
    if service_id not in known:
        return [Difference(service_id, province, system, kind, key, "unexpected: the service is unknown to GPMS",
                           "unknown service", "nothing: the service is unknown", what, held["data"])]
    return [Difference(service_id, province, system, kind, key, "unexpected", "unexpected", "nothing", what,
                       held["data"])]


def _differs(province: str, system: str, e: Expected, held: dict) -> Difference | None:
    data, what = held["data"], f"{e.kind} {e.key}"

    def differs(problem: str, code: str, gpms: str, province_has: str) -> Difference:
        return Difference(e.service_id, province, system, e.kind, e.key, problem, code, gpms, province_has, data)

    if e.version is not None and data.get("version") != e.version:
        return differs(f"stale version {data.get('version')} (GPMS has {e.version})", "stale",
                       f"{what} version {e.version}", f"{what} version {data.get('version')}")
    if e.start_date is not None and data.get("start_date") != e.start_date:
        return differs(f"starts {data.get('start_date')} (GPMS has {e.start_date})", "starts",
                       f"{what} from {e.start_date}", f"{what} from {data.get('start_date')}")
    if e.billed and not same_plan(e.plan, data.get("plan")):
        billed, recorded = plan_text(data.get("plan")), plan_text(e.plan)
        return differs(f"plan {billed} (GPMS has {recorded})", "plan", f"{what} on plan {recorded}",
                       f"{what} on plan {billed}")
    return None
