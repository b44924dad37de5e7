"""Order events to listeners, as a listener and an operator see them: a real HTTP receiver
started here checks each event's signature with the secret it holds, and `vpdn events`
runs against the API served on a free port, with the dev server, worker and simulator."""

import asyncio
import hashlib
import hmac
import json
import re
import socket
import threading
from collections.abc import AsyncIterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import pytest_asyncio
import uvicorn
from temporalio.client import WorkflowExecutionStatus
from typer.testing import CliRunner

from api.app import create_app
from api.tokens import StoreTokens
from cli import app as cli
from intake import Intake
from models.members import MemberLine, MemberOrder
from models.orders import OrderType
from models.service import ServiceRegistration
from submission import start_order
from tests.helpers import CUSTOMER, acquired_customer
from workflows.events import delivery_workflow_id
from workflows.member_join import MemberJoin

SECRET = "the-listeners-shared-secret"
MEMBERS = {"GD": ["13800000001", "13800000002"], "BJ": ["13900000001"]}
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
runner = CliRunner()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver(ThreadingHTTPServer):
    """A listener: each path checks the signature with its own secret (401 when it does not
    match), answers 500 while `down`, and keeps the bodies it accepted."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", free_port()), Handler)
        self.secrets: dict[str, str] = {}
        self.accepted: dict[str, list[dict]] = {}
        self.rejected: dict[str, int] = {}
        self.raw: list[bytes] = []
        self.down = False

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.raw.append(body)
        expected = "sha256=" + hmac.new(self.server.secrets[self.path].encode(), body, hashlib.sha256).hexdigest()
        if self.server.down:
            status = 500
        elif not hmac.compare_digest(self.headers.get("X-Vpdn-Signature", ""), expected):
            status = 401
            self.server.rejected[self.path] = self.server.rejected.get(self.path, 0) + 1
        else:
            status = 200
            self.server.accepted.setdefault(self.path, []).append(json.loads(body))
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver() -> Receiver:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest_asyncio.fixture
async def vpdn(client, settings, store, simulator, worker, monkeypatch) -> AsyncIterator:
    """`vpdn …` as carol (operator) against the API on a free port; an active service whose
    subscribers are seeded in the provinces. Ends every delivery workflow it started."""
    acquired_customer(store)
    store.services.register_service(ServiceRegistration(
        order_no="OPN-E", service_id="SVC-E", customer_code=CUSTOMER, apn="events.acme.vpdn", access_province="SH",
        paying_province="SH", provinces=["SH", "GD", "BJ"],
        tariff={"name": "t", "parameters": {"monthly_fee": "1", "member_fee": "1"}}))
    store.services.set_service_state("SVC-E", "active")
    (await simulator.post("/admin/seed", json={"subscribers": [
        {"msisdn": m, "home_province": p} for p, ms in MEMBERS.items() for m in ms]})).raise_for_status()

    async def connect():
        return client

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(Intake(settings, store, connect), store, StoreTokens(store)),
                                           host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    monkeypatch.setenv("VPDN_API_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("VPDN_API_TOKEN", store.tokens.create("carol", ["operator"], None))

    async def run(*args: str) -> str:
        result = await asyncio.to_thread(runner.invoke, cli, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    yield run
    for subscription in store.subscriptions.list_subscriptions():
        handle = client.get_workflow_handle(delivery_workflow_id(subscription.id))
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate()
    server.should_exit = True
    await serving


async def subscribe(vpdn, receiver: Receiver, path: str, secret: str = SECRET, *options: str) -> str:
    receiver.secrets[path] = SECRET
    output = await vpdn("events", "subscribe", receiver.url(path), "--secret", secret, *options)
    return re.match(r"subscription (SUB-\w+): ", output)[1]


async def join(client, settings, store, order_no: str) -> None:
    """A member join of MEMBERS, run to its end."""
    numbers = [m for ms in MEMBERS.values() for m in ms]
    store.staging.stage(order_no, "SVC-E", "join", [MemberLine(msisdn=m) for m in numbers])
    order = MemberOrder(order_no=order_no, kind="join", service_id="SVC-E", customer_code=CUSTOMER,
                        apn="events.acme.vpdn", access_province="SH", member_count=len(numbers),
                        requested_by="alice", pre_approved_by="hq-audit")
    await (await start_order(client, settings.task_queue, MemberJoin.run, order, order_type=OrderType.member_join,
                             order_no=order_no, customer_code=CUSTOMER, provinces=["SH"])).result()


async def until(condition, what: str, timeout_s: float = 20):
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not (found := await condition()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)
    return found


def story(events: list[dict]) -> list[tuple[str, str]]:
    return [(event["eventType"], event["event"]["productOrder"]["state"]) for event in events]


async def ended(receiver: Receiver, path: str) -> bool:
    return any(e["eventType"] == "ProductOrderEndedEvent" for e in receiver.accepted.get(path, []))


JOIN_STORY = [("ProductOrderCreateEvent", "acknowledged"), ("ProductOrderStateChangeEvent", "inProgress"),
              ("ProductOrderEndedEvent", "completed")]


async def test_a_listener_gets_an_orders_events_once_in_order_signed_and_without_member_numbers(
        vpdn, receiver, client, settings, store):
    await subscribe(vpdn, receiver, "/crm")
    other = await subscribe(vpdn, receiver, "/other-customer", SECRET, "--customer", "9999999999")

    await join(client, settings, store, "JOIN-E1")
    await until(lambda: ended(receiver, "/crm"), "the end of JOIN-E1 at /crm")

    got = receiver.accepted["/crm"]
    assert story(got) == JOIN_STORY
    assert {e["event"]["productOrder"]["id"] for e in got} == {"JOIN-E1"}
    ids = [int(e["eventId"].removeprefix("evt-")) for e in got]
    assert ids == sorted(set(ids))
    assert got[0]["event"]["productOrder"] == {"id": "JOIN-E1", "category": "member_join", "state": "acknowledged",
                                               "customerCode": CUSTOMER, "serviceId": "SVC-E",
                                               "provinces": store.orders.get_order("JOIN-E1").provinces}
    assert receiver.raw and not [body for body in receiver.raw if MOBILE.search(body.decode())]
    # The other customer's listener read past the order and got none of it.
    await until(lambda: asyncio.to_thread(lambda: next(
        s.cursor for s in store.subscriptions.list_subscriptions() if s.id == other) >= ids[-1]), "/other's cursor")
    assert "/other-customer" not in receiver.accepted
    assert "no failing deliveries" in await vpdn("events", "deliveries", "--failed")


async def test_a_listener_down_for_a_while_gets_everything_in_order_when_back(vpdn, receiver, client, settings, store):
    receiver.down = True
    subscription = await subscribe(vpdn, receiver, "/billing")

    await join(client, settings, store, "JOIN-E2")

    async def failing() -> bool:
        output = await vpdn("events", "deliveries", "--failed")
        return re.search(rf"{subscription}\tevt-\d+\tJOIN-E2\tProductOrderCreateEvent\tfailing\t[2-9] attempts"
                         r"\tHTTP 500 Internal Server Error", output)

    await until(failing, "the failing delivery")
    assert "/billing" not in receiver.accepted
    receiver.down = False
    await until(lambda: ended(receiver, "/billing"), "the end of JOIN-E2 at /billing")

    assert story(receiver.accepted["/billing"]) == JOIN_STORY
    assert "no failing deliveries" in await vpdn("events", "deliveries", "--failed")
    assert f"{subscription}\t" in await vpdn("events", "deliveries")


async def test_a_listener_rejects_events_signed_with_another_secret_until_removed(
        vpdn, receiver, client, settings, store):
    subscription = await subscribe(vpdn, receiver, "/ticketing", "not-the-secret-the-listener-holds")

    await join(client, settings, store, "JOIN-E3")

    async def failing() -> bool:
        output = await vpdn("events", "deliveries", "--failed")
        return re.search(rf"{subscription}\tevt-\d+\tJOIN-E3\tProductOrderCreateEvent\tfailing\t\d+ attempts"
                         r"\tHTTP 401 Unauthorized", output)

    await until(failing, "the failing delivery")
    assert receiver.rejected["/ticketing"] >= 1 and "/ticketing" not in receiver.accepted

    assert await vpdn("events", "remove", subscription) == f"subscription {subscription} removed\n"
    assert await vpdn("events", "list") == "no subscriptions: add one with `vpdn events subscribe URL`\n"
    assert "no failing deliveries" in await vpdn("events", "deliveries", "--failed")
    await asyncio.wait_for(client.get_workflow_handle(delivery_workflow_id(subscription)).result(), 20)


async def test_deliveries_of_a_subscription_never_made_are_refused_and_the_lists_print_json(vpdn, receiver):
    subscription = await subscribe(vpdn, receiver, "/crm")

    unknown = await asyncio.to_thread(runner.invoke, cli, ["events", "deliveries", "--subscription", "SUB-NOPE"])
    listed = json.loads(await vpdn("events", "list", "--json"))
    delivered = json.loads(await vpdn("events", "deliveries", "--subscription", subscription, "--json"))

    assert (unknown.exit_code, unknown.output.strip()) == (
        2, "error: no subscription SUB-NOPE; see `vpdn events list`")
    assert [(s["id"], s["callback"]) for s in listed] == [(subscription, receiver.url("/crm"))]
    assert delivered == []
