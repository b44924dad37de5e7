"""One API per test module, as `vpdn api` serves it: the real app on the session's dev
server, with a worker, the provinces' simulator (in-process) and an order store of its own.
Import `served` (and `http`) into a test module; tokens name one principal per role."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest_asyncio
from fastapi import FastAPI
from temporalio.client import Client

from adapters.hub import HubClient
from adapters.passwords import create_secrets_file
from api.app import create_app
from api.auth import Principal, Role, StaticTokens
from api.reconcile import hub
from intake import Intake
from models.members import MemberLine
from models.service import ServiceRegistration
from settings import Settings
from simulator import create_app as create_simulator
from simulator.reports import GpmsDoor
from store import OrderStore
from tests.conftest import PAYLOAD_KEYS
from tests.helpers import CUSTOMER, acquired_customer, contract, migrated
from worker import build_worker

# token → principal: alice submits, bob only reads, and so on; `all` holds every role.
PRINCIPALS = {
    "am": Principal(name="alice", roles=frozenset({Role.account_manager})),
    "viewer": Principal(name="bob", roles=frozenset({Role.viewer})),
    "auditor": Principal(name="hq-wang", roles=frozenset({Role.hq_auditor})),
    "operator": Principal(name="ops-li", roles=frozenset({Role.operator})),
    "admin": Principal(name="root", roles=frozenset({Role.admin})),
    "hub": Principal(name="hq-hub", roles=frozenset({Role.hub})),
    "all": Principal(name="everyone", roles=frozenset(Role)),
}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Served:
    app: FastAPI
    settings: Settings
    store: OrderStore
    client: Client
    http: httpx.AsyncClient  # the API, as `alice` unless a request sends another token
    simulator: httpx.AsyncClient


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def served(temporal_env, tmp_path_factory) -> AsyncIterator[Served]:
    data = tmp_path_factory.mktemp("api")
    create_secrets_file(data / "secrets" / "password-secrets")
    settings = Settings(data_dir=data, task_queue=f"test-{uuid.uuid4()}", report_delay_s=0.05, shutdown_grace=0,
                        password_secret_file=data / "secrets" / "password-secrets", payload_keys_file=PAYLOAD_KEYS)
    store, client = OrderStore(migrated(settings.database_url)), temporal_env.client

    async def connect() -> Client:
        return client

    app = create_app(Intake(settings, store, connect), store, StaticTokens(PRINCIPALS))
    # The provinces report to this API, as the hub.
    door = GpmsDoor(settings.model_copy(update={"api_url": "http://gpms", "hub_token": "hub"}),
                    transport=httpx.ASGITransport(app=app))
    simulator = create_simulator(settings, report_sink=door.report)
    async with simulator.router.lifespan_context(simulator):
        transport = httpx.ASGITransport(app=simulator)

        async def simulated_hub() -> AsyncIterator[httpx.AsyncClient]:
            async with httpx.AsyncClient(transport=transport, base_url=settings.hub_url) as provinces:
                yield provinces

        app.dependency_overrides[hub] = simulated_hub
        hub_client = HubClient(settings.hub_url, transport=transport)
        async with build_worker(client, settings, hub=hub_client), \
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gpms",
                                  headers=auth("am")) as http, \
                httpx.AsyncClient(transport=transport, base_url=settings.hub_url) as provinces:
            yield Served(app, settings, store, client, http, provinces)
        await hub_client.aclose()
        await door.aclose()


TARIFF = {"name": "Acme", "parameters": {"monthly_fee": "100", "member_fee": "5"}}
MEMBER = "13800000001"


def active_service(store: OrderStore, service_id: str, member: str | None = None) -> None:
    """A service GPMS opened (with one member in GD, joined by order JOIN-<service>, if given)."""
    acquired_customer(store)
    store.services.register_service(ServiceRegistration(
        order_no=f"OPN-{service_id}", service_id=service_id, customer_code=CUSTOMER, apn=f"{service_id.lower()}.vpdn",
        access_province="SH", paying_province="SH", provinces=["SH", "GD"], tariff=TARIFF,
        contract=contract(f"CT-{service_id}")))
    store.services.set_service_state(service_id, "active")
    if member:
        store.staging.stage(f"JOIN-{service_id}", service_id, "join", [MemberLine(msisdn=member, name="Li")])
        store.members.assign_batches(f"JOIN-{service_id}", 10)
        store.members.record_results(f"JOIN-{service_id}", {member: ("home_done", None, "")}, homes={member: "GD"})
        store.members.finish_members(f"JOIN-{service_id}", service_id, "join")


async def recorded(served: Served, order_no: str, state: str | None = None) -> dict:
    """The order as the API shows it, once its workflow has recorded it (in `state`, if given)."""
    for _ in range(300):
        response = await served.http.get(f"/orders/{order_no}")
        if response.status_code == 200 and state in (None, response.json()["state"]):
            return response.json()
        await asyncio.sleep(0.1)
    raise AssertionError(f"order {order_no} was never recorded{' ' + state if state else ''}: {response.text}")
