"""The access province's dedicated-line center (接入省专线中心)."""

from typing import Protocol

from adapters.hub import HubClient
from models.provinces import System
from models.service import DedicatedLine


class LineCenter(Protocol):
    async def schedule_line(
        self, province: str, service_id: str, line: DedicatedLine, idempotency_key: str, correlation: str
    ) -> str:
        """Local dedicated-line scheduling order (本地专线调度业务定单); completion reported later."""
        ...

    async def cancel_line(self, province: str, service_id: str, idempotency_key: str) -> str:
        """Cancel the line scheduling if present."""
        ...

    async def terminate_line(self, province: str, service_id: str, idempotency_key: str, correlation: str) -> str:
        """Rent termination of the line (退租); completion reported later."""
        ...


class HubLineCenter:
    def __init__(self, hub: HubClient) -> None:
        self._hub = hub

    async def schedule_line(
        self, province: str, service_id: str, line: DedicatedLine, idempotency_key: str, correlation: str
    ) -> str:
        answer = await self._hub.call(
            province, System.line, "schedule_line", idempotency_key,
            {"service_id": service_id, **line.model_dump()}, correlation,
        )
        return answer.status

    async def cancel_line(self, province: str, service_id: str, idempotency_key: str) -> str:
        answer = await self._hub.call(
            province, System.line, "cancel_line", idempotency_key, {"service_id": service_id}
        )
        return answer.status

    async def terminate_line(self, province: str, service_id: str, idempotency_key: str, correlation: str) -> str:
        answer = await self._hub.call(
            province, System.line, "terminate_line", idempotency_key, {"service_id": service_id}, correlation
        )
        return answer.status
