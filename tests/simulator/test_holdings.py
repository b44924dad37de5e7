"""A province's holdings read through the hub a page at a time (what reconciliation reads)."""

import pytest
from httpx import HTTPStatusError

from adapters.hub import HubClient


async def test_the_hub_client_reads_a_systems_holdings_page_by_page_each_once(client):
    members = [{"msisdn": f"1380000{n:04d}"} for n in range(5)]
    (await client.post("/v1/provinces/GD/hlr/subscribe_vpdn_batch", json={
        "idempotency_key": "k1", "payload": {"service_id": "S1", "apn": "a", "members": members}})).raise_for_status()
    (await client.post("/v1/provinces/BJ/hlr/subscribe_vpdn_batch", json={
        "idempotency_key": "k2", "payload": {"service_id": "S1", "apn": "a", "members": members[:1]}})).raise_for_status()

    pages = [page async for page in HubClient(http=client).holdings("GD", "hlr", page_size=2)]

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [h["key"] for page in pages for h in page] == [m["msisdn"] for m in members]
    assert {(h["kind"], h["data"]["service_id"]) for page in pages for h in page} == {("vpdn_subscription", "S1")}


async def test_holdings_of_a_system_a_province_does_not_have_are_refused(client):
    with pytest.raises(HTTPStatusError) as refused:
        _ = [page async for page in HubClient(http=client).holdings("GD", "settlement")]

    assert refused.value.response.status_code == 404
    assert "no settlement at GD" in refused.value.response.json()["text"]
