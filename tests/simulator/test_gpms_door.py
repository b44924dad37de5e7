"""The simulated hub reaches GPMS like a real hub: a POST to its door with the hub's token; a
refusal of the message is final, anything else is worth sending again."""

import asyncio
import contextlib
import json

import httpx
import pytest

from models.hub import HubReport
from serving import serve_app
from settings import Settings
from simulator.reports import GpmsDoor, ReportRefused
from tests.helpers import free_port

REPORT = HubReport(report_id="r-1", correlation="ref-1", province="GD", system="crm",
                   operation="service_work_order", outcome="completed")


def door_answering(settings: Settings, status_code: int, seen: list[httpx.Request]) -> GpmsDoor:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status_code, json={"detail": f"answered {status_code}"})

    return GpmsDoor(settings, transport=httpx.MockTransport(answer))


async def test_a_report_is_posted_with_the_hub_token_of_the_credentials_file(tmp_path):
    settings = Settings(data_dir=tmp_path, api_url="http://gpms", hub_token="")
    settings.credentials_file.write_text(json.dumps({"hub": {"token": "t-hub", "roles": ["hub"]}}))
    seen = []

    await door_answering(settings, 202, seen).report(REPORT)

    [request] = seen
    assert (request.method, str(request.url)) == ("POST", "http://gpms/hub/completion-reports")
    assert request.headers["Authorization"] == "Bearer t-hub"
    assert json.loads(request.content)["correlation"] == "ref-1"


@pytest.mark.parametrize("status_code", [404, 409, 422])
async def test_a_report_refused_for_what_it_says_is_final(tmp_path, status_code):
    door = door_answering(Settings(data_dir=tmp_path, hub_token="t"), status_code, [])

    with pytest.raises(ReportRefused, match=f"HTTP {status_code} answered {status_code}"):
        await door.report(REPORT)


@pytest.mark.parametrize("status_code", [401, 403, 429, 503])
async def test_bad_credentials_or_an_unavailable_gpms_are_worth_sending_again(tmp_path, status_code):
    door = door_answering(Settings(data_dir=tmp_path, hub_token="t"), status_code, [])

    with pytest.raises(RuntimeError, match=f"GPMS answered HTTP {status_code}"):
        await door.report(REPORT)


async def test_without_a_hub_token_nothing_is_sent(tmp_path):
    seen = []

    with pytest.raises(RuntimeError, match="no hub token: set VPDN_HUB_TOKEN"):
        await door_answering(Settings(data_dir=tmp_path, hub_token=""), 202, seen).report(REPORT)
    assert seen == []


async def test_more_reports_due_at_once_than_connections_are_each_delivered_on_their_turn(tmp_path):
    """The simulator sends every report due at once (up to 500): to a slow door, more than
    its 100 connections wait their turn, none fails (a failed report is sent again only
    after a growing delay, up to a minute), and each is delivered once."""
    delivered = []

    async def slow_door(scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        body = (await receive())["body"]
        await asyncio.sleep(3)  # five turns of 100 connections: the last waits over 10 s
        delivered.append(json.loads(body)["report_id"])
        await send({"type": "http.response.start", "status": 202, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})

    port = free_port()
    serving = asyncio.create_task(serve_app(slow_door, "127.0.0.1", port))
    try:
        await wait_until_answering(port)
        door = GpmsDoor(Settings(data_dir=tmp_path, hub_token="t", api_url=f"http://127.0.0.1:{port}"))
        reports = [REPORT.model_copy(update={"report_id": f"r-{n}"}) for n in range(500)]
        await asyncio.gather(*(door.report(report) for report in reports))
        await door.aclose()
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
    assert sorted(delivered) == sorted(report.report_id for report in reports)


async def wait_until_answering(port: int) -> None:
    for _ in range(200):
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")
