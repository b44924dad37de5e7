"""The hub's door: the provinces' completion reports and the CRMs' messages, POSTed to GPMS's
API as the hub, reach their workflow once, or are refused with the reason."""

import asyncio
import contextlib
import uuid

import httpx
import pytest
from temporalio.service import RPCError

from api.app import create_app
from api.auth import Principal, Role, StaticTokens
from intake import Intake
from models.customer import CustomerHierarchy, customer_sync_workflow_id
from models.hub import WorkOrderReference
from models.orders import OrderState, OrderType, workflow_id_for
from tests.conftest import HUB_TOKEN
from store import OrderStore
from tests.helpers import acquired_customer, holdings, inject, opening_order, start_opening, wait_for_status

REPORTS = "/hub/completion-reports"


@pytest.fixture(autouse=True)
def customer(store):
    acquired_customer(store)


@pytest.fixture
async def door(settings, store):
    """The API in-process with a hub and a viewer, for what needs no workflow."""

    async def no_temporal():
        raise RuntimeError("no Temporal in this test")

    tokens = StaticTokens({HUB_TOKEN: Principal(name="hub", roles=frozenset({Role.hub})),
                           "viewer-token": Principal(name="vera", roles=frozenset({Role.viewer}))})
    app = create_app(Intake(settings, store, no_temporal), store, tokens)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gpms") as http:
        yield http


def as_hub(token: str = HUB_TOKEN) -> dict:
    return {"Authorization": f"Bearer {token}"}


def hub_report(correlation: str, report_id: str, province: str = "SH", system: str = "crm",
               operation: str = "service_work_order") -> dict:
    return {"report_id": report_id, "correlation": correlation, "province": province, "system": system,
            "operation": operation, "outcome": "completed"}


async def test_an_order_completes_with_its_reports_delivered_over_http(client, settings, simulator, worker, store):
    order = opening_order("OPEN-HUB-HTTP")
    result = await (await start_opening(client, settings, order)).result()

    assert result.state == OrderState.completed
    reports = (await simulator.get("/admin/reports")).json()
    # 3 group tariff configurations, the access CRM work order, the line: each reported once
    assert len(reports) == 5 and all(r["sent"] and r["last_error"] is None for r in reports)
    # the hub names each work order by an opaque reference, not by the order's workflow
    workflow = workflow_id_for(OrderType.service_opening, order.order_no)
    assert not any(workflow in str(r["report"]) or order.order_no in r["report"]["correlation"] for r in reports)
    assert len({r["report"]["correlation"] for r in reports}) == 5


async def test_a_report_from_elsewhere_is_refused_and_a_repeated_one_counts_once(
        client, settings, simulator, worker, store, gpms_api):
    await inject(simulator, province="SH", system="crm", operation="service_work_order", kind="no_report")
    handle = await start_opening(client, settings, opening_order("OPEN-HUB-DUP"))
    await wait_for_status(handle, lambda s: any(
        (step.name, step.state) == ("access CRM work order", "awaiting report") for step in s.steps))
    reference = store.correlations.sent_with("OPEN-HUB-DUP:service_work_order:SH")

    async with httpx.AsyncClient(base_url=gpms_api, headers=as_hub()) as hub:
        forged = await hub.post(REPORTS, json=hub_report(reference, "xz-1", "XZ", "sms", "send_batch"))
        twice = await asyncio.gather(*(hub.post(REPORTS, json=hub_report(reference, "sh-1")) for _ in range(2)))
        await handle.result()
        after_the_end = await hub.post(REPORTS, json=hub_report(reference, "sh-1"))

    assert forged.status_code == 422
    assert forged.json()["detail"] == (
        "report xz-1 comes from XZ sms send_batch, but its work order went to SH crm service_work_order: "
        "recorded on the order as unexpected, not applied")
    assert [answer.status_code for answer in twice] == [202, 202]
    assert after_the_end.status_code == 202 and "already delivered" in after_the_end.json()["detail"]
    events = [event.event for event in store.orders.get_order("OPEN-HUB-DUP").events]
    assert events.count("access province reported completion") == 1
    assert events.count("unexpected completion report ignored") == 1
    assert store.orders.get_order("OPEN-HUB-DUP").state == OrderState.completed
    [work_order] = await holdings(simulator, "SH", "crm", "service_order")
    assert work_order["writes"] == 1


async def test_a_crms_customer_change_reaches_gpms_through_the_door_once(client, simulator, worker, store,
                                                                         gpms_api):
    code = f"{uuid.uuid4().int % 10**10:010d}"
    store.customers.save_customer(CustomerHierarchy(customer_code=code, name="Acme", credit_code="91310000MA1FL0001X",
                                                    group_province="SH"))
    try:
        sent = await simulator.post(f"/admin/customers/{code}/changes",
                                    json={"province": "GD", "name": "Acme GD", "credit_code": "91310000MA1FL0001X"})
        for _ in range(100):
            if store.customers.get_customer(code).branches:
                break
            await asyncio.sleep(0.1)
        async with httpx.AsyncClient(base_url=gpms_api, headers=as_hub()) as hub:
            again = await hub.post("/hub/customer-changes", json=sent.json())
    finally:
        with contextlib.suppress(RPCError):
            await client.get_workflow_handle(customer_sync_workflow_id(code)).terminate("test over")

    assert sent.status_code == 200
    assert [(b.province, b.name) for b in store.customers.get_customer(code).branches] == [("GD", "Acme GD")]
    assert (again.status_code, again.json()["detail"]) == (
        202, "version 1 of the GD record was already received: version 1 is a repeat and is ignored")


async def test_a_report_for_a_work_order_never_sent_is_refused(door):
    answer = await door.post(REPORTS, json=hub_report("no-such-reference", "r-1"), headers=as_hub())

    assert answer.status_code == 404
    assert answer.json()["detail"] == "report r-1: no work order was sent with correlation reference no-such-reference"


async def test_a_member_change_that_fails_its_checks_is_refused_with_the_reason(door, store):
    notification = {"notification_id": "N-1", "province": "SH", "kind": "number_cancelled",
                    "msisdn": "13900000001"}
    answer = await door.post("/hub/member-changes", json=notification, headers=as_hub())

    assert answer.status_code == 422
    assert answer.json()["detail"] == "13900000001 is not a member of any VPDN: nothing to do"
    assert store.notifications.get("N-1").state == "refused"


async def test_the_door_is_for_the_hub_only(door):
    report = hub_report("any", "r-1")

    anonymous = await door.post(REPORTS, json=report)
    viewer = await door.post(REPORTS, json=report, headers=as_hub("viewer-token"))
    unknown = await door.post("/hub/customer-changes", json={}, headers=as_hub("forged-token"))

    assert (anonymous.status_code, anonymous.json()["detail"]) == (401, "no credentials: send a bearer token")
    assert (viewer.status_code, viewer.json()["detail"]) == (403, "vera lacks the role hub")
    assert (unknown.status_code, unknown.json()["detail"]) == (401, "the token is unknown, expired or revoked")


def test_a_retried_work_order_carries_the_same_reference_and_another_one_its_own(database_url):
    store = OrderStore(database_url)
    sent = WorkOrderReference(workflow_id="vpdn-open-OPN-1", idempotency_key="OPN-1:service_work_order:SH",
                              province="SH", system="crm", operation="service_work_order")
    other = sent.model_copy(update={"idempotency_key": "OPN-1:configure_group_tariff:SH"})

    first, retried, another = (store.correlations.reference(w) for w in (sent, sent, other))

    assert first == retried != another
    assert "OPN-1" not in first and len(first) >= 24
    assert store.correlations.resolve(first) == (sent, None)
    store.correlations.delivered(first, "r-1")
    store.correlations.delivered(first, "r-2")
    assert store.correlations.resolve(first) == (sent, "r-1")
