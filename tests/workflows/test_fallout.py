"""Fallout: each policy outcome, and a person's decisions on a held order."""

import asyncio
import json
import time
from datetime import timedelta

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from typer.testing import CliRunner

from cli import app

from intake import Intake
from models.fallout import FalloutDecision
from models.orders import OrderState, OrderType
from models.service_changes import ServiceChangeOrder
from store.orders import OrderRecords
from tests.conftest import ACCOUNT_MANAGER_TOKEN
from tests.helpers import (
    acquired_customer,
    holdings,
    inject,
    opened_service,
    opening_order,
    order_fields,
    order_result,
    start_opening,
    submit,
    timer_summaries,
    wait_for_status,
)
# `service` (autouse there, so here too): an active members' VPDN with seeded subscribers.
from tests.workflows.test_member_join import GD, member_order, service  # noqa: F401
from tests.workflows.test_service_opening import assert_nothing_left
from workflows.service_opening import ServiceOpening


@pytest.fixture(autouse=True)
def customer(store):
    acquired_customer(store)


async def held_on(handle) -> str:
    status = await wait_for_status(handle, lambda s: s.state == OrderState.held)
    return status.sub_state.split()[1].rstrip(":")


async def test_a_busy_province_is_asked_again_by_the_policy(client, settings, simulator, worker, store):
    await inject(simulator, province="GD", system="crm", operation="configure_group_tariff", kind="reject",
                 code="E1099", text="busy, try later", count=1)

    result = await (await start_opening(client, settings, opening_order("FO-RETRY"))).result()

    assert result.state == OrderState.completed
    keys = {c["idempotency_key"] for c in (await simulator.get(
        "/admin/calls", params={"province": "GD", "operation": "configure_group_tariff"})).json()}
    assert keys == {"FO-RETRY:configure_group_tariff:GD", "FO-RETRY:configure_group_tariff:GD:attempt-2"}
    assert "retrying configure group tariff package in GD (1 of 2)" in [
        e.event for e in store.orders.get_order("FO-RETRY").events]


async def test_information_only_steps_are_skipped_by_the_policy(client, settings, simulator, worker, store):
    opening = await opened_service(client, settings, "FO-SKIP-OPEN")
    await inject(simulator, province="BJ", system="crm", operation="service_change_sync", kind="reject",
                 code="E2200", text="no such service here")

    await submit(client, settings, ServiceChangeOrder.model_validate(
        order_fields(opening, "FO-SKIP", change={"paying_province": "GD"})))
    result = await order_result(client, OrderType.service_change, "FO-SKIP")

    assert result.state == OrderState.completed
    assert "skipped service change info in BJ" in [e.event for e in store.orders.get_order("FO-SKIP").events]


async def test_a_held_order_resumes_when_a_person_has_the_step_retried(client, settings, simulator, worker, store):
    await inject(simulator, province="SH", system="line", operation="schedule_line", kind="reject",
                 code="E6001", text="duct full at the address", count=1)
    handle = await start_opening(client, settings, opening_order("FO-HOLD-RETRY"))

    fallout_id = await held_on(handle)
    [fallout] = store.fallouts.list_fallouts()
    assert (fallout.fallout_id, fallout.step, fallout.province, fallout.system, fallout.code) == (
        fallout_id, "dedicated-line scheduling", "SH", "line", "E6001")
    assert store.orders.get_order("FO-HOLD-RETRY").state == OrderState.held
    await handle.execute_update(ServiceOpening.resolve_fallout, FalloutDecision(
        fallout_id=fallout_id, action="retry", by="ops-wang", reason="duct cleared"))
    result = await handle.result()

    assert result.state == OrderState.completed
    assert len(await holdings(simulator, "SH", "line")) == 1
    decided = store.fallouts.get_fallout(fallout_id)
    assert (decided.state, decided.decision, decided.decided_by) == ("resolved", "retry", "ops-wang")
    assert ("ops-wang", f"fallout {fallout_id} resolved: retry") in [
        (e.actor, e.event) for e in store.orders.get_order("FO-HOLD-RETRY").events]
    assert store.fallouts.list_fallouts() == []
    # The status shows the step's final outcome, its failed attempt folded into it.
    [line] = [s for s in (await handle.query(ServiceOpening.status)).steps if s.name == "dedicated-line scheduling"]
    assert (line.state, line.attempts) == ("done", 2)
    assert line.detail.startswith("attempt 1 failed: province SH line rejected: E6001")


async def test_a_held_orders_deadline_is_a_timer_named_after_its_fallout(client, settings, simulator, worker, store):
    await inject(simulator, province="SH", system="line", operation="schedule_line", kind="reject",
                 code="E6001", text="duct full at the address")
    handle = await start_opening(client, settings, opening_order("FO-TIMER"))

    fallout_id = await held_on(handle)
    await timer_summaries(client, handle, expected=f"fallout deadline: {fallout_id}")
    await handle.execute_update(ServiceOpening.resolve_fallout, FalloutDecision(
        fallout_id=fallout_id, action="skip", by="ops-wang", reason="line built by the customer"))
    assert (await handle.result()).state == OrderState.completed


async def test_a_held_order_goes_on_without_the_step_a_person_skips(client, settings, simulator, worker, store):
    await inject(simulator, province="SH", system="line", operation="schedule_line", kind="reject",
                 code="E6001", text="duct full at the address")
    handle = await start_opening(client, settings, opening_order("FO-HOLD-SKIP"))

    fallout_id = await held_on(handle)
    await handle.execute_update(ServiceOpening.resolve_fallout, FalloutDecision(
        fallout_id=fallout_id, action="skip", by="ops-wang", reason="line built by the customer"))

    assert (await handle.result()).state == OrderState.completed
    assert await holdings(simulator, "SH", "line") == []
    steps = (await handle.query(ServiceOpening.status)).steps
    assert [s.state for s in steps if s.name == "dedicated-line scheduling"][-1] == "skipped"


async def test_a_held_order_is_compensated_when_a_person_decides_so(client, settings, simulator, worker, store):
    await inject(simulator, province="SH", system="line", operation="schedule_line", kind="reject",
                 code="E6001", text="duct full at the address")
    handle = await start_opening(client, settings, opening_order("FO-HOLD-UNDO"))

    fallout_id = await held_on(handle)
    with pytest.raises(WorkflowUpdateFailedError, match="update"):
        await handle.execute_update(ServiceOpening.resolve_fallout, FalloutDecision(
            fallout_id="FO-HOLD-UNDO-F9", action="retry", by="ops-wang"))
    await handle.execute_update(ServiceOpening.resolve_fallout, FalloutDecision(
        fallout_id=fallout_id, action="compensate", by="ops-wang", reason="customer moved"))

    with pytest.raises(WorkflowFailureError):
        await handle.result()
    await assert_nothing_left(simulator, ["SH", "GD", "BJ"])
    assert store.orders.get_order("FO-HOLD-UNDO").state == OrderState.failed


# Fallout policies a test chooses by naming their fixture.
POLICIES = {
    "hlr_holds": [{"system": "hlr", "action": "hold"}, {"action": "compensate"}],
    "missing_reports_retried": [{"code": "DEADLINE", "action": "retry", "retries": 1}, {"action": "compensate"}],
}


@pytest.fixture
def settings(settings, request, tmp_path):
    """A test naming one of POLICIES' fixtures runs its worker under that fallout policy
    (settings are read once, so the policy is part of them before the worker starts)."""
    chosen = [name for name in POLICIES if name in request.fixturenames]
    if not chosen:
        return settings
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"rules": POLICIES[chosen[0]]}))
    return settings.model_copy(update={"fallout_policy_file": policy})


@pytest.fixture
def hlr_holds():
    """A test whose fallout policy holds every HLR failure (see `settings`)."""


@pytest.fixture
def missing_reports_retried():
    """A test whose fallout policy asks again once when a report is missing (see `settings`)."""


async def test_a_work_order_whose_report_is_missing_is_asked_again_with_its_key_and_done_once(
    missing_reports_retried, client, settings, simulator, worker, store
):
    await inject(simulator, province="SH", system="crm", operation="service_work_order", kind="no_report", count=1)
    order = opening_order("FO-SAME-KEY", timers={"jeopardy_after": timedelta(seconds=1),
                                                 "fail_after": timedelta(seconds=3)})

    result = await asyncio.wait_for((await start_opening(client, settings, order)).result(), 60)

    assert result.state == OrderState.completed
    [work_order] = await holdings(simulator, "SH", "crm", "service_order")
    assert work_order["writes"] == 1  # before: sent again under a new key (…:attempt-2) and done twice
    [call] = (await simulator.get("/admin/calls", params={"province": "SH", "operation": "service_work_order"})).json()
    assert (call["idempotency_key"], call["calls"]) == ("FO-SAME-KEY:service_work_order:SH", 2)
    assert "retrying access CRM work order in SH (1 of 1)" in [e.event for e in store.orders.get_order("FO-SAME-KEY").events]


async def test_an_action_the_step_does_not_allow_is_refused_with_the_reason(
    hlr_holds, client, settings, service, worker, simulator, store
):
    await inject(simulator, province="GD", system="hlr", operation="subscribe_vpdn_batch", kind="reject",
                 code="E3999", text="HLR maintenance")
    handle = await member_order(client, settings, store, "FO-JOIN", GD)

    fallout_id = await held_on(handle)
    assert store.fallouts.get_fallout(fallout_id).allowed == ["retry", "compensate"]
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update("resolve_fallout", FalloutDecision(fallout_id=fallout_id, action="skip",
                                                                       by="ops-li"))
    assert f"skip is not allowed for fallout {fallout_id} (HLR subscription GD#1): allowed are retry, compensate" \
        in str(refused.value.cause)
    await handle.execute_update("resolve_fallout", FalloutDecision(fallout_id=fallout_id, action="compensate",
                                                                   by="ops-li"))

    result = await handle.result()
    assert (result.state, result.counts.failed) == (OrderState.failed, 2)


async def test_a_fallout_can_be_resolved_the_moment_it_is_on_the_worklist(
    client, settings, simulator, worker, store, monkeypatch
):
    """The order's `held` event is slow to be written: the fallout is already on the
    worklist, and a person resolving it then is not refused."""
    record_event = OrderRecords.record_event

    def slow_hold(self, event, event_key):
        if event.event.startswith("held: fallout"):
            time.sleep(2)
        record_event(self, event, event_key)

    monkeypatch.setattr(OrderRecords, "record_event", slow_hold)
    await inject(simulator, province="SH", system="line", operation="schedule_line", kind="reject",
                 code="E6001", text="duct full at the address", count=1)
    handle = await start_opening(client, settings, opening_order("FO-AT-ONCE"))
    deadline = asyncio.get_running_loop().time() + 30
    while not (fallouts := store.fallouts.list_fallouts()):
        assert asyncio.get_running_loop().time() < deadline, "no fallout on the worklist"
        await asyncio.sleep(0.05)

    async def connect():
        return client

    answer = await Intake(settings, store, connect).decide("FO-AT-ONCE", "resolve_fallout", FalloutDecision(
        fallout_id=fallouts[0].fallout_id, action="retry", by="ops-wang", reason="duct cleared"))
    result = await handle.result()

    assert answer == f"fallout {fallouts[0].fallout_id}: retry by ops-wang"
    assert result.state == OrderState.completed
    events = [(e.actor, e.event) for e in store.orders.get_order("FO-AT-ONCE").events]
    assert ("ops-wang", f"fallout {fallouts[0].fallout_id} resolved: retry") in events
    assert events.index(("gpms", f"held: fallout {fallouts[0].fallout_id}")) < events.index(
        ("ops-wang", f"fallout {fallouts[0].fallout_id} resolved: retry"))
    assert len(await holdings(simulator, "SH", "line")) == 1


async def test_waiting_on_a_held_order_says_which_fallout_and_how_to_decide_it(
    client, settings, simulator, worker, store, tmp_path, monkeypatch, gpms_api
):
    await inject(simulator, province="SH", system="line", operation="schedule_line", kind="reject",
                 code="E6001", text="duct full at the address", count=1)
    order = opening_order("FO-WAIT-HELD").model_dump(mode="json", exclude={"pre_approved_by", "requested_by"})
    (tmp_path / "order.json").write_text(json.dumps(order))
    target = client.service_client.config.target_host
    for name, value in (("TEMPORAL_ADDRESS", target), ("VPDN_DATA_DIR", str(settings.data_dir)),
                        ("VPDN_TASK_QUEUE", settings.task_queue), ("VPDN_DATABASE_URL", settings.database_url),
                        ("VPDN_PAYLOAD_KEYS_FILE", str(settings.payload_keys_file)), ("VPDN_API_URL", gpms_api),
                        ("VPDN_API_TOKEN", ACCOUNT_MANAGER_TOKEN)):
        monkeypatch.setenv(name, value)

    waited = await asyncio.to_thread(CliRunner().invoke, app, [
        "service", "open", "--file", str(tmp_path / "order.json"), "--pre-approved-by", "hq-audit", "--wait"])

    assert waited.exit_code == 3, waited.output
    assert ("order FO-WAIT-HELD held: fallout FO-WAIT-HELD-F1 — dedicated-line scheduling in SH: province SH line "
            "rejected: E6001 duct full at the address; an operator decides: `vpdn --as OPERATOR fallout resolve "
            "FO-WAIT-HELD-F1 --action retry|skip|compensate`") in " ".join(waited.output.split())
    handle = client.get_workflow_handle("vpdn-open-FO-WAIT-HELD")
    await handle.execute_update(ServiceOpening.resolve_fallout, FalloutDecision(
        fallout_id="FO-WAIT-HELD-F1", action="compensate", by="ops-wang", reason="test over"))
    with pytest.raises(WorkflowFailureError):
        await handle.result()
