"""The embedded default behind `vpdn up`: Temporal dev server + provinces' simulator + worker.

The dev server keeps its history in the data folder next to the order store, so the two
agree after a restart. An already reachable Temporal server is used instead of a new one.
The data folder is its owner's alone (0700, its files 0600: the order store, the simulator
database, the history, the secrets); without VPDN_PASSWORD_SECRET_FILE the member password
secrets are created there.
"""

import asyncio
import contextlib
import ctypes
import os
import shlex
import signal
import socket
import subprocess

from rich.console import Console
from temporalio.client import Client
from temporalio.service import RPCError

from adapters.passwords import create_secrets_file
from models import search_attributes
from private_files import private_folder
from settings import Settings, connect_temporal, temporal_cli_path
from simulator.db import open_database
from simulator.seed import ensure_demo_data
from simulator.server import serve
from setup_step import run_setup
from telemetry.metrics import prometheus_runtime
from worker import build_worker, member_passwords

STARTUP_TIMEOUT_S = 60
PR_SET_PDEATHSIG = 1


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
    needed = [(settings.simulator_port, "the provinces' simulator", "VPDN_SIM_PORT")]
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


def private_data(settings: Settings) -> Settings:
    """Make the data folder private (every file this process and the dev server create in
    it is 0600 from its first byte) and the settings with the password secrets to use."""
    os.umask(0o077)
    private_folder(settings.data_dir)
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
        console.print(
            f"[green]vpdn is up[/green]\n"
            f"  Temporal UI:     {ui}\n"
            f"  Temporal:        {address} (namespace {settings.namespace}, task queue {settings.task_queue})\n"
            f"  provinces' hub:  {settings.hub_url}\n"
            f"  order store:     {settings.database_url}\n"
            f"Start an order from another terminal (source .venv/bin/activate first"
            + (f", then {exported}" if (exported := export_line()) else "") + "):\n"
            f"  vpdn customer acquire {demo_code} --by <your name>\n"
            f"  vpdn customer show {demo_code}\n"
            f"Ctrl-C stops everything.",
            soft_wrap=True,  # the export line stays one line, to be copied whole
        )
        stop_waiter = asyncio.create_task(stopping.wait())
        done, _ = await asyncio.wait({stop_waiter, simulator, running}, return_when=asyncio.FIRST_COMPLETED)
        console.print("stopping…")
        stop_waiter.cancel()
        await worker.shutdown()
        simulator.cancel()
        for task in (simulator, running):
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        if server:
            stop(server)
    console.print("vpdn stopped")
