"""The embedded default behind `vpdn up`: Temporal dev server + provinces' simulator + worker.

The dev server keeps its history in the data folder next to the order store, so the two
agree after a restart. An already reachable Temporal server is used instead of a new one.
The data folder is its owner's alone (0700, its files 0600: the order store, the simulator
database, the history, the secrets); without VPDN_PASSWORD_SECRET_FILE the member password
secrets are created there.
"""

import asyncio
import contextlib
import dataclasses
import os
import signal
import subprocess

from rich.console import Console

from adapters.passwords import create_secrets_file
from models import search_attributes
from private_files import private_folder
from settings import Settings, connect_temporal, temporal_cli_path
from simulator.db import open_database
from simulator.seed import ensure_demo_data
from simulator.server import serve
from worker import build_worker, ensure_search_attributes, member_passwords

STARTUP_TIMEOUT_S = 60


async def reachable(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 1)
    except (OSError, asyncio.TimeoutError):
        return False
    writer.close()
    return True


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
    return subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)


async def wait_until_reachable(address: str, server: subprocess.Popen, console: Console) -> None:
    with console.status(f"starting the Temporal dev server on {address}…"):
        for _ in range(STARTUP_TIMEOUT_S * 4):
            if server.poll() is not None:
                raise SystemExit(f"the Temporal dev server exited with code {server.returncode}; "
                                 "see temporal.log in the data folder")
            if await reachable(address):
                return
            await asyncio.sleep(0.25)
    raise SystemExit(f"the Temporal dev server did not start within {STARTUP_TIMEOUT_S} s")


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
    return dataclasses.replace(settings, password_secret_file=settings.embedded_secret_file)


async def run_embedded(settings: Settings, console: Console) -> None:
    settings = private_data(settings)
    passwords = member_passwords(settings)
    address = settings.temporal_address
    server = None
    ui = f"http://localhost:{settings.ui_port}"
    if await reachable(address):
        console.print(f"using the Temporal server already at {address}")
        ui = "the UI of that server"
    else:
        server = start_dev_server(settings)
    try:
        if server:
            await wait_until_reachable(address, server, console)
        client = await connect_temporal(settings)
        await ensure_search_attributes(client, settings.namespace)
        worker = build_worker(client, settings, passwords=passwords)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        demo_code = ensure_demo_data(open_database(settings.simulator_database_url))
        simulator = asyncio.create_task(serve(settings))
        running = asyncio.create_task(worker.run())
        console.print(
            f"[green]vpdn is up[/green]\n"
            f"  Temporal UI:     {ui}\n"
            f"  Temporal:        {address} (namespace {settings.namespace}, task queue {settings.task_queue})\n"
            f"  provinces' hub:  {settings.hub_url}\n"
            f"  order store:     {settings.database_url}\n"
            f"Start an order from another terminal (source .venv/bin/activate first):\n"
            f"  vpdn customer acquire {demo_code} --by <your name>\n"
            f"  vpdn customer show {demo_code}\n"
            f"Ctrl-C stops everything."
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
