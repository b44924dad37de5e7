"""Provincial CRM (省分CRM): group customer records, group tariff packages, work orders."""

from typing import Protocol

from adapters.hub import HubClient
from models.customer import ProvincialCustomerRecord
from models.provinces import System


class ProvincialCrm(Protocol):
    async def query_group_customer(
        self, province: str, customer_code: str, idempotency_key: str
    ) -> ProvincialCustomerRecord | None:
        """The province's record of a group customer, or None when it holds none."""
        ...


class HubCrm:
    """The provincial CRMs as reached through the HQ hub."""

    def __init__(self, hub: HubClient) -> None:
        self._hub = hub

    async def query_group_customer(
        self, province: str, customer_code: str, idempotency_key: str
    ) -> ProvincialCustomerRecord | None:
        answer = await self._hub.call(
            province, System.crm, "query_group_customer", idempotency_key,
            {"customer_code": customer_code},
        )
        if not answer.data.get("found"):
            return None
        return ProvincialCustomerRecord.model_validate(answer.data["record"])
