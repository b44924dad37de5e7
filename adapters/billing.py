"""Provincial billing (计费): rentals of the access line and group fees."""

from typing import Protocol

from adapters.hub import HubClient, member_results
from models.provinces import System


class Billing(Protocol):
    async def start_rental(
        self, province: str, rental_id: str, service_id: str, start_date: str, rule: str,
        idempotency_key: str,
    ) -> str:
        """Rental starts per the rule (按照规则起租) from `start_date`."""
        ...

    async def stop_rental(self, province: str, rental_id: str, idempotency_key: str) -> str:
        """Stop the rental if it runs."""
        ...

    async def open_members(
        self, province: str, service_id: str, msisdns: list[str], rental_start: str, idempotency_key: str
    ) -> list[dict]:
        """Member opening sent to billing (成员开通送计费), rental from `rental_start`."""
        ...

    async def close_members(self, province: str, service_id: str, msisdns: list[str], idempotency_key: str) -> list[dict]:
        """Stop the members' VPDN billing if present."""
        ...

    async def set_member_plans(
        self, province: str, service_id: str, plans: dict[str, tuple[dict, str | None]], idempotency_key: str
    ) -> list[dict]:
        """Set each member's plan in its member billing from a date: msisdn → (plan, from).
        A member without member billing fails."""
        ...


class HubBilling:
    def __init__(self, hub: HubClient) -> None:
        self._hub = hub

    async def start_rental(
        self, province: str, rental_id: str, service_id: str, start_date: str, rule: str,
        idempotency_key: str,
    ) -> str:
        answer = await self._hub.call(
            province, System.billing, "start_rental", idempotency_key,
            {"rental_id": rental_id, "service_id": service_id, "start_date": start_date, "rule": rule},
        )
        return answer.status

    async def stop_rental(self, province: str, rental_id: str, idempotency_key: str) -> str:
        answer = await self._hub.call(
            province, System.billing, "stop_rental", idempotency_key, {"rental_id": rental_id}
        )
        return answer.status

    async def open_members(
        self, province: str, service_id: str, msisdns: list[str], rental_start: str, idempotency_key: str
    ) -> list[dict]:
        answer = await self._hub.call(
            province, System.billing, "open_members_batch", idempotency_key,
            {"service_id": service_id, "rental_start": rental_start,
             "members": [{"msisdn": m} for m in msisdns]},
        )
        return member_results(answer)

    async def close_members(self, province: str, service_id: str, msisdns: list[str], idempotency_key: str) -> list[dict]:
        answer = await self._hub.call(
            province, System.billing, "close_members_batch", idempotency_key,
            {"service_id": service_id, "members": [{"msisdn": m} for m in msisdns]},
        )
        return member_results(answer)

    async def set_member_plans(
        self, province: str, service_id: str, plans: dict[str, tuple[dict, str | None]], idempotency_key: str
    ) -> list[dict]:
        answer = await self._hub.call(
            province, System.billing, "set_member_plan_batch", idempotency_key,
            {"service_id": service_id,
             "members": [{"msisdn": m, "plan": plan, "plan_from": since} for m, (plan, since) in plans.items()]},
        )
        return member_results(answer)
