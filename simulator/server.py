"""Running the simulator inside an asyncio program, such as the CLI's `vpdn up`."""

from serving import serve_app
from settings import Settings
from simulator.app import create_app
from simulator.reports import ReportSink


async def serve(settings: Settings, report_sink: ReportSink | None = None) -> None:
    """Serve the simulator on 127.0.0.1:`settings.simulator_port` until cancelled (its report
    loop stops)."""
    await serve_app(create_app(settings, report_sink), "127.0.0.1", settings.simulator_port)
