"""`vpdn demo`: a whole service life against the simulated provinces, narrated, with the UI
link of every workflow. Needs `vpdn up` running: every order is submitted, decided and read
through GPMS's API by `vpdn up`'s local people, two of them at least (alice, an account
manager, submits; bob, an HQ auditor, approves; carol, an operator, resolves the fallout).

acquire a customer → open a 5-province VPDN with a line, under its contract, approved by
bob → 200 members join (one province refuses three of them) → 40 of them move to another
member plan (one province's billing refuses two) → tariff change → a line-center fault goes
to fallout and is resolved → the members exit → the service closes → the acceptance basic
information tables of the join and the plan change are written.
"""

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from rich.console import Console

from models.orders import TERMINAL_STATES, OrderState, service_orders_workflow_id
from models.provinces import PROVINCE_CODES
from settings import Settings

CUSTOMER = "9100000001"
CREDIT = "91440000DEMO0001X"
PROVINCES = ["GD", "SH", "BJ", "ZJ", "SC"]
MEMBERS = [f"1360000{n:04d}" for n in range(200)]
REFUSED_IN_ZJ = [m for i, m in enumerate(MEMBERS) if i % 5 == 3][:3]
# Who acts: `vpdn up`'s local people.
SUBMITTER, AUDITOR, OPERATOR = "alice", "bob", "carol"
# The audit of the orders after the opening was made outside GPMS, by (a reference).
OUTSIDE_AUDIT = "hq-audit"


class Refused(Exception):
    """The API refused what the demo asked (4xx), or could not answer."""


class Demo:
    def __init__(self, settings: Settings, console: Console) -> None:
        self.settings = settings
        self.console = console
        self.stamp = datetime.now(UTC).strftime("%m%d%H%M%S")
        self.hub = httpx.AsyncClient(base_url=settings.hub_url, timeout=60)
        self.api = httpx.AsyncClient(base_url=settings.api_url, timeout=120)
        self.tokens = local_tokens(settings)

    def say(self, text: str) -> None:
        self.console.print(f"[bold cyan]▶[/bold cyan] {text}")

    def link(self, workflow_id: str) -> None:
        ui = f"http://localhost:{self.settings.ui_port}/namespaces/{self.settings.namespace}/workflows"
        self.console.print(f"   UI: {ui}/{workflow_id}", highlight=False, soft_wrap=True)

    async def admin(self, path: str, body: Any = None) -> Any:
        response = await self.hub.post(path, json=body)
        response.raise_for_status()
        return response.json()

    async def call(self, person: str, method: str, path: str, **sent: Any) -> httpx.Response:
        """The API, as `person`; a refusal stops the demo with the API's text."""
        response = await self.api.request(method, path, headers={"Authorization": f"Bearer {self.tokens[person]}"},
                                          **sent)
        if response.status_code >= 400:
            raise Refused(f"{method} {path} as {person}: {response.status_code} {detail(response)}")
        return response

    async def read(self, path: str, **params: Any) -> Any:
        return (await self.call(SUBMITTER, "GET", path, params=params)).json()

    async def submit(self, kind: str, **sent: Any) -> dict:
        """An order submitted by the account manager; the UI link of its workflow."""
        accepted = (await self.call(SUBMITTER, "POST", f"/orders/{kind}", **sent)).json()
        self.link(accepted["workflow_id"])
        return accepted

    async def members(self, kind: str, order_no: str, msisdns: list[str], fields: dict | None = None) -> dict:
        """A member order: its member file uploaded as `vpdn member …` does."""
        return await self.submit(kind, data={"service_id": self.service_id, "order_no": order_no,
                                             "pre_approved_by": OUTSIDE_AUDIT, **(fields or {})},
                                 files={"file": ("members.csv", "\n".join(msisdns).encode(), "text/csv")})

    async def wait(self, order_no: str, until=lambda order: order["state"] in TERMINAL_STATES,
                   timeout_s: float = 90) -> dict:
        deadline = time.monotonic() + timeout_s
        while True:
            response = await self.api.get(f"/orders/{order_no}",
                                          headers={"Authorization": f"Bearer {self.tokens[SUBMITTER]}"})
            order = response.json() if response.status_code == 200 else None
            if order is not None and until(order):
                return order
            if time.monotonic() > deadline:
                raise SystemExit(f"demo: order {order_no} did not get there in {timeout_s:.0f} s "
                                 f"(it is {order['state'] if order else 'not recorded'}): is the worker running?")
            await asyncio.sleep(0.3)

    async def counts(self, order_no: str) -> dict:
        return (await self.read(f"/orders/{order_no}/status"))["members"]

    async def run(self) -> None:
        self.say(f"the provinces know group customer {CUSTOMER} (group in GD, branches in 4 provinces) "
                 f"and {len(MEMBERS)} subscribers")
        await self.admin("/admin/seed", {
            "customers": [{"province": p, "customer_code": CUSTOMER, "name": "Demo Logistics" + (
                "" if p == "GD" else f" {p} branch"), "credit_code": CREDIT, "level": "group" if p == "GD" else "branch"}
                for p in PROVINCES],
            "subscribers": [{"msisdn": m, "home_province": PROVINCES[i % 5]} for i, m in enumerate(MEMBERS)]})

        order_no = f"DEMO-ACQ-{self.stamp}"
        self.say(f"1. customer acquisition {order_no} by {SUBMITTER}: all {len(PROVINCE_CODES)} provincial CRMs "
                 "are asked")
        await self.submit("customer-acquisition", json={"order_no": order_no, "customer_code": CUSTOMER})
        await self.wait(order_no)
        hierarchy = await self.read(f"/customers/{CUSTOMER}")
        self.console.print(f"   {hierarchy['name']}: group in {hierarchy['group_province']}, "
                           f"branches in {', '.join(b['province'] for b in hierarchy['branches'])}")

        opening = {
            "order_no": f"DEMO-OPN-{self.stamp}", "customer_code": CUSTOMER, "apn": f"demo{self.stamp}.vpdn.gd",
            "access_province": "GD", "provinces": PROVINCES,
            "line": {"bandwidth_mbps": 200, "address": "1 Tianhe Rd, Guangzhou"},
            "tariff": {"name": "Demo 2026", "parameters": {"monthly_fee": "5000", "member_fee": "12",
                                                           "member_data_gb": "10"}, "discounts": {"volume": "0.9"}},
            "paying_province": "SH",
            "contract": {"number": f"DEMO-CT-{self.stamp}", "signed_on": datetime.now(UTC).date().isoformat(),
                         "signed_by": "am-demo", "tariff_reference": "HQ-TRF-DEMO-2026"}}
        self.say(f"2. service opening {opening['order_no']} by {SUBMITTER}: tariff configured in 5 provinces, "
                 "the access line scheduled in GD, rental at GD billing and HQ settlement (paid by SH)")
        accepted = await self.submit("service-opening", json=opening)
        self.service_id = accepted["service_id"]
        self.console.print(f"   {AUDITOR} (hq_auditor) approves its business audit: "
                           f"vpdn --as {AUDITOR} order approve {opening['order_no']}")
        answer = await self.call(AUDITOR, "POST", f"/orders/{opening['order_no']}/approval",
                                 json={"reason": "tariff as approved by HQ"})
        self.console.print(f"   {answer.json()['answer']}", highlight=False)
        opened = await self.wait(opening["order_no"])
        service = await self.read(f"/services/{self.service_id}")
        self.console.print(f"   service {self.service_id} {opened['state']}, rental from {service['rental_start']}")

        self.say(f"3. 200 members join; ZJ's HLR refuses {len(REFUSED_IN_ZJ)} of them")
        await self.admin("/admin/faults", {"province": "ZJ", "system": "hlr", "operation": "subscribe_vpdn_batch",
                                           "kind": "reject", "code": "E3101", "text": "HLR profile locked",
                                           "msisdns": REFUSED_IN_ZJ})
        join = f"DEMO-JOIN-{self.stamp}"
        await self.members("member-join", join, MEMBERS)
        joined = await self.wait(join)
        counts = await self.counts(join)
        self.console.print(f"   order {join} {joined['state']}: {counts['done']} joined, "
                           f"{counts['failed']} refused (vpdn order members {join} --state failed)")
        await self.admin("/admin/reset")
        plan = await self.plan_change(service)

        tariff = f"DEMO-TRF-{self.stamp}"
        self.say(f"4. tariff change {tariff}: version 2, complete set to every province")
        await self.submit("tariff-change", json={
            "order_no": tariff, "service_id": self.service_id, "pre_approved_by": OUTSIDE_AUDIT,
            "change": {"parameters": {"monthly_fee": "4800"}, "new_discounts": {"loyalty": "0.95"}}})
        self.console.print(f"   {(await self.wait(tariff))['state']}")

        change = f"DEMO-CHG-{self.stamp}"
        self.say(f"5. service change {change}: the GD line center rejects the new line → fallout")
        await self.admin("/admin/faults", {"province": "GD", "system": "line", "operation": "schedule_line",
                                           "kind": "reject", "code": "E6001", "text": "duct full at the address",
                                           "count": 1})
        await self.submit("service-change", json={
            "order_no": change, "service_id": self.service_id, "pre_approved_by": OUTSIDE_AUDIT,
            "change": {"line": {"bandwidth_mbps": 500, "address": "1 Tianhe Rd, Guangzhou"}}})
        held = await self.wait(change, lambda order: order["state"] == OrderState.held)
        [fallout] = [f for f in await self.read("/fallouts") if f["order_no"] == change]
        self.console.print(f"   held: {held['sub_state']}")
        self.console.print(f"   {OPERATOR} (operator) decides: vpdn --as {OPERATOR} fallout resolve "
                           f"{fallout['fallout_id']} --action retry")
        await self.call(OPERATOR, "POST", f"/fallouts/{fallout['fallout_id']}/resolution",
                        json={"action": "retry", "reason": "duct cleared by the field team"})
        self.console.print(f"   {(await self.wait(change))['state']}")

        members = sorted(m["msisdn"] for m in await self.read(f"/services/{self.service_id}/members"))
        self.say(f"6. the {len(members)} members exit")
        leave = f"DEMO-EXIT-{self.stamp}"
        await self.members("member-exit", leave, members)
        self.console.print(f"   order {leave} {(await self.wait(leave))['state']}")

        closure = f"DEMO-CLS-{self.stamp}"
        self.say(f"7. service closure {closure}: line rent terminated, tariffs cancelled, rental stopped")
        await self.submit("service-closure", json={"order_no": closure, "service_id": self.service_id,
                                                   "pre_approved_by": OUTSIDE_AUDIT})
        self.console.print(f"   {(await self.wait(closure))['state']}; "
                           f"service {(await self.read(f'/services/{self.service_id}'))['state']}")
        self.link(service_orders_workflow_id(self.service_id))
        self.say("8. the acceptance basic information tables (VPDN业务受理基础信息表) kept with the orders")
        for order_no, name in ((join, "join.xlsx"), (plan, "plan-change.csv")):
            path = self.settings.data_dir / f"acceptance-{self.stamp}-{name}"
            table = await self.call(SUBMITTER, "GET", f"/orders/{order_no}/acceptance-table",
                                    params={"format": path.suffix[1:]})
            path.write_bytes(table.content)
            self.console.print(f"   order {order_no} → {path}  (vpdn order report {order_no} --out table.xlsx)",
                               highlight=False)
        self.console.print("[green]demo finished[/green]: every order above is in the Temporal UI "
                           f"(filter: VpdnCustomerCode = \"{CUSTOMER}\") and in `vpdn order list --customer {CUSTOMER}`")

    async def plan_change(self, service: dict) -> str:
        """The members among the first 40 move to the "field staff" plan; SC's billing refuses two."""
        homes = {m["msisdn"]: m["home_province"] for m in await self.read(f"/services/{self.service_id}/members")}
        movers = [m for m in MEMBERS[:40] if m in homes]
        refused = [m for m in movers if homes[m] == "SC"][:2]
        plan = {"name": "field staff", "tariff_version": service["tariff_version"],
                "parameters": {"member_fee": "15", "member_data_gb": "30"}}
        order_no = f"DEMO-PLAN-{self.stamp}"
        self.say(f"3b. member plan change {order_no}: {len(movers)} members to plan {plan['name']}, per home province; "
                 f"SC's billing refuses {len(refused)} of them, who keep their plan")
        await self.admin("/admin/faults", {"province": "SC", "system": "billing", "operation": "set_member_plan_batch",
                                           "kind": "reject", "code": "E3210", "text": "plan locked by a promotion",
                                           "msisdns": refused})
        await self.members("member-plan-change", order_no, movers, {"plan": json.dumps(plan)})
        order = await self.wait(order_no)
        counts = await self.counts(order_no)
        self.console.print(f"   order {order_no} {order['state']}: {counts['done']} on the new plan, "
                           f"{counts['failed']} kept their plan (vpdn service members {self.service_id})")
        await self.admin("/admin/reset")
        return order_no

    async def close(self) -> None:
        await self.hub.aclose()
        await self.api.aclose()


def local_tokens(settings: Settings) -> dict[str, str]:
    """The tokens of `vpdn up`'s local people (credentials.json)."""
    try:
        people = json.loads(settings.credentials_file.read_text())
        return {name: people[name]["token"] for name in (SUBMITTER, AUDITOR, OPERATOR)}
    except (OSError, ValueError, KeyError) as error:
        raise SystemExit(f"demo: the tokens of {SUBMITTER}, {AUDITOR} and {OPERATOR} are not in "
                         f"{settings.credentials_file} ({error}): is `vpdn up` running?") from None


def detail(response: httpx.Response) -> str:
    try:
        return str(response.json()["detail"])
    except (ValueError, KeyError, TypeError):
        return response.text


async def run_demo(settings: Settings, console: Console) -> None:
    """The demo, narrated; a refusal or an unreachable API stops it with one line (exit 1)."""
    started = time.monotonic()
    demo = Demo(settings, console)
    try:
        await demo.run()
    except Refused as refusal:
        raise SystemExit(f"demo stopped, refused: {refusal}") from None
    except httpx.TransportError as error:
        raise SystemExit(f"demo stopped: cannot reach {error.request.url.host}:{error.request.url.port} "
                         f"({error}): is `vpdn up` running?") from None
    finally:
        await demo.close()
    console.print(f"(the demo took {time.monotonic() - started:.0f} s)")
