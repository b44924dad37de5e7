"""Running an HTTP app (the simulator, or GPMS's API beside it) inside an asyncio program,
such as the CLI's `vpdn up` or the test session."""

import asyncio
import contextlib

import uvicorn
from fastapi import FastAPI

from settings import Settings
from simulator.app import create_app
from simulator.reports import ReportSink


class Server(uvicorn.Server):
    """uvicorn without its own SIGINT/SIGTERM handling: the program running it owns signals
    (`vpdn up` stops the worker and the dev server too) and stops it by cancellation."""

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


async def serve_app(app: FastAPI, port: int) -> None:
    """Serve `app` on 127.0.0.1:`port` until cancelled; on cancellation shut down gracefully
    (its lifespan ends) and re-raise."""
    server = Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        server.should_exit = True
        await serving
        raise


async def serve(settings: Settings, report_sink: ReportSink | None = None) -> None:
    """Serve the simulator on 127.0.0.1:`settings.simulator_port` until cancelled (the report
    loop stops with it)."""
    await serve_app(create_app(settings, report_sink), settings.simulator_port)
