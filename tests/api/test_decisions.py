"""People's decisions through the API, against the real app, dev server, worker and
provinces' simulator: each route's role allowed and refused, the actor being the
authenticated principal, and four eyes — the person who submitted an order does not approve
or reject its audit, skip its fallout or record its compensation done by hand, not even
straight through Temporal."""

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError

from api.app import create_app
from api.tokens import StoreTokens
from intake import Intake
from models.orders import Decision, OrderState
from tests.helpers import acquired_customer, inject, opening_order, start_opening, wait_for_status
from workflows.service_opening import ServiceOpening

PEOPLE = {"alice": ["account_manager"], "bob": ["hq_auditor"], "carol": ["operator"],
          # dave submits the orders here, and holds every role a decision needs.
          "dave": ["account_manager", "hq_auditor", "operator"]}


@pytest_asyncio.fixture
async def api(client, settings, store, worker) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """The API as each person calls it (and `nobody`, without a token)."""
    acquired_customer(store)

    async def connect():
        return client

    app = create_app(Intake(settings, store, connect), store, StoreTokens(store))
    transport = httpx.ASGITransport(app=app)
    callers = {name: httpx.AsyncClient(transport=transport, base_url="http://api", headers={
        "Authorization": f"Bearer {store.tokens.create(name, roles, None)}"}) for name, roles in PEOPLE.items()}
    callers["nobody"] = httpx.AsyncClient(transport=transport, base_url="http://api")
    yield callers
    for caller in callers.values():
        await caller.aclose()


async def opening(client, settings, order_no: str, state: str, **fields):
    """An opening dave submitted, once it is `state` (and waits for what it says)."""
    order = opening_order(order_no, requested_by="dave", **fields)
    handle = await start_opening(client, settings, order)
    await wait_for_status(handle, lambda s: s.state == state)
    return handle


def refused(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["detail"]


def events(store, order_no: str) -> list[tuple[str, str]]:
    return [(e.actor, e.event) for e in store.orders.get_order(order_no).events]


async def test_the_business_audit_is_an_auditors_and_never_the_submitters(api, client, settings, store):
    approving = await opening(client, settings, "D-APPROVE", OrderState.pending, pre_approved_by=None)
    rejecting = await opening(client, settings, "D-REJECT", OrderState.pending, pre_approved_by=None)
    url = "/orders/D-APPROVE/approval"

    assert refused(await api["nobody"].post(url)) == (401, "no credentials: send a bearer token")
    assert refused(await api["carol"].post(url)) == (403, "carol lacks the role hq_auditor")
    assert refused(await api["dave"].post(url, json={"reason": "mine"})) == (
        403, "four eyes: dave submitted order D-APPROVE, so another person approves its business audit")
    assert refused(await api["dave"].post("/orders/D-REJECT/rejection", json={"reason": "mine"})) == (
        403, "four eyes: dave submitted order D-REJECT, so another person rejects its business audit")
    assert refused(await api["alice"].post("/orders/D-REJECT/rejection", json={"reason": "no"})) == (
        403, "alice lacks the role hq_auditor")
    assert refused(await api["bob"].post("/orders/D-REJECT/rejection", json={}))[0] == 422
    approved = await api["bob"].post(url, json={"reason": "tariff as agreed"})
    twice = await api["bob"].post(url)
    rejected = await api["bob"].post("/orders/D-REJECT/rejection", json={"reason": "tariff below floor"})

    assert (approved.status_code, approved.json()) == (200, {"order_no": "D-APPROVE",
                                                             "answer": "order D-APPROVE approved by bob"})
    assert twice.status_code == 409 and twice.json()["detail"].startswith("order D-APPROVE cannot be approved: it is")
    assert (rejected.status_code, rejected.json()["answer"]) == (200, "order D-REJECT rejected by bob")
    assert (await approving.result()).state == OrderState.completed
    assert ("bob", "business audit approved") in events(store, "D-APPROVE")
    with pytest.raises(WorkflowFailureError):
        await rejecting.result()
    assert store.orders.get_order("D-REJECT").state == OrderState.rejected
    assert refused(await api["bob"].post("/orders/NOPE/approval")) == (
        404, "no order NOPE; list them with `vpdn order list`")


async def test_rental_confirmation_is_an_account_managers_and_cancellation_an_operators(
    api, client, settings, store
):
    confirming = await opening(client, settings, "D-RENTAL", OrderState.pending, rental_rule="on_confirmation")
    await wait_for_status(confirming, lambda s: s.sub_state.startswith("awaiting the customer"))
    cancelling = await opening(client, settings, "D-CANCEL", OrderState.pending, pre_approved_by=None)

    assert refused(await api["bob"].post("/orders/D-RENTAL/rental-confirmation")) == (
        403, "bob lacks the role account_manager")
    confirmed = await api["alice"].post("/orders/D-RENTAL/rental-confirmation", json={"reason": "signed sheet"})
    assert refused(await api["alice"].post("/orders/D-CANCEL/cancellation", json={"reason": "withdrawn"})) == (
        403, "alice lacks the role operator")
    cancelled = await api["carol"].post("/orders/D-CANCEL/cancellation", json={"reason": "customer withdrew"})

    assert confirmed.json()["answer"] == "rental start of order D-RENTAL confirmed by alice"
    assert (await confirming.result()).state == OrderState.completed
    assert ("alice", "customer confirmed the rental start") in events(store, "D-RENTAL")
    assert cancelled.json()["answer"] == "order D-CANCEL is being cancelled and compensated"
    assert (await cancelling.result()).state == OrderState.cancelled
    assert ("carol", "order cancelled") in events(store, "D-CANCEL")


async def test_a_fallout_is_an_operators_and_its_submitter_does_not_skip_it(api, client, settings, store, simulator):
    await inject(simulator, province="SH", system="line", operation="schedule_line", kind="reject",
                 code="E6001", text="duct full at the address", count=1)
    handle = await opening(client, settings, "D-FALLOUT", OrderState.held)
    url = "/fallouts/D-FALLOUT-F1/resolution"

    assert refused(await api["alice"].post(url, json={"action": "retry"})) == (403, "alice lacks the role operator")
    assert refused(await api["dave"].post(url, json={"action": "skip"})) == (
        403, "four eyes: dave submitted order D-FALLOUT, so another person decides to skip dedicated-line "
             "scheduling (SH)")
    retried = await api["carol"].post(url, json={"action": "retry", "reason": "duct cleared"})
    assert (retried.status_code, retried.json()) == (200, {"order_no": "D-FALLOUT",
                                                           "answer": "fallout D-FALLOUT-F1: retry by carol"})
    assert (await handle.result()).state == OrderState.completed
    assert ("carol", "fallout D-FALLOUT-F1 resolved: retry") in events(store, "D-FALLOUT")
    assert refused(await api["carol"].post(url, json={"action": "skip"})) == (
        409, "fallout D-FALLOUT-F1 was already resolved: retry by carol (duct cleared)")
    assert refused(await api["carol"].post("/fallouts/NOPE-F1/resolution", json={"action": "retry"})) == (
        404, "no fallout NOPE-F1; see `vpdn fallout list`")


async def test_a_failed_compensation_is_an_operators_and_its_submitter_does_not_mark_it_done_by_hand(
    api, client, settings, store, simulator
):
    await inject(simulator, province="BJ", system="crm", operation="configure_group_tariff", kind="reject",
                 code="E1021", text="unknown discount")
    await inject(simulator, province="GD", system="crm", operation="cancel_group_tariff", kind="reject",
                 code="E3001", text="package locked")
    handle = await opening(client, settings, "D-UNDO", OrderState.held)
    url = "/orders/D-UNDO/compensation-resolution"

    assert refused(await api["bob"].post(url, json={"action": "retry"})) == (403, "bob lacks the role operator")
    assert refused(await api["dave"].post(url, json={"action": "done_by_hand"})) == (
        403, "four eyes: dave submitted order D-UNDO, so another person records its compensation done by hand")
    done = await api["carol"].post(url, json={"action": "done_by_hand", "reason": "package removed by GD"})

    assert done.json()["answer"] == "order D-UNDO: compensation done_by_hand by carol"
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert ("carol", "compensation finished by hand: cancel the group tariff package") in events(store, "D-UNDO")


async def test_the_workflow_refuses_a_self_approval_sent_straight_to_temporal(client, settings, worker, store):
    acquired_customer(store)
    handle = await opening(client, settings, "D-SELF", OrderState.pending, pre_approved_by=None)

    with pytest.raises(WorkflowUpdateFailedError) as refusal:
        await handle.execute_update(ServiceOpening.approve, Decision(by="Dave", reason="approving my own"))

    assert (refusal.value.cause.type, refusal.value.cause.message) == (
        "FourEyes", "four eyes: Dave submitted order D-SELF, so another person approves its business audit")
    status = await handle.query(ServiceOpening.status)
    assert (status.state, status.sub_state) == (OrderState.pending, "awaiting business audit")
    await handle.execute_update(ServiceOpening.reject, Decision(by="bob", reason="test over"))
