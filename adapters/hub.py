"""The HQ hub's HTTP client: one call = one work order or query to one province's system;
and a province's system's holdings, read a page at a time (for reconciliation).

A call's errors are of two kinds only: `HubUnavailable` (network, timeout, 5xx — the
activity's retry policy retries it) and `HubRejected` (a business rejection with the
province's code and text — retrying will not help).
"""

from collections.abc import AsyncIterator
from typing import Any

import httpx

from models.hub import HubAnswer, HubRejection, HubRequest


class HubUnavailable(Exception):
    """Transient: the hub or the province's system did not answer properly."""


class HubRejected(Exception):
    """The province's system refused the request for a business reason."""

    def __init__(self, province: str, system: str, code: str, text: str) -> None:
        super().__init__(f"province {province} {system} rejected: {code} {text}")
        self.province, self.system, self.code, self.text = province, system, code, text


class HubClient:
    """`http`: an HTTP client of the hub to use instead of one of its own (the caller closes it)."""

    def __init__(
        self, base_url: str = "", *, timeout_s: float = 10.0, transport: httpx.AsyncBaseTransport | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._http = http or httpx.AsyncClient(base_url=base_url, timeout=timeout_s, transport=transport)

    @property
    def http(self) -> httpx.AsyncClient:
        return self._http

    async def call(
        self,
        province: str,
        system: str,
        operation: str,
        idempotency_key: str,
        payload: dict[str, Any],
        correlation: str | None = None,
    ) -> HubAnswer:
        request = HubRequest(idempotency_key=idempotency_key, payload=payload, correlation=correlation)
        try:
            response = await self._http.post(
                f"/v1/provinces/{province}/{system}/{operation}", json=request.model_dump()
            )
        except httpx.HTTPError as error:
            raise HubUnavailable(f"hub unreachable for {province} {system}: {error!r}") from error
        if response.status_code == 422 and "code" in response.json():
            rejection = HubRejection.model_validate(response.json())
            raise HubRejected(province, system, rejection.code, rejection.text)
        if response.status_code >= 500 or response.status_code == 429:
            raise HubUnavailable(
                f"province {province} {system} unavailable: HTTP {response.status_code} {response.text[:200]}"
            )
        response.raise_for_status()
        return HubAnswer.model_validate(response.json())

    async def holdings(self, province: str, system: str, page_size: int = 500) -> AsyncIterator[list[dict]]:
        """What a province's system holds (`{"kind", "key", "data"}` each), a page at a time,
        in the order of kind and key. A read only: the hub not answering properly raises
        httpx.HTTPError (read again)."""
        after: str | None = ""
        while after is not None:
            response = await self._http.get(f"/v1/provinces/{province}/{system}/holdings",
                                            params={"after": after, "limit": page_size})
            response.raise_for_status()
            page = response.json()
            yield page["holdings"]
            after = page["next"]

    async def aclose(self) -> None:
        await self._http.aclose()


def member_results(answer: HubAnswer) -> list[dict[str, Any]]:
    """The per-member results of a batch operation: {msisdn, ok, code, text} each."""
    return answer.data["results"]
