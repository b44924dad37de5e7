"""Service opening's report SLA (jeopardy) and deadline, on the time-skipping test server.

Time is moved by hand (`env.sleep`) while auto-skipping is off, so the simulator's real-time
completion reports of the other provinces still arrive in order. The test server knows no
custom search attributes: orders start without them here (jeopardy is checked in the status
and the audit trail; the search attribute on the dev server in test_service_opening.py).
"""

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from codec import data_converter
from models.hub import CompletionReport
from models.orders import OrderState, OrderType, workflow_id_for
from models.service import ServiceOpeningOrder
from settings import temporal_test_server_path
from tests.conftest import PAYLOAD_KEYS
from tests.helpers import acquired_customer, inject, opening_order, timer_summaries, wait_for_status
from tests.workflows.test_service_opening import assert_nothing_left
from workflows.service_opening import ServiceOpening

TIMERS = {"jeopardy_after": timedelta(hours=4), "fail_after": timedelta(hours=48)}


@pytest_asyncio.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter(PAYLOAD_KEYS), test_server_existing_path=str(temporal_test_server_path())
    ) as env:
        with env.auto_time_skipping_disabled():
            yield env


@pytest.fixture
def client(time_env: WorkflowEnvironment) -> Client:
    return time_env.client


@pytest.fixture(autouse=True)
def customer(store):
    acquired_customer(store)


async def start(client: Client, settings, order: ServiceOpeningOrder) -> WorkflowHandle:
    return await client.start_workflow(
        ServiceOpening.run, order, id=workflow_id_for(OrderType.service_opening, order.order_no),
        task_queue=settings.task_queue)


def awaiting_gd_report(status) -> bool:
    return any(step.province == "GD" and step.state == "awaiting report" for step in status.steps) and all(
        step.state == "done" for step in status.steps if step.province != "GD")


async def test_late_report_flags_jeopardy_then_the_order_completes(time_env, client, settings, simulator, worker, store):
    await inject(simulator, province="GD", system="crm", operation="configure_group_tariff", kind="no_report")
    handle = await start(client, settings, opening_order("OPEN-LATE", timers=TIMERS))
    await wait_for_status(handle, awaiting_gd_report)

    await time_env.sleep(timedelta(hours=5))
    status = await wait_for_status(handle, lambda s: bool(s.jeopardy))
    assert status.jeopardy == ["configure group tariff package in GD"]

    # GD's report finally comes (as its CRM would send it).
    await handle.signal(ServiceOpening.report, CompletionReport(
        report_id=str(uuid.uuid4()), province="GD", system="crm", operation="configure_group_tariff",
        idempotency_key="OPEN-LATE:configure_group_tariff:GD", outcome="completed"))
    result = await handle.result()

    assert result.state == OrderState.completed
    assert (await handle.query(ServiceOpening.status)).jeopardy == []
    events = [e.event for e in store.orders.get_order("OPEN-LATE").events]
    assert "in jeopardy: configure group tariff package in GD is overdue" in events
    assert "late report received: configure group tariff package in GD" in events


async def test_the_stage_timer_flags_only_the_province_still_missing_its_report(
    time_env, client, settings, simulator, worker, store
):
    for province in ("GD", "BJ"):
        await inject(simulator, province=province, system="crm", operation="configure_group_tariff", kind="no_report")
    handle = await start(client, settings, opening_order("OPEN-STAGE", timers=TIMERS))
    await wait_for_status(handle, lambda s: {step.province for step in s.steps if step.state == "awaiting report"}
                          == {"GD", "BJ"})

    await time_env.sleep(timedelta(hours=2))  # BJ reports within the SLA, GD does not
    await handle.signal(ServiceOpening.report, CompletionReport(
        report_id=str(uuid.uuid4()), province="BJ", system="crm", operation="configure_group_tariff",
        idempotency_key="OPEN-STAGE:configure_group_tariff:BJ", outcome="completed"))
    await wait_for_status(handle, awaiting_gd_report)
    await time_env.sleep(timedelta(hours=3))
    status = await wait_for_status(handle, lambda s: bool(s.jeopardy))
    assert status.jeopardy == ["configure group tariff package in GD"]

    await handle.signal(ServiceOpening.report, CompletionReport(
        report_id=str(uuid.uuid4()), province="GD", system="crm", operation="configure_group_tariff",
        idempotency_key="OPEN-STAGE:configure_group_tariff:GD", outcome="completed"))
    assert (await handle.result()).state == OrderState.completed
    events = [e.event for e in store.orders.get_order("OPEN-STAGE").events]
    assert [e for e in events if "jeopardy" in e or "late report" in e] == [
        "in jeopardy: configure group tariff package in GD is overdue",
        "late report received: configure group tariff package in GD"]
    # One SLA timer and one deadline timer for the three provinces' reports.
    stage_timers = [t for t in await timer_summaries(client, handle) if "configure group tariff package" in t]
    assert stage_timers == ["jeopardy: configure group tariff package reports",
                            "report deadline: configure group tariff package"]


async def test_passed_deadline_holds_the_order_then_the_fallout_deadline_compensates_it(
    time_env, client, settings, simulator, worker, store
):
    await inject(simulator, province="GD", system="crm", operation="configure_group_tariff", kind="no_report")
    handle = await start(client, settings, opening_order("OPEN-DEADLINE", timers=TIMERS))
    await wait_for_status(handle, awaiting_gd_report)

    await time_env.sleep(timedelta(hours=5))
    await wait_for_status(handle, lambda s: bool(s.jeopardy))
    await time_env.sleep(timedelta(hours=44))
    held = await wait_for_status(handle, lambda s: s.state == OrderState.held)
    [fallout] = store.fallouts.list_fallouts()
    assert (fallout.fallout_id, fallout.province, fallout.system, fallout.code) == (
        "OPEN-DEADLINE-F1", "GD", "report", "DEADLINE")
    assert "no completion report within 2 days" in held.sub_state

    await time_env.sleep(timedelta(hours=25))  # nobody decided: the policy's 24 h pass
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()

    assert "configure group tariff package in GD: no completion report within 2 days" in str(failure.value.cause)
    assert (await handle.query(ServiceOpening.status)).jeopardy == []  # a failed order waits for no report
    await assert_nothing_left(simulator, ["SH", "GD", "BJ"])
    assert store.orders.get_order("OPEN-DEADLINE").state == OrderState.failed
    resolved = store.fallouts.get_fallout("OPEN-DEADLINE-F1")
    assert (resolved.state, resolved.decision, resolved.decided_by, resolved.reason) == (
        "resolved", "compensate", "gpms", "the fallout deadline passed")
