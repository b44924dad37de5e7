"""Service closure: only a VPDN without members; a closure stops every further order."""

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError

from models.members import MemberLine, MemberOrder
from models.orders import Decision, OrderState, OrderType, service_orders_workflow_id
from models.provinces import HQ
from models.service_changes import ServiceClosureOrder
from reconcile import Reconciler
from tests.helpers import (
    acquired_customer,
    holdings,
    inject,
    opened_service,
    order_fields,
    order_result,
    submit,
    wait_for_status,
)
from workflows.order_workflow import AWAITING_AUDIT

PROVINCES = ["SH", "GD", "BJ"]
BEIJING = timezone(timedelta(hours=8))


@pytest.fixture(autouse=True)
def customer(store):
    acquired_customer(store)


def closure(opening, order_no: str, **fields) -> ServiceClosureOrder:
    return ServiceClosureOrder.model_validate(order_fields(opening, order_no, **fields))


def add_member(store, service_id: str, msisdn: str) -> None:
    store.staging.stage(f"JOIN-{msisdn}", service_id, "join", [MemberLine(msisdn=msisdn)])
    store.members.record_results(f"JOIN-{msisdn}", {msisdn: ("home_done", None, "")}, homes={msisdn: "GD"})
    store.members.finish_members(f"JOIN-{msisdn}", service_id, "join")


async def test_closure_is_refused_while_members_remain_then_accepted_after_they_left(
    client, settings, simulator, worker, store
):
    opening = await opened_service(client, settings, "CLS-OPEN-1", paying_province="BJ")
    add_member(store, opening.service_id, "13800000001")

    await submit(client, settings, closure(opening, "CLS-1"))
    with pytest.raises(WorkflowFailureError) as refused:
        await order_result(client, OrderType.service_closure, "CLS-1")
    assert "still has 1 member:" in str(refused.value.cause)
    assert store.services.get_service(opening.service_id).state == "active"

    queue = client.get_workflow_handle(service_orders_workflow_id(opening.service_id))
    while "CLS-1" in await queue.query("queue"):  # the queue takes orders again once it saw CLS-1 end
        await asyncio.sleep(0.1)
    store.staging.stage("EXIT-1", opening.service_id, "exit", [MemberLine(msisdn="13800000001")])
    store.members.record_results("EXIT-1", {"13800000001": ("home_done", None, "")})
    store.members.finish_members("EXIT-1", opening.service_id, "exit")
    await submit(client, settings, closure(opening, "CLS-2"))
    result = await order_result(client, OrderType.service_closure, "CLS-2")

    assert result.state == OrderState.completed
    for province in PROVINCES:
        assert await holdings(simulator, province, "crm") == [], province
        assert await holdings(simulator, province, "line") == []
        assert await holdings(simulator, province, "billing") == []
    assert await holdings(simulator, HQ, "settlement") == []
    assert store.services.get_service(opening.service_id).state == "closed"
    assert "closed by order CLS-2" in await queue.result()


async def test_a_join_after_a_closure_was_accepted_is_refused(client, settings, simulator, worker, store):
    opening = await opened_service(client, settings, "CLS-OPEN-3")
    await submit(client, settings, closure(opening, "CLS-3", pre_approved_by=None))
    closing = client.get_workflow_handle("vpdn-close-CLS-3")
    await wait_for_status(closing, lambda s: s.sub_state == AWAITING_AUDIT)

    join = MemberOrder(order_no="JOIN-LATE", kind="join", service_id=opening.service_id,
                       customer_code=opening.customer_code, apn=opening.apn, access_province="SH",
                       member_count=1, requested_by="alice", pre_approved_by="hq")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await submit(client, settings, join)

    assert "is being closed by order CLS-3: it accepts no further orders" in str(refused.value.cause)
    await closing.execute_update("approve", Decision(by="hq-wang"))
    assert (await order_result(client, OrderType.service_closure, "CLS-3")).state == OrderState.completed
    assert store.orders.get_order("JOIN-LATE") is None


async def test_a_province_refusing_the_closure_puts_everything_back(client, settings, simulator, worker, store):
    opening = await opened_service(client, settings, "CLS-OPEN-4")
    response = await simulator.post("/admin/faults", json={
        "province": "GD", "system": "crm", "operation": "cancel_group_tariff", "kind": "reject", "count": 1,
        "code": "E4100", "text": "open disputes on the account"})
    response.raise_for_status()

    await submit(client, settings, closure(opening, "CLS-4"))
    with pytest.raises(WorkflowFailureError):
        await order_result(client, OrderType.service_closure, "CLS-4")

    for province in PROVINCES:
        [package] = await holdings(simulator, province, "crm", "group_tariff_package")
        assert package["data"]["version"] == 1
    assert len(await holdings(simulator, "SH", "line")) == 1
    assert len(await holdings(simulator, "SH", "crm", "service_order")) == 1
    assert store.services.get_service(opening.service_id).state == "active"


async def test_a_failed_closure_puts_the_rental_and_settlement_back_with_their_original_dates(
    client, settings, simulator, worker, store
):
    opening = await opened_service(client, settings, "CLS-OPEN-DATES", paying_province="GD", rental_rule="next_month")
    [rental_before] = await holdings(simulator, "SH", "billing", "rental")
    [record_before] = await holdings(simulator, HQ, "settlement", "rental_record")
    await inject(simulator, province=HQ, system="settlement", operation="cancel_rental", kind="reject",
                 code="E1050", text="settlement period closed", count=1)

    await submit(client, settings, closure(opening, "CLS-DATES"))
    with pytest.raises(WorkflowFailureError) as failed:
        await order_result(client, OrderType.service_closure, "CLS-DATES")

    assert "E1050 settlement period closed" in str(failed.value.cause)
    stored = store.orders.get_order("CLS-DATES")
    assert stored.state == OrderState.failed
    assert "compensated: start the rental again" in [e.event for e in stored.events]
    first_of_next_month = (datetime.now(BEIJING).date().replace(day=28) + timedelta(days=4)).replace(day=1)
    [rental] = await holdings(simulator, "SH", "billing", "rental")
    assert rental["data"] == rental_before["data"]
    assert (rental["data"]["start_date"], rental["data"]["rule"]) == (first_of_next_month.isoformat(), "next_month")
    [record] = await holdings(simulator, HQ, "settlement", "rental_record")
    assert record["data"] == record_before["data"]
    assert store.services.get_service(opening.service_id).state == "active"
    assert await Reconciler(store, simulator).differences() == []
