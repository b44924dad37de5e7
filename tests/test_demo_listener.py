"""The demo's local listener: it takes an event signed with its secret, refuses any other, and
(subscribed) receives an order's event delivered by the engine."""

import httpx
from rich.console import Console

from activities.events import SIGNATURE_HEADER, signature
from api.app import create_app
from api.tokens import StoreTokens
from demo_listener import DemoListener, Listener
from intake import Intake
from models.orders import NewOrder, OrderType
from tests.helpers import CUSTOMER


async def test_the_listener_keeps_a_signed_event_and_refuses_a_wrong_signature():
    listener = Listener("s" * 24)
    url = await listener.start()
    body = b'{"eventId": "E1"}'
    try:
        async with httpx.AsyncClient() as http:
            signed = await http.post(url, content=body, headers={SIGNATURE_HEADER: signature(listener.secret, body)})
            forged = await http.post(url, content=body, headers={SIGNATURE_HEADER: signature("x" * 24, body)})
    finally:
        await listener.stop()

    assert (signed.status_code, forged.status_code) == (204, 401)
    assert listener.events.get_nowait() == {"eventId": "E1"} and listener.events.empty()
    assert listener.refused == 1


async def test_subscribed_through_the_api_the_listener_shows_an_order_event_the_engine_delivered(
        client, settings, worker, store):
    async def connect():
        return client

    api = create_app(Intake(settings, store, connect), store, StoreTokens(store))
    operator = httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://api", headers={
        "Authorization": f"Bearer {store.tokens.create('carol', ['operator'], None)}"})
    shown = Console(record=True, width=300)
    listener = await DemoListener.subscribe(operator.request, CUSTOMER)
    store.orders.record_order(NewOrder(order_no="DL-1", order_type=OrderType.customer_acquisition,
                                       workflow_id="vpdn-acquire-DL-1", customer_code=CUSTOMER, requested_by="demo"),
                              "k1")

    await listener.show(shown)

    text = shown.export_text()
    assert f"{listener.url} received ProductOrderCreateEvent" in text
    assert "for order DL-1 (acknowledged), signature verified" in text
    assert store.subscriptions.list_subscriptions() == []  # unsubscribed when shown
    await operator.aclose()
