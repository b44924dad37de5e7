"""Serving an HTTP app (the API, the simulator) inside an asyncio program such as `vpdn up`."""

import asyncio
import contextlib

import uvicorn


class Server(uvicorn.Server):
    """uvicorn without its own SIGINT/SIGTERM handling: the program running it owns signals
    (`vpdn up` stops the worker and the dev server too) and stops it by cancellation."""

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


async def serve_app(app, host: str, port: int) -> None:
    """Serve `app` on host:port until cancelled; on cancellation shut down gracefully (its
    lifespan ends) and re-raise. Its log lines go through the program's logging."""
    server = Server(uvicorn.Config(app, host=host, port=port, log_level="warning", log_config=None))
    serving = asyncio.create_task(server.serve())
    try:
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        server.should_exit = True
        await serving
        raise
