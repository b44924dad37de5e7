"""Provincial CRM (省分CRM): group customer records, group tariff packages, work orders."""

from typing import Protocol

from adapters.hub import HubClient, member_results
from models.customer import ProvincialCustomerRecord
from models.provinces import HQ, System
from models.service import TariffPackage


class ProvincialCrm(Protocol):
    async def query_group_customer(
        self, province: str, customer_code: str, idempotency_key: str
    ) -> ProvincialCustomerRecord | None:
        """The province's record of a group customer, or None when it holds none."""
        ...

    async def configure_group_tariff(
        self, province: str, service_id: str, tariff: TariffPackage, version: int,
        idempotency_key: str, correlation: str,
    ) -> str:
        """Configure the complete group tariff package in the province's billing (配置集团资费套餐)."""
        ...

    async def cancel_group_tariff(
        self, province: str, service_id: str, idempotency_key: str, correlation: str
    ) -> str:
        """Cancel the group tariff package if the province holds it (取消集团资费套餐)."""
        ...

    async def service_work_order(
        self, province: str, service_id: str, with_line: bool, idempotency_key: str, correlation: str
    ) -> str:
        """The access CRM generates its work order for the service (生成业务定单)."""
        ...

    async def cancel_work_order(self, province: str, service_id: str, idempotency_key: str) -> str:
        """Withdraw the access CRM's work order if present."""
        ...

    async def service_change_sync(
        self, province: str, service_id: str, idempotency_key: str, correlation: str
    ) -> str:
        """Tell a province the service changed (业务变更信息同步); it reports when applied."""
        ...

    async def verify_members(self, msisdns: list[str], idempotency_key: str) -> list[dict]:
        """Member verification (成员核查): the hub asks each number's home CRM; per member
        {msisdn, found, home_province, status, vpdn}."""
        ...

    async def member_order(
        self, province: str, operation: str, service_id: str, batch_id: str, msisdns: list[str],
        idempotency_key: str, correlation: str,
    ) -> str:
        """A member opening/closing order to a home CRM, or the access CRM's order with all
        the batch's users; its completion report (报竣) follows."""
        ...

    async def member_plan_order(
        self, province: str, service_id: str, batch_id: str, msisdns: list[str], plan: dict, plan_from: str,
        idempotency_key: str, correlation: str,
    ) -> str:
        """A member plan change order to a home CRM with that province's members: the plan
        and the date it applies from; its completion report (报竣) follows."""
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

    async def configure_group_tariff(
        self, province: str, service_id: str, tariff: TariffPackage, version: int,
        idempotency_key: str, correlation: str,
    ) -> str:
        payload = {"service_id": service_id, "version": version, **tariff.model_dump()}
        answer = await self._hub.call(
            province, System.crm, "configure_group_tariff", idempotency_key, payload, correlation
        )
        return answer.status

    async def cancel_group_tariff(
        self, province: str, service_id: str, idempotency_key: str, correlation: str
    ) -> str:
        answer = await self._hub.call(
            province, System.crm, "cancel_group_tariff", idempotency_key,
            {"service_id": service_id}, correlation,
        )
        return answer.status

    async def service_work_order(
        self, province: str, service_id: str, with_line: bool, idempotency_key: str, correlation: str
    ) -> str:
        answer = await self._hub.call(
            province, System.crm, "service_work_order", idempotency_key,
            {"service_id": service_id, "with_line": with_line}, correlation,
        )
        return answer.status

    async def cancel_work_order(self, province: str, service_id: str, idempotency_key: str) -> str:
        answer = await self._hub.call(
            province, System.crm, "cancel_work_order", idempotency_key, {"service_id": service_id}
        )
        return answer.status

    async def service_change_sync(
        self, province: str, service_id: str, idempotency_key: str, correlation: str
    ) -> str:
        answer = await self._hub.call(
            province, System.crm, "service_change_sync", idempotency_key, {"service_id": service_id}, correlation
        )
        return answer.status

    async def verify_members(self, msisdns: list[str], idempotency_key: str) -> list[dict]:
        answer = await self._hub.call(
            HQ, System.hub, "verify_members", idempotency_key, {"members": [{"msisdn": m} for m in msisdns]}
        )
        return member_results(answer)

    async def member_order(
        self, province: str, operation: str, service_id: str, batch_id: str, msisdns: list[str],
        idempotency_key: str, correlation: str,
    ) -> str:
        answer = await self._hub.call(
            province, System.crm, operation, idempotency_key,
            {"service_id": service_id, "batch_id": batch_id, "members": msisdns}, correlation,
        )
        return answer.status

    async def member_plan_order(
        self, province: str, service_id: str, batch_id: str, msisdns: list[str], plan: dict, plan_from: str,
        idempotency_key: str, correlation: str,
    ) -> str:
        answer = await self._hub.call(
            province, System.crm, "member_plan_change_order", idempotency_key,
            {"service_id": service_id, "batch_id": batch_id, "members": msisdns, "plan": plan,
             "plan_from": plan_from}, correlation,
        )
        return answer.status
