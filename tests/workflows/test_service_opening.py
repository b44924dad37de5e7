"""Service opening against the in-process provinces' simulator and a real dev server."""

import asyncio
import logging
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import pytest_asyncio
from sqlmodel import Session
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.worker import Replayer

from adapters.hub import HubClient
from models import search_attributes
from models.fallout import FalloutDecision
from models.hub import CompletionReport
from intake import Intake
from models.orders import CompensationDecision, Decision, NewOrder, OrderState, OrderType, workflow_id_for
from models.provinces import HQ, PROVINCE_CODES
from store.tables import Order
from tests.helpers import (
    CUSTOMER,
    acquired_customer,
    holdings,
    inject,
    opening_order,
    order_result,
    reset_faults,
    start_opening,
    timer_summaries,
    wait_for_search_attribute,
    wait_for_status,
)
from worker import build_worker
from workflows.order_workflow import AWAITING_AUDIT, AWAITING_RENTAL_CONFIRMATION
from workflows.service_opening import ServiceOpening

BEIJING = timezone(timedelta(hours=8))


@pytest.fixture(autouse=True)
def customer(store):
    acquired_customer(store)


async def assert_nothing_left(simulator, provinces: list[str]) -> None:
    """Compensation left no tariff, work order, line or rental anywhere."""
    for province in provinces:
        assert await holdings(simulator, province, "crm") == [], province
        assert await holdings(simulator, province, "line") == [], province
        assert await holdings(simulator, province, "billing") == [], province
    assert await holdings(simulator, HQ, "settlement") == []


async def test_opening_over_three_provinces_with_a_line_configures_each_and_starts_the_rental(
    client, settings, simulator, worker, store
):
    order = opening_order("OPEN-1")
    result = await (await start_opening(client, settings, order)).result()

    tomorrow = (datetime.now(BEIJING).date() + timedelta(days=1)).isoformat()
    assert (result.state, result.rental_start) == (OrderState.completed, tomorrow)
    for province in ["SH", "GD", "BJ"]:
        [package] = await holdings(simulator, province, "crm", "group_tariff_package")
        assert package["data"]["parameters"] == {"monthly_fee": "2000", "member_fee": "10"}
        assert package["data"]["discounts"] == {"volume": "0.9"}
        assert package["writes"] == 1
    [work_order] = await holdings(simulator, "SH", "crm", "service_order")
    assert work_order["data"]["with_line"] is True
    [line] = await holdings(simulator, "SH", "line")
    assert line["data"]["bandwidth_mbps"] == 100
    [rental] = await holdings(simulator, "SH", "billing")
    assert (rental["data"]["start_date"], rental["data"]["rule"]) == (tomorrow, "next_day")
    assert await holdings(simulator, HQ, "settlement") == []

    service = store.services.get_service(order.service_id)
    assert (service.state, service.provinces, service.tariff_version) == ("active", ["SH", "GD", "BJ"], 1)
    assert service.tariff.parameters == {"monthly_fee": "2000", "member_fee": "10"}
    stored = store.orders.get_order("OPEN-1")
    assert stored.state == OrderState.completed
    assert stored.service_id == order.service_id
    assert [e.state for e in stored.events if e.state] == [
        OrderState.acknowledged, OrderState.in_progress, OrderState.completed]
    assert ("alice", "business audit approved outside GPMS", "by hq-audit, as entered by alice") in [
        (e.actor, e.event, e.detail) for e in stored.events]


async def test_opening_over_all_31_provinces_without_line_and_off_site_payment_tells_settlement(
    client, settings, simulator, worker, store
):
    order = opening_order("OPEN-31", provinces=list(PROVINCE_CODES), line=None, paying_province="BJ",
                          rental_rule="next_month")
    handle = await start_opening(client, settings, order)
    result = await handle.result()

    first_of_next_month = (datetime.now(BEIJING).date().replace(day=28) + timedelta(days=4)).replace(day=1)
    assert result.rental_start == first_of_next_month.isoformat()
    for province in PROVINCE_CODES:
        assert len(await holdings(simulator, province, "crm", "group_tariff_package")) == 1, province
    [work_order] = await holdings(simulator, "SH", "crm", "service_order")
    assert work_order["data"]["with_line"] is False
    assert await holdings(simulator, "SH", "line") == []
    [record] = await holdings(simulator, HQ, "settlement")
    assert (record["data"]["access_province"], record["data"]["paying_province"]) == ("SH", "BJ")
    status = await handle.query(ServiceOpening.status)
    assert sum(step.name == "configure group tariff package" and step.state == "done"
               for step in status.steps) == 31


async def test_approval_lets_the_order_proceed_and_a_second_approval_is_refused(
    client, settings, simulator, worker, store
):
    handle = await start_opening(client, settings, opening_order("OPEN-AUDIT", pre_approved_by=None))
    status = await wait_for_status(handle, lambda s: s.sub_state == AWAITING_AUDIT)
    assert status.state == OrderState.pending
    assert await holdings(simulator, "SH", "crm") == []  # nothing is sent before the audit

    await handle.execute_update(ServiceOpening.approve, Decision(by="bob", reason="tariff as agreed"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(ServiceOpening.approve, Decision(by="carol"))

    assert "cannot be approved" in str(refused.value.cause)
    assert (await handle.result()).state == OrderState.completed
    assert ("bob", "business audit approved") in [(e.actor, e.event) for e in store.orders.get_order("OPEN-AUDIT").events]


async def test_rejected_audit_ends_the_order_rejected_with_nothing_provisioned(
    client, settings, simulator, worker, store
):
    order = opening_order("OPEN-REJECT", pre_approved_by=None)
    handle = await start_opening(client, settings, order)
    await wait_for_status(handle, lambda s: s.sub_state == AWAITING_AUDIT)

    with pytest.raises(WorkflowUpdateFailedError, match="update"):
        await handle.execute_update(ServiceOpening.reject, Decision(by="bob"))  # a reason is required
    await handle.execute_update(ServiceOpening.reject, Decision(by="bob", reason="tariff below floor"))
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()

    assert "business audit rejected by bob: tariff below floor" in str(failure.value.cause)
    assert store.orders.get_order("OPEN-REJECT").state == OrderState.rejected
    assert store.services.get_service(order.service_id) is None  # the APN is free again
    await assert_nothing_left(simulator, ["SH", "GD", "BJ"])


async def test_province_rejection_after_others_configured_compensates_everything(
    client, settings, simulator, worker, store
):
    await inject(simulator, province="GD", system="crm", operation="configure_group_tariff", kind="reject",
                 code="E1021", text="unknown discount")
    order = opening_order("OPEN-GD-REJECTS")

    with pytest.raises(WorkflowFailureError) as failure:
        await (await start_opening(client, settings, order)).result()

    assert "province GD crm rejected: E1021 unknown discount" in str(failure.value.cause)
    await assert_nothing_left(simulator, ["SH", "GD", "BJ"])
    # SH and BJ had configured it: their packages were cancelled; GD, which refused, is not asked.
    calls = (await simulator.get("/admin/calls", params={"operation": "cancel_group_tariff"})).json()
    assert sorted(call["province"] for call in calls) == ["BJ", "SH"]
    stored = store.orders.get_order("OPEN-GD-REJECTS")
    assert stored.state == OrderState.failed
    events = [e.event for e in stored.events]
    assert events.index("compensated: cancel the group tariff package") < events.index(
        "compensated: discard the service record")
    assert "province GD crm rejected: E1021 unknown discount" in stored.events[-1].detail
    assert store.services.get_service(order.service_id) is None


async def test_province_rejections_and_retried_faults_are_logged_without_a_traceback(
    client, settings, simulator, worker, caplog
):
    await inject(simulator, province="BJ", system="crm", operation="configure_group_tariff", kind="transient",
                 count=2)
    await inject(simulator, province="GD", system="crm", operation="configure_group_tariff", kind="reject",
                 code="E1021", text="unknown discount")

    with caplog.at_level("DEBUG"), pytest.raises(WorkflowFailureError):
        await (await start_opening(client, settings, opening_order("OPEN-QUIET"))).result()

    failed_attempts = [r for r in caplog.records if "Completing activity as failed" in r.getMessage()]
    assert len(failed_attempts) >= 3, "the rejection and the retried faults are logged, in one line each"
    # Benign: at DEBUG only, which the worker's logging does not show.
    assert [r.getMessage() for r in failed_attempts if r.levelno >= logging.INFO] == []


async def test_cancellation_while_waiting_for_the_customer_compensates_and_ends_cancelled(
    client, settings, simulator, worker, store
):
    handle = await start_opening(client, settings, opening_order("OPEN-CANCEL", rental_rule="on_confirmation"))
    await wait_for_status(handle, lambda s: s.sub_state == AWAITING_RENTAL_CONFIRMATION)
    assert len(await holdings(simulator, "SH", "line")) == 1

    await handle.execute_update(ServiceOpening.cancel, Decision(by="alice", reason="customer withdrew"))
    result = await handle.result()

    assert result.state == OrderState.cancelled
    await assert_nothing_left(simulator, ["SH", "GD", "BJ"])
    stored = store.orders.get_order("OPEN-CANCEL")
    assert stored.state == OrderState.cancelled
    assert "cancelled by alice: customer withdrew" in stored.events[-1].detail
    with pytest.raises(Exception, match="completed|cannot"):
        await handle.execute_update(ServiceOpening.cancel, Decision(by="alice", reason="again"))


async def test_a_compensation_never_depends_on_the_audit_trail_accepting_its_events(
    client, settings, simulator, worker, store
):
    handle = await start_opening(client, settings, opening_order("OPEN-AUDIT-DOWN", rental_rule="on_confirmation"))
    await wait_for_status(handle, lambda s: s.sub_state == AWAITING_RENTAL_CONFIRMATION)
    with Session(store.engine) as session:  # behind the order's back: its audit trail refuses every move
        session.get(Order, "OPEN-AUDIT-DOWN").state = OrderState.failed
        session.commit()

    await handle.execute_update(ServiceOpening.cancel, Decision(by="alice", reason="customer withdrew"))
    result = await handle.result()

    assert result.state == OrderState.cancelled
    await assert_nothing_left(simulator, ["SH", "GD", "BJ"])
    assert store.services.get_service(opening_order("OPEN-AUDIT-DOWN").service_id) is None


async def test_an_opening_with_the_number_of_another_order_changes_nothing_of_that_order(
    client, settings, simulator, worker, store
):
    store.orders.record_order(NewOrder(order_no="TRF-TAKEN", order_type=OrderType.tariff_change,
                                       workflow_id="vpdn-tariff-TRF-TAKEN", customer_code=CUSTOMER,
                                       requested_by="alice", service_id="SVC-OTHER"), "k0")
    before = store.orders.get_order("TRF-TAKEN")

    with pytest.raises(WorkflowFailureError) as failure:
        await (await start_opening(client, settings, opening_order("TRF-TAKEN"))).result()

    assert "order number TRF-TAKEN is already used by tariff_change order vpdn-tariff-TRF-TAKEN" in str(
        failure.value.cause)
    assert store.orders.get_order("TRF-TAKEN") == before
    assert store.services.get_service("SVC-TRF-TAKEN") is None
    await assert_nothing_left(simulator, ["SH", "GD", "BJ"])


async def test_customer_confirmation_starts_the_rental_that_day(client, settings, simulator, worker, store):
    handle = await start_opening(client, settings, opening_order("OPEN-CONFIRM", rental_rule="on_confirmation"))
    await wait_for_status(handle, lambda s: s.sub_state == AWAITING_RENTAL_CONFIRMATION)
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(ServiceOpening.approve, Decision(by="bob"))  # not awaiting an audit

    await handle.execute_update(ServiceOpening.confirm_rental, Decision(by="customer-li"))
    result = await handle.result()

    assert result.rental_start == datetime.now(BEIJING).date().isoformat()
    [rental] = await holdings(simulator, "SH", "billing")
    assert rental["data"]["rule"] == "on_confirmation"


async def test_failed_compensation_holds_the_order_until_a_person_has_it_retried(
    client, settings, simulator, worker, store
):
    await inject(simulator, province="BJ", system="crm", operation="configure_group_tariff", kind="reject",
                 code="E1021", text="unknown discount")
    await inject(simulator, province="GD", system="crm", operation="cancel_group_tariff", kind="reject",
                 code="E3001", text="package locked")
    handle = await start_opening(client, settings, opening_order("OPEN-HELD"))

    status = await wait_for_status(handle, lambda s: s.state == OrderState.held)
    assert status.sub_state == "compensation failed: cancel the group tariff package"
    assert store.orders.get_order("OPEN-HELD").state == OrderState.held
    assert len(await holdings(simulator, "GD", "crm", "group_tariff_package")) == 1

    await reset_faults(simulator)
    await handle.execute_update(ServiceOpening.resolve_compensation,
                                CompensationDecision(by="ops-wang", action="retry", reason="lock released"))
    with pytest.raises(WorkflowFailureError):
        await handle.result()

    await assert_nothing_left(simulator, ["SH", "GD", "BJ"])
    assert store.orders.get_order("OPEN-HELD").state == OrderState.failed


async def test_same_order_submitted_twice_runs_once(client, settings, simulator, worker):
    order = opening_order("OPEN-TWICE")
    handle = await start_opening(client, settings, order)
    with pytest.raises(WorkflowAlreadyStartedError):
        await start_opening(client, settings, order)
    await handle.result()

    [package] = await holdings(simulator, "GD", "crm", "group_tariff_package")
    assert package["writes"] == 1


async def test_apn_already_in_use_and_customer_not_acquired_are_rejected(client, settings, simulator, worker, store):
    await (await start_opening(client, settings, opening_order("OPEN-APN-1", apn="shared.acme.vpdn"))).result()

    with pytest.raises(WorkflowFailureError) as taken:
        await (await start_opening(client, settings, opening_order("OPEN-APN-2", apn="shared.acme.vpdn"))).result()
    with pytest.raises(WorkflowFailureError) as unknown:
        await (await start_opening(client, settings, opening_order("OPEN-NOCUST", customer_code="9999999999"))).result()

    assert "APN shared.acme.vpdn is already used by service SVC-OPEN-APN-1" in str(taken.value.cause)
    assert "customer 9999999999 is not acquired" in str(unknown.value.cause)
    assert store.orders.get_order("OPEN-APN-2").state == OrderState.rejected
    assert store.services.get_service("SVC-OPEN-APN-1").state == "active"


async def test_search_attributes_follow_the_order_state(client, settings, simulator, worker):
    handle = await start_opening(client, settings, opening_order("OPEN-SA"))
    await handle.result()

    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(search_attributes.ORDER_STATE) == "completed"
    assert attributes.get(search_attributes.ORDER_TYPE) == "service_opening"
    assert attributes.get(search_attributes.PROVINCES) == ["SH", "GD", "BJ"]


async def test_service_opening_histories_replay_deterministically(client, settings, simulator, worker):
    await inject(simulator, province="GD", system="crm", operation="configure_group_tariff", kind="reject")
    ok = await start_opening(client, settings, opening_order("OPEN-REPLAY-OK", provinces=["SH", "BJ"]))
    await ok.result()
    failed = await start_opening(client, settings, opening_order("OPEN-REPLAY-FAIL"))
    with pytest.raises(WorkflowFailureError):
        await failed.result()

    replayer = Replayer(workflows=[ServiceOpening], data_converter=client.data_converter)
    for handle in (ok, failed):
        await replayer.replay_workflow(await handle.fetch_history())


async def test_overdue_report_sets_the_jeopardy_search_attribute_until_it_arrives(
    client, settings, simulator, worker
):
    await inject(simulator, province="BJ", system="crm", operation="configure_group_tariff", kind="no_report")
    order = opening_order("OPEN-JEOPARDY", timers={"jeopardy_after": timedelta(seconds=1),
                                                    "fail_after": timedelta(minutes=10)})
    handle = await start_opening(client, settings, order)

    await wait_for_status(handle, lambda s: s.jeopardy == ["configure group tariff package in BJ"])
    await wait_for_search_attribute(handle, search_attributes.JEOPARDY, True)
    await handle.signal(ServiceOpening.report, CompletionReport(
        report_id="late-BJ", province="BJ", system="crm", operation="configure_group_tariff",
        idempotency_key="OPEN-JEOPARDY:configure_group_tariff:BJ", outcome="completed"))
    await handle.result()

    assert (await handle.describe()).typed_search_attributes.get(search_attributes.JEOPARDY) is False
    # The Temporal UI names each timer by what it waits for: the stage's reports.
    summaries = await timer_summaries(client, handle)
    assert {"jeopardy: configure group tariff package reports",
            "report deadline: configure group tariff package"} <= set(summaries)


async def test_the_temporal_ui_shows_each_order_in_business_words_and_no_personal_data(
    client, settings, simulator, worker, store
):
    order = opening_order("OPEN-UI")
    handle = await start_opening(client, settings, order)
    await handle.result()

    description = await handle.describe()
    summary, details = await description.static_summary(), await description.static_details()
    assert summary == f"service opening · customer {CUSTOMER} · APN open-ui.acme.vpdn · SH GD BJ"
    for shown in ("OPEN-UI", "service opening", CUSTOMER, "open-ui.acme.vpdn", order.service_id, "SH GD BJ",
                  "**requested by**: alice"):
        assert shown in details
    # Stored unencrypted: no name, credit code, address or person of the contract.
    for private in ("Acme Logistics", "91310000MA1FL0001X", "Century Avenue", "am-zhang", "CT-OPEN-UI"):
        assert private not in summary + details

    # An order on the service, queued and run as a child of the service's queue, says the same.
    async def connect():
        return client

    await Intake(settings, store, connect).close_service(
        order.service_id, {"order_no": "CLOSE-UI", "requested_by": "bob", "pre_approved_by": "hq-audit"})
    await order_result(client, OrderType.service_closure, "CLOSE-UI")
    child = await client.get_workflow_handle(workflow_id_for(OrderType.service_closure, "CLOSE-UI")).describe()
    assert await child.static_summary() == f"service closure · customer {CUSTOMER} · APN open-ui.acme.vpdn · SH GD BJ"
    child_details = await child.static_details()
    assert "CLOSE-UI" in child_details and f"**service**: {order.service_id}" in child_details
    assert "**requested by**: bob" in child_details


def report(order_no: str, report_id: str, province: str = "SH", system: str = "crm",
           operation: str = "service_work_order", outcome: str = "completed", **fields) -> CompletionReport:
    """A completion report for the order's access CRM work order (in SH), or as named."""
    return CompletionReport(report_id=report_id, province=province, system=system, operation=operation,
                            idempotency_key=f"{order_no}:service_work_order:SH", outcome=outcome, **fields)


async def test_a_report_counts_only_for_a_work_order_sent_and_from_where_it_was_sent(
    client, settings, simulator, worker, store
):
    await inject(simulator, province="SH", system="crm", operation="service_work_order", kind="no_report")
    handle = await start_opening(client, settings, opening_order("OPEN-FORGED", pre_approved_by=None))
    await wait_for_status(handle, lambda s: s.sub_state == AWAITING_AUDIT)

    # Before the work order is sent, and from a province, system and operation it was never sent to.
    await handle.signal(ServiceOpening.report, report("OPEN-FORGED", "x", "XZ", "sms", "nothing"))
    await handle.execute_update(ServiceOpening.approve, Decision(by="bob"))
    await wait_for_status(handle, lambda s: any(
        (step.name, step.state) == ("access CRM work order", "awaiting report") for step in s.steps))
    await handle.signal(ServiceOpening.report, report("OPEN-FORGED", "y", "GD"))
    await handle.signal(ServiceOpening.report, report("OPEN-FORGED", "z"))  # SH's own report: the first valid
    await handle.signal(ServiceOpening.report, report("OPEN-FORGED", "w", outcome="rejected", code="E1"))
    result = await handle.result()

    assert result.state == OrderState.completed
    # Reports arriving together are written to the trail concurrently: compared in any order
    # (the status below keeps the order they came in).
    unexpected = [e.detail for e in store.orders.get_order("OPEN-FORGED").events
                  if e.event == "unexpected completion report ignored"]
    assert sorted(unexpected) == [
        "report w from SH crm service_work_order for OPEN-FORGED:service_work_order:SH: rejected E1 "
        "(contradicts report z (completed), which counts)",
        "report x from XZ sms nothing for OPEN-FORGED:service_work_order:SH: completed "
        "(no work order was sent with this key)",
        "report y from GD crm service_work_order for OPEN-FORGED:service_work_order:SH: completed "
        "(the work order with this key went to SH crm service_work_order)",
    ]
    status = await handle.query(ServiceOpening.status)
    assert [(r.report_id, r.province, r.system, r.operation) for r in status.unexpected_reports] == [
        ("x", "XZ", "sms", "nothing"), ("y", "GD", "crm", "service_work_order"),
        ("w", "SH", "crm", "service_work_order")]
    [work_order] = await holdings(simulator, "SH", "crm", "service_order")
    assert work_order["writes"] == 1
    assert store.services.get_service("SVC-OPEN-FORGED").state == "active"


async def test_a_report_that_came_before_its_work_order_was_recorded_counts_once_it_is_sent(
    client, settings, simulator, worker, store
):
    """A province call made by a local activity is recorded only when its workflow task
    completes; when that task is lost (a busy worker, a worker stopped), the province's report
    reaches the order before the call it answers. The order counts it once it sends that
    work order (here GD reports only that once)."""
    await inject(simulator, province="GD", system="crm", operation="configure_group_tariff", kind="no_report")
    handle = await start_opening(client, settings, opening_order("OPEN-EARLY", pre_approved_by=None))
    await wait_for_status(handle, lambda s: s.sub_state == AWAITING_AUDIT)

    await handle.signal(ServiceOpening.report, CompletionReport(
        report_id="early", province="GD", system="crm", operation="configure_group_tariff",
        idempotency_key="OPEN-EARLY:configure_group_tariff:GD", outcome="completed"))
    await handle.execute_update(ServiceOpening.approve, Decision(by="bob"))
    result = await asyncio.wait_for(handle.result(), timeout=120)

    assert result.state == OrderState.completed
    events = [(e.event, e.detail) for e in store.orders.get_order("OPEN-EARLY").events]
    assert ("early completion report counted",
            "report early from GD crm configure_group_tariff came before its work order was recorded") in events
    assert (await handle.query(ServiceOpening.status)).unexpected_reports == []


async def test_what_the_order_waits_for_follows_every_step_not_only_state_changes(
    client, settings, simulator, worker, store
):
    await inject(simulator, province="SH", system="crm", operation="service_work_order", kind="no_report")
    handle = await start_opening(client, settings, opening_order("OPEN-WAITS"))

    status = await wait_for_status(handle, lambda s: any(
        (step.name, step.state) == ("access CRM work order", "awaiting report") for step in s.steps))
    stored = store.orders.get_order("OPEN-WAITS")

    assert "every province confirmed its group tariff package configuration" in [e.event for e in stored.events]
    assert status.state == OrderState.in_progress and status.sub_state.startswith("access CRM work order in SH")
    assert (stored.state, stored.sub_state) == (OrderState.in_progress, "awaiting the access province's completion")
    await handle.signal(ServiceOpening.report, report("OPEN-WAITS", "sh-report"))
    assert (await handle.result()).state == OrderState.completed
    assert store.orders.get_order("OPEN-WAITS").sub_state == ""


async def test_while_the_rental_starts_the_order_waits_for_the_rental_not_for_a_step_already_done(
    client, settings, simulator, worker, store
):
    await inject(simulator, province="SH", system="billing", operation="start_rental", kind="latency",
                 latency_ms=3000, count=1)
    handle = await start_opening(client, settings, opening_order("OPEN-RENTAL-WAIT"))

    status = await wait_for_status(handle, lambda s: any(
        (step.name, step.state) == ("rental start", "running") for step in s.steps))
    stored = store.orders.get_order("OPEN-RENTAL-WAIT")

    assert "access province reported completion" in [e.event for e in stored.events]
    assert status.sub_state == "rental start in SH"
    assert stored.sub_state != "awaiting the access province's completion"
    assert (await handle.result()).state == OrderState.completed


async def test_a_missing_report_from_the_access_crm_goes_to_fallout_like_the_line_center(
    client, settings, simulator, worker, store
):
    await inject(simulator, province="SH", system="crm", operation="service_work_order", kind="no_report", count=1)
    order = opening_order("OPEN-CRM-LATE", timers={"jeopardy_after": timedelta(seconds=1),
                                                   "fail_after": timedelta(seconds=3)})
    handle = await start_opening(client, settings, order)

    status = await wait_for_status(handle, lambda s: s.state == OrderState.held)
    [fallout] = store.fallouts.list_fallouts()
    assert (fallout.step, fallout.province, fallout.system, fallout.code) == (
        "access CRM work order", "SH", "report", "DEADLINE")
    assert status.sub_state.startswith(f"fallout {fallout.fallout_id}: access CRM work order in SH")
    await handle.execute_update(ServiceOpening.resolve_fallout, FalloutDecision(
        fallout_id=fallout.fallout_id, action="retry", by="ops-wang", reason="SH CRM called"))
    result = await handle.result()

    tomorrow = (datetime.now(BEIJING).date() + timedelta(days=1)).isoformat()
    assert (result.state, result.rental_start) == (OrderState.completed, tomorrow)
    events = [e.event for e in store.orders.get_order("OPEN-CRM-LATE").events]
    assert events.index(f"held: fallout {fallout.fallout_id}") < events.index(
        f"fallout {fallout.fallout_id} resolved: retry") < events.index("service active")
    [work_order] = await holdings(simulator, "SH", "crm", "service_order")
    assert work_order["writes"] == 1  # asked again with the same key: the province did it once
    assert len(await holdings(simulator, "SH", "line")) == 1
    [rental] = await holdings(simulator, "SH", "billing")
    assert rental["data"]["start_date"] == tomorrow


async def test_a_cancellation_while_a_province_call_is_in_flight_ends_cancelled_with_everything_undone(
    client, settings, simulator, worker, store
):
    await inject(simulator, province="SH", system="line", operation="schedule_line", kind="latency",
                 latency_ms=3000, count=1)
    handle = await start_opening(client, settings, opening_order("OPEN-CANCEL-INFLIGHT"))
    await wait_for_status(handle, lambda s: any(
        (step.name, step.state) == ("dedicated-line scheduling", "running") for step in s.steps))

    await handle.execute_update(ServiceOpening.cancel, Decision(by="alice", reason="customer withdrew"))
    result = await handle.result()

    assert result.state == OrderState.cancelled
    stored = store.orders.get_order("OPEN-CANCEL-INFLIGHT")
    assert stored.state == OrderState.cancelled
    events = [e.event for e in stored.events]
    assert "compensated: cancel the line scheduling" in events
    assert stored.events[-1].detail == "cancelled by alice: customer withdrew"
    assert store.services.get_service("SVC-OPEN-CANCEL-INFLIGHT") is None
    await assert_nothing_left(simulator, ["SH", "GD", "BJ"])


class ImpatientTransport(httpx.AsyncBaseTransport):
    """The hub client gives up on an answer after `timeout_s` while the province goes on
    with the request (and applies it late), as over a real network."""

    def __init__(self, inner: httpx.AsyncBaseTransport, timeout_s: float) -> None:
        self._inner, self._timeout_s = inner, timeout_s
        self._late: set[asyncio.Task] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = asyncio.ensure_future(self._inner.handle_async_request(request))
        self._late.add(answer)
        answer.add_done_callback(self._late.discard)
        try:
            return await asyncio.wait_for(asyncio.shield(answer), self._timeout_s)
        except TimeoutError:
            raise httpx.ReadTimeout("no answer in time", request=request) from None


@pytest_asyncio.fixture
async def impatient_worker(settings, client, simulator_transport):
    hub = HubClient(settings.hub_url, transport=ImpatientTransport(simulator_transport, timeout_s=1.5))
    async with build_worker(client, settings, hub=hub):
        yield
    await hub.aclose()


async def test_a_cancellation_while_a_call_times_out_undoes_what_the_province_applied_late(
    client, settings, simulator, impatient_worker, store
):
    await inject(simulator, province="SH", system="line", operation="schedule_line", kind="latency",
                 latency_ms=4000, count=1)
    handle = await start_opening(client, settings, opening_order("OPEN-CANCEL-LATE"))
    await wait_for_status(handle, lambda s: any(
        (step.name, step.state) == ("dedicated-line scheduling", "running") for step in s.steps))

    await handle.execute_update(ServiceOpening.cancel, Decision(by="alice", reason="customer withdrew"))
    result = await handle.result()
    await asyncio.sleep(4)  # the first, late request has ended at the province by now

    assert result.state == OrderState.cancelled
    stored = store.orders.get_order("OPEN-CANCEL-LATE")
    assert (stored.state, stored.events[-1].detail) == (OrderState.cancelled, "cancelled by alice: customer withdrew")
    assert "compensated: cancel the line scheduling" in [e.event for e in stored.events]
    await assert_nothing_left(simulator, ["SH", "GD", "BJ"])


async def test_an_approval_sent_the_moment_the_order_is_submitted_is_taken(client, settings, simulator, worker, store):
    async def connect():
        return client

    intake = Intake(settings, store, connect)
    order = opening_order("OPEN-QUICK-OK").model_dump(mode="json", exclude={"pre_approved_by"})

    await intake.open_service(order)
    answer = await intake.decide("OPEN-QUICK-OK", "approve", Decision(by="hq-wang", reason="budget approved"))

    assert answer == "order OPEN-QUICK-OK approved by hq-wang"
    await client.get_workflow_handle(workflow_id_for(OrderType.service_opening, "OPEN-QUICK-OK")).result()
    assert store.orders.get_order("OPEN-QUICK-OK").state == OrderState.completed
