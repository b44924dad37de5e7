"""The demo's local listener of order events: a tiny HTTP receiver on a free port of this
machine that checks each event's signature (HMAC-SHA256 of the body with the subscription's
secret, in the X-Vpdn-Signature header) as a real listener must, keeps the verified ones
and refuses (401) any other."""

import asyncio
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import uvicorn
from rich.console import Console

from activities.events import SIGNATURE_HEADER, signature
from models.events import EventType
from serving import Server

EVENT_WAIT_S = 30
Call = Callable[..., Awaitable[httpx.Response]]  # GPMS's API: (method, path, **sent)


class Listener:
    """An ASGI app taking POSTed events: 204 for a verified one (queued in `events`), 401 else."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.events: asyncio.Queue[dict] = asyncio.Queue()
        self.refused = 0
        self.url = ""
        self._server: Server | None = None
        self._serving: asyncio.Task | None = None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        sent = dict(scope["headers"]).get(SIGNATURE_HEADER.lower().encode(), b"").decode()
        verified = scope["method"] == "POST" and hmac.compare_digest(sent, signature(self.secret, body))
        if verified:
            self.events.put_nowait(json.loads(body))
        else:
            self.refused += 1
        await send({"type": "http.response.start", "status": 204 if verified else 401, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def start(self) -> str:
        """Listen on a free port of 127.0.0.1; the callback URL."""
        self._server = Server(uvicorn.Config(self, host="127.0.0.1", port=0, lifespan="off", log_level="warning",
                                             log_config=None))
        self._serving = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._serving.done():
                await self._serving  # it could not start: say why
            await asyncio.sleep(0.01)
        self.url = "http://127.0.0.1:{}/events".format(self._server.servers[0].sockets[0].getsockname()[1])
        return self.url

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            await self._serving


class DemoListener:
    """The listener subscribed through GPMS's API (as an operator, by `call(method, path,
    **sent)`) to a customer's orders being created; `show` prints the first event that arrived."""

    def __init__(self, listener: Listener, call: Call, subscription_id: str) -> None:
        self._listener, self._call, self._subscription_id = listener, call, subscription_id

    @property
    def url(self) -> str:
        return self._listener.url

    @classmethod
    async def subscribe(cls, call: Call, customer_code: str) -> "DemoListener":
        listener = Listener(secrets.token_urlsafe(24))
        url = await listener.start()
        created = (await call("POST", "/events/subscriptions", json={
            "callback": url, "event_types": [EventType.created], "customer_code": customer_code,
            "secret": listener.secret})).json()
        return cls(listener, call, created["id"])

    async def show(self, console: Console) -> None:
        """Print the first event the listener verified, then unsubscribe and stop it."""
        try:
            event = await asyncio.wait_for(self._listener.events.get(), EVENT_WAIT_S)
            order = event["event"]["productOrder"]
            console.print(f"   {self.url} received {event['eventType']} {event['eventId']} for order "
                          f"{order.get('id')} ({order.get('state')}), signature verified", highlight=False)
        except TimeoutError:
            console.print(f"   no event reached {self.url} in {EVENT_WAIT_S} s (vpdn events deliveries --failed)",
                          highlight=False)
        finally:
            await self._call("DELETE", f"/events/subscriptions/{self._subscription_id}")
            await self._listener.stop()
