"""`vpdn`: the staff's command line. Every order, decision and read goes through GPMS's API
(`--as NAME`); the commands that run processes are local."""

import importlib.metadata
import os
import sys
from typing import Annotated

import typer

import api_client
from cli.admin import admin_app
from cli.events import events_app
from settings import Settings
from telemetry.traces import start_tracing, stop_tracing
from cli.customers import customer_app
from cli.fallouts import fallout_app, reconcile
from cli.members import member_app
from cli.orders import order_app
from cli.output import Commands, errors
from cli.processes import api_command, db_app, demo, setup, simulator, up, worker
from cli.services import service_app, tariff_app
from cli.sim import sim_app


app = typer.Typer(help="VPDN order orchestrator (GPMS): cross-province VPDN orders on Temporal.",
                  no_args_is_help=True, cls=Commands, pretty_exceptions_enable=False, rich_markup_mode=None)


def show_version(asked: bool) -> None:
    if asked:
        print(f"vpdn {importlib.metadata.version('vpdn')}")
        raise typer.Exit()


@app.callback()
def options(version: Annotated[bool, typer.Option("--version", callback=show_version, is_eager=True,
                                                  help="Print the version and exit.")] = False,
            as_: Annotated[str | None, typer.Option("--as", metavar="NAME", help=(
                "Act as NAME: its token from the data folder's credentials.json (`vpdn up` writes it); "
                "else VPDN_API_TOKEN; else the credentials' default person, who only reads."))] = None) -> None:
    """VPDN order orchestrator (GPMS): cross-province VPDN orders on Temporal."""
    settings = Settings()  # every command refuses invalid settings at start (SettingsInvalid)
    start_tracing(settings.otlp_endpoint, "vpdn")
    api_client.act_as(as_)


def main() -> None:
    """The `vpdn` program: run the command, then leave without interpreter teardown, where
    the Temporal client's native threads can abort a finalizing interpreter (SDK issue #300)."""
    try:
        app()
        code = 0
    except SystemExit as exit_:
        if isinstance(exit_.code, str):
            errors.print(f"[red]error:[/red] {exit_.code}", highlight=False, soft_wrap=True)
        code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    stop_tracing()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


for command in (up, demo, reconcile, worker):
    app.command()(command)
app.command("api")(api_command)
for command in (simulator, setup):
    app.command()(command)
for group, name in ((customer_app, "customer"), (order_app, "order"), (service_app, "service"),
                    (member_app, "member"), (tariff_app, "tariff"), (fallout_app, "fallout"), (sim_app, "sim"),
                    (admin_app, "admin"), (events_app, "events"), (db_app, "db")):
    app.add_typer(group, name=name)
