"""The simulated hub reaches GPMS like a real hub: a POST to its door with the hub's token; a
refusal of the message is final, anything else is worth sending again."""

import json

import httpx
import pytest

from models.hub import HubReport
from settings import Settings
from simulator.reports import GpmsDoor, ReportRefused

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
