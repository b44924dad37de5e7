"""The commands that run processes, not through the API: `vpdn up` (the embedded default),
`demo`, `worker`, `api`, `simulator`, `setup` and `db`."""

import asyncio
from typing import Annotated

import typer

from adapters.passwords import SecretsRefused
from settings import Settings, connect_temporal
from cli.output import console, fail, redacted_url, run

# Each command imports what it runs (the engine, the store, logging) itself: `vpdn` starts
# quickly for the commands that only talk to the API.


db_app = typer.Typer(help="The order store's schema: upgrade, current version.", no_args_is_help=True, rich_markup_mode=None)


def up() -> None:
    """Start everything in the foreground: Temporal dev server, provinces' simulator, worker.

    Ctrl-C stops them all. Uses an already running Temporal server at TEMPORAL_ADDRESS.
    """
    from embedded import PortTaken, run_embedded
    from telemetry.logs import configure_logging

    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    try:
        asyncio.run(run_embedded(settings, console))
    except (SecretsRefused, PortTaken) as refusal:
        fail(str(refusal), code=2)
    except KeyboardInterrupt:
        fail("interrupted while starting: vpdn stopped", code=130)


def demo() -> None:
    """A whole service life against the simulated provinces, narrated with UI links (needs
    `vpdn up` running): acquire, open, join 200, tariff change, a fallout resolved, exit, close."""
    from demo import run_demo

    run(run_demo(Settings(), console))


def worker() -> None:
    """Run only the worker (what production runs). SIGTERM or Ctrl-C stops it cleanly: running
    activities get VPDN_SHUTDOWN_GRACE seconds to finish."""
    from telemetry.logs import configure_logging
    from worker import run_worker

    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    try:
        run(run_worker(settings))
    except SecretsRefused as refusal:
        fail(str(refusal), code=2)
    except KeyboardInterrupt:
        pass


def api_command(host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1") -> None:
    """Run only the API on VPDN_API_PORT (what production runs beside the workers)."""
    from api.server import build_app
    from serving import serve_app
    from telemetry.logs import configure_logging

    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    api = build_app(settings)  # an order store not at this release's schema, or no payload keys: refused here
    console.print(f"GPMS API on http://{host}:{settings.api_port} (its documentation: /docs)")
    try:
        asyncio.run(serve_app(api, host, settings.api_port))
    except KeyboardInterrupt:
        pass


def simulator() -> None:
    """Run only the provinces' simulator (the hub and the 31 provinces' systems)."""
    from simulator.server import serve
    from telemetry.logs import configure_logging

    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    console.print(f"provinces' simulator on {settings.hub_url}")
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        pass


def setup() -> None:
    """An administrator's step, once per release: upgrade the order store and register the
    search attributes in the namespace (workers only check them)."""
    from setup_step import run_setup

    async def steps() -> list[str]:
        settings = Settings()
        return await run_setup(settings, await connect_temporal(settings))

    for line in run(steps()):
        console.print(line, highlight=False, soft_wrap=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the order store (VPDN_DATABASE_URL) to this release's schema; a database of an
    older release keeps its data."""
    from store import engine_for, migrate

    url = Settings().database_url
    console.print(f"order store {redacted_url(url)}: at schema version {migrate.upgrade(engine_for(url))} (current)")


@db_app.command("current")
def db_current() -> None:
    """Print the order store's schema version (exit 1 when it needs `vpdn db upgrade`)."""
    from store import engine_for, migrate

    url = Settings().database_url
    at, needed = migrate.current(engine_for(url)), migrate.head()
    if at != needed:
        fail(f"order store {redacted_url(url)}: at schema version {at or 'none'}, this vpdn needs {needed}: "
             f"{migrate.UPGRADE_HINT}")
    console.print(f"order store {redacted_url(url)}: at schema version {at} (current)")

