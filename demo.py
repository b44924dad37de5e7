"""`vpdn demo`: a whole service life against the simulated provinces, narrated, with the UI
link of every workflow. Needs `vpdn up` (or a worker and the simulator) running.

acquire a customer → open a 5-province VPDN with a line, under its contract → 200 members
join (one province refuses three of them) → 40 of them move to another member plan (one
province's billing refuses two) → tariff change → a line-center fault goes to fallout and is
resolved → the members exit → the service closes → the acceptance basic information tables
of the join and the plan change are written → a local listener shows an order event it received.
"""

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from rich.console import Console
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError

from models.customer import AcquireCustomerInput
from models.fallout import FalloutDecision
from acceptance_sheet import write_table
from demo_listener import DemoListener
from models.members import MemberLine, MemberOrder
from models.plans import MemberPlan, MemberPlanChangeOrder
from models.orders import TERMINAL_STATES, OrderState, OrderType, service_orders_workflow_id, workflow_id_for
from models.provinces import PROVINCE_CODES
from models.service import ServiceChangeOrder, ServiceClosureOrder, ServiceOpeningOrder, TariffChangeOrder
from intake import Intake, Refusal
from settings import Settings, connect_temporal
from store import OrderStore
from submission import start_order, submit_service_order
from workflows.common import failure_text
from workflows.customer_acquisition import CustomerAcquisition
from workflows.service_opening import ServiceOpening

CUSTOMER = "9100000001"
CREDIT = "91440000DEMO0001X"
PROVINCES = ["GD", "SH", "BJ", "ZJ", "SC"]
MEMBERS = [f"1360000{n:04d}" for n in range(200)]
REFUSED_IN_ZJ = [m for i, m in enumerate(MEMBERS) if i % 5 == 3][:3]
OPERATOR = "demo-operator"


class Demo:
    def __init__(self, settings: Settings, console: Console) -> None:
        self.settings = settings
        self.console = console
        self.store = OrderStore(settings.database_url)
        self.stamp = datetime.now(UTC).strftime("%m%d%H%M%S")
        self.hub = httpx.AsyncClient(base_url=settings.hub_url, timeout=60)
        self.intake = Intake(settings, self.store, lambda: connect_temporal(settings))

    def say(self, text: str) -> None:
        self.console.print(f"[bold cyan]▶[/bold cyan] {text}")

    def link(self, workflow_id: str) -> None:
        ui = f"http://localhost:{self.settings.ui_port}/namespaces/{self.settings.namespace}/workflows"
        self.console.print(f"   UI: {ui}/{workflow_id}", highlight=False, soft_wrap=True)

    async def admin(self, path: str, body: Any = None) -> Any:
        response = await self.hub.post(path, json=body)
        response.raise_for_status()
        return response.json()

    async def wait(self, order_no: str, until=lambda order: order.state in TERMINAL_STATES, timeout_s: float = 90):
        deadline = time.monotonic() + timeout_s
        while True:
            order = self.store.orders.get_order(order_no)
            if order is not None and until(order):
                return order
            if time.monotonic() > deadline:
                raise SystemExit(f"demo: order {order_no} did not get there in {timeout_s:.0f} s "
                                 f"(it is {order.state if order else 'not recorded'}): is the worker running?")
            await asyncio.sleep(0.3)

    async def run(self) -> None:
        client = await connect_temporal(self.settings)
        queue = self.settings.task_queue
        listener = await DemoListener.subscribe(self.store, client, queue, CUSTOMER)
        self.say(f"the provinces know group customer {CUSTOMER} (group in GD, branches in 4 provinces) "
                 f"and {len(MEMBERS)} subscribers")
        await self.admin("/admin/seed", {
            "customers": [{"province": p, "customer_code": CUSTOMER, "name": "Demo Logistics" + (
                "" if p == "GD" else f" {p} branch"), "credit_code": CREDIT, "level": "group" if p == "GD" else "branch"}
                for p in PROVINCES],
            "subscribers": [{"msisdn": m, "home_province": PROVINCES[i % 5]} for i, m in enumerate(MEMBERS)]})

        order_no = f"DEMO-ACQ-{self.stamp}"
        self.say(f"1. customer acquisition {order_no}: all {len(PROVINCE_CODES)} provincial CRMs are asked")
        handle = await start_order(client, queue, CustomerAcquisition.run, AcquireCustomerInput(
            order_no=order_no, customer_code=CUSTOMER, requested_by=OPERATOR),
            order_type=OrderType.customer_acquisition, order_no=order_no, customer_code=CUSTOMER,
            provinces=list(PROVINCE_CODES))
        self.link(handle.id)
        hierarchy = (await handle.result()).hierarchy
        self.console.print(f"   {hierarchy.name}: group in {hierarchy.group_province}, "
                           f"branches in {', '.join(b.province for b in hierarchy.branches)}")

        opening = ServiceOpeningOrder(
            order_no=f"DEMO-OPN-{self.stamp}", customer_code=CUSTOMER, apn=f"demo{self.stamp}.vpdn.gd",
            access_province="GD", provinces=PROVINCES, line={"bandwidth_mbps": 200, "address": "1 Tianhe Rd, Guangzhou"},
            tariff={"name": "Demo 2026", "parameters": {"monthly_fee": "5000", "member_fee": "12",
                                                        "member_data_gb": "10"},
                    "discounts": {"volume": "0.9"}},
            paying_province="SH", requested_by=OPERATOR, pre_approved_by="hq-audit",
            contract={"number": f"DEMO-CT-{self.stamp}", "signed_on": datetime.now(UTC).date().isoformat(),
                      "signed_by": "am-demo", "tariff_reference": "HQ-TRF-DEMO-2026"})
        self.say(f"2. service opening {opening.order_no}: tariff configured in 5 provinces, the access line "
                 "scheduled in GD, rental at GD billing and HQ settlement (paid by SH)")
        handle = await start_order(client, queue, ServiceOpening.run, opening, order_type=OrderType.service_opening,
                                   order_no=opening.order_no, customer_code=CUSTOMER, provinces=opening.provinces)
        self.link(handle.id)
        result = await handle.result()
        self.console.print(f"   service {opening.service_id} {result.state}, rental from {result.rental_start}")
        service = self.store.services.get_service(opening.service_id)
        common = {"service_id": service.service_id, "customer_code": CUSTOMER, "provinces": service.provinces,
                  "requested_by": OPERATOR, "pre_approved_by": "hq-audit"}

        self.say(f"3. 200 members join; ZJ's HLR refuses {len(REFUSED_IN_ZJ)} of them")
        await self.admin("/admin/faults", {"province": "ZJ", "system": "hlr", "operation": "subscribe_vpdn_batch",
                                           "kind": "reject", "code": "E3101", "text": "HLR profile locked",
                                           "msisdns": REFUSED_IN_ZJ})
        join = await self.member_order(client, "join", f"DEMO-JOIN-{self.stamp}", MEMBERS, service)
        counts = self.store.members.item_counts(join)
        self.console.print(f"   order {join} {self.store.orders.get_order(join).state}: {counts.done} joined, "
                           f"{counts.failed} refused (vpdn order members {join} --state failed)")
        await self.admin("/admin/reset")
        plan = await self.plan_change(client, service)

        tariff = TariffChangeOrder.model_validate({**common, "order_no": f"DEMO-TRF-{self.stamp}", "change": {
            "parameters": {"monthly_fee": "4800"}, "new_discounts": {"loyalty": "0.95"}}})
        self.say(f"4. tariff change {tariff.order_no}: version 2, complete set to every province")
        await submit_service_order(client, queue, tariff)
        self.link(workflow_id_for(OrderType.tariff_change, tariff.order_no))
        self.console.print(f"   {(await self.wait(tariff.order_no)).state}")

        change = ServiceChangeOrder.model_validate({**common, "order_no": f"DEMO-CHG-{self.stamp}", "change": {
            "line": {"bandwidth_mbps": 500, "address": "1 Tianhe Rd, Guangzhou"}}})
        self.say(f"5. service change {change.order_no}: the GD line center rejects the new line → fallout")
        await self.admin("/admin/faults", {"province": "GD", "system": "line", "operation": "schedule_line",
                                           "kind": "reject", "code": "E6001", "text": "duct full at the address",
                                           "count": 1})
        await submit_service_order(client, queue, change)
        self.link(workflow_id_for(OrderType.service_change, change.order_no))
        held = await self.wait(change.order_no, lambda order: order.state == OrderState.held)
        [fallout] = [f for f in self.store.fallouts.list_fallouts() if f.order_no == change.order_no]
        self.console.print(f"   held: {held.sub_state}")
        self.console.print(f"   {OPERATOR} decides: vpdn fallout resolve {fallout.fallout_id} --action retry")
        await self.intake.decide(change.order_no, "resolve_fallout", FalloutDecision(
            fallout_id=fallout.fallout_id, action="retry", by=OPERATOR, reason="duct cleared by the field team"))
        self.console.print(f"   {(await self.wait(change.order_no)).state}")

        members = sorted(self.store.members.member_homes(service.service_id))
        self.say(f"6. the {len(members)} members exit")
        leave = await self.member_order(client, "exit", f"DEMO-EXIT-{self.stamp}", members, service)
        self.console.print(f"   order {leave} {self.store.orders.get_order(leave).state}")

        closure = ServiceClosureOrder.model_validate({**common, "order_no": f"DEMO-CLS-{self.stamp}"})
        self.say(f"7. service closure {closure.order_no}: line rent terminated, tariffs cancelled, rental stopped")
        await submit_service_order(client, queue, closure)
        self.link(workflow_id_for(OrderType.service_closure, closure.order_no))
        self.console.print(f"   {(await self.wait(closure.order_no)).state}; "
                           f"service {self.store.services.get_service(service.service_id).state}")
        self.link(service_orders_workflow_id(service.service_id))
        self.say("8. the acceptance basic information tables (VPDN业务受理基础信息表) kept with the orders")
        for order_no, name in ((join, "join.xlsx"), (plan, "plan-change.csv")):
            path = self.settings.data_dir / f"acceptance-{self.stamp}-{name}"
            table = self.store.acceptance.order_table(order_no)
            write_table(table, path)
            self.console.print(f"   order {order_no}: {len(table.members)} members, {len(table.provinces)} provinces "
                               f"→ {path}  (vpdn order report {order_no} --out table.xlsx)", highlight=False)
        self.say(f"9. order events to other systems: a local listener ({listener.url}) subscribed to this "
                 "customer's new orders")
        await listener.show(self.console)
        await self.hub.aclose()
        self.console.print("[green]demo finished[/green]: every order above is in the Temporal UI "
                           f"(filter: VpdnCustomerCode = \"{CUSTOMER}\") and in `vpdn order list --customer {CUSTOMER}`")

    async def plan_change(self, client, service) -> str:
        """The members among the first 40 move to the "field staff" plan; SC's billing refuses two."""
        homes = self.store.members.member_homes(service.service_id)
        movers = [m for m in MEMBERS[:40] if m in homes]
        refused = [m for m in movers if homes[m] == "SC"][:2]
        plan = MemberPlan(name="field staff", tariff_version=service.tariff_version,
                          parameters={"member_fee": "15", "member_data_gb": "30"})
        order_no = f"DEMO-PLAN-{self.stamp}"
        self.say(f"3b. member plan change {order_no}: {len(movers)} members to plan {plan}, per home province; "
                 f"SC's billing refuses {len(refused)} of them, who keep their plan")
        await self.admin("/admin/faults", {"province": "SC", "system": "billing", "operation": "set_member_plan_batch",
                                           "kind": "reject", "code": "E3210", "text": "plan locked by a promotion",
                                           "msisdns": refused})
        self.store.staging.stage(order_no, service.service_id, "plan_change", [MemberLine(msisdn=m) for m in movers])
        await submit_service_order(client, self.settings.task_queue, MemberPlanChangeOrder(
            order_no=order_no, service_id=service.service_id, customer_code=CUSTOMER, apn=service.apn,
            access_province=service.access_province, provinces=service.provinces, member_count=len(movers),
            requested_by=OPERATOR, pre_approved_by="hq-audit", plan=plan))
        self.link(workflow_id_for(OrderType.member_plan_change, order_no))
        order = await self.wait(order_no)
        counts = self.store.members.item_counts(order_no)
        self.console.print(f"   order {order_no} {order.state}: {counts.done} on the new plan, {counts.failed} kept "
                           f"their plan (vpdn service members {service.service_id})")
        await self.admin("/admin/reset")
        return order_no

    async def member_order(self, client, kind: str, order_no: str, msisdns: list[str], service) -> str:
        self.store.staging.stage(order_no, service.service_id, kind, [MemberLine(msisdn=m) for m in msisdns])
        await submit_service_order(client, self.settings.task_queue, MemberOrder(
            order_no=order_no, kind=kind, service_id=service.service_id, customer_code=CUSTOMER, apn=service.apn,
            access_province=service.access_province, provinces=service.provinces, member_count=len(msisdns),
            requested_by=OPERATOR, pre_approved_by="hq-audit"))
        self.link(workflow_id_for(OrderType(f"member_{kind}"), order_no))
        await self.wait(order_no)
        return order_no


async def run_demo(settings: Settings, console: Console) -> None:
    """The demo, narrated; a refusal or a failed order stops it with one line (exit 1)."""
    started = time.monotonic()
    try:
        await Demo(settings, console).run()
    except Refusal as refusal:
        raise SystemExit(f"demo stopped, refused: {refusal.text}") from None
    except WorkflowUpdateFailedError as refusal:
        raise SystemExit(f"demo stopped, refused: {failure_text(refusal.cause)}") from None
    except WorkflowFailureError as failure:
        raise SystemExit(f"demo stopped: {failure_text(failure.cause)}") from None
    console.print(f"(the demo took {time.monotonic() - started:.0f} s)")
