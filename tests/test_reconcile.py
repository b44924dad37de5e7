"""`vpdn reconcile`: GPMS's records against what the simulated provinces hold."""

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from activities.aaa import PASSWORD_TEXT
from adapters.passwords import password_hash
from benchmarks.harness import free_port
from cli import app
from embedded import local_principals
from models.members import MemberLine, MemberOrder
from models.orders import OrderType
from models.service import ServiceRegistration
from reconcile import Reconciler
from settings import Settings
from submission import start_order
from tests.conftest import PAYLOAD_KEYS
from store.tables import Member
from tests.helpers import CUSTOMER, acquired_customer, migrated, opened_service
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


async def test_reconcile_finds_holdings_of_a_service_gpms_does_not_know_effects_done_twice_and_wrong_passwords(
    simulator, store
):
    ghost, member = "SVC-GHOST", "13800000021"
    await simulator.post("/v1/provinces/SH/billing/start_rental", json={
        "idempotency_key": "GHOST:start_rental:SH", "payload": {"rental_id": "R-GHOST", "service_id": ghost}})
    for key in ("GHOST:billing_open:GD:batch-GD-1", "GHOST:billing_open:GD:batch-GD-1-attempt-2"):
        await simulator.post("/v1/provinces/GD/billing/open_members_batch", json={
            "idempotency_key": key, "payload": {"service_id": ghost, "members": [{"msisdn": member}]}})
    await simulator.post("/v1/provinces/SH/aaa/create_accounts_batch", json={
        "idempotency_key": "GHOST:aaa_create:SH:batch-GD-1", "payload": {"service_id": ghost, "apn": "ghost.vpdn",
        "members": [{"msisdn": member, "password_hash": password_hash("Right1234567")}]}})
    await simulator.post("/v1/provinces/HQ/sms/send_batch", json={
        "idempotency_key": "GHOST:aaa_create:sms:SH:batch-GD-1", "payload": {"members": [
            {"msisdn": member, "text": PASSWORD_TEXT.format(apn="ghost.vpdn", password="Wrong7654321")}]}})

    found = {str(d) for d in await Reconciler(store, simulator).differences()}

    assert found == {
        f"{ghost}: SH billing rental R-GHOST: unexpected: the service is unknown to GPMS",
        f"{ghost}: GD billing member_billing {member}: unexpected: the service is unknown to GPMS",
        f"{ghost}: SH aaa aaa_account {member}: unexpected: the service is unknown to GPMS",
        f"order GHOST: GD billing member_billing {member}: written 2 times by step "
        "GHOST:billing_open:GD:batch-GD-1 (simulator-only check)",
        f"{ghost}: SH aaa aaa_account {member}: password hash does not match the password sent by SMS "
        "(simulator-only check)",
    }
    assert await Reconciler(store, simulator, simulator_checks=False).differences() != []


async def test_reconcile_finds_an_order_temporal_knows_that_the_order_store_never_recorded(
    client, settings, simulator, store, monkeypatch
):
    monkeypatch.setattr("reconcile.RECORDING_GRACE", timedelta(0))
    order = MemberOrder(order_no="REC-NEVER", kind="join", service_id="SVC-X", customer_code="3100012345",
                        apn="x.vpdn", access_province="SH", member_count=1, requested_by="alice")
    handle = await start_order(client, settings.task_queue, MemberJoin.run, order, order_type=OrderType.member_join,
                               order_no="REC-NEVER", customer_code="3100012345", provinces=["SH"])  # no worker runs it
    try:
        found: list = []
        for _ in range(50):  # Temporal's visibility is eventually consistent
            if found := await Reconciler(store, simulator, client, settings.task_queue).differences():
                break
            await asyncio.sleep(0.2)
    finally:
        await handle.terminate("test over")

    assert [str(d) for d in found] == [
        "order REC-NEVER: GPMS order store order vpdn-join-REC-NEVER: never recorded (its workflow is running)"]


def test_reconcile_says_in_one_line_when_temporal_cannot_be_reached(tmp_path, monkeypatch, cli_api_server):
    for name, value in (("TEMPORAL_ADDRESS", f"127.0.0.1:{free_port()}"), ("VPDN_DATA_DIR", str(tmp_path)),
                        ("VPDN_PAYLOAD_KEYS_FILE", str(PAYLOAD_KEYS)), ("VPDN_API_URL", cli_api_server)):
        monkeypatch.setenv(name, value)
    migrated(f"sqlite:///{tmp_path / 'gpms.db'}")
    local_principals(Settings())  # carol, an operator, reconciles

    result = CliRunner().invoke(app, ["--as", "carol", "reconcile"])

    assert result.exit_code == 1
    assert result.output.startswith("error: cannot reach Temporal at 127.0.0.1:")
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


async def test_the_comparison_walks_both_sides_a_page_at_a_time_and_finds_what_one_page_finds(simulator, store):
    service, gd, bj = "SVC-PAGES", [f"1380000{n:04d}" for n in range(12)], [f"1390000{n:04d}" for n in range(8)]
    store.services.register_service(ServiceRegistration(
        order_no="OPN-P", service_id=service, customer_code=CUSTOMER, apn="pages.vpdn", access_province="SH",
        paying_province="SH", provinces=["SH", "GD", "BJ"],
        tariff={"name": "t", "parameters": {"monthly_fee": "1", "member_fee": "1"}}))
    store.services.set_service_state(service, "active")
    with Session(store.engine) as session:
        session.add_all(Member(service_id=service, msisdn=m, home_province=p, state="active")
                        for p, numbers in (("GD", gd), ("BJ", bj)) for m in numbers)
        session.commit()

    async def call(province: str, system: str, operation: str, payload: dict, key: str = "") -> None:
        (await simulator.post(f"/v1/provinces/{province}/{system}/{operation}", json={
            "idempotency_key": key or f"{province}-{operation}", "correlation": key or f"{province}-{operation}",
            "payload": {"service_id": service, **payload}})).raise_for_status()

    for province, numbers in (("GD", gd), ("BJ", bj)):
        await call(province, "hlr", "subscribe_vpdn_batch", {"apn": "a", "members": [{"msisdn": m} for m in numbers]})
        await call(province, "billing", "open_members_batch", {"members": [{"msisdn": m} for m in numbers]})
    await call("SH", "aaa", "create_accounts_batch", {"apn": "a", "members": [
        {"msisdn": m, "password_hash": "x"} for m in gd + bj[1:]]})  # bj[0]: no account
    for province, version in (("SH", 1), ("GD", 2)):  # GD: a stale version; BJ: none
        await call(province, "crm", "configure_group_tariff", {"version": version})
    await call("SH", "crm", "service_work_order", {})
    await call("GD", "hlr", "unsubscribe_vpdn_batch", {"members": [{"msisdn": gd[5]}]}, "lost")
    await call("ZJ", "hlr", "subscribe_vpdn_batch", {"apn": "a", "members": [{"msisdn": "18600000001"}]})
    await call("GD", "billing", "set_member_plan_batch", {"members": [
        {"msisdn": gd[7], "plan": {"name": "gold", "tariff_version": 1, "parameters": {}}}]})
    (await simulator.post("/v1/provinces/GD/billing/open_members_batch", json={"idempotency_key": "ghost", "payload": {
        "service_id": "SVC-GHOST", "members": [{"msisdn": "13700000001"}]}})).raise_for_status()

    async def found(page_size: int) -> tuple[list[str], int]:
        reconciler = Reconciler(store, simulator, simulator_checks=False, page_size=page_size)
        return [str(d) for d in await reconciler.differences()], reconciler.pages_read

    (paged, pages), (one_page, whole) = await found(3), await found(5000)  # 5000: each side at once

    assert paged == one_page
    assert set(paged) == {
        f"{service}: GD crm group_tariff_package {service}: stale version 2 (GPMS has 1)",
        f"{service}: BJ crm group_tariff_package {service}: missing",
        f"{service}: GD hlr vpdn_subscription {gd[5]}: missing",
        f"{service}: ZJ hlr vpdn_subscription 18600000001: unexpected",
        f"{service}: GD billing member_billing {gd[7]}: plan gold (v1) (GPMS has standard)",
        f"{service}: SH aaa aaa_account {bj[0]}: missing",
        "SVC-GHOST: GD billing member_billing 13700000001: unexpected: the service is unknown to GPMS",
    }
    assert pages >= whole + 15  # GD's 11 subscriptions and 13 billings, SH's 19 accounts…: several pages each
