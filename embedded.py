"""The embedded default behind `vpdn up`: Temporal dev server + provinces' simulator + worker
+ the API, with a few local people whose tokens are kept in the data folder's credentials.json.

The dev server keeps its history in the data folder next to the order store, so the two
agree after a restart. An already reachable Temporal server is used instead of a new one.
The data folder is its owner's alone (0700, its files 0600: the order store, the simulator
database, the history, the secrets); without VPDN_PASSWORD_SECRET_FILE the member password
secrets are created there, and without VPDN_PAYLOAD_KEYS_FILE the keys sealing the payloads.
"""

import asyncio
import contextlib
import ctypes
import json
import os
import shlex
import signal
import socket
import subprocess
from pathlib import Path

from rich.console import Console
from temporalio.client import Client
from temporalio.service import RPCError

from adapters.passwords import create_secrets_file
from api.server import serve as serve_api
from codec import EMBEDDED_KEYS_FILE, create_keys_file
from models import search_attributes
from private_files import private_folder, write_private_file
from settings import Settings, connect_temporal, temporal_cli_path
from simulator.db import open_database
from simulator.seed import ensure_demo_data
from simulator.server import serve
from setup_step import run_setup
from store import OrderStore
from telemetry.metrics import prometheus_runtime
from worker import build_worker, member_passwords

STARTUP_TIMEOUT_S = 60
PR_SET_PDEATHSIG = 1

# The embedded default's people: `vpdn --as NAME` acts as one of them; without it the CLI
# reads as DEFAULT_PRINCIPAL, who may only read.
LOCAL_PRINCIPALS = {"alice": ["account_manager"], "bob": ["hq_auditor"], "carol": ["operator"], "hub": ["hub"],
                    "admin": ["admin"], "viewer": ["viewer"]}
DEFAULT_PRINCIPAL = "viewer"


class PortTaken(Exception):
    """A port `vpdn up` needs is in use by another program: nothing was started."""


async def reachable(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 1)
    except (OSError, asyncio.TimeoutError):
        return False
    writer.close()
    return True


def port_free(host: str, port: int) -> bool:
    """Whether nothing listens on host:port (we could bind it as our servers do, past the
    TIME_WAIT connections of a previous run)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def check_ports(settings: Settings, start_server: bool) -> None:
    """Refuse before anything starts when a port we would listen on is taken, saying which
    setting moves it."""
    needed = [(settings.simulator_port, "the provinces' simulator", "VPDN_SIM_PORT"),
              (settings.api_port, "the API", "VPDN_API_PORT")]
    if start_server:
        host, _, port = settings.temporal_address.rpartition(":")
        needed += [(int(port), "the Temporal dev server", "TEMPORAL_ADDRESS"),
                   (settings.ui_port, "the Temporal UI", "VPDN_UI_PORT")]
    for port, what, setting in needed:
        if not port_free("127.0.0.1", port):
            raise PortTaken(f"port {port} for {what} is already in use by another program: stop it, or set "
                            f"{setting} to a free port; nothing was started")


def _die_with_parent() -> None:
    """In the child before exec: the kernel kills it when `vpdn up` dies, even by SIGKILL."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def start_dev_server(settings: Settings) -> subprocess.Popen:
    host, _, port = settings.temporal_address.rpartition(":")
    command = [
        str(temporal_cli_path()), "server", "start-dev",
        "--ip", "127.0.0.1" if host == "localhost" else host,
        "--port", port,
        "--ui-port", str(settings.ui_port),
        "--db-filename", str(settings.data_dir / "temporal.db"),
        "--namespace", settings.namespace,
        "--log-level", "error",
        "--ui-disable-news-fetch",
        "--ui-codec-endpoint", f"http://127.0.0.1:{settings.api_port}/codec",  # the API opens sealed payloads
    ]
    for key in search_attributes.ALL:
        command += ["--search-attribute", f"{key.name}={key.indexed_value_type.name.title().replace('_', '')}"]
    log = open(settings.data_dir / "temporal.log", "ab")
    # Its own session: Ctrl-C reaches us, and we stop the server after the worker.
    return subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True, preexec_fn=_die_with_parent)


async def connect_when_ready(settings: Settings, server: subprocess.Popen | None, console: Console) -> Client:
    """Connect to Temporal, retrying until its frontend is healthy (the port answers before
    it is), within STARTUP_TIMEOUT_S."""
    deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_S
    runtime = prometheus_runtime(settings.metrics_address) if settings.metrics_address else None
    with console.status(f"starting the Temporal dev server on {settings.temporal_address}…"):
        while True:
            if server is not None and server.poll() is not None:
                raise SystemExit(f"the Temporal dev server exited with code {server.returncode}; "
                                 "see temporal.log in the data folder")
            try:
                if await reachable(settings.temporal_address):
                    client = await connect_temporal(settings, runtime)
                    await client.service_client.check_health()
                    return client
            except (RPCError, RuntimeError):
                pass  # "Frontend is not healthy yet"
            if asyncio.get_running_loop().time() > deadline:
                raise SystemExit(f"the Temporal server at {settings.temporal_address} did not answer within "
                                 f"{STARTUP_TIMEOUT_S} s")
            await asyncio.sleep(0.25)


def export_line() -> str:
    """The `export` of the settings this `vpdn up` was started with, for the commands of
    another terminal to reach the same order store, simulator and server."""
    names = sorted(name for name in os.environ if name.startswith(("VPDN_", "TEMPORAL_"))
                   and not any(word in name for word in ("KEY", "TOKEN", "PASSWORD", "SECRET")))
    return "export " + " ".join(f"{name}={shlex.quote(os.environ[name])}" for name in names) if names else ""


async def serving(task: asyncio.Task, address: str) -> None:
    """Wait until a server started as `task` answers at `address` (or raise what stopped it)."""
    while not await reachable(address):
        if task.done():
            task.result()
            raise SystemExit(f"the server for {address} stopped before it answered")
        await asyncio.sleep(0.1)


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def local_principals(settings: Settings) -> None:
    """Give the local people tokens on first start, kept in credentials.json (0600): again for
    one whose token the order store no longer accepts (revoked, or a new store)."""
    path, store = settings.credentials_file, OrderStore(settings.database_url)
    kept = json.loads(path.read_text()) if path.exists() else {}
    credentials = {}
    for name, roles in LOCAL_PRINCIPALS.items():
        token = kept.get(name, {}).get("token")
        if not token or store.tokens.holder(token) is None:
            store.tokens.revoke(name)
            token = store.tokens.create(name, roles, expires_at=None)
        credentials[name] = {"token": token, "roles": roles}
        if name == DEFAULT_PRINCIPAL:
            credentials[name]["default"] = True  # the CLI acts as it without `--as` (it only reads)
    if credentials != kept:
        written = path.with_name(f".{path.name}.new")
        written.unlink(missing_ok=True)
        write_private_file(written, json.dumps(credentials, indent=2).encode())
        written.replace(path)


def private_data(settings: Settings) -> Settings:
    """Make the data folder private (every file this process and the dev server create in
    it is 0600 from its first byte) and the settings with the password secrets and the
    payload keys to use."""
    os.umask(0o077)
    private_folder(settings.data_dir)
    if settings.payload_keys_file is None:
        if not (keys := settings.data_dir / EMBEDDED_KEYS_FILE).exists():
            create_keys_file(keys)
        settings = settings.model_copy(update={"payload_keys_file": keys})
    if settings.password_secret_file is not None:
        return settings
    if not settings.embedded_secret_file.exists():
        create_secrets_file(settings.embedded_secret_file)
    return settings.model_copy(update={"password_secret_file": settings.embedded_secret_file})


async def run_embedded(settings: Settings, console: Console) -> None:
    settings = private_data(settings)
    passwords = member_passwords(settings)
    address = settings.temporal_address
    server = None
    ui = f"http://localhost:{settings.ui_port}"
    existing = await reachable(address)
    check_ports(settings, start_server=not existing)
    if existing:
        console.print(f"using the Temporal server already at {address}")
        ui = "the UI of that server"
    else:
        server = start_dev_server(settings)
    try:
        client = await connect_when_ready(settings, server, console)
        await run_setup(settings, client)  # the administrator's step, for the embedded server
        worker = build_worker(client, settings, passwords=passwords)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        demo_code = ensure_demo_data(open_database(settings.simulator_database_url))
        simulator = asyncio.create_task(serve(settings))
        await serving(simulator, f"127.0.0.1:{settings.simulator_port}")
        running = asyncio.create_task(worker.run())
        local_principals(settings)
        api = asyncio.create_task(serve_api(settings, client))
        await serving(api, f"127.0.0.1:{settings.api_port}")
        api_url = f"http://127.0.0.1:{settings.api_port}"
        console.print(
            f"[green]vpdn is up[/green]\n"
            f"  Temporal UI:     {ui}\n"
            f"  Temporal:        {address} (namespace {settings.namespace}, task queue {settings.task_queue})\n"
            f"  provinces' hub:  {settings.hub_url}\n"
            f"  API:             {api_url} (its documentation: {api_url}/docs)\n"
            f"  people:          {', '.join(LOCAL_PRINCIPALS)} (their tokens in {settings.credentials_file}; "
            f"act as one with vpdn --as NAME; {DEFAULT_PRINCIPAL} reads without it)\n"
            f"  order store:     {settings.database_url}\n"
            f"Start an order from another terminal (source .venv/bin/activate first"
            + (f", then {exported}" if (exported := export_line()) else "") + "):\n"
            f"  vpdn --as alice customer acquire {demo_code}\n"
            f"  vpdn customer show {demo_code}\n"
            f"Ctrl-C stops everything.",
            soft_wrap=True,  # the export line stays one line, to be copied whole
        )
        stop_waiter = asyncio.create_task(stopping.wait())
        done, _ = await asyncio.wait({stop_waiter, simulator, api, running}, return_when=asyncio.FIRST_COMPLETED)
        console.print("stopping…")
        stop_waiter.cancel()
        api.cancel()
        await worker.shutdown()
        simulator.cancel()
        for task in (api, simulator, running):
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        if server:
            stop(server)
    console.print("vpdn stopped")
