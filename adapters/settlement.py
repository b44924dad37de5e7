"""HQ fixed-network settlement platform (总部固网结算平台): cross-province line rental."""

from typing import Protocol

from adapters.hub import HubClient
from models.provinces import HQ, System


class Settlement(Protocol):
    async def record_rental(
        self, rental_id: str, service_id: str, access_province: str, paying_province: str,
        start_date: str, idempotency_key: str,
    ) -> str:
        """Tell settlement that the access line's rental started and who pays it (异地付费)."""
        ...

    async def cancel_rental(self, rental_id: str, idempotency_key: str) -> str:
        """Withdraw the rental record if present."""
        ...


class HubSettlement:
    def __init__(self, hub: HubClient) -> None:
        self._hub = hub

    async def record_rental(
        self, rental_id: str, service_id: str, access_province: str, paying_province: str,
        start_date: str, idempotency_key: str,
    ) -> str:
        answer = await self._hub.call(
            HQ, System.settlement, "record_rental", idempotency_key,
            {"rental_id": rental_id, "service_id": service_id, "access_province": access_province,
             "paying_province": paying_province, "start_date": start_date},
        )
        return answer.status

    async def cancel_rental(self, rental_id: str, idempotency_key: str) -> str:
        answer = await self._hub.call(
            HQ, System.settlement, "cancel_rental", idempotency_key, {"rental_id": rental_id}
        )
        return answer.status
