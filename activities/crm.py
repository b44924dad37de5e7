"""Activities that talk to the provincial CRMs."""

import asyncio

from temporalio import activity

from activities import acknowledged, correlation, rejections_are_final
from activities.batches import BatchMembers
from adapters.crm import ProvincialCrm
from models.customer import CustomerQuery, CustomerQueryAnswer
from models.hub import idempotency_key
from models.members import (
    BATCH_SIZE,
    ItemState,
    MemberOrderStep,
    VerificationPage,
    VerifiedPage,
    verification_failure,
)
from models.plans import PlanStep
from models.provinces import HQ
from store import OrderStore
from models.service_steps import AccessWorkOrder, ServiceStep, TariffConfiguration, WorkOrderAck


class CrmActivities:
    def __init__(self, crm: ProvincialCrm, store: OrderStore) -> None:
        self._crm = crm
        self._store = store
        self._batches = BatchMembers(store)

    async def _correlation(self, key: str, province: str, operation: str) -> str:
        return await correlation(self._store, key, province, "crm", operation)

    @activity.defn
    async def query_group_customer(self, query: CustomerQuery) -> CustomerQueryAnswer:
        """Ask one province's CRM what it holds for a customer code (a read: no compensation).

        Idempotency key: (order, "query_group_customer", province).
        """
        with rejections_are_final():
            record = await self._crm.query_group_customer(
                query.province,
                query.customer_code,
                idempotency_key(query.order_no, "query_group_customer", query.province),
            )
        return CustomerQueryAnswer(province=query.province, record=record)

    @activity.defn
    async def configure_group_tariff(self, step: TariffConfiguration) -> WorkOrderAck:
        """Group business acceptance order: the province configures the complete group tariff
        package; its configuration result comes as a report. Key: (order, step, province).
        Compensation: cancel_group_tariff."""
        key = step.work_order_key("configure_group_tariff")
        return await acknowledged(key, self._crm.configure_group_tariff(
            step.province, step.service_id, step.tariff, step.version, key,
            await self._correlation(key, step.province, "configure_group_tariff")))

    @activity.defn
    async def cancel_group_tariff(self, step: ServiceStep) -> WorkOrderAck:
        """Cancel the group tariff package in one province if present (compensation, closure)."""
        key = step.key("cancel_group_tariff")
        return await acknowledged(key, self._crm.cancel_group_tariff(
            step.province, step.service_id, key, await self._correlation(key, step.province, "cancel_group_tariff")))

    @activity.defn
    async def service_work_order(self, step: AccessWorkOrder) -> WorkOrderAck:
        """The access CRM's work order for the service; its completion comes as a report.
        Compensation: cancel_work_order."""
        key = step.key("service_work_order")
        return await acknowledged(key, self._crm.service_work_order(
            step.province, step.service_id, step.with_line, key,
            await self._correlation(key, step.province, "service_work_order")))

    @activity.defn
    async def service_change_sync(self, step: ServiceStep) -> WorkOrderAck:
        """Service-change info sync to one province (业务变更信息同步); reported later.
        Key: (order, step, province). Information only: nothing to compensate."""
        key = step.key("service_change_sync")
        return await acknowledged(key, self._crm.service_change_sync(
            step.province, step.service_id, key, await self._correlation(key, step.province, "service_change_sync")))

    @activity.defn
    async def cancel_work_order(self, step: ServiceStep) -> WorkOrderAck:
        """Withdraw the access CRM's work order if present (compensation)."""
        key = step.key("cancel_work_order")
        return await acknowledged(key, self._crm.cancel_work_order(step.province, step.service_id, key))

    @activity.defn
    async def verify_members(self, page: VerificationPage) -> VerifiedPage:
        """Member verification (成员核查) of one page of the order's members by their home
        CRMs; each becomes valid (with its home province) or invalid with the reason; the
        page that completes the verification also cuts the valid members into batches.
        A read: nothing to compensate. Key: (order, "verify_members", HQ, page)."""
        numbers = await asyncio.to_thread(
            self._store.members.page_numbers, page.order_no, page.page * page.size, page.size)
        with rejections_are_final():
            answers = await self._crm.verify_members(
                numbers,
                idempotency_key(page.order_no, "verify_members", HQ, page.batch_label))
        results, homes = {}, {}
        for answer in answers:
            failure = verification_failure(answer)
            results[answer["msisdn"]] = (ItemState.invalid, *failure) if failure else (ItemState.valid, None, "")
            if answer.get("home_province"):
                homes[answer["msisdn"]] = answer["home_province"]
        await asyncio.to_thread(self._store.members.record_results, page.order_no, results, homes=homes)
        invalid = sum(state == ItemState.invalid for state, _, _ in results.values())
        batches = await asyncio.to_thread(self._store.members.batches_once_verified, page.order_no, BATCH_SIZE)
        return VerifiedPage(ok=len(results) - invalid, failed=invalid, batches=batches)

    @activity.defn
    async def member_order(self, step: MemberOrderStep) -> WorkOrderAck:
        """A member order to a CRM for one batch: to the home CRM with that province's users
        (成员开通定单/成员关闭), or to the access CRM with all the batch's users (接入省开通定单);
        its completion report follows. Key: (order, stage, province, batch)."""
        batch = step.batch
        with rejections_are_final():
            status = await self._crm.member_order(
                batch.province, step.operation, batch.service_id, step.key,
                await self._batches.numbers(step), step.key,
                await self._correlation(step.key, batch.province, step.operation))
        return WorkOrderAck(idempotency_key=step.key, status=status)

    @activity.defn
    async def member_plan_order(self, step: PlanStep) -> WorkOrderAck:
        """The home CRM's member plan change order with that province's members of the batch,
        the plan and its date; its completion report follows. Key: (order, stage, province,
        batch). Compensation: none at the CRM (billing's plan is put back)."""
        batch = step.batch
        with rejections_are_final():
            status = await self._crm.member_plan_order(
                batch.province, batch.service_id, step.key, await self._batches.numbers(step),
                step.plan.model_dump(), step.plan_from, step.key,
                await self._correlation(step.key, batch.province, "member_plan_change_order"))
        return WorkOrderAck(idempotency_key=step.key, status=status)
