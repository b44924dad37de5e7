"""Shared fixtures: one Temporal dev server per session, and per test a fresh order store,
provinces' simulator (in-process) and worker on its own task queue."""

import os
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from adapters.hub import HubClient
from adapters.passwords import create_secrets_file
from models import search_attributes
from models.hub import CompletionReport
from settings import Settings, temporal_cli_path
from simulator import create_app
from store import OrderStore
from tests.helpers import migrated
from worker import build_worker

POSTGRES_URL = os.environ.get("VPDN_TEST_POSTGRES_URL")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(temporal_cli_path()),
        search_attributes=search_attributes.ALL,
        dev_server_log_level="error",
    ) as env:
        yield env


@pytest.fixture
def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """The order store's URL: SQLite always, PostgreSQL when VPDN_TEST_POSTGRES_URL is set."""
    if request.param == "sqlite":
        return migrated(f"sqlite:///{tmp_path / 'gpms.db'}")
    if not POSTGRES_URL:
        pytest.skip("VPDN_TEST_POSTGRES_URL is not set: PostgreSQL store tests skipped")
    return migrated(POSTGRES_URL)


@pytest.fixture
def settings(tmp_path) -> Settings:
    """A fresh data folder (its order store migrated) and task queue; the password secrets
    configured as in production."""
    secrets_file = tmp_path / "secrets" / "password-secrets"
    create_secrets_file(secrets_file)
    settings = Settings(data_dir=tmp_path, task_queue=f"test-{uuid.uuid4()}", report_delay_s=0.05,
                        password_secret_file=secrets_file)
    migrated(settings.database_url)
    return settings


@pytest.fixture
def store(settings: Settings) -> OrderStore:
    return OrderStore(settings.database_url)


@pytest_asyncio.fixture
async def simulator_transport(settings: Settings, client: Client) -> AsyncIterator[httpx.ASGITransport]:
    """The provinces' simulator in-process; its completion reports go to the test server."""

    async def signal_workflow(workflow_id: str, signal: str, report: CompletionReport) -> None:
        await client.get_workflow_handle(workflow_id).signal(signal, report)

    app = create_app(settings, report_sink=signal_workflow)
    async with app.router.lifespan_context(app):
        yield httpx.ASGITransport(app=app)


@pytest_asyncio.fixture
async def simulator(settings: Settings, simulator_transport) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the simulator's hub and admin API, as a test (or an operator) uses it."""
    async with httpx.AsyncClient(transport=simulator_transport, base_url=settings.hub_url) as http:
        yield http


@pytest_asyncio.fixture
async def worker(settings: Settings, client: Client, simulator_transport) -> AsyncIterator[None]:
    """A worker whose hub client reaches the in-process simulator."""
    hub = HubClient(settings.hub_url, transport=simulator_transport)
    async with build_worker(client, settings, hub=hub):
        yield
    await hub.aclose()
