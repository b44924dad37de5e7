"""Member plan change (成员套餐变更) against the in-process provinces' simulator and a real dev server."""

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.worker import Replayer

from models.members import MemberLine, MemberOrder
from models.orders import Decision, OrderState, OrderType
from models.plans import MemberPlan, MemberPlanChangeOrder
from models.service import ServiceRegistration
from reconcile import Reconciler
from submission import start_order
from tests.helpers import CUSTOMER, acquired_customer, holdings, inject, wait_for_status
from workflows.member_join import MemberJoin
from workflows.member_plan_change import MemberPlanChange
from workflows.order_workflow import AWAITING_AUDIT

SERVICE = "SVC-P"
APN = "plans.acme.vpdn"
GD = ["13800000101", "13800000102"]
BJ = ["13900000101", "13900000102"]
SH = ["15000000101", "15000000102"]
MEMBERS = GD + BJ + SH
FIELD_STAFF = MemberPlan(name="field staff", tariff_version=1, parameters={"member_fee": "15", "member_data_gb": "20"})
OFFICE = MemberPlan(name="office", tariff_version=1, parameters={"member_fee": "8"})


@pytest.fixture(autouse=True)
async def service(client, settings, store, simulator, worker):
    """An active VPDN (access SH) whose six members in GD, BJ and SH joined."""
    acquired_customer(store)
    store.services.register_service(ServiceRegistration(
        order_no="OPN-P", service_id=SERVICE, customer_code=CUSTOMER, apn=APN, access_province="SH",
        paying_province="SH", provinces=["SH", "GD", "BJ"],
        tariff={"name": "t", "parameters": {"monthly_fee": "100", "member_fee": "10", "member_data_gb": "5"}}))
    store.services.set_service_state(SERVICE, "active")
    subscribers = [{"msisdn": m, "home_province": p} for p, ms in (("GD", GD), ("BJ", BJ), ("SH", SH)) for m in ms]
    (await simulator.post("/admin/seed", json={"subscribers": subscribers})).raise_for_status()
    join_no = f"JOIN-P-{settings.task_queue}"  # one per test: the dev server is shared
    store.staging.stage(join_no, SERVICE, "join", [MemberLine(msisdn=m) for m in MEMBERS])
    join = MemberOrder(order_no=join_no, kind="join", service_id=SERVICE, customer_code=CUSTOMER, apn=APN,
                       access_province="SH", member_count=len(MEMBERS), requested_by="alice", pre_approved_by="hq")
    await (await start_order(client, settings.task_queue, MemberJoin.run, join, order_type=OrderType.member_join,
                             order_no=join_no, customer_code=CUSTOMER, provinces=["SH"])).result()


async def plan_change(client, settings, store, order_no: str, msisdns: list[str], plan: MemberPlan, **fields):
    store.staging.stage(order_no, SERVICE, "plan_change", [MemberLine(msisdn=m) for m in msisdns])
    order = MemberPlanChangeOrder(
        order_no=order_no, service_id=SERVICE, customer_code=CUSTOMER, apn=APN, access_province="SH",
        member_count=len(msisdns), requested_by="alice", plan=plan,
        pre_approved_by=fields.pop("pre_approved_by", "hq-audit"), **fields)
    return await start_order(client, settings.task_queue, MemberPlanChange.run, order,
                             order_type=OrderType.member_plan_change, order_no=order_no, customer_code=CUSTOMER,
                             provinces=["SH"])


async def billed(simulator, province: str) -> dict[str, dict]:
    """Each member's billing in a province: its plan and the date it applies from."""
    return {r["key"]: r["data"] for r in await holdings(simulator, province, "billing", "member_billing")}


async def member_differences(store, simulator) -> list[str]:
    """What `vpdn reconcile` finds about members (the service itself was recorded, not opened)."""
    return [str(d) for d in await Reconciler(store, simulator).differences()
            if d.kind in ("member_billing", "vpdn_subscription", "aaa_account")]


def results(store, order_no: str) -> dict[str, tuple[str, str | None]]:
    return {r.msisdn: (r.state, r.code) for r in store.members.member_results(order_no)}


async def test_a_plan_change_in_three_provinces_moves_each_member_in_its_home_billing_only(
    client, settings, simulator, store
):
    hlr_before = await holdings(simulator, "GD", "hlr")
    moving = [GD[0], BJ[0], BJ[1], SH[1]]

    result = await (await plan_change(client, settings, store, "PLAN-1", moving, FIELD_STAFF)).result()

    assert (result.state, result.counts.done, result.counts.requested) == (OrderState.completed, 4, 4)
    plan_from = store.terms.terms(SERVICE)[GD[0]].plan_from
    for province, numbers in (("GD", GD), ("BJ", BJ), ("SH", SH)):
        bills = await billed(simulator, province)
        for msisdn in numbers:
            expected = FIELD_STAFF.model_dump() if msisdn in moving else None
            assert (bills[msisdn].get("plan"), bills[msisdn].get("plan_from")) == (
                expected, plan_from if msisdn in moving else None)
            assert bills[msisdn]["rental_start"]  # the member's billing is changed, not replaced
        [order] = await holdings(simulator, province, "crm", "member_plan_change_order")
        assert sorted(order["data"]["members"]) == sorted(set(numbers) & set(moving))  # only its own members
        assert order["data"]["plan"] == FIELD_STAFF.model_dump()
    assert await holdings(simulator, "GD", "hlr") == hlr_before  # no HLR change
    assert all(a["writes"] == 1 for a in await holdings(simulator, "SH", "aaa"))  # no AAA change
    assert store.terms.plans(SERVICE) == dict.fromkeys(moving, FIELD_STAFF)
    assert store.orders.get_order("PLAN-1").state == OrderState.completed
    assert await member_differences(store, simulator) == []


async def test_members_a_province_rejects_keep_their_old_plan_everywhere(client, settings, simulator, store):
    await (await plan_change(client, settings, store, "PLAN-2A", MEMBERS, OFFICE)).result()
    await inject(simulator, province="GD", system="billing", operation="set_member_plan_batch", kind="reject",
                 msisdns=[GD[0]], code="E3210", text="member plan locked by a promotion")

    result = await (await plan_change(client, settings, store, "PLAN-2B", MEMBERS, FIELD_STAFF)).result()

    assert (result.state, result.counts.done, result.counts.failed) == (OrderState.partial, 5, 1)
    assert results(store, "PLAN-2B")[GD[0]] == ("failed", "E3210")
    assert (await billed(simulator, "GD"))[GD[0]]["plan"] == OFFICE.model_dump()
    assert (await billed(simulator, "GD"))[GD[1]]["plan"] == FIELD_STAFF.model_dump()
    assert store.terms.plans(SERVICE) == {GD[0]: OFFICE, **dict.fromkeys(MEMBERS[1:], FIELD_STAFF)}
    assert await member_differences(store, simulator) == []


async def test_a_province_failing_a_whole_batch_fails_only_its_members(client, settings, simulator, store):
    await inject(simulator, province="BJ", system="crm", operation="member_plan_change_order", kind="reject",
                 code="E3900", text="CRM frozen for the month-end run")

    result = await (await plan_change(client, settings, store, "PLAN-3", MEMBERS, FIELD_STAFF)).result()

    assert (result.state, result.counts.done, result.counts.failed) == (OrderState.partial, 4, 2)
    assert {m: r for m, r in results(store, "PLAN-3").items() if m in BJ} == {m: ("failed", "E5000") for m in BJ}
    assert "CRM frozen for the month-end run" in store.members.member_results("PLAN-3", "failed")[0].detail
    assert all(bill.get("plan") is None for bill in (await billed(simulator, "BJ")).values())
    assert set(store.terms.plans(SERVICE)) == set(GD + SH)
    assert await member_differences(store, simulator) == []


async def test_a_rejected_audit_changes_no_plan(client, settings, simulator, store):
    handle = await plan_change(client, settings, store, "PLAN-4", MEMBERS, FIELD_STAFF, pre_approved_by=None)
    await wait_for_status(handle, lambda s: s.sub_state == AWAITING_AUDIT)

    await handle.execute_update(MemberPlanChange.reject, Decision(by="hq-wang", reason="not in the contract"))
    with pytest.raises(WorkflowFailureError):
        await handle.result()

    assert store.orders.get_order("PLAN-4").state == OrderState.rejected
    calls = (await simulator.get("/admin/calls", params={"operation": "set_member_plan_batch"})).json()
    assert calls == []
    assert store.terms.plans(SERVICE) == {}


async def test_billing_changes_from_the_first_of_next_month_on_request(client, settings, simulator, store):
    await (await plan_change(client, settings, store, "PLAN-5", GD, OFFICE, plan_from="next_month")).result()

    plan_from = (await billed(simulator, "GD"))[GD[0]]["plan_from"]
    assert plan_from.endswith("-01")
    assert store.terms.terms(SERVICE)[GD[0]].plan_from == plan_from


async def test_plan_change_history_carries_no_number_and_replays(client, settings, simulator, store):
    handle = await plan_change(client, settings, store, "PLAN-6", MEMBERS, OFFICE, batches_per_run=1)
    result = await handle.result()

    assert (result.state, result.counts.done) == (OrderState.completed, 6)  # across continue-as-new
    history = await handle.fetch_history()
    assert not any(msisdn in history.to_json() for msisdn in MEMBERS)
    replayer = Replayer(workflows=[MemberPlanChange], data_converter=client.data_converter)
    await replayer.replay_workflow(history)
