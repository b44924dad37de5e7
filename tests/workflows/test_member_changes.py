"""Members' own number changes and cancellations, notified by provincial CRMs."""

import asyncio
import contextlib
import uuid

import pytest
from temporalio.service import RPCError

from models.members import MemberChangesState, MemberNotification
from models.orders import OrderState, member_changes_workflow_id
from submission import notify_member_change
from tests.workflows.test_member_join import APN, BJ, GD, MEMBERS, SERVICE, SH, held_keys, member_order
from tests.helpers import CUSTOMER
from workflows.member_changes import MemberChanges

# The autouse `service` fixture (an active VPDN and seeded subscribers) comes with these tests.
from tests.workflows.test_member_join import service  # noqa: F401 (a fixture)

NEW_NUMBER = "15500000007"  # issued in HB


@pytest.fixture
async def joined(client, settings, simulator, worker, store):
    """All members joined; afterwards the service's long-lived member-changes workflow ends
    (the dev server is shared by the whole session)."""
    (await simulator.post("/admin/seed", json={"subscribers": [
        {"msisdn": NEW_NUMBER, "home_province": "HB"}]})).raise_for_status()
    await (await member_order(client, settings, store, f"JOIN-{uuid.uuid4().hex[:8]}", MEMBERS)).result()
    yield
    handle = client.get_workflow_handle(member_changes_workflow_id(SERVICE))
    with contextlib.suppress(RPCError):
        await handle.terminate("test over")


async def notify(client, settings, notification: MemberNotification):
    state = MemberChangesState(service_id=SERVICE, customer_code=CUSTOMER, apn=APN, access_province="SH")
    handle = await notify_member_change(client, settings.task_queue, state, notification)
    for _ in range(200):
        if notification.notification_id in await handle.query(MemberChanges.applied):
            return handle
        await asyncio.sleep(0.1)
    raise AssertionError(f"notification {notification.notification_id} was not applied")


async def test_a_cancelled_number_leaves_the_vpdn(client, settings, simulator, joined, store):
    await notify(client, settings, MemberNotification(
        notification_id="GD-0001", province="GD", kind="number_cancelled", msisdn=GD[0]))

    assert await held_keys(simulator, "GD", "hlr") == {GD[1]}
    assert await held_keys(simulator, "GD", "billing") == {GD[1]}
    assert GD[0] not in await held_keys(simulator, "SH", "aaa")
    assert GD[0] not in store.members.member_homes(SERVICE)
    assert store.orders.get_order("CHG-GD-0001-EXIT").state == OrderState.completed
    assert store.orders.get_order("CHG-GD-0001-EXIT").events[0].actor == "crm-GD"


async def test_a_changed_number_moves_its_aaa_account_and_hlr_subscription(client, settings, simulator, joined, store):
    await notify(client, settings, MemberNotification(
        notification_id="BJ-0001", province="BJ", kind="number_changed", msisdn=BJ[0], new_msisdn=NEW_NUMBER))

    assert await held_keys(simulator, "BJ", "hlr") == {BJ[1]}
    assert await held_keys(simulator, "HB", "hlr") == {NEW_NUMBER}
    aaa = await held_keys(simulator, "SH", "aaa")
    assert NEW_NUMBER in aaa and BJ[0] not in aaa
    assert len((await simulator.get("/admin/sms", params={"msisdn": NEW_NUMBER})).json()) == 1
    assert store.members.member_homes(SERVICE, [BJ[0], NEW_NUMBER]) == {NEW_NUMBER: "HB"}


async def test_the_same_notification_twice_has_one_effect(client, settings, simulator, joined, store):
    notification = MemberNotification(notification_id="SH-0001", province="SH", kind="number_cancelled",
                                      msisdn=SH[0])
    handle = await notify(client, settings, notification)
    await notify(client, settings, notification)
    await notify(client, settings, MemberNotification(
        notification_id="SH-0002", province="SH", kind="number_cancelled", msisdn=SH[1]))

    assert await handle.query(MemberChanges.applied) == ["SH-0001", "SH-0002"]
    calls = (await simulator.get("/admin/calls", params={"operation": "remove_accounts_batch"})).json()
    assert len([c for c in calls if "CHG-SH-0001" in c["idempotency_key"]]) == 1
