"""Reconciliation differences on the fallout worklist, in the order store (SQLite, and
PostgreSQL with VPDN_TEST_POSTGRES_URL): one record per province/system/resource, night
after night, and what a decision does to a difference found again."""

import pytest
from temporalio.testing import ActivityEnvironment

from activities.reconciliation import ReconciliationActivities, worklist_entry
from adapters.hub import HubClient
import intake.base as intake_base
from intake import Intake, Refusal
from models.fallout import FalloutDecision
from models.orders import NewOrder, OrderType, workflow_id_for
from models.reconciliation import REPAIRS, NightlyRun
from models.service import ServiceRegistration
from models.service_orders import SubmissionAnswer
from reconcile import Difference, Reconciler
from settings import Settings
from store import OrderStore
from tests.test_store import hierarchy

PLAN = Difference("SVC-1", "GD", "billing", "member_billing", "13800000001", "plan gold (v1) (GPMS has standard)",
                  "plan", "member_billing 13800000001 on plan standard", "member_billing 13800000001 on plan gold (v1)")
BILLED = {"service_id": "SVC-1", "plan": {"name": "gold", "tariff_version": 1, "parameters": {}}}


@pytest.fixture
def store(database_url: str) -> OrderStore:
    return OrderStore(database_url)


def test_a_difference_found_night_after_night_is_one_open_record(store):
    first = store.fallouts.record_difference(worklist_entry(PLAN), BILLED)
    again = store.fallouts.record_difference(worklist_entry(PLAN), BILLED)

    [record] = store.fallouts.list_fallouts(kind="reconcile")
    assert (first, again) == (True, False)
    assert (record.fallout_id, record.order_no, record.deadline, record.occurrence) == (
        worklist_entry(PLAN).fallout_id, "", None, 1)
    assert record.allowed == ["repair", "accept", "ignore"]
    assert record.text == ("member_billing 13800000001: GPMS holds member_billing 13800000001 on plan standard; "
                           "GD holds member_billing 13800000001 on plan gold (v1)")
    assert store.fallouts.province_data(record.fallout_id) == BILLED


@pytest.mark.parametrize(("decision", "reopened"), [("ignore", False), ("accept", True)])
def test_a_difference_found_again_after_a_decision_stays_ignored_or_opens_again(store, decision, reopened):
    fallout_id = worklist_entry(PLAN).fallout_id
    store.fallouts.record_difference(worklist_entry(PLAN), BILLED)
    store.fallouts.resolve_fallout(FalloutDecision(fallout_id=fallout_id, action=decision, by="carol", reason="r"))

    again = store.fallouts.record_difference(worklist_entry(PLAN), BILLED)

    record = store.fallouts.get_fallout(fallout_id)
    assert again is reopened
    assert (record.state, record.occurrence) == (("open", 2) if reopened else ("resolved", 1))


def test_an_open_difference_found_again_allows_the_decisions_allowed_now(store):
    stale = Difference("SVC-1", "GD", "crm", "group_tariff_package", "SVC-1", "stale version 2 (GPMS has 1)",
                       "stale", "group_tariff_package SVC-1 version 1", "group_tariff_package SVC-1 version 2")
    recorded_before = worklist_entry(stale).model_copy(update={"allowed": ["ignore"]})  # an older release's
    store.fallouts.record_difference(recorded_before, {})

    again = store.fallouts.record_difference(worklist_entry(stale), {})

    assert again is False
    assert store.fallouts.get_fallout(recorded_before.fallout_id).allowed == ["repair", "ignore"]


def intake_over(store: OrderStore, tmp_path) -> Intake:
    async def no_temporal():
        raise AssertionError("the decision reached Temporal")
    return Intake(Settings(data_dir=tmp_path), store, no_temporal)


@pytest.mark.parametrize("action", ["accept", "repair"])
async def test_a_decision_on_a_difference_resolved_meanwhile_changes_nothing(store, tmp_path, action):
    fallout_id = worklist_entry(PLAN).fallout_id
    store.fallouts.record_difference(worklist_entry(PLAN), BILLED)
    seen_by_carol = store.fallouts.get_fallout(fallout_id)  # open when carol's request read it
    store.fallouts.resolve_fallout(FalloutDecision(fallout_id=fallout_id, action="ignore", by="dave", reason="known"))

    with pytest.raises(Refusal, match="was resolved meanwhile"):
        await intake_over(store, tmp_path).resolve_difference(
            seen_by_carol, FalloutDecision(fallout_id=fallout_id, action=action, by="carol"))

    assert store.terms.terms("SVC-1") == {}  # GPMS's record of the member's plan is untouched
    record = store.fallouts.get_fallout(fallout_id)
    assert (record.state, record.decision, record.decided_by) == ("resolved", "ignore", "dave")


async def test_a_repair_that_cannot_be_queued_leaves_the_difference_open(store, tmp_path):
    fallout_id = worklist_entry(PLAN).fallout_id  # of SVC-1, which this order store does not know
    store.fallouts.record_difference(worklist_entry(PLAN), BILLED)

    with pytest.raises(Refusal, match="unknown to GPMS: nothing to repair from"):
        await intake_over(store, tmp_path).resolve_difference(
            store.fallouts.get_fallout(fallout_id), FalloutDecision(fallout_id=fallout_id, action="repair", by="carol"))

    record = store.fallouts.get_fallout(fallout_id)
    assert (record.state, record.decision, record.decided_by) == ("open", None, None)


async def test_the_night_heartbeats_while_it_puts_differences_on_the_worklist(store, monkeypatch):
    found = [Difference("SVC-1", "GD", "hlr", "vpdn_subscription", f"1380000{n:04d}", "missing", "missing",
                        f"vpdn_subscription 1380000{n:04d}", "nothing") for n in range(20)]

    async def differences(self):
        return found
    monkeypatch.setattr(Reconciler, "differences", differences)
    heartbeats = []
    environment = ActivityEnvironment()
    environment.on_heartbeat = lambda *details: heartbeats.append(details)

    result = await environment.run(ReconciliationActivities(store, HubClient("http://127.0.0.1:1")).reconcile_provinces,
                                   NightlyRun())

    assert (result.differences, result.new_on_worklist) == (20, 20)
    assert len(store.fallouts.list_fallouts(kind="reconcile")) == 20
    assert len(heartbeats) >= 20  # one a difference recorded: the activity is alive however many there are


async def test_a_repair_is_queued_with_the_step_that_puts_its_difference_right(store, tmp_path, monkeypatch):
    store.customers.save_customer(hierarchy())
    store.services.register_service(ServiceRegistration(
        order_no="OPN-1", service_id="SVC-1", customer_code="3100012345", apn="acme.vpdn", access_province="SH",
        paying_province="SH", provinces=["SH", "GD"],
        tariff={"name": "t", "parameters": {"monthly_fee": "1", "member_fee": "1"}}))
    store.services.set_service_state("SVC-1", "active")
    store.fallouts.record_difference(worklist_entry(PLAN), BILLED)
    queued = []

    async def service_queue(_client, _task_queue, order):  # the service's queue records what it takes
        store.orders.record_order(NewOrder(
            order_no=order.order_no, order_type=OrderType.repair, customer_code=order.customer_code,
            workflow_id=workflow_id_for(OrderType.repair, order.order_no), requested_by=order.requested_by,
            service_id=order.service_id), "queued")
        queued.append(order)
        return SubmissionAnswer(order_no=order.order_no, position=0)
    monkeypatch.setattr(intake_base, "submit_service_order", service_queue)

    async def temporal():
        return object()
    await Intake(Settings(data_dir=tmp_path), store, temporal).resolve_difference(
        store.fallouts.get_fallout(worklist_entry(PLAN).fallout_id),
        FalloutDecision(fallout_id=worklist_entry(PLAN).fallout_id, action="repair", by="carol"))

    assert [(order.order_no, order.repair_step) for order in queued] == [
        (f"RPR-{worklist_entry(PLAN).fallout_id}-1", REPAIRS["billing", "member_billing", "plan"])]
