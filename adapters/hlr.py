"""Home-province HLR/HSS (归属省HLR): members' VPDN APN subscriptions."""

from typing import Protocol

from adapters.hub import HubClient, member_results
from models.provinces import System


class Hlr(Protocol):
    async def subscribe_members(
        self, province: str, service_id: str, apn: str, msisdns: list[str], idempotency_key: str
    ) -> list[dict]:
        """Subscribe each member to the VPDN APN (成员开通); per-member results."""
        ...

    async def unsubscribe_members(
        self, province: str, service_id: str, msisdns: list[str], idempotency_key: str
    ) -> list[dict]:
        """Remove each member's VPDN subscription if present; per-member results."""
        ...


class HubHlr:
    def __init__(self, hub: HubClient) -> None:
        self._hub = hub

    async def subscribe_members(
        self, province: str, service_id: str, apn: str, msisdns: list[str], idempotency_key: str
    ) -> list[dict]:
        answer = await self._hub.call(
            province, System.hlr, "subscribe_vpdn_batch", idempotency_key,
            {"service_id": service_id, "apn": apn, "members": [{"msisdn": m} for m in msisdns]},
        )
        return member_results(answer)

    async def unsubscribe_members(
        self, province: str, service_id: str, msisdns: list[str], idempotency_key: str
    ) -> list[dict]:
        answer = await self._hub.call(
            province, System.hlr, "unsubscribe_vpdn_batch", idempotency_key,
            {"service_id": service_id, "members": [{"msisdn": m} for m in msisdns]},
        )
        return member_results(answer)
