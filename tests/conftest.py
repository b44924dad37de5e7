"""Shared fixtures: one Temporal dev server and one HTTP server for GPMS's API per session,
and per test a fresh order store, API app (behind that server), provinces' simulator
(in-process, reporting to the API over HTTP) and worker on its own task queue. The CLI's
commands under test reach the API as `vpdn api` builds it, served from a thread (`cli_api`)."""

import asyncio
import os
import shutil
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from adapters.hub import HubClient
from adapters.passwords import create_secrets_file
from api.app import create_app as create_api
from api.auth import Principal, Role, StaticTokens
from api.server import build_app
from codec import data_converter
from embedded import local_principals
from intake import Intake
from models import search_attributes
from settings import Settings, temporal_cli_path
from simulator import create_app
from serving import Server
from store import OrderStore, engine_for
from tests.helpers import migrated
from worker import build_worker



def _database_of_this_process(url: str | None) -> str | None:
    """VPDN_TEST_POSTGRES_URL, or under pytest-xdist a database of this worker's own beside it
    (`test_gw1` for worker gw1 of `test`), created on first use: workers run side by side."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    return database_beside(url, worker)


def database_beside(url: str, suffix: str) -> str:
    """The PostgreSQL database `<url's database>_<suffix>` on url's server, created on first use."""
    given = make_url(url)
    own = given.set(database=f"{given.database}_{suffix}")
    engine = create_engine(given, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if not connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                  {"name": own.database}).first():
            connection.exec_driver_sql(f'CREATE DATABASE "{own.database}"')
    engine.dispose()
    return own.render_as_string(hide_password=False)


POSTGRES_URL = _database_of_this_process(os.environ.get("VPDN_TEST_POSTGRES_URL"))
HUB_TOKEN = "hub-token"
ACCOUNT_MANAGER_TOKEN = "am-token"  # alice's at `gpms_api`, for the CLI's commands under test
# The suite's payload keys (test keys only): its clients seal with them, as did the recordings in histories/.
PAYLOAD_KEYS = Path(__file__).parent / "payload-keys"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_local(
        data_converter=data_converter(PAYLOAD_KEYS),
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
    settings = Settings(data_dir=tmp_path, task_queue=f"test-{uuid.uuid4()}", report_delay_s=0.05, shutdown_grace=0,
                        password_secret_file=secrets_file, payload_keys_file=PAYLOAD_KEYS)
    migrated(settings.database_url)
    return settings


@pytest.fixture
def store(settings: Settings) -> OrderStore:
    return OrderStore(settings.database_url)


class CurrentApi:
    """An ASGI app that is the running test's API app (tests run one at a time), so that one
    uvicorn server serves the whole session."""

    def __init__(self) -> None:
        self.app: FastAPI | None = None
        self.url = ""

    async def __call__(self, scope, receive, send) -> None:
        await self.app(scope, receive, send)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def api_server() -> AsyncIterator[CurrentApi]:
    """An HTTP server on a free port for GPMS's API, in the session's loop."""
    current = CurrentApi()
    server = Server(uvicorn.Config(current, host="127.0.0.1", port=0, lifespan="off", log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    current.url = "http://127.0.0.1:{}".format(server.servers[0].sockets[0].getsockname()[1])
    yield current
    server.should_exit = True
    await serving


@pytest_asyncio.fixture
async def gpms_api(api_server: CurrentApi, settings: Settings, store: OrderStore,
                   client: Client) -> AsyncIterator[str]:
    """GPMS's API for this test (its order store, the test's Temporal), at the returned URL;
    the hub's token is HUB_TOKEN, alice's (an account manager) ACCOUNT_MANAGER_TOKEN."""

    async def connect() -> Client:
        return client

    tokens = StaticTokens({HUB_TOKEN: Principal(name="hub", roles=frozenset({Role.hub})),
                           ACCOUNT_MANAGER_TOKEN: Principal(name="alice", roles=frozenset({Role.account_manager}))})
    api_server.app = create_api(Intake(settings, store, connect), store, tokens)
    yield api_server.url
    api_server.app = None


@pytest_asyncio.fixture
async def simulator_transport(settings: Settings, gpms_api: str) -> AsyncIterator[httpx.ASGITransport]:
    """The provinces' simulator in-process; its completion reports go to the API over HTTP."""
    app = create_app(settings.model_copy(update={"api_url": gpms_api, "hub_token": HUB_TOKEN}))
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


class ApiOfTheEnvironment:
    """An ASGI app: GPMS's API as `vpdn api` builds it over the settings the environment names
    now (the running test's order store and Temporal), built again when they change."""

    def __init__(self) -> None:
        self.app: FastAPI | None = None
        self.settings = ""

    async def __call__(self, scope, receive, send) -> None:
        settings = Settings()
        if settings.model_dump_json() != self.settings:
            self.app, self.settings = build_app(settings), settings.model_dump_json()
        await self.app(scope, receive, send)


@pytest.fixture(scope="session")
def cli_api_server() -> Iterator[str]:
    """An HTTP server on a free port, in a thread of its own (the CLI's calls block the test's
    thread), serving `ApiOfTheEnvironment`; its URL."""
    server = uvicorn.Server(uvicorn.Config(ApiOfTheEnvironment(), host="127.0.0.1", port=0, lifespan="off",
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield "http://127.0.0.1:{}".format(server.servers[0].sockets[0].getsockname()[1])
    server.should_exit = True
    thread.join()


@pytest.fixture(scope="session")
def people_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder made once: an empty order store holding the tokens of `vpdn up`'s local
    people, and their credentials.json."""
    folder = tmp_path_factory.mktemp("people")
    settings = Settings(data_dir=folder)
    migrated(settings.database_url)
    local_principals(settings)
    engine = engine_for(settings.database_url)
    with engine.connect() as connection:  # the tokens into the file, which is what is copied
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return folder


@pytest.fixture
def cli_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A command's environment with nothing behind it but `cli_api`: the test's own data folder,
    and a Temporal and a simulator where nothing listens (a command that tried to start a
    workflow would fail differently). Ask for it before `cli_api`, which reads it."""
    monkeypatch.setenv("VPDN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
    monkeypatch.setenv("VPDN_SIM_PORT", "1")
    monkeypatch.setenv("VPDN_PAYLOAD_KEYS_FILE", str(PAYLOAD_KEYS))


@pytest.fixture
def cli_api(cli_api_server: str, people_store: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The API for CLI commands run in this test, over the order store and Temporal that the
    environment (VPDN_DATA_DIR, TEMPORAL_ADDRESS…) names, its store migrated; `vpdn up`'s
    local people (alice, bob, carol, hub, admin, viewer: the default) in its credentials.json."""
    monkeypatch.setenv("VPDN_API_URL", cli_api_server)
    monkeypatch.delenv("VPDN_API_TOKEN", raising=False)
    settings = Settings()
    made = Settings(data_dir=people_store)
    if settings.database_url == f"sqlite:///{settings.data_dir / 'gpms.db'}" and not settings.data_dir.joinpath(
            "gpms.db").exists():  # a copy of the people's store: faster than making their tokens
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        for path in (Path(made.database_url.removeprefix("sqlite:///")), made.credentials_file):
            shutil.copyfile(path, settings.data_dir / path.name)
    else:
        migrated(settings.database_url)
        local_principals(settings)
    return cli_api_server
