"""The direct-call baseline: what vpdn's member join and service opening send to the
provinces, without Temporal — the same activity code over the same adapters (so the same
payloads and idempotency keys), the same batches of 500, the same window of 4 batches per
home province and every province at once, no more activities at once than the worker's slots, each work
order waiting for its completion report.

Two modes:
- `store`: with the order store's writes the workflows make (staging, the order and its
  audit trail, batches, results, members, the acceptance table), through the same
  activities; reports reach GPMS's own API, whose intake hands each to its waiting step
  instead of signalling a workflow.
- `provinces`: the provinces' calls only; the activities run over an in-memory stand-in of
  the store (`baseline_memory.py`) and a small door takes the reports (the hub's token
  checked, the reference resolved in memory).
Either way the reports come from the same simulator over HTTP to the same path. An
unavailable hub is retried with the worker's backoff; not done here: timeouts and
fallouts (the simulator injects no faults in the benchmarks).
"""

import asyncio
import dataclasses
import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import FastAPI, Header, HTTPException
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import HUB_UNAVAILABLE
from activities.aaa import AaaActivities
from activities.batches import BatchMembers
from activities.billing import MemberBillingActivities, RentalActivities
from activities.crm import CrmActivities
from activities.hlr import HlrActivities
from activities.order_store import OrderStoreActivities
from adapters.aaa import HubAaa
from adapters.billing import HubBilling
from adapters.crm import HubCrm
from adapters.hlr import HubHlr
from adapters.hub import HubClient
from adapters.settlement import HubSettlement
from adapters.sms import HubSms
from api.app import create_app
from api.tokens import authenticator_for
from benchmarks.baseline_memory import MemoryStore
from intake import Intake
from models.acceptance import ProvinceReport, TableRequest
from models.hub import CompletionReport, HubReport
from models.members import (BATCH_SIZE, BatchRef, BatchReport, FinishedMembers, ItemState, MemberBatch,
                            MemberCounts, MemberLine, MemberOrder, MemberOrderStep, MemberStep, VerificationPage)
from models.orders import NewOrder, OrderEventIn, OrderState, OrderType, workflow_id_for
from models.service import ServiceOpeningOrder, ServiceRegistration, ServiceUpdate
from models.service_steps import AccessWorkOrder, RentalStart, ServiceStep, TariffConfiguration
from settings import Settings
from store import OrderStore
from worker import member_passwords
from workflows.common import BEIJING, PROVINCE_RETRY
from workflows.member_join import VERIFICATION_PAGE
from workflows.member_orders import BATCHES_PER_PROVINCE

Mode = Literal["store", "provinces"]
_activity_ids = itertools.count(1)


class Reports:
    """Completion reports by their work order's key: a step awaits its own."""

    def __init__(self) -> None:
        self._arrived: dict[str, asyncio.Future[CompletionReport]] = {}

    def _future(self, key: str) -> asyncio.Future[CompletionReport]:
        return self._arrived.setdefault(key, asyncio.get_running_loop().create_future())

    def deliver(self, report: CompletionReport) -> None:
        if not (future := self._future(report.idempotency_key)).done():
            future.set_result(report)

    async def of(self, key: str) -> CompletionReport:
        report = await self._future(key)
        if report.outcome == "rejected":
            raise RuntimeError(f"province {report.province} {report.system} rejected: {report.code} {report.text}")
        return report


class _ReportsIntake(Intake):
    """GPMS's intake, but a completion report goes to its waiting step, not to a workflow."""

    def __init__(self, settings: Settings, store: OrderStore, reports: Reports) -> None:
        super().__init__(settings, store, self._no_engine)
        self._reports = reports

    @staticmethod
    async def _no_engine():
        raise RuntimeError("the baseline runs without Temporal")

    async def completion_report(self, workflow_id: str, report: CompletionReport) -> None:
        self._reports.deliver(report)


def store_door(settings: Settings, store: OrderStore, reports: Reports) -> FastAPI:
    """GPMS's API (the same door, token check and reference lookup) handing reports to `reports`."""
    return create_app(_ReportsIntake(settings, store, reports), store, authenticator_for(store, settings))


def memory_door(memory: MemoryStore, reports: Reports, hub_token: str) -> FastAPI:
    """The provinces-only door: the hub's token, the reference resolved in memory."""
    app = FastAPI()

    @app.post("/hub/completion-reports", status_code=202)
    async def completion_report(report: HubReport, authorization: str = Header("")) -> dict:
        if authorization != f"Bearer {hub_token}":
            raise HTTPException(401, "not the hub")
        if (work_order := memory.correlations.resolve(report.correlation)) is None:
            raise HTTPException(404, f"no work order was sent with correlation reference {report.correlation}")
        reports.deliver(CompletionReport(**report.model_dump(exclude={"correlation"}),
                                         idempotency_key=work_order.idempotency_key))
        return {"detail": f"report {report.report_id} delivered to its order"}

    return app


class Baseline:
    """The workflows' steps called directly, in `mode`, with reports from `reports`."""

    def __init__(self, settings: Settings, mode: Mode, store: OrderStore | MemoryStore, reports: Reports) -> None:
        self.mode, self.store, self.reports = mode, store, reports
        hub = HubClient(settings.hub_url)
        batches = BatchMembers(store)
        self.crm = CrmActivities(HubCrm(hub), store)
        self.hlr = HlrActivities(HubHlr(hub), batches)
        self.billing = MemberBillingActivities(HubBilling(hub), batches)
        self.aaa = AaaActivities(HubAaa(hub), HubSms(hub), member_passwords(settings), store.passwords, batches)
        self.rental = RentalActivities(HubBilling(hub), HubSettlement(hub))
        self.records = OrderStoreActivities(store) if mode == "store" else None
        self._slots = asyncio.Semaphore(settings.activity_slots)
        self._threads = ThreadPoolExecutor(settings.activity_slots)  # as the worker's, for blocking activities

    # One activity, as a worker would run it: in an activity context, a blocking one in a
    # thread, at most the worker's activity slots at once

    async def _run(self, workflow_id: str, activity: Any, arg: Any) -> Any:
        environment = ActivityEnvironment()
        environment.info = dataclasses.replace(ActivityEnvironment.default_info(), workflow_id=workflow_id,
                                               workflow_run_id=workflow_id, activity_id=str(next(_activity_ids)))
        delay = PROVINCE_RETRY.initial_interval.total_seconds()
        while True:  # an unavailable hub is retried as the worker's retry policy does
            try:
                async with self._slots:
                    if asyncio.iscoroutinefunction(activity):
                        return await environment.run(activity, arg)
                    return await asyncio.get_running_loop().run_in_executor(
                        self._threads, environment.run, activity, arg)
            except ApplicationError as error:
                if error.type != HUB_UNAVAILABLE:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * PROVINCE_RETRY.backoff_coefficient, PROVINCE_RETRY.maximum_interval.total_seconds())

    async def _record(self, workflow_id: str, activity_name: str, arg: Any) -> Any:
        """An order store write (store mode only)."""
        if self.records is not None:
            return await self._run(workflow_id, getattr(self.records, activity_name), arg)
        return None

    async def _event(self, workflow_id: str, order_no: str, event: str, state: OrderState | None = None) -> None:
        await self._record(workflow_id, "record_order_event", OrderEventIn(
            order_no=order_no, actor="gpms", event=event, state=state))

    async def _work_order(self, workflow_id: str, activity: Any, arg: Any) -> None:
        """Send a work order; if the province will report, wait for its report."""
        ack = await self._run(workflow_id, activity, arg)
        if ack.status == "accepted":
            await self.reports.of(ack.idempotency_key)

    # Member join

    async def member_join(self, order: MemberOrder, numbers: list[str]) -> MemberCounts:
        """Process 7's steps: staged and recorded, verified a page at a time, cut into batches,
        each batch through its home and access provinces, then the members recorded."""
        wf = workflow_id_for(OrderType.member_join, order.order_no)
        if self.records is not None:
            store: OrderStore = self.store
            await asyncio.to_thread(store.staging.stage, order.order_no, order.service_id, "join",
                                    (MemberLine(msisdn=m) for m in numbers))
            await asyncio.to_thread(store.staging.refused_members, order.order_no, order.service_id, "join")
            await self._record(wf, "record_order", NewOrder(
                order_no=order.order_no, order_type=OrderType.member_join, workflow_id=wf,
                customer_code=order.customer_code, requested_by=order.requested_by, service_id=order.service_id))
        else:
            self.store.members.stage(order.order_no, numbers)
        await self._event(wf, order.order_no, "member verification", OrderState.in_progress)
        pages = range((len(numbers) + VERIFICATION_PAGE - 1) // VERIFICATION_PAGE)
        verified = await asyncio.gather(*(self._run(wf, self.crm.verify_members, VerificationPage(
            order_no=order.order_no, page=page, size=VERIFICATION_PAGE)) for page in pages))
        await self._event(wf, order.order_no, "member verification done")
        await self._event(wf, order.order_no, "business audit approved outside GPMS")
        # The page that finished the verification cut the batches; else they are cut now, as in the workflow.
        batches = next((page.batches for page in verified if page.batches is not None), None)
        if batches is None:
            batches = await (self._record(wf, "assign_batches", order.order_no) if self.records else
                             asyncio.to_thread(self.store.members.assign_batches, order.order_no, BATCH_SIZE))
        await self._event(wf, order.order_no, f"opening {len(batches)} batches", OrderState.in_progress)
        windows = {ref.home_province: asyncio.Semaphore(BATCHES_PER_PROVINCE) for ref in batches}
        reports = []

        async def run(ref: BatchRef) -> None:
            async with windows[ref.home_province]:
                reports.extend(await self._join_batch(wf, order, ref))

        await asyncio.gather(*(run(ref) for ref in batches))
        if self.records is None:
            return self.store.members.item_counts(order.order_no)
        await self._record(wf, "finish_members", FinishedMembers(
            order_no=order.order_no, service_id=order.service_id, kind="join", reports=reports))
        counts = await self._record(wf, "member_counts", order.order_no)
        await self._record(wf, "compile_acceptance_table", TableRequest(
            order_no=order.order_no, service_id=order.service_id, order_state=OrderState.completed,
            batch_reports=reports))
        await self._event(wf, order.order_no, f"members joined: {counts.done} of {counts.requested}",
                          OrderState.completed)
        return counts

    async def _join_batch(self, wf: str, order: MemberOrder, ref: BatchRef) -> list[BatchReport]:
        """One batch: the home CRM's order (reported), HLR, billing; the access CRM's order
        (reported), AAA accounts and passwords."""
        def batch(province: str) -> MemberBatch:
            return MemberBatch(order_no=order.order_no, service_id=order.service_id, apn=order.apn,
                               province=province, batch_no=ref.batch_no, home_province=ref.home_province)

        home, access = batch(ref.home_province), batch(order.access_province)
        today = datetime.now(BEIJING).date()
        rental_start = (today + timedelta(days=1)).isoformat()
        await self._work_order(wf, self.crm.member_order, MemberOrderStep(
            batch=home, stage="member_opening_order", acting_on=ItemState.valid, operation="member_opening_order"))
        await self._run(wf, self.hlr.subscribe_members, MemberStep(
            batch=home, stage="hlr_subscribe", acting_on=ItemState.valid))
        await self._run(wf, self.billing.open_members, MemberStep(
            batch=home, stage="billing_open", acting_on=ItemState.valid, ok_state=ItemState.home_done,
            rental_start=rental_start))
        await self._work_order(wf, self.crm.member_order, MemberOrderStep(
            batch=access, stage="access_opening_order", acting_on=ItemState.home_done,
            operation="access_opening_order"))
        await self._run(wf, self.aaa.create_accounts, MemberStep(
            batch=access, stage="aaa_create", acting_on=ItemState.home_done))
        return [BatchReport(home_province=ref.home_province, batch_no=ref.batch_no, province=b.province,
                            stage=stage, reported_on=today.isoformat(), effective_from=effective)
                for b, stage, effective in ((home, "member_opening_order", rental_start),
                                            (access, "access_opening_order", ""))]

    # Service opening

    async def service_opening(self, order: ServiceOpeningOrder) -> None:
        """Process 3's steps: recorded, every province's tariff configuration (reported), the
        access CRM's work order (reported), the rental, the service active."""
        wf = workflow_id_for(OrderType.service_opening, order.order_no)

        def step(province: str) -> ServiceStep:
            return ServiceStep(order_no=order.order_no, service_id=order.service_id, province=province)

        await self._record(wf, "record_order", NewOrder(
            order_no=order.order_no, order_type=OrderType.service_opening, workflow_id=wf,
            customer_code=order.customer_code, requested_by=order.requested_by, provinces=order.provinces,
            service_id=order.service_id))
        await self._record(wf, "register_service", ServiceRegistration(
            order_no=order.order_no, service_id=order.service_id, customer_code=order.customer_code,
            apn=order.apn, access_province=order.access_province, paying_province=order.paying_province,
            provinces=order.provinces, tariff=order.tariff, line=order.line, rental_rule=order.rental_rule,
            contract=order.contract))
        await self._event(wf, order.order_no, "business audit approved outside GPMS")
        await self._event(wf, order.order_no, "order initiated", OrderState.in_progress)
        await asyncio.gather(*(self._work_order(wf, self.crm.configure_group_tariff, TariffConfiguration(
            **step(province).model_dump(), tariff=order.tariff)) for province in order.provinces))
        await self._event(wf, order.order_no, "every province confirmed its group tariff package configuration")
        access = order.access_province
        await self._work_order(wf, self.crm.service_work_order, AccessWorkOrder(
            **step(access).model_dump(), with_line=False))
        await self._event(wf, order.order_no, "access province reported completion")
        today = datetime.now(BEIJING).date()
        start = (today + timedelta(days=1)).isoformat()
        rental_id = f"{order.service_id}:rental"
        await self._work_order(wf, self.rental.start_rental, RentalStart(
            **step(access).model_dump(), start_date=start, rule=order.rental_rule,
            paying_province=order.paying_province, rental_id=rental_id))
        await self._record(wf, "update_service", ServiceUpdate(
            service_id=order.service_id, state="active", rental_id=rental_id, rental_start=start))
        reported = [ProvinceReport(province=p, step=name, reported_on=today.isoformat()) for p, name in (
            *((p, "configure group tariff package") for p in order.provinces), (access, "access CRM work order"))]
        await self._record(wf, "compile_acceptance_table", TableRequest(
            order_no=order.order_no, service_id=order.service_id, order_state=OrderState.completed,
            province_reports=reported))
        await self._event(wf, order.order_no, "service active", OrderState.completed)


def baseline_for(settings: Settings, mode: Mode, store: OrderStore) -> tuple[Baseline, FastAPI]:
    """A baseline in `mode` and the door its reports come through."""
    reports = Reports()
    if mode == "store":
        return Baseline(settings, mode, store, reports), store_door(settings, store, reports)
    memory = MemoryStore()
    return Baseline(settings, mode, memory, reports), memory_door(memory, reports, os.environ["VPDN_HUB_TOKEN"])
