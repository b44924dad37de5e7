"""The access province's AAA (接入省AAA系统): the members' VPDN user accounts."""

from typing import Protocol

from adapters.hub import HubClient, member_results
from models.provinces import System


class Aaa(Protocol):
    async def create_accounts(
        self, province: str, service_id: str, apn: str, password_hashes: dict[str, str], idempotency_key: str
    ) -> list[dict]:
        """Create each member's VPDN account; the AAA receives only password hashes."""
        ...

    async def remove_accounts(
        self, province: str, service_id: str, msisdns: list[str], idempotency_key: str
    ) -> list[dict]:
        """Remove each member's account if present."""
        ...


class HubAaa:
    def __init__(self, hub: HubClient) -> None:
        self._hub = hub

    async def create_accounts(
        self, province: str, service_id: str, apn: str, password_hashes: dict[str, str], idempotency_key: str
    ) -> list[dict]:
        answer = await self._hub.call(
            province, System.aaa, "create_accounts_batch", idempotency_key,
            {"service_id": service_id, "apn": apn,
             "members": [{"msisdn": m, "password_hash": h} for m, h in password_hashes.items()]},
        )
        return member_results(answer)

    async def remove_accounts(
        self, province: str, service_id: str, msisdns: list[str], idempotency_key: str
    ) -> list[dict]:
        answer = await self._hub.call(
            province, System.aaa, "remove_accounts_batch", idempotency_key,
            {"service_id": service_id, "members": [{"msisdn": m} for m in msisdns]},
        )
        return member_results(answer)
