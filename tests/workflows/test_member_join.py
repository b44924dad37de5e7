"""Member join and exit against the in-process provinces' simulator and a real dev server."""

import asyncio
import re
import secrets
import threading
import time

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError
from temporalio.worker import Replayer

from activities.batches import BatchMembers
import adapters.passwords
from adapters.hub import HubClient
from adapters.passwords import password_matches
from models.members import MemberLine, MemberOrder
from models.orders import Decision, OrderState, OrderType
from models.service import ServiceRegistration
from submission import start_order
from settings import Settings
from tests.helpers import CUSTOMER, acquired_customer, holdings, inject, reset_faults, wait_for_status
from worker import build_worker
from workflows.member_exit import MemberExit
from workflows.member_join import MemberJoin
from workflows.order_workflow import AWAITING_AUDIT

SERVICE = "SVC-M"
APN = "members.acme.vpdn"
GD = ["13800000001", "13800000002"]
BJ = ["13900000001", "13900000002"]
SH = ["15000000001", "15000000002"]
MEMBERS = GD + BJ + SH


@pytest.fixture(autouse=True)
async def service(store, simulator):
    """An active VPDN with access province SH, and subscribers all over the country."""
    acquired_customer(store)
    store.services.register_service(ServiceRegistration(
        order_no="OPN-M", service_id=SERVICE, customer_code=CUSTOMER, apn=APN, access_province="SH",
        paying_province="SH", provinces=["SH", "GD", "BJ"],
        tariff={"name": "t", "parameters": {"monthly_fee": "1", "member_fee": "1"}}))
    store.services.set_service_state(SERVICE, "active")
    subscribers = [{"msisdn": m, "home_province": p} for p, ms in (("GD", GD), ("BJ", BJ), ("SH", SH)) for m in ms]
    subscribers += [{"msisdn": "18600000009", "home_province": "ZJ", "status": "barred"},
                    {"msisdn": "18600000008", "home_province": "ZJ"}]
    (await simulator.post("/admin/seed", json={"subscribers": subscribers})).raise_for_status()


async def member_order(client, settings, store, order_no: str, msisdns: list[str], kind: str = "join",
                       **fields):
    store.staging.stage(order_no, SERVICE, kind, [MemberLine(msisdn=m) for m in msisdns])
    order = MemberOrder(order_no=order_no, kind=kind, service_id=SERVICE, customer_code=CUSTOMER, apn=APN,
                        access_province="SH", member_count=len(msisdns), requested_by="alice",
                        pre_approved_by=fields.pop("pre_approved_by", "hq-audit"), **fields)
    workflow = MemberJoin if kind == "join" else MemberExit
    return await start_order(client, settings.task_queue, workflow.run, order,
                             order_type=OrderType(f"member_{kind}"), order_no=order_no, customer_code=CUSTOMER,
                             provinces=["SH"])


def results(store, order_no: str) -> dict[str, tuple[str, str | None]]:
    return {r.msisdn: (r.state, r.code) for r in store.members.member_results(order_no)}


async def held_keys(simulator, province: str, system: str) -> set[str]:
    return {resource["key"] for resource in await holdings(simulator, province, system)
            if resource["kind"] in ("vpdn_subscription", "member_billing", "aaa_account")}


async def test_join_of_members_in_three_provinces_opens_each_of_them_everywhere(
    client, settings, simulator, worker, store
):
    result = await (await member_order(client, settings, store, "JOIN-1", MEMBERS)).result()

    assert (result.state, result.counts.done, result.counts.requested) == (OrderState.completed, 6, 6)
    for province, numbers in (("GD", GD), ("BJ", BJ), ("SH", SH)):
        assert await held_keys(simulator, province, "hlr") == set(numbers)
        assert await held_keys(simulator, province, "billing") == set(numbers)
        [opening_order] = await holdings(simulator, province, "crm", "member_opening_order")
        assert sorted(opening_order["data"]["members"]) == sorted(numbers)  # only that province's users
    assert await held_keys(simulator, "SH", "aaa") == set(MEMBERS)
    assert store.members.member_homes(SERVICE) == {**dict.fromkeys(GD, "GD"), **dict.fromkeys(BJ, "BJ"),
                                           **dict.fromkeys(SH, "SH")}
    assert store.orders.get_order("JOIN-1").state == OrderState.completed


async def test_the_temporal_ui_shows_a_join_by_its_service_never_by_its_member_numbers(
    client, settings, simulator, worker, store
):
    handle = await member_order(client, settings, store, "JOIN-UI", MEMBERS)
    await handle.result()

    description = await handle.describe()
    shown = f"{await description.static_summary()}\n{await description.static_details()}"
    assert await description.static_summary() == f"member join · customer {CUSTOMER} · APN {APN} · SH"
    assert "JOIN-UI" in shown and SERVICE in shown
    assert not re.search(r"1\d{10}", shown), shown


async def test_invalid_members_are_reported_with_the_reason_and_the_others_join(
    client, settings, simulator, worker, store
):
    result = await (await member_order(client, settings, store, "JOIN-2",
                                       GD + ["17000000000", "18600000009"])).result()

    assert result.state == OrderState.partial
    assert results(store, "JOIN-2") == {
        GD[0]: ("done", None), GD[1]: ("done", None),
        "17000000000": ("invalid", "E2001"), "18600000009": ("invalid", "E2002"),
    }
    assert "17000000000" not in await held_keys(simulator, "SH", "aaa")


async def test_a_number_already_in_a_vpdn_is_refused_by_verification(client, settings, simulator, worker, store):
    await (await member_order(client, settings, store, "JOIN-FIRST", ["18600000008"])).result()

    result = await (await member_order(client, settings, store, "JOIN-AGAIN", ["18600000008"])).result()

    assert result.state == OrderState.failed
    [member] = store.members.member_results("JOIN-AGAIN")
    assert (member.code, member.detail) == ("E2003", f"already in VPDN {APN}")


async def test_members_rejected_in_their_home_province_are_compensated_alone(
    client, settings, simulator, worker, store
):
    await inject(simulator, province="GD", system="hlr", operation="subscribe_vpdn_batch", kind="reject",
                 msisdns=[GD[0]], code="E3101", text="HLR profile locked")
    await inject(simulator, province="BJ", system="billing", operation="open_members_batch", kind="reject",
                 msisdns=[BJ[1]], code="E3201", text="account in arrears")

    result = await (await member_order(client, settings, store, "JOIN-3", MEMBERS)).result()

    assert (result.state, result.counts.done, result.counts.failed) == (OrderState.partial, 4, 2)
    assert results(store, "JOIN-3")[GD[0]] == ("failed", "E3101")
    assert results(store, "JOIN-3")[BJ[1]] == ("failed", "E3201")
    assert await held_keys(simulator, "GD", "hlr") == {GD[1]}
    assert await held_keys(simulator, "BJ", "hlr") == {BJ[0]}  # BJ[1]'s subscription was removed
    assert await held_keys(simulator, "BJ", "billing") == {BJ[0]}
    assert await held_keys(simulator, "SH", "aaa") == {GD[1], BJ[0], *SH}
    assert set(store.members.member_homes(SERVICE)) == {GD[1], BJ[0], *SH}


async def test_a_batch_whose_every_member_the_hlr_refused_calls_no_system_with_an_empty_list(
    client, settings, simulator, worker, store
):
    await inject(simulator, province="GD", system="hlr", operation="subscribe_vpdn_batch", kind="reject",
                 msisdns=GD, code="E3101", text="HLR profile locked")

    handle = await member_order(client, settings, store, "JOIN-NONE-LEFT", MEMBERS)
    result = await asyncio.wait_for(handle.result(), 60)  # before: held on a refused empty billing batch

    assert (result.state, result.counts.done, result.counts.failed) == (OrderState.partial, 4, 2)
    assert {m: results(store, "JOIN-NONE-LEFT")[m] for m in GD} == {m: ("failed", "E3101") for m in GD}
    assert await held_keys(simulator, "GD", "hlr") == set()
    assert await held_keys(simulator, "SH", "aaa") == set(BJ + SH)
    called = {(c["system"], c["operation"]) for c in (await simulator.get(
        "/admin/calls", params={"province": "GD"})).json()}
    assert ("billing", "open_members_batch") not in called  # no member left: nothing to send


async def test_a_province_failing_a_whole_batch_fails_only_its_members(client, settings, simulator, worker, store):
    await inject(simulator, province="BJ", system="billing", operation="open_members_batch", kind="reject",
                 code="E3900", text="billing closed for the month")

    result = await (await member_order(client, settings, store, "JOIN-4", MEMBERS)).result()

    assert (result.state, result.counts.done, result.counts.failed) == (OrderState.partial, 4, 2)
    assert {m: r for m, r in results(store, "JOIN-4").items() if m in BJ} == {m: ("failed", "E5000") for m in BJ}
    assert "billing closed for the month" in store.members.member_results("JOIN-4", "failed")[0].detail
    assert await held_keys(simulator, "BJ", "hlr") == set()
    assert await held_keys(simulator, "SH", "aaa") == set(GD + SH)


async def sms_passwords_match_aaa_hashes(simulator, msisdns: list[str]) -> dict[str, str]:
    """Each member's one password SMS, checked against the scrypt hash its AAA account holds."""
    accounts = {r["key"]: r["data"]["password_hash"] for r in await holdings(simulator, "SH", "aaa", "aaa_account")}
    passwords = {}
    for msisdn in msisdns:
        [sms] = (await simulator.get("/admin/sms", params={"msisdn": msisdn})).json()
        passwords[msisdn] = re.search(r"password is (\w+)", sms["text"]).group(1)
        assert accounts[msisdn].startswith("scrypt$")
        assert password_matches(passwords[msisdn], accounts[msisdn]), msisdn
    return passwords


async def test_sms_password_matches_the_aaa_scrypt_hash_and_appears_in_no_history(
    client, settings, simulator, worker, store
):
    handle = await member_order(client, settings, store, "JOIN-PW", MEMBERS)
    await handle.result()

    passwords = await sms_passwords_match_aaa_hashes(simulator, MEMBERS)
    history = (await handle.fetch_history()).to_json()
    for msisdn, password in passwords.items():
        assert password not in history
        assert msisdn not in history  # numbers travel through the order store, not the history


async def test_the_password_step_retried_on_another_worker_after_a_secret_rotation_sends_the_password_the_aaa_holds(
    client, settings, simulator, simulator_transport, store, tmp_path, monkeypatch
):
    await inject(simulator, province="HQ", system="sms", operation="send_batch", kind="transient")
    async with build_worker(client, settings, hub=HubClient(settings.hub_url, transport=simulator_transport)):
        handle = await member_order(client, settings, store, "JOIN-2W", SH)
        while await sms_failures(simulator) < 2:  # the AAA has the accounts; the SMS failed, retried
            await asyncio.sleep(0.1)
    assert await held_keys(simulator, "SH", "aaa") == set(SH)
    # The first worker is gone. The secret is rotated: version 2 issues new passwords, version 1 stays.
    rotated = tmp_path / "rotated-secrets"
    rotated.write_bytes(settings.password_secret_file.read_bytes() + f"2 {secrets.token_urlsafe(48)}\n".encode())
    monkeypatch.setenv("VPDN_PASSWORD_SECRET_FILE", str(rotated))
    second = Settings(data_dir=settings.data_dir, task_queue=settings.task_queue, report_delay_s=0.05)
    await reset_faults(simulator)

    async with build_worker(client, second, hub=HubClient(second.hub_url, transport=simulator_transport)):
        result = await handle.result()

    assert (result.state, result.counts.done) == (OrderState.completed, 2)
    await sms_passwords_match_aaa_hashes(simulator, SH)


async def test_an_aaa_step_hashing_longer_than_a_province_call_may_take_is_not_started_over(
    client, settings, simulator, worker, store, monkeypatch
):
    """A loaded machine makes scrypt slow: hashing the batch's passwords takes longer than the
    30 s a province call has. The step goes on as long as it hashes, and is never started
    over (each password hashed once, one AAA call, one SMS per member)."""
    numbers = [f"150000{n:05d}" for n in range(100, 132)]
    (await simulator.post("/admin/seed", json={"subscribers": [
        {"msisdn": m, "home_province": "SH"} for m in numbers]})).raise_for_status()
    scrypt, hashed, lock = adapters.passwords._scrypt, [], threading.Lock()

    def slow_scrypt(password, salt, n, r, p):  # 32 hashes of 1 s: 32 s for the batch
        with lock:
            hashed.append(password)
            slow = len(hashed) <= len(numbers)
        if slow:
            time.sleep(1)
        return scrypt(password, salt, n, r, p)

    monkeypatch.setattr(adapters.passwords, "_scrypt", slow_scrypt)
    handle = await member_order(client, settings, store, "JOIN-SLOW-HASH", numbers)
    result = await handle.result()

    assert (result.state, result.counts.done) == (OrderState.completed, len(numbers))
    assert len(hashed) == len(numbers)  # each password hashed once: the step was not started over
    [call] = (await simulator.get("/admin/calls", params={"key": "JOIN-SLOW-HASH:aaa_create:SH:batch-SH-1"})).json()
    assert call["calls"] == 1
    monkeypatch.setattr(adapters.passwords, "_scrypt", scrypt)
    await sms_passwords_match_aaa_hashes(simulator, numbers)


async def sms_failures(simulator) -> int:
    """How many SMS calls the injected fault failed."""
    return sum(f["hits"] for f in (await simulator.get("/admin/faults")).json() if f["spec"]["system"] == "sms")


async def test_exit_removes_the_members_everywhere(client, settings, simulator, worker, store):
    await (await member_order(client, settings, store, "JOIN-5", MEMBERS)).result()

    result = await (await member_order(client, settings, store, "EXIT-5", [GD[0], BJ[0]], kind="exit")).result()

    assert (result.state, result.counts.done) == (OrderState.completed, 2)
    assert await held_keys(simulator, "GD", "hlr") == {GD[1]}
    assert await held_keys(simulator, "BJ", "billing") == {BJ[1]}
    assert await held_keys(simulator, "SH", "aaa") == set(MEMBERS) - {GD[0], BJ[0]}
    assert set(store.members.member_homes(SERVICE)) == set(MEMBERS) - {GD[0], BJ[0]}
    [closing] = await holdings(simulator, "GD", "crm", "member_closing_order")
    assert closing["data"]["members"] == [GD[0]]


async def test_cancelled_join_waiting_for_its_audit_leaves_nothing(client, settings, simulator, worker, store):
    handle = await member_order(client, settings, store, "JOIN-6", MEMBERS, pre_approved_by=None)
    await wait_for_status(handle, lambda s: s.sub_state == AWAITING_AUDIT)

    await handle.execute_update(MemberJoin.cancel, Decision(by="alice", reason="customer changed their mind"))
    result = await handle.result()

    assert result.state == OrderState.cancelled
    for province in ("GD", "BJ", "SH"):
        assert await held_keys(simulator, province, "hlr") == set()
    assert store.members.member_homes(SERVICE) == {}


async def test_a_long_join_continues_as_new_and_completes(client, settings, simulator, worker, store):
    handle = await member_order(client, settings, store, "JOIN-7", MEMBERS, batches_per_run=1)
    result = await handle.result()

    assert (result.state, result.counts.done) == (OrderState.completed, 6)
    first_run = await client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id).fetch_history()
    assert first_run.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW


async def test_member_join_and_exit_histories_replay_deterministically(client, settings, simulator, worker, store):
    join = await member_order(client, settings, store, "JOIN-8", MEMBERS)
    await join.result()
    leave = await member_order(client, settings, store, "EXIT-8", GD, kind="exit")
    await leave.result()

    replayer = Replayer(workflows=[MemberJoin, MemberExit], data_converter=client.data_converter)
    for handle in (join, leave):
        await replayer.replay_workflow(await handle.fetch_history())


async def test_a_batch_step_retried_after_its_effect_sends_the_same_members_and_joins_them_all(
    client, settings, simulator, worker, store, monkeypatch
):
    """The worker dies right after member billing applied its effect and recorded it, before
    the activity completed: the engine's retry must send the same members with the same key."""
    record, crashed = BatchMembers.record, []

    async def record_then_die(self, step, answers):
        outcome = await record(self, step, answers)
        if step.stage == "billing_open" and step.batch.home_province == "GD" and not crashed:
            crashed.append(step.key)
            raise RuntimeError("worker died before the activity completed")
        return outcome

    monkeypatch.setattr(BatchMembers, "record", record_then_die)
    result = await (await member_order(client, settings, store, "JOIN-RETRIED", MEMBERS)).result()

    assert crashed == ["JOIN-RETRIED:billing_open:GD:batch-GD-1"]
    assert (result.state, result.counts.done, result.counts.failed) == (OrderState.completed, 6, 0)
    assert set(results(store, "JOIN-RETRIED").values()) == {("done", None)}
    [call] = (await simulator.get("/admin/calls", params={"key": crashed[0]})).json()
    assert (call["calls"], call["status_code"]) == (2, 200)
    billing = [r for r in await holdings(simulator, "GD", "billing") if r["kind"] == "member_billing"]
    assert sorted(r["key"] for r in billing) == sorted(GD) and {r["writes"] for r in billing} == {1}
    assert await held_keys(simulator, "GD", "hlr") == set(GD)
    assert await held_keys(simulator, "SH", "aaa") == set(MEMBERS)
    assert store.orders.get_order("JOIN-RETRIED").state == OrderState.completed


async def test_a_join_rejected_at_its_business_audit_sends_nothing_to_any_province(
    client, settings, simulator, worker, store
):
    handle = await member_order(client, settings, store, "JOIN-AUDIT-NO", MEMBERS, pre_approved_by=None)
    await wait_for_status(handle, lambda s: s.sub_state == AWAITING_AUDIT)

    await handle.execute_update(MemberJoin.reject, Decision(by="hq-wang", reason="not in the contract"))
    with pytest.raises(WorkflowFailureError):
        await handle.result()

    assert store.orders.get_order("JOIN-AUDIT-NO").state == OrderState.rejected
    calls = (await simulator.get("/admin/calls")).json()
    assert {call["operation"] for call in calls} == {"verify_members"}
    for province in ("GD", "BJ", "SH"):
        assert await held_keys(simulator, province, "hlr") == set()
        assert await held_keys(simulator, province, "billing") == set()
    assert await held_keys(simulator, "SH", "aaa") == set()
