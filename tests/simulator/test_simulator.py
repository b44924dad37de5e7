"""The simulated provinces behave like real systems: idempotent by key, faults on demand,
completion reports later, state kept across restarts."""

import asyncio
import re
import socket
import time

import httpx

from settings import Settings
from simulator import create_app
from simulator.reports import ReportRefused
from simulator.server import serve


async def call(client, address, key, payload=None, correlation=None) -> httpx.Response:
    """POST a hub call to `address` ("BJ/billing/start_rental")."""
    body = {"idempotency_key": key, "payload": payload or {}}
    if correlation:
        body["correlation"] = correlation
    return await client.post(f"/v1/provinces/{address}", json=body)


async def held(client, province, system, kind=None, key=None) -> list[dict]:
    params = {name: value for name, value in (("kind", kind), ("key", key)) if value}
    response = await client.get(f"/admin/provinces/{province}/{system}/resources", params=params)
    response.raise_for_status()
    return response.json()


async def calls_of(client, **params) -> list[dict]:
    response = await client.get("/admin/calls", params=params)
    response.raise_for_status()
    return response.json()


async def inject(client, **fault) -> int:
    response = await client.post("/admin/faults", json=fault)
    response.raise_for_status()
    return response.json()["id"]


def numbers(count, first=1) -> list[str]:
    """`count` consecutive 11-digit mobile numbers."""
    return [f"138{n:08d}" for n in range(first, first + count)]


def ok(msisdn) -> dict:
    return {"msisdn": msisdn, "ok": True, "code": None, "text": None}


async def eventually(condition, timeout_s=3.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_repeated_key_returns_the_first_answer_changes_nothing_and_counts_calls(client):
    first = await call(client, "BJ/billing/start_rental", "k1", {"rental_id": "R1", "fee": 100})
    repeats = [
        await call(client, "BJ/billing/start_rental", "k1", {"rental_id": "R1", "fee": 999})
        for _ in range(2)
    ]

    assert first.status_code == 200
    assert first.json() == {"status": "done", "data": {"kind": "rental", "key": "R1"}}
    assert all(r.status_code == 200 and r.json() == first.json() for r in repeats)
    [rental] = await held(client, "BJ", "billing", "rental")
    assert rental["writes"] == 1 and rental["data"]["fee"] == 100
    [record] = await calls_of(client, key="k1")
    assert record["calls"] == 3 and record["status_code"] == 200


async def test_a_repeated_key_gets_its_first_answer_before_the_request_is_checked(client):
    members = [{"msisdn": m} for m in numbers(2)]
    first = await call(client, "GD/billing/open_members_batch", "kb", {"service_id": "S", "members": members})
    again = await call(client, "GD/billing/open_members_batch", "kb", {"service_id": "S", "members": []})
    work_order = await call(client, "GD/crm/service_work_order", "kw", {"service_id": "S"}, correlation="ref-1")
    work_order_again = await call(client, "GD/crm/service_work_order", "kw", {})

    assert first.status_code == 200
    assert (again.status_code, again.json()) == (200, first.json())
    assert (work_order_again.status_code, work_order_again.json()) == (200, work_order.json())
    assert {r["writes"] for r in await held(client, "GD", "billing", "member_billing")} == {1}
    [record] = await calls_of(client, key="kb")
    assert record["calls"] == 2


async def test_same_key_for_another_operation_or_province_is_independent(client):
    await call(client, "BJ/billing/start_rental", "k", {"rental_id": "R1"})
    await call(client, "SH/billing/start_rental", "k", {"rental_id": "R1"})
    await call(client, "BJ/hlr/subscribe_vpdn", "k", {"msisdn": "13800000001"})

    for province, system in [("BJ", "billing"), ("SH", "billing"), ("BJ", "hlr")]:
        [resource] = await held(client, province, system)
        assert resource["writes"] == 1
    records = await calls_of(client, key="k")
    assert len(records) == 3 and all(r["calls"] == 1 for r in records)


async def test_transient_fault_fails_the_next_two_calls_then_the_effect_applies_once(client):
    await inject(client, kind="transient", system="billing", count=2, code="E503")

    answers = [
        await call(client, "GD/billing/start_rental", "k", {"rental_id": "R1"}) for _ in range(4)
    ]

    assert [a.status_code for a in answers] == [503, 503, 200, 200]
    assert answers[0].json() == {"code": "E503", "text": "injected fault"}
    [rental] = await held(client, "GD", "billing")
    assert rental["writes"] == 1
    [record] = await calls_of(client, province="GD")
    assert record["calls"] == 4
    assert (await client.get("/admin/faults")).json() == []  # used up


async def test_rate_fault_of_one_fails_every_call_until_reset(client):
    await inject(client, kind="transient", rate=1.0)

    for attempt in range(3):
        answer = await call(client, "SC/hlr/subscribe_vpdn", "k", {"msisdn": "13900000001"})
        assert answer.status_code == 503
    assert await held(client, "SC", "hlr") == []

    await client.post("/admin/reset")
    answer = await call(client, "SC/hlr/subscribe_vpdn", "k", {"msisdn": "13900000001"})
    assert answer.status_code == 200


async def test_rejection_fault_is_the_first_answer_and_stands_after_reset(client):
    await inject(client, kind="reject", province="ZJ", operation="start_rental", code="E2101",
                 text="rental start refused: no billing account")

    rejected = await call(client, "ZJ/billing/start_rental", "k", {"rental_id": "R1"})
    await client.post("/admin/reset")
    repeated = await call(client, "ZJ/billing/start_rental", "k", {"rental_id": "R1"})

    assert rejected.status_code == 422
    assert rejected.json() == {"code": "E2101", "text": "rental start refused: no billing account"}
    assert repeated.status_code == 422 and repeated.json() == rejected.json()
    assert await held(client, "ZJ", "billing") == []


async def test_latency_fault_delays_the_answer(client):
    await inject(client, kind="latency", latency_ms=200)

    started = time.monotonic()
    answer = await call(client, "HB/aaa/remove_account", "k", {"msisdn": "13700000001"})

    assert answer.status_code == 200
    assert time.monotonic() - started >= 0.19


async def test_async_work_order_is_accepted_then_its_completion_report_is_sent(client, app, sink):
    payload = {"service_id": "S1", "tariffs": {"monthly_fee": 50}}
    accepted = await call(client, "JS/crm/configure_group_tariff", "k", payload, "ref-1")
    await call(client, "JS/crm/configure_group_tariff", "k", payload, "ref-1")

    assert accepted.json() == {
        "status": "accepted",
        "data": {"kind": "group_tariff_package", "key": "S1"},
    }
    assert await app.state.reporter.send_due() == 0  # not due yet
    await asyncio.sleep(0.06)
    assert await app.state.reporter.send_due() == 1  # one report, though the key came twice
    [report] = sink.delivered
    assert (report.correlation, report.province, report.system, report.operation) == (
        "ref-1", "JS", "crm", "configure_group_tariff"
    )
    assert report.outcome == "completed" and report.report_id
    assert (await client.get("/admin/reports", params={"pending": True})).json() == []


async def test_no_report_fault_accepts_the_work_order_and_never_reports(client, app, sink):
    await inject(client, kind="no_report", operation="schedule_line")

    accepted = await call(client, "HN/line/schedule_line", "k", {"service_id": "S1"}, "ref-1")
    await asyncio.sleep(0.06)
    await app.state.reporter.send_due()

    assert accepted.json()["status"] == "accepted"
    assert sink.delivered == []
    assert (await client.get("/admin/reports")).json() == []
    assert len(await held(client, "HN", "line", "line_order")) == 1


async def test_async_work_order_without_correlation_is_refused(client):
    answer = await call(client, "JS/crm/service_work_order", "k", {"service_id": "S1"})

    assert answer.status_code == 422
    assert answer.json()["code"] == "E4000" and "correlation is required" in answer.json()["text"]
    assert await held(client, "JS", "crm") == []


async def test_aaa_refuses_a_plaintext_password_and_stores_the_hash(client):
    refused = await call(client, "BJ/aaa/create_account", "k1",
                         {"msisdn": "13800000001", "password": "123456"})
    created = await call(client, "BJ/aaa/create_account", "k2",
                         {"msisdn": "13800000001", "password_hash": "sha256:ab12"})

    assert refused.status_code == 422 and refused.json()["code"] == "E4001"
    assert created.status_code == 200
    [account] = await held(client, "BJ", "aaa", "aaa_account")
    assert account["data"] == {"msisdn": "13800000001", "password_hash": "sha256:ab12"}


async def test_unknown_province_system_or_operation_is_404_naming_the_valid_ones(client):
    customer = {"customer_code": "1"}
    unknown_province = await call(client, "XX/crm/query_group_customer", "k", customer)
    unknown_system = await call(client, "BJ/oss/anything", "k")
    unknown_operation = await call(client, "BJ/hlr/open_everything", "k")
    rental = {"rental_id": "R"}
    settlement_in_province = await call(client, "BJ/settlement/record_rental", "k", rental)
    crm_at_hq = await call(client, "HQ/crm/query_group_customer", "k", customer)
    settlement_at_hq = await call(client, "HQ/settlement/record_rental", "k", rental)

    for answer in (unknown_province, unknown_system, unknown_operation,
                   settlement_in_province, crm_at_hq):
        assert answer.status_code == 404 and answer.json()["code"] == "E4040"
    assert "BJ" in unknown_province.json()["text"] and "HQ" in unknown_province.json()["text"]
    assert "crm" in unknown_system.json()["text"]
    assert "subscribe_vpdn" in unknown_operation.json()["text"]
    assert "HQ only" in settlement_in_province.json()["text"]
    assert settlement_at_hq.status_code == 200


async def test_seeded_customer_is_found_in_its_province_and_not_in_another(client):
    seeded = await client.post("/admin/seed", json={
        "customers": [{"province": "GD", "customer_code": "2000000001", "name": "Huaxin Bank",
                       "credit_code": "91440300MA5ABCDE1X", "level": "group"}],
        "subscribers": [{"msisdn": "13800000001", "home_province": "GD"}],
    })

    customer = {"customer_code": "2000000001"}
    found = await call(client, "GD/crm/query_group_customer", "k", customer)
    elsewhere = await call(client, "SH/crm/query_group_customer", "k", customer)
    subscriber = await call(client, "SH/crm/lookup_subscriber", "k", {"msisdn": "13800000001"})

    assert seeded.json() == {"customers": 1, "subscribers": 1}
    assert found.json()["data"] == {"found": True, "record": {
        "province": "GD", "customer_code": "2000000001", "name": "Huaxin Bank",
        "credit_code": "91440300MA5ABCDE1X", "level": "group"}}
    assert elsewhere.json()["data"] == {"found": False, "record": None}
    assert subscriber.json()["data"] == {
        "found": True, "msisdn": "13800000001", "home_province": "GD", "status": "active"}


async def test_fault_naming_an_unknown_target_is_refused(client):
    answer = await client.post("/admin/faults", json={"kind": "transient", "province": "ZZ",
                                                      "operation": "open_sesame"})

    assert answer.status_code == 422
    assert "'ZZ'" in answer.json()["text"] and "'open_sesame'" in answer.json()["text"]
    assert (await client.get("/admin/faults")).json() == []


async def test_malformed_hub_request_is_refused_with_code_and_text(client):
    answer = await client.post("/v1/provinces/BJ/billing/start_rental", json={"payload": {}})
    missing_key_field = await call(client, "BJ/billing/start_rental", "k", {"fee": 1})

    assert answer.status_code == 422 and answer.json()["code"] == "E4000"
    assert "idempotency_key" in answer.json()["text"]
    assert missing_key_field.status_code == 422 and "rental_id" in missing_key_field.json()["text"]


async def test_seed_with_an_unknown_province_is_refused(client):
    answer = await client.post("/admin/seed", json={
        "subscribers": [{"msisdn": "13800000001", "home_province": "ZZ"}]})

    assert answer.status_code == 422 and "ZZ" in answer.json()["text"]


async def test_state_and_pending_reports_survive_a_restart(settings, sink):
    before = create_app(settings, report_sink=sink)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=before),
                                 base_url="http://simulator") as client:
        first = await call(client, "SN/crm/service_work_order", "k", {"service_id": "S1"}, "ref-1")
    before.state.engine.dispose()

    after = create_app(settings, report_sink=sink)
    async with after.router.lifespan_context(after):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=after),
                                     base_url="http://simulator") as client:
            [order] = await held(client, "SN", "crm", "service_order")
            replay = await call(client, "SN/crm/service_work_order", "k", {"service_id": "S1"},
                                "ref-1")
            await eventually(lambda: sink.delivered)

    assert order["writes"] == 1
    assert replay.json() == first.json()
    [report] = sink.delivered
    assert report.correlation == "ref-1"


async def test_generated_seed_is_deterministic_for_the_same_seed_number(client):
    request = {"customers": 5, "subscribers": 200, "seed": 7}
    first = (await client.post("/admin/seed/generate", json=request)).json()
    again = (await client.post("/admin/seed/generate", json=request)).json()
    other = (await client.post("/admin/seed/generate", json={**request, "seed": 8})).json()

    assert first == again and first != other
    codes = {record["customer_code"] for record in first["customers"]}
    assert len(codes) == 5 and all(re.fullmatch(r"\d{10}", code) for code in codes)
    for code in codes:
        records = [r for r in first["customers"] if r["customer_code"] == code]
        assert [r["level"] for r in records].count("group") == 1
        assert 3 <= len(records) <= 7 and len({r["credit_code"] for r in records}) == 1
        assert len({r["province"] for r in records}) == len(records)
    msisdns = [s["msisdn"] for s in first["subscribers"]]
    assert len(set(msisdns)) == 200 and all(re.fullmatch(r"1[358]\d{9}", m) for m in msisdns)
    assert any(s["status"] != "active" for s in first["subscribers"])
    assert len({s["home_province"] for s in first["subscribers"]}) > 20


async def test_a_report_gpms_refuses_is_dropped_and_other_failures_are_retried(settings):
    failures = {
        "ref-refused": ReportRefused("HTTP 404 no work order was sent with correlation reference ref-refused"),
        "ref-busy": ConnectionError("GPMS unreachable"),
    }
    delivered = []

    async def flaky_sink(report):
        if failure := failures.pop(report.correlation, None):
            raise failure
        delivered.append(report.correlation)

    app = create_app(settings, report_sink=flaky_sink)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://simulator") as client:
        for correlation in ("ref-refused", "ref-busy"):
            await call(client, "FJ/crm/service_work_order", correlation, {"service_id": "S1"},
                       correlation)
        await asyncio.sleep(0.06)
        assert await app.state.reporter.send_due() == 0
        await asyncio.sleep(0.11)  # the retry waits twice the report delay
        assert await app.state.reporter.send_due() == 1
        reports = (await client.get("/admin/reports")).json()
    app.state.engine.dispose()

    assert delivered == ["ref-busy"]
    assert all(r["sent"] for r in reports)
    refused = next(r for r in reports if r["report"]["correlation"] == "ref-refused")
    assert refused["attempts"] == 1 and "refused: HTTP 404 no work order" in refused["last_error"]


async def test_serve_answers_over_http_and_stops_on_cancellation(tmp_path, sink):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serving = asyncio.create_task(serve(Settings(data_dir=tmp_path, simulator_port=port),
                                        report_sink=sink))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        async def healthy() -> bool:
            try:
                return (await client.get("/health")).status_code == 200
            except httpx.TransportError:
                return False

        while not await healthy():
            assert not serving.done()
            await asyncio.sleep(0.02)

    serving.cancel()
    await asyncio.wait([serving], timeout=5)
    assert serving.cancelled()


async def test_concurrent_calls_with_one_key_apply_the_effect_once(client):
    answers = await asyncio.gather(*(
        call(client, "YN/hlr/subscribe_vpdn", "k", {"msisdn": "13800000001"}) for _ in range(20)
    ))

    assert {a.status_code for a in answers} == {200}
    [subscription] = await held(client, "YN", "hlr")
    assert subscription["writes"] == 1
    [record] = await calls_of(client, key="k")
    assert record["calls"] == 20


async def test_batch_upsert_applies_to_each_member_and_a_repeated_key_replays_it(client):
    m1, m2 = numbers(2)
    payload = {"service_id": "S1", "apn": "corp.vpdn",
               "members": [{"msisdn": m1}, {"msisdn": m2, "ip": "10.0.0.2"}]}
    first = await call(client, "BJ/hlr/subscribe_vpdn_batch", "k", payload)
    repeat = await call(client, "BJ/hlr/subscribe_vpdn_batch", "k",
                        {**payload, "service_id": "S2"})

    assert first.json() == {"status": "done", "data": {
        "kind": "vpdn_subscription", "results": [ok(m1), ok(m2)]}}
    assert repeat.json() == first.json()
    subscriptions = await held(client, "BJ", "hlr", "vpdn_subscription")
    assert [(s["key"], s["writes"]) for s in subscriptions] == [(m1, 1), (m2, 1)]
    [second] = await held(client, "BJ", "hlr", key=m2)
    assert second["data"] == {"service_id": "S1", "apn": "corp.vpdn", "msisdn": m2,
                              "ip": "10.0.0.2"}


async def test_member_targeted_reject_fault_rejects_only_its_members(client):
    m1, m2, m3, m4 = numbers(4)
    await inject(client, kind="reject", operation="open_members_batch", msisdns=[m2], count=1,
                 code="E3102", text="number in arrears")

    untouched = await call(client, "GD/billing/open_members_batch", "k1",
                           {"members": [{"msisdn": m4}]})
    fault_after_untouched = (await client.get("/admin/faults")).json()
    answer = await call(client, "GD/billing/open_members_batch", "k2", {
        "start_date": "2026-01-01", "members": [{"msisdn": m} for m in (m1, m2, m3)]})

    assert untouched.json()["data"]["results"] == [ok(m4)]
    assert [fault["remaining"] for fault in fault_after_untouched] == [1]
    assert answer.status_code == 200
    assert answer.json()["data"]["results"] == [
        ok(m1), {"msisdn": m2, "ok": False, "code": "E3102", "text": "number in arrears"}, ok(m3)]
    billed = await held(client, "GD", "billing", "member_billing")
    assert {b["key"] for b in billed} == {m1, m3, m4}
    assert (await client.get("/admin/faults")).json() == []  # used up by the one rejection


async def test_member_targeted_reject_fault_spares_single_member_operations(client):
    [msisdn] = numbers(1)
    await inject(client, kind="reject", msisdns=[msisdn])

    answer = await call(client, "BJ/hlr/subscribe_vpdn", "k", {"msisdn": msisdn})

    assert answer.status_code == 200


async def test_only_a_reject_fault_can_name_members(client):
    answer = await client.post("/admin/faults", json={"kind": "transient",
                                                      "msisdns": numbers(1)})

    assert answer.status_code == 422 and "reject" in answer.json()["text"]


async def test_whole_call_reject_fault_still_rejects_a_batch_with_422(client):
    await inject(client, kind="reject", operation="create_accounts_batch", code="E2201")

    answer = await call(client, "SH/aaa/create_accounts_batch", "k",
                        {"members": [{"msisdn": m, "password_hash": "sha256:ab"}
                                     for m in numbers(2)]})

    assert answer.status_code == 422 and answer.json()["code"] == "E2201"
    assert await held(client, "SH", "aaa") == []


async def test_verify_members_reports_found_home_province_status_and_existing_vpdn(client):
    at_home, suspended, unknown = numbers(3)
    await client.post("/admin/seed", json={"subscribers": [
        {"msisdn": at_home, "home_province": "GD"},
        {"msisdn": suspended, "home_province": "SH", "status": "suspended"}]})
    vpdn = {"service_id": "S1", "apn": "corp.vpdn"}
    await call(client, "GD/hlr/subscribe_vpdn_batch", "k1", {**vpdn, "members": [
        {"msisdn": at_home}]})
    await call(client, "BJ/hlr/subscribe_vpdn_batch", "k2", {**vpdn, "members": [
        {"msisdn": suspended}]})  # not its home HLR

    answer = await call(client, "HQ/hub/verify_members", "k",
                        {"members": [{"msisdn": m} for m in (at_home, suspended, unknown)]})

    assert answer.json() == {"status": "done", "data": {"results": [
        {**ok(at_home), "found": True, "home_province": "GD", "status": "active",
         "vpdn": {**vpdn, "msisdn": at_home}},
        {**ok(suspended), "found": True, "home_province": "SH", "status": "suspended",
         "vpdn": None},
        {"msisdn": unknown, "ok": False, "code": "E3001", "text": "no such number",
         "found": False, "home_province": None, "status": None, "vpdn": None},
    ]}}


async def test_batch_remove_is_ok_for_members_not_held(client):
    held_one, absent = numbers(2)
    await call(client, "HB/aaa/create_accounts_batch", "k1",
               {"members": [{"msisdn": held_one, "password_hash": "sha256:ab"}]})

    answer = await call(client, "HB/aaa/remove_accounts_batch", "k2",
                        {"members": [{"msisdn": held_one}, {"msisdn": absent}]})

    assert answer.json()["data"] == {"kind": "aaa_account", "results": [
        {**ok(held_one), "removed": True}, {**ok(absent), "removed": False}]}
    assert await held(client, "HB", "aaa") == []


async def test_plaintext_password_in_a_batch_is_refused_with_e4001(client):
    m1, m2 = numbers(2)
    answer = await call(client, "BJ/aaa/create_accounts_batch", "k", {"members": [
        {"msisdn": m1, "password_hash": "sha256:ab"}, {"msisdn": m2, "password": "123456"}]})

    assert answer.status_code == 422 and answer.json()["code"] == "E4001"
    assert await held(client, "BJ", "aaa") == []


async def test_batch_without_members_is_refused_with_e4000(client):
    missing = await call(client, "BJ/hlr/subscribe_vpdn_batch", "k1", {"service_id": "S1"})
    no_msisdn = await call(client, "BJ/hlr/subscribe_vpdn_batch", "k2", {"members": [{}]})

    for answer in (missing, no_msisdn):
        assert answer.status_code == 422 and answer.json()["code"] == "E4000"
        assert "members" in answer.json()["text"]


async def test_sms_batch_sends_each_member_a_message_listed_in_the_outbox(client):
    m1, m2 = numbers(2)
    await call(client, "HQ/sms/send_batch", "k", {"text": "VPDN opened",
                                                  "members": [{"msisdn": m1}, {"msisdn": m2}]})

    to_m1 = (await client.get("/admin/sms", params={"msisdn": m1})).json()
    outbox = (await client.get("/admin/sms")).json()

    assert to_m1 == [{"msisdn": m1, "text": "VPDN opened", "key": f"k:{m1}"}]
    assert [sms["msisdn"] for sms in outbox] == [m1, m2]


async def test_member_work_orders_are_accepted_then_report_completion(client, app, sink):
    orders = ["member_opening_order", "member_closing_order", "access_opening_order",
              "access_closing_order"]
    members = numbers(2)
    answers = [
        await call(client, f"SC/crm/{order}", f"k-{order}",
                   {"batch_id": "B1", "members": members}, f"ref-{order}")
        for order in orders
    ]
    await asyncio.sleep(0.06)

    assert [a.json() for a in answers] == [
        {"status": "accepted", "data": {"kind": order, "key": "B1"}} for order in orders]
    assert await app.state.reporter.send_due() == len(orders)
    assert [(report.operation, report.correlation) for report in sink.delivered] == [
        (order, f"ref-{order}") for order in orders]
    assert all(report.outcome == "completed" for report in sink.delivered)
    [opening] = await held(client, "SC", "crm", "member_opening_order")
    assert opening["data"] == {"batch_id": "B1", "members": members}


async def test_a_thousand_member_batch_applies_a_thousand_effects(client):
    members = numbers(1000)
    payload = {"service_id": "S1", "members": [{"msisdn": m} for m in members]}

    created = await call(client, "JS/hlr/subscribe_vpdn_batch", "k1", payload)
    updated = await call(client, "JS/hlr/subscribe_vpdn_batch", "k2", payload)

    for answer in (created, updated):
        assert [r["msisdn"] for r in answer.json()["data"]["results"] if r["ok"]] == members
    subscriptions = await held(client, "JS", "hlr", "vpdn_subscription")
    assert len(subscriptions) == 1000 and {s["writes"] for s in subscriptions} == {2}
