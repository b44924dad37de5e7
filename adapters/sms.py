"""The SMS gateway (短信): texts to members."""

from typing import Protocol

from adapters.hub import HubClient, member_results
from models.provinces import HQ, System


class SmsGateway(Protocol):
    async def send(self, texts: dict[str, str], idempotency_key: str) -> list[dict]:
        """Send each member (msisdn → text) its message once."""
        ...


class HubSms:
    def __init__(self, hub: HubClient) -> None:
        self._hub = hub

    async def send(self, texts: dict[str, str], idempotency_key: str) -> list[dict]:
        answer = await self._hub.call(
            HQ, System.sms, "send_batch", idempotency_key,
            {"members": [{"msisdn": m, "text": t} for m, t in texts.items()]},
        )
        return member_results(answer)
