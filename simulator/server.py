"""Running the simulator inside an asyncio program, such as the CLI's `vpdn up`."""

import asyncio
import contextlib

import uvicorn

from settings import Settings
from simulator.app import create_app
from simulator.reports import ReportSink


class _Server(uvicorn.Server):
    """uvicorn without its own SIGINT/SIGTERM handling: the program running it owns signals
    (`vpdn up` stops the worker and the dev server too) and stops it by cancellation."""

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


async def serve(settings: Settings, report_sink: ReportSink | None = None) -> None:
    """Serve the simulator on 127.0.0.1:`settings.simulator_port` until cancelled; on
    cancellation shut down gracefully (the report loop stops) and re-raise."""
    app = create_app(settings, report_sink)
    server = _Server(
        uvicorn.Config(app, host="127.0.0.1", port=settings.simulator_port, log_level="warning", log_config=None)
    )
    serving = asyncio.create_task(server.serve())
    try:
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        server.should_exit = True
        await serving
        raise
