"""Members' own number changes and cancellations, notified by provincial CRMs through the
intake: checked before anything is staged, refused with the reason when a check fails, and
queued on the service's one-order-at-a-time queue like every other order."""

import asyncio
import contextlib
import uuid

import pytest
from temporalio.service import RPCError

from intake import Intake, Refusal
from models.member_changes import MemberNotification
from models.members import MemberOrderResult
from models.orders import Decision, OrderState, OrderType, member_changes_workflow_id, service_orders_workflow_id
from models.service_changes import ServiceClosureOrder, TariffChangeOrder
from submission import notify_member_change
from tests.helpers import CUSTOMER, order_result, submit
from tests.workflows.test_member_join import BJ, GD, MEMBERS, SERVICE, SH, held_keys, member_order
from workflows.member_changes import MemberChanges

# The autouse `service` fixture (an active VPDN and seeded subscribers) comes with these tests.
from tests.workflows.test_member_join import service  # noqa: F401 (a fixture)

NEW_NUMBER = "15500000007"  # issued in HB
UNKNOWN_NUMBER = "17000000001"  # no home CRM knows it


@pytest.fixture
async def joined(client, settings, simulator, worker, store):
    """All members joined; afterwards the service's long-lived workflows end (the dev server
    is shared by the whole session)."""
    (await simulator.post("/admin/seed", json={"subscribers": [
        {"msisdn": NEW_NUMBER, "home_province": "HB"}]})).raise_for_status()
    await (await member_order(client, settings, store, f"JOIN-{uuid.uuid4().hex[:8]}", MEMBERS)).result()
    yield
    for workflow_id in (member_changes_workflow_id(SERVICE), service_orders_workflow_id(SERVICE)):
        with contextlib.suppress(RPCError):
            await client.get_workflow_handle(workflow_id).terminate("test over")


@pytest.fixture
def intake(settings, store, client) -> Intake:
    async def connect():
        return client

    return Intake(settings, store, connect)


def unique(prefix: str) -> str:
    """A notification id no other test of the session used (orders derive from it)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def notify(client, intake: Intake, notification_id: str, province: str, msisdn: str,
                 new_msisdn: str | None = None) -> None:
    """Deliver a CRM's notification through the intake; return once the service's
    member-changes workflow has taken it (checked, and queued or refused)."""
    await intake.member_notification({
        "notification_id": notification_id, "province": province, "msisdn": msisdn, "new_msisdn": new_msisdn,
        "kind": "number_changed" if new_msisdn else "number_cancelled"})
    await taken(client, notification_id)


async def taken(client, notification_id: str) -> None:
    handle = client.get_workflow_handle(member_changes_workflow_id(SERVICE))
    for _ in range(600):
        if notification_id in await handle.query(MemberChanges.applied):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"notification {notification_id} was not taken")


async def finished(client, order_type: OrderType, order_no: str) -> MemberOrderResult:
    return await order_result(client, order_type, order_no, MemberOrderResult, timeout_s=60)


async def test_a_cancelled_number_leaves_the_vpdn(client, intake, simulator, joined, store):
    notification_id = unique("GD")
    await notify(client, intake, notification_id, "GD", GD[0])
    await finished(client, OrderType.member_exit, f"MCH-{notification_id}-EXIT")

    assert await held_keys(simulator, "GD", "hlr") == {GD[1]}
    assert await held_keys(simulator, "GD", "billing") == {GD[1]}
    assert GD[0] not in await held_keys(simulator, "SH", "aaa")
    assert GD[0] not in store.members.member_homes(SERVICE)
    order = store.orders.get_order(f"MCH-{notification_id}-EXIT")
    assert (order.state, order.events[0].actor) == (OrderState.completed, "crm-GD")
    assert store.notifications.get(notification_id).orders == [f"MCH-{notification_id}-EXIT"]


async def test_a_changed_number_moves_its_aaa_account_and_hlr_subscription(client, intake, simulator, joined,
                                                                           store):
    notification_id = unique("BJ")
    await notify(client, intake, notification_id, "BJ", BJ[0], NEW_NUMBER)
    await finished(client, OrderType.member_join, f"MCH-{notification_id}-NEW")

    assert await held_keys(simulator, "BJ", "hlr") == {BJ[1]}
    assert await held_keys(simulator, "HB", "hlr") == {NEW_NUMBER}
    aaa = await held_keys(simulator, "SH", "aaa")
    assert NEW_NUMBER in aaa and BJ[0] not in aaa
    assert len((await simulator.get("/admin/sms", params={"msisdn": NEW_NUMBER})).json()) == 1
    homes = store.members.member_homes(SERVICE)
    assert (homes.get(NEW_NUMBER), BJ[0] in homes) == ("HB", False)


async def test_a_number_change_carries_no_number_in_any_workflow_history(client, intake, simulator, joined):
    notification_id = unique("SH")
    await notify(client, intake, notification_id, "SH", SH[1], NEW_NUMBER)
    await finished(client, OrderType.member_join, f"MCH-{notification_id}-NEW")

    for workflow_id in (member_changes_workflow_id(SERVICE), service_orders_workflow_id(SERVICE),
                        f"vpdn-exit-MCH-{notification_id}-OLD", f"vpdn-join-MCH-{notification_id}-NEW"):
        history = (await client.get_workflow_handle(workflow_id).fetch_history()).to_json()
        assert SH[1] not in history and NEW_NUMBER not in history, workflow_id


async def test_the_same_notification_twice_has_one_effect(client, intake, simulator, joined, store):
    first, second = unique("SH"), unique("SH")
    await notify(client, intake, first, "SH", SH[0])
    await notify(client, intake, first, "SH", SH[0])
    await notify(client, intake, second, "SH", SH[1])
    await finished(client, OrderType.member_exit, f"MCH-{second}-EXIT")

    handle = client.get_workflow_handle(member_changes_workflow_id(SERVICE))
    assert await handle.query(MemberChanges.applied) == [first, second]
    calls = (await simulator.get("/admin/calls", params={"operation": "remove_accounts_batch"})).json()
    assert len([c for c in calls if f"MCH-{first}" in c["idempotency_key"]]) == 1


async def assert_nothing_changed(simulator, store, msisdn: str, home: str) -> None:
    """The member is still everywhere; the new number got nothing; no order started."""
    assert msisdn in await held_keys(simulator, home, "hlr")
    assert msisdn in await held_keys(simulator, "SH", "aaa")
    assert NEW_NUMBER not in await held_keys(simulator, "HB", "hlr")
    assert NEW_NUMBER not in await held_keys(simulator, "SH", "aaa")
    assert (await simulator.get("/admin/sms", params={"msisdn": NEW_NUMBER})).json() == []
    assert store.members.member_homes(SERVICE).get(msisdn) == home
    assert [o.order_no for o in store.orders.list_orders() if o.order_no.startswith("MCH-")] == []


async def test_a_notification_from_a_province_that_is_not_the_numbers_home_is_refused_at_once(
    client, intake, simulator, joined, store
):
    notification_id = unique("BJ")
    with pytest.raises(Refusal) as refusal:
        await notify(client, intake, notification_id, "BJ", GD[0], NEW_NUMBER)

    assert str(refusal.value) == (f"notification {notification_id} changes nothing: "
                                  "BJ is not the number's home province (GD): only its home CRM notifies")
    await assert_nothing_changed(simulator, store, GD[0], "GD")
    notification = store.notifications.get(notification_id)
    assert (notification.state, notification.reason) == (
        "refused", "BJ is not the number's home province (GD): only its home CRM notifies")


async def test_a_number_change_on_a_service_that_is_not_active_is_refused_at_once(
    client, intake, simulator, joined, store
):
    store.services.set_service_state(SERVICE, "closing")
    notification_id = unique("BJ")
    with pytest.raises(Refusal, match=f"service {SERVICE} is closing: it takes no member change"):
        await notify(client, intake, notification_id, "BJ", BJ[0], NEW_NUMBER)

    await assert_nothing_changed(simulator, store, BJ[0], "BJ")
    assert store.notifications.get(notification_id).state == "refused"


async def test_a_number_change_to_a_number_its_home_crm_does_not_know_changes_nothing(
    client, intake, simulator, joined, store
):
    notification_id = unique("BJ")
    await notify(client, intake, notification_id, "BJ", BJ[0], UNKNOWN_NUMBER)

    await assert_nothing_changed(simulator, store, BJ[0], "BJ")
    assert store.notifications.get(notification_id).reason == (
        "the new number is refused by its home CRM: E2001 number not found in any home CRM")


async def test_a_notification_whose_service_closes_before_it_is_checked_changes_nothing(
    client, settings, simulator, joined, store
):
    """The workflow checks again what the door checked: a notification handed to it
    straight (as a client bypassing the API would) for a service that is no longer active."""
    notification_id = unique("BJ")
    store.notifications.receive(MemberNotification(notification_id=notification_id, province="BJ",
                                                   kind="number_changed", msisdn=BJ[0], new_msisdn=NEW_NUMBER), SERVICE)
    store.services.set_service_state(SERVICE, "closing")
    await notify_member_change(client, settings.task_queue, SERVICE, notification_id)
    await taken(client, notification_id)

    await assert_nothing_changed(simulator, store, BJ[0], "BJ")
    assert store.notifications.get(notification_id).reason == f"service {SERVICE} is closing: it takes no member change"


def tariff_change(order_no: str) -> TariffChangeOrder:
    """A tariff change that waits for its business audit (so orders queue behind it)."""
    return TariffChangeOrder.model_validate({
        "order_no": order_no, "service_id": SERVICE, "customer_code": CUSTOMER, "requested_by": "alice",
        "change": {"parameters": {"monthly_fee": "2"}}})


async def test_the_orders_of_a_notification_wait_their_turn_on_the_service_queue(
    client, settings, intake, simulator, joined, store
):
    ahead = unique("TRF")
    await submit(client, settings, tariff_change(ahead))
    notification_id = unique("SH")
    await notify(client, intake, notification_id, "SH", SH[0])

    exit_order = f"MCH-{notification_id}-EXIT"
    assert store.orders.get_order(exit_order).sub_state == f"waiting behind {ahead}"
    assert SH[0] in await held_keys(simulator, "SH", "aaa")
    queue = client.get_workflow_handle(service_orders_workflow_id(SERVICE))
    assert await queue.query("queue") == [ahead, exit_order]

    await client.get_workflow_handle(f"vpdn-tariff-{ahead}").execute_update(
        "approve", Decision(by="hq-wang"), result_type=str)
    result = await finished(client, OrderType.member_exit, exit_order)
    assert result.state == OrderState.completed
    assert SH[0] not in await held_keys(simulator, "SH", "aaa")


async def test_a_closure_accepted_before_refuses_the_orders_of_a_notification(
    client, settings, intake, simulator, joined, store
):
    await submit(client, settings, tariff_change(unique("TRF")))
    closure = unique("CLS")
    await submit(client, settings, ServiceClosureOrder.model_validate({
        "order_no": closure, "service_id": SERVICE, "customer_code": CUSTOMER, "requested_by": "alice"}))
    notification_id = unique("BJ")
    await notify(client, intake, notification_id, "BJ", BJ[0], NEW_NUMBER)

    await assert_nothing_changed(simulator, store, BJ[0], "BJ")
    notification = store.notifications.get(notification_id)
    assert notification.state == "refused"
    assert notification.reason == (f"order MCH-{notification_id}-OLD refused: service {SERVICE} is being closed "
                                   f"by order {closure}: it accepts no further orders")
    assert store.members.member_results(f"MCH-{notification_id}-OLD") == []  # nothing left staged
