"""`vpdn reconcile`: GPMS's records against what the simulated provinces hold."""

import pytest

from models.members import MemberLine, MemberOrder
from models.orders import OrderType
from reconcile import Reconciler
from submission import start_order
from tests.helpers import acquired_customer, opened_service
from workflows.member_join import MemberJoin


@pytest.fixture(autouse=True)
def customer(store):
    acquired_customer(store)


async def test_reconcile_finds_nothing_after_orders_and_every_difference_made_behind_gpms_back(
    client, settings, simulator, worker, store
):
    opening = await opened_service(client, settings, "REC-OPEN", paying_province="GD")
    members = ["13800000011", "13900000012"]
    await simulator.post("/admin/seed", json={"subscribers": [
        {"msisdn": members[0], "home_province": "GD"}, {"msisdn": members[1], "home_province": "BJ"}]})
    store.staging.stage("REC-JOIN", opening.service_id, "join", [MemberLine(msisdn=m) for m in members])
    order = MemberOrder(order_no="REC-JOIN", kind="join", service_id=opening.service_id,
                        customer_code=opening.customer_code, apn=opening.apn, access_province="SH",
                        member_count=2, requested_by="alice", pre_approved_by="hq")
    await (await start_order(client, settings.task_queue, MemberJoin.run, order, order_type=OrderType.member_join,
                             order_no="REC-JOIN", customer_code=opening.customer_code, provinces=["SH"])).result()
    reconciler = Reconciler(store, simulator)
    assert await reconciler.differences() == []

    # Behind GPMS's back: BJ's HLR drops a member, ZJ's billing opens one GPMS never asked for.
    await simulator.post("/v1/provinces/BJ/hlr/unsubscribe_vpdn_batch", json={
        "idempotency_key": "manual-1", "payload": {"service_id": opening.service_id,
                                                    "members": [{"msisdn": members[1]}]}})
    await simulator.post("/v1/provinces/ZJ/billing/open_members_batch", json={
        "idempotency_key": "manual-2", "payload": {"service_id": opening.service_id,
                                                    "members": [{"msisdn": "15000000099"}]}})

    found = {str(d) for d in await Reconciler(store, simulator).differences()}
    assert found == {
        f"{opening.service_id}: BJ hlr vpdn_subscription {members[1]}: missing",
        f"{opening.service_id}: ZJ billing member_billing 15000000099: unexpected",
    }
