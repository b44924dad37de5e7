"""Running the API: alone (`vpdn api`, production) or inside `vpdn up`."""

from fastapi import FastAPI
from temporalio.client import Client

from api.app import create_app
from api.tokens import authenticator_for
from codec import data_converter, keys_file
from intake import Intake
from serving import serve_app
from settings import Settings, connect_temporal
from store import OrderStore
from telemetry.metrics import prometheus_runtime


def build_app(settings: Settings, client: Client | None = None) -> FastAPI:
    """The API over the order store and Temporal (`client`, or one connected when first needed).
    Its requests are counted on the Prometheus endpoint of the client's runtime: `vpdn up`'s
    worker's, or the API's own at VPDN_METRICS_ADDRESS."""
    store = OrderStore(settings.database_url)
    if client is None:
        data_converter(keys_file(settings))  # no payload keys: refused now, in one line, not at the first order
    if client is not None:
        runtime = client.service_client.config.runtime
    else:
        runtime = prometheus_runtime(settings.metrics_address) if settings.metrics_address else None

    async def connect() -> Client:
        nonlocal client
        if client is None:
            client = await connect_temporal(settings, runtime)
        return client

    return create_app(Intake(settings, store, connect), store, authenticator_for(store, settings),
                      runtime.metric_meter if runtime else None)


async def serve(settings: Settings, client: Client | None = None, host: str = "127.0.0.1") -> None:
    """Serve the API on host:`settings.api_port` until cancelled, then shut down gracefully."""
    await serve_app(build_app(settings, client), host, settings.api_port)
