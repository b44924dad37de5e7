"""The nightly reconciliation: its schedule made by setup, differences on the worklist once,
and a person's repair, acceptance or refused ignore — against the dev server, a worker and
the in-process provinces' simulator."""

import asyncio
import contextlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest_asyncio
from sqlmodel import Session
from temporalio.client import ScheduleOverlapPolicy
from temporalio.service import RPCError
from typer.testing import CliRunner

from api.app import create_app
from api.tokens import StoreTokens
from cli import app
from embedded import local_principals
from intake import Intake
from models.events import NewSubscription
from models.orders import OrderState, OrderType, service_orders_workflow_id
from models.reconciliation import NightlyResult, NightlyRun, reconciliation_ids
from setup_step import run_setup
from store.tables import EventDelivery
from tests.helpers import holdings, inject, order_result, reset_faults
from tests.workflows.test_member_join import APN, GD, SERVICE, member_order, service  # noqa: F401
from workflows.reconciliation import Reconciliation

STRANGER = "18600000008"  # seeded in ZJ's CRM, never a member of the service


async def night(client, settings, page_size: int = 500) -> NightlyResult:
    """One night's reconciliation run to its end."""
    return await client.execute_workflow(
        Reconciliation.run, NightlyRun(page_size=page_size), id=f"test-reconciliation-{uuid.uuid4()}",
        task_queue=settings.task_queue)


@pytest_asyncio.fixture(autouse=True)
async def own_service_queue(client):
    """The service's order queue (a long-lived workflow) is this test's: the dev server is shared
    by the session, and another test's queue waits for a worker on another task queue."""
    async def end() -> None:
        with contextlib.suppress(RPCError):
            await client.get_workflow_handle(service_orders_workflow_id(SERVICE)).terminate("test over")
    await end()
    yield
    await end()


def differences(store, resource: str) -> list:
    return [f for f in store.fallouts.list_fallouts(state=None, kind="reconcile") if f.resource == resource]


def intake(settings, store, client) -> Intake:
    async def connect():
        return client
    return Intake(settings, store, connect)


async def behind_gpms_back(simulator, province: str, system: str, operation: str, key: str, **payload) -> None:
    (await simulator.post(f"/v1/provinces/{province}/{system}/{operation}", json={
        "idempotency_key": key, "payload": {"service_id": SERVICE, **payload}})).raise_for_status()


async def test_setup_schedules_the_nightly_reconciliation_with_its_spec_and_overlap_skipped(client, settings):
    first = await run_setup(settings, client)
    again = await run_setup(settings.model_copy(update={"reconcile_cron": "30 3 * * *", "reconcile_timezone": "UTC"}),
                            client)
    handle = client.get_schedule_handle(reconciliation_ids(settings.task_queue)[0])
    try:
        schedule = (await handle.describe()).schedule
    finally:
        await handle.delete()

    assert "created: 0 2 * * * (Asia/Shanghai), overlap skipped" in first[-1]
    assert "updated: 30 3 * * * (UTC), overlap skipped" in again[-1]
    calendar = schedule.spec.calendars[0] if schedule.spec.calendars else None
    assert schedule.spec.cron_expressions == ["30 3 * * *"] or (
        calendar and calendar.hour[0].start == 3 and calendar.minute[0].start == 30)
    assert schedule.spec.time_zone_name == "UTC"
    assert schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert schedule.action.workflow == "Reconciliation" and schedule.action.task_queue == settings.task_queue


async def test_setup_again_keeps_a_schedule_an_operator_paused_paused_with_its_note(client, settings):
    await run_setup(settings, client)
    handle = client.get_schedule_handle(reconciliation_ids(settings.task_queue)[0])
    try:
        await handle.pause(note="provinces' billing migration this week")
        again = await run_setup(settings, client)
        state = (await handle.describe()).schedule.state
    finally:
        await handle.delete()

    assert "updated" in again[-1]
    assert (state.paused, state.note) == (True, "provinces' billing migration this week")


async def test_a_difference_made_behind_gpms_back_is_on_the_worklist_once_after_two_nights(
        client, settings, simulator, worker, store):
    await behind_gpms_back(simulator, "ZJ", "hlr", "subscribe_vpdn_batch", "manual-1", apn="x",
                           members=[{"msisdn": STRANGER}])

    first = await night(client, settings, page_size=2)
    second = await night(client, settings, page_size=2)

    [difference] = differences(store, f"vpdn_subscription {STRANGER}")
    assert (difference.province, difference.system, difference.code, difference.state) == ("ZJ", "hlr",
                                                                                           "unexpected", "open")
    assert (difference.gpms_holds, difference.province_holds) == ("nothing", f"vpdn_subscription {STRANGER}")
    assert difference.allowed == ["repair", "ignore"]
    assert second.differences == first.differences and first.new_on_worklist == first.differences
    assert second.new_on_worklist == 0
    assert first.pages_read > 31 * 5  # a page at least per system, more where one holds more than a page


async def test_a_repair_is_an_order_that_makes_the_province_hold_what_gpms_holds_once(
        client, settings, simulator, worker, store):
    await behind_gpms_back(simulator, "ZJ", "hlr", "subscribe_vpdn_batch", "manual-1", apn="x",
                           members=[{"msisdn": STRANGER}])
    await night(client, settings)
    [difference] = differences(store, f"vpdn_subscription {STRANGER}")

    await inject(simulator, province="ZJ", system="hlr", operation="unsubscribe_vpdn_batch", kind="transient")

    order_no, answer = await intake(settings, store, client).resolve_fallout(difference.fallout_id, "repair", "carol")
    await night(client, settings)  # the repair cannot end while ZJ's HLR is down
    while_repairing = store.fallouts.get_fallout(difference.fallout_id)
    await reset_faults(simulator)
    result = await order_result(client, OrderType.repair, order_no)

    assert answer == f"repair order {order_no} queued on service {SERVICE}"
    assert (while_repairing.state, while_repairing.occurrence) == ("resolved", 1)  # found again: not reopened
    assert result.state == OrderState.completed
    assert await holdings(simulator, "ZJ", "hlr", "vpdn_subscription") == []
    calls = (await simulator.get("/admin/calls", params={"province": "ZJ", "operation": "unsubscribe_vpdn_batch"})).json()
    assert [c["idempotency_key"] for c in calls] == [f"{order_no}:repair_hlr:ZJ:batch-ZJ-1"]  # one write
    assert (await simulator.get("/admin/writes/repeated")).json() == []
    order = store.orders.get_order(order_no)
    assert order.order_type == OrderType.repair and order.requested_by == "carol"
    assert [e.event for e in order.events] == [
        "order accepted", f"repairing difference {difference.fallout_id}: unsubscribe_members in ZJ hlr",
        "repair completed"]
    resolved = store.fallouts.get_fallout(difference.fallout_id)
    assert (resolved.state, resolved.decision, resolved.decided_by, resolved.order_no) == (
        "resolved", "repair", "carol", order_no)
    await night(client, settings)
    assert store.fallouts.get_fallout(difference.fallout_id).state == "resolved"  # not found again


async def test_a_repair_subscribes_again_a_member_the_home_hlr_lost(client, settings, simulator, worker, store):
    await (await member_order(client, settings, store, "REC-J-LOST", GD[:1])).result()
    await behind_gpms_back(simulator, "GD", "hlr", "unsubscribe_vpdn_batch", "manual-3", members=[{"msisdn": GD[0]}])
    await night(client, settings)
    [difference] = differences(store, f"vpdn_subscription {GD[0]}")

    order_no, _ = await intake(settings, store, client).resolve_fallout(difference.fallout_id, "repair", "carol")
    result = await order_result(client, OrderType.repair, order_no)

    assert (difference.code, difference.gpms_holds, difference.province_holds) == (
        "missing", f"vpdn_subscription {GD[0]}", "nothing")
    assert result.state == OrderState.completed
    [held] = await holdings(simulator, "GD", "hlr", "vpdn_subscription")
    assert (held["key"], held["data"]["service_id"], held["data"]["apn"]) == (GD[0], SERVICE, APN)


async def test_accepting_a_billed_plan_makes_it_the_plan_gpms_records(client, settings, simulator, worker, store):
    await (await member_order(client, settings, store, "REC-J-PLAN", GD[:1])).result()
    gold = {"name": "gold", "tariff_version": 1, "parameters": {}}
    await behind_gpms_back(simulator, "GD", "billing", "set_member_plan_batch", "manual-2",
                           members=[{"msisdn": GD[0], "plan": gold, "plan_from": "2026-01-01"}])
    await night(client, settings)
    [difference] = differences(store, f"member_billing {GD[0]}")
    assert difference.allowed == ["repair", "accept", "ignore"]
    assert difference.province_holds == f"member_billing {GD[0]} on plan gold (v1)"

    _, answer = await intake(settings, store, client).resolve_fallout(difference.fallout_id, "accept", "carol")

    assert answer == f"difference {difference.fallout_id} accepted: GPMS now holds member_billing {GD[0]} on plan gold (v1)"
    assert store.terms.plans(SERVICE)[GD[0]].model_dump() == gold
    await night(client, settings)
    assert [f.state for f in differences(store, f"member_billing {GD[0]}")] == ["resolved"]


async def test_through_the_api_an_operator_decides_and_what_a_difference_does_not_allow_is_refused(
        client, settings, simulator, worker, store):
    await behind_gpms_back(simulator, "ZJ", "hlr", "subscribe_vpdn_batch", "manual-1", apn="x",
                           members=[{"msisdn": STRANGER}])
    await night(client, settings)
    api = create_app(intake(settings, store, client), store, StoreTokens(store))
    callers = {name: httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://api", headers={
        "Authorization": f"Bearer {store.tokens.create(name, [role], None)}"})
        for name, role in (("carol", "operator"), ("alice", "account_manager"))}
    listed = (await callers["alice"].get("/fallouts", params={"system": "hlr"})).json()
    [difference] = [f for f in listed if f["resource"] == f"vpdn_subscription {STRANGER}"]
    path = f"/fallouts/{difference['fallout_id']}/resolution"

    not_operator = await callers["alice"].post(path, json={"action": "ignore", "reason": "r"})
    accept = await callers["carol"].post(path, json={"action": "accept", "reason": "they know best"})
    no_reason = await callers["carol"].post(path, json={"action": "ignore", "reason": "  "})
    ignored = await callers["carol"].post(path, json={"action": "ignore", "reason": "a test line"})
    await night(client, settings)

    assert (difference["kind"], difference["gpms_holds"], difference["province_holds"]) == (
        "reconcile", "nothing", f"vpdn_subscription {STRANGER}")
    assert not_operator.status_code == 403
    assert (accept.status_code, accept.json()["detail"]) == (409, (
        f"accept is not allowed for difference {difference['fallout_id']} (vpdn_subscription {STRANGER} in ZJ hlr, "
        "unexpected): GPMS takes up no vpdn_subscription that no order made: a member join order makes it, in every "
        "system; allowed are repair, ignore"))
    assert (no_reason.status_code, no_reason.json()["detail"]) == (
        422, f"ignoring difference {difference['fallout_id']} needs a reason: say why with --reason")
    assert ignored.json()["answer"] == f"difference {difference['fallout_id']} ignored: a test line"
    assert [(f.state, f.decision, f.decided_by) for f in differences(store, f"vpdn_subscription {STRANGER}")] == [
        ("resolved", "ignore", "carol")]  # found again, it stays ignored
    for caller in callers.values():
        await caller.aclose()


async def test_vpdn_nightly_runs_the_schedules_reconciliation_now_through_the_api_and_shows_how_it_went(
        client, settings, simulator, worker, store, cli_api_server, monkeypatch):
    await behind_gpms_back(simulator, "ZJ", "hlr", "subscribe_vpdn_batch", "manual-1", apn="x",
                           members=[{"msisdn": STRANGER}])
    await run_setup(settings, client)
    for name, value in (("TEMPORAL_ADDRESS", client.service_client.config.target_host),
                        ("VPDN_TASK_QUEUE", settings.task_queue), ("VPDN_DATA_DIR", str(settings.data_dir)),
                        ("VPDN_PAYLOAD_KEYS_FILE", str(settings.payload_keys_file)), ("VPDN_API_URL", cli_api_server)):
        monkeypatch.setenv(name, value)
    local_principals(settings)

    def vpdn(*args: str):
        return asyncio.to_thread(CliRunner().invoke, app, list(args))
    try:
        by_viewer = await vpdn("nightly", "run")
        ran = await vpdn("--as", "carol", "nightly", "run")
        shown = await vpdn("nightly", "show", "--json")
    finally:
        await client.get_schedule_handle(reconciliation_ids(settings.task_queue)[0]).delete()

    assert (by_viewer.exit_code, by_viewer.output.strip()) == (2, "error: viewer lacks the role operator")
    found = len(store.fallouts.list_fallouts(kind="reconcile"))
    assert ran.exit_code == 0, ran.output
    assert ran.output.strip().endswith(f": {found} differences, {found} new on the worklist, 0 event deliveries "
                                       "pruned")
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.output)
    assert (report["overlap"], report["time_zone"], len(report["next_runs"])) == ("skip", "Asia/Shanghai", 10)
    assert [run["outcome"] for run in report["recent_runs"]] == [
        f"{found} differences, {found} new on the worklist, 0 event deliveries pruned"]


async def test_the_night_prunes_deliveries_delivered_long_ago_and_keeps_failing_ones_longer(
        client, settings, simulator, worker, store):
    subscription, _ = store.subscriptions.create(NewSubscription(callback="http://listener/all"), "carol")
    now = datetime.now(UTC)
    ages = {1: ("delivered", 29), 2: ("delivered", 31), 3: ("failing", 31), 4: ("failing", 91)}  # event: state, days
    with Session(store.engine) as session:
        session.add_all(EventDelivery(subscription_id=subscription.id, order_event_id=event, order_no="ORD-1",
                                      event_type="ProductOrderEndedEvent", state=state, attempts=1,
                                      updated_at=now - timedelta(days=days)) for event, (state, days) in ages.items())
        session.commit()

    result = await night(client, settings)  # the defaults: delivered kept 30 days, failing ones 90

    kept = store.subscriptions.deliveries(subscription_id=subscription.id)
    assert sorted((d.event_id, d.state) for d in kept) == [("evt-1", "delivered"), ("evt-3", "failing")]
    assert result.deliveries_pruned == 2
