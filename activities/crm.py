"""Activities that talk to the provincial CRMs."""

from temporalio import activity

from activities import rejections_are_final, reply_to
from adapters.crm import ProvincialCrm
from models.customer import CustomerQuery, CustomerQueryAnswer
from models.hub import idempotency_key
from models.service import AccessWorkOrder, ServiceStep, TariffConfiguration, WorkOrderAck


class CrmActivities:
    def __init__(self, crm: ProvincialCrm) -> None:
        self._crm = crm

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
        key = step.key("configure_group_tariff")
        with rejections_are_final():
            status = await self._crm.configure_group_tariff(
                step.province, step.service_id, step.tariff, step.version, key, reply_to()
            )
        return WorkOrderAck(idempotency_key=key, status=status)

    @activity.defn
    async def cancel_group_tariff(self, step: ServiceStep) -> WorkOrderAck:
        """Cancel the group tariff package in one province if present (compensation, closure)."""
        key = step.key("cancel_group_tariff")
        with rejections_are_final():
            status = await self._crm.cancel_group_tariff(step.province, step.service_id, key, reply_to())
        return WorkOrderAck(idempotency_key=key, status=status)

    @activity.defn
    async def service_work_order(self, step: AccessWorkOrder) -> WorkOrderAck:
        """The access CRM's work order for the service; its completion comes as a report.
        Compensation: cancel_work_order."""
        key = step.key("service_work_order")
        with rejections_are_final():
            status = await self._crm.service_work_order(step.province, step.service_id, step.with_line, key, reply_to())
        return WorkOrderAck(idempotency_key=key, status=status)

    @activity.defn
    async def cancel_work_order(self, step: ServiceStep) -> WorkOrderAck:
        """Withdraw the access CRM's work order if present (compensation)."""
        key = step.key("cancel_work_order")
        with rejections_are_final():
            status = await self._crm.cancel_work_order(step.province, step.service_id, key)
        return WorkOrderAck(idempotency_key=key, status=status)
