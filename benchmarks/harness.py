"""What the benchmarks share: free ports, the simulator as its own process, GPMS's API where
it reports (a door whose app a benchmark may swap, for the baseline), workers as processes,
and the whole local set-up (an in-memory dev server, the API, the simulator with zero added
latency, settings)."""

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlmodel import SQLModel
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.testing import WorkflowEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.passwords import create_secrets_file  # noqa: E402
from api.server import build_app  # noqa: E402
from codec import create_keys_file, data_converter  # noqa: E402
from models import search_attributes  # noqa: E402
from serving import serve_app  # noqa: E402
from settings import Settings, temporal_cli_path  # noqa: E402
from store import OrderStore, engine_for, migrate  # noqa: E402

VPDN = str(Path(sys.executable).parent / "vpdn")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_healthy(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(200):
            try:
                if (await http.get(url + "/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"nothing answered at {url}")


@contextlib.asynccontextmanager
async def start_simulator(settings: Settings) -> AsyncIterator[None]:
    """The provinces' simulator as its own process (`vpdn simulator`), until the block ends;
    it logs to simulator.log in the data folder."""
    log = (Path(os.environ["VPDN_DATA_DIR"]) / "simulator.log").open("w")
    process = subprocess.Popen([VPDN, "simulator"], env={**os.environ}, stdout=subprocess.DEVNULL, stderr=log)
    try:
        await wait_healthy(settings.hub_url)
        yield
    finally:
        process.terminate()
        process.wait()


def shared_secrets(data_dir: Path) -> str:
    """A member password secrets file, as operations would configure for every worker."""
    path = data_dir / "password-secrets"
    create_secrets_file(path)
    return str(path)


def hub_token(settings: Settings) -> None:
    """A token of the hub in the order store, for the simulator started after (VPDN_HUB_TOKEN)."""
    os.environ["VPDN_HUB_TOKEN"] = OrderStore(settings.database_url).tokens.create("hub", ["hub"], expires_at=None)


class Door:
    """What answers at GPMS's API address: GPMS's API, or the app a baseline put there."""

    def __init__(self, app) -> None:
        self.api = self.app = app

    async def __call__(self, scope, receive, send) -> None:
        await (self.api if scope["type"] == "lifespan" else self.app)(scope, receive, send)


@contextlib.asynccontextmanager
async def serving_api(settings: Settings, client) -> AsyncIterator[Door]:
    """GPMS's API in this process (where the simulator reports), until the block ends."""
    door = Door(build_app(settings, client))
    api = asyncio.create_task(serve_app(door, "127.0.0.1", settings.api_port))
    try:
        await wait_healthy(settings.api_url)
        yield door
    finally:
        api.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await api


def shared_keys(data_dir: Path) -> str:
    """A payload keys file, as operations would configure for every worker and client."""
    path = data_dir / "payload-keys"
    create_keys_file(path)
    return str(path)


@contextlib.contextmanager
def worker_processes(count: int) -> Iterator[None]:
    """`count` workers as processes (`vpdn worker`, this environment's settings), until the
    block ends; each logs to worker-<n>.log in the data folder."""
    data_dir = Path(os.environ["VPDN_DATA_DIR"])
    workers = [subprocess.Popen([VPDN, "worker"], env={**os.environ}, stdout=subprocess.DEVNULL,
                                stderr=(data_dir / f"worker-{n}.log").open("w")) for n in range(1, count + 1)]
    try:
        yield
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait()


async def workers_polling(client, task_queue: str, count: int) -> None:
    """Until `count` workers poll the task queue for workflow and activity tasks."""
    for _ in range(1200):
        identities = []
        for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
            described = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
                namespace=client.namespace, task_queue=TaskQueue(name=task_queue), task_queue_type=kind))
            identities.append({poller.identity for poller in described.pollers})
        if min(len(found) for found in identities) >= count:
            return
        await asyncio.sleep(0.25)
    raise SystemExit(f"fewer than {count} workers polled {task_queue} within 5 minutes")


def fresh_store(settings: Settings) -> None:
    """The order store at the newest schema, emptied first when it is PostgreSQL."""
    if not settings.database_url.startswith("sqlite"):
        with engine_for(settings.database_url).begin() as connection:
            SQLModel.metadata.drop_all(connection)
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    migrate.upgrade(engine_for(settings.database_url))


@dataclass
class Local:
    env: WorkflowEnvironment
    settings: Settings
    door: Door


@contextlib.asynccontextmanager
async def local_environment() -> AsyncIterator[Local]:
    """An in-memory dev server, GPMS's API and the simulator (zero added latency) in a fresh
    data folder; the order store is VPDN_DATABASE_URL's (emptied) or SQLite there."""
    data_dir = Path(tempfile.mkdtemp(prefix="vpdn-bench-"))
    os.environ.update({"VPDN_DATA_DIR": str(data_dir), "VPDN_SIM_PORT": str(free_port()),
                       "VPDN_API_PORT": str(free_port()), "VPDN_SIM_REPORT_DELAY": "0", "VPDN_PASSWORD_SECRET_FILE": shared_secrets(data_dir),
                       "VPDN_PAYLOAD_KEYS_FILE": shared_keys(data_dir)})
    async with await WorkflowEnvironment.start_local(
        data_converter=data_converter(Path(os.environ["VPDN_PAYLOAD_KEYS_FILE"])),
        dev_server_existing_path=str(temporal_cli_path()),
        search_attributes=search_attributes.ALL, dev_server_log_level="error",
    ) as env:
        os.environ["TEMPORAL_ADDRESS"] = env.client.service_client.config.target_host
        os.environ["VPDN_TASK_QUEUE"] = f"bench-{uuid.uuid4()}"
        settings = Settings()
        fresh_store(settings)
        hub_token(settings)
        async with serving_api(settings, env.client) as door, start_simulator(settings):
            yield Local(env, settings, door)
