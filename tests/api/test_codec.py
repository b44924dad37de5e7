"""The Temporal UI's codec endpoint: an authenticated caller sees sealed payloads opened;
without a valid token nothing is opened; a browser may call it from the UI's origin only."""

import base64
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from api.app import create_app
from api.auth import Principal, Role, StaticTokens
from codec import SealingCodec, create_keys_file
from intake import Intake
from store import OrderStore

ORDER = b'{"apn": "acme.vpdn.sh", "line": {"address": "88 Century Avenue, Pudong, Shanghai"}}'
PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=ORDER)
VIEWER = {"Authorization": "Bearer viewer-token"}


@pytest_asyncio.fixture
async def api(settings) -> AsyncIterator[httpx.AsyncClient]:
    async def no_temporal():
        raise RuntimeError("no Temporal in these tests")

    store = OrderStore(settings.database_url)
    tokens = StaticTokens({"viewer-token": Principal(name="vera", roles=frozenset({Role.viewer}))})
    app = create_app(Intake(settings, store, no_temporal), store, tokens)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        yield client


def body(*payloads: Payload) -> dict:
    return json_format.MessageToDict(Payloads(payloads=payloads))


async def test_an_authenticated_caller_sees_a_sealed_payload_opened(api, settings):
    sealed = await SealingCodec.from_file(settings.payload_keys_file).encode([PLAIN])

    answer = await api.post("/codec/decode", json=body(*sealed, PLAIN), headers=VIEWER)

    assert answer.status_code == 200
    assert [base64.b64decode(p["data"]) for p in answer.json()["payloads"]] == [ORDER, ORDER]
    assert answer.json()["payloads"][0]["metadata"] == {"encoding": base64.b64encode(b"json/plain").decode()}


async def test_what_the_endpoint_seals_it_opens(api):
    sealed = await api.post("/codec/encode", json=body(PLAIN), headers=VIEWER)
    assert ORDER not in base64.b64decode(sealed.json()["payloads"][0]["data"])

    opened = await api.post("/codec/decode", json=sealed.json(), headers=VIEWER)

    assert json_format.ParseDict(opened.json(), Payloads()).payloads == [PLAIN]


async def test_without_a_valid_token_nothing_is_opened(api, settings):
    sealed = body(*await SealingCodec.from_file(settings.payload_keys_file).encode([PLAIN]))

    for headers in ({}, {"Authorization": "Bearer guessed"}):
        answer = await api.post("/codec/decode", json=sealed, headers=headers)
        assert answer.status_code == 401
        assert b"Century" not in answer.content


async def test_a_browser_may_call_it_from_the_temporal_ui_only(api, settings):
    def preflight(origin: str) -> httpx.Response:
        return api.options("/codec/decode", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-namespace"})

    ui = f"http://localhost:{settings.ui_port}"
    allowed = await preflight(ui)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ui
    assert (await preflight("http://elsewhere.example")).status_code == 400
    other_route = await api.options("/health", headers={"Origin": ui, "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in other_route.headers


async def test_a_payload_sealed_with_a_key_the_api_lacks_is_refused_saying_so(api, tmp_path):
    create_keys_file(tmp_path / "other-keys", key_id="elsewhere")
    sealed = await SealingCodec.from_file(tmp_path / "other-keys").encode([PLAIN])

    answer = await api.post("/codec/decode", json=body(*sealed), headers=VIEWER)

    assert answer.status_code == 422
    assert "sealed with key 'elsewhere', which VPDN_PAYLOAD_KEYS_FILE no longer holds" in answer.json()["detail"]
