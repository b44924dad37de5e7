"""Fixtures for the simulator tests: an app on a fresh SQLite file, a recording report sink
in place of GPMS's door, and an HTTP client talking to the app in-process."""

import httpx
import pytest
import pytest_asyncio

from models.hub import HubReport
from settings import Settings
from simulator import create_app


class RecordingSink:
    """Stands in for GPMS's door: records each report delivered."""

    def __init__(self) -> None:
        self.delivered: list[HubReport] = []

    async def __call__(self, report: HubReport) -> None:
        self.delivered.append(report)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path, report_delay_s=0.05)


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def app(settings, sink):
    app = create_app(settings, report_sink=sink)
    yield app
    app.state.engine.dispose()


@pytest_asyncio.fixture
async def client(app):
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://simulator"
    ) as client:
        yield client
