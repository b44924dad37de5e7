"""Reconciliation differences on the fallout worklist, in the order store (SQLite, and
PostgreSQL with VPDN_TEST_POSTGRES_URL): one record per province/system/resource, night
after night, and what a decision does to a difference found again."""

import pytest

from activities.reconciliation import worklist_entry
from models.fallout import FalloutDecision
from reconcile import Difference
from store import OrderStore

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
