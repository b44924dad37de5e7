"""Activities that talk to the provincial CRMs."""

from temporalio import activity

from activities import idempotency_key, rejections_are_final
from adapters.crm import ProvincialCrm
from models.customer import CustomerQuery, CustomerQueryAnswer


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
