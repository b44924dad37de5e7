"""Running the API: alone (`vpdn api`, production) or inside `vpdn up`."""

from fastapi import FastAPI
from temporalio.client import Client

from api.app import create_app
from api.tokens import authenticator_for
from intake import Intake
from serving import serve_app
from settings import Settings, connect_temporal
from store import OrderStore


def build_app(settings: Settings, client: Client | None = None) -> FastAPI:
    """The API over the order store and Temporal (`client`, or one connected when first needed)."""
    store = OrderStore(settings.database_url)

    async def connect() -> Client:
        nonlocal client
        if client is None:
            client = await connect_temporal(settings)
        return client

    return create_app(Intake(settings, store, connect), store, authenticator_for(store))


async def serve(settings: Settings, client: Client | None = None, host: str = "127.0.0.1") -> None:
    """Serve the API on host:`settings.api_port` until cancelled, then shut down gracefully."""
    await serve_app(build_app(settings, client), host, settings.api_port)
