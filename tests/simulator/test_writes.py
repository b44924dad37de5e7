"""The simulator's lost answers, its write log, and reports sent again for a work order asked
again: what chaos and reconcile need to see a duplicated effect."""

import asyncio

from tests.simulator.test_simulator import call, calls_of, held, inject

SERVICE = {"service_id": "S1"}


async def test_a_lost_answer_comes_after_the_work_and_the_same_key_asked_again_gets_the_answer(client):
    await inject(client, kind="lost_answer", province="BJ", operation="start_rental", count=1)

    lost = await call(client, "BJ/billing/start_rental", "k1", {"rental_id": "R1"})
    again = await call(client, "BJ/billing/start_rental", "k1", {"rental_id": "R1"})

    assert (lost.status_code, lost.json()["code"]) == (504, "E5040")
    assert (again.status_code, again.json()["status"]) == (200, "done")
    [rental] = await held(client, "BJ", "billing", "rental")
    assert rental["writes"] == 1
    [record] = await calls_of(client, key="k1")
    assert record["calls"] == 2
    assert (await client.get("/admin/writes/repeated")).json() == []


async def test_a_step_writing_again_under_a_new_key_and_a_second_password_sms_are_repeated_writes(client):
    members = {"service_id": "S1", "members": [{"msisdn": "13800000001"}, {"msisdn": "13800000002"}]}
    await call(client, "GD/billing/open_members_batch", "J1:billing_open:GD:batch-GD-1", members)
    await call(client, "GD/billing/open_members_batch", "J1:billing_open:GD:batch-GD-1-attempt-2", members)
    sms = {"members": [{"msisdn": "13800000001", "text": "password is a"}]}
    await call(client, "HQ/sms/send_batch", "J1:aaa_create:sms:SH:batch-GD-1", sms)
    await call(client, "HQ/sms/send_batch", "J1:aaa_create:sms:SH:batch-GD-1-attempt-2", sms)
    await call(client, "GD/billing/open_members_batch", "J2:billing_open:GD:batch-GD-1", members)  # another order

    repeated = (await client.get("/admin/writes/repeated")).json()

    assert [(r["province"], r["system"], r["key"], r["step"], r["writes"]) for r in repeated] == [
        ("GD", "billing", "13800000001", "J1:billing_open:GD:batch-GD-1", 2),
        ("GD", "billing", "13800000002", "J1:billing_open:GD:batch-GD-1", 2),
        ("HQ", "sms", "13800000001", "J1:aaa_create:sms:SH:batch-GD-1", 2),
    ]
    assert repeated[0]["keys"] == ["J1:billing_open:GD:batch-GD-1", "J1:billing_open:GD:batch-GD-1-attempt-2"]
    summary = {(s["system"], s["kind"]): s for s in (await client.get("/admin/writes/summary")).json()}
    assert summary["billing", "member_billing"] == {"system": "billing", "kind": "member_billing", "writes": 6,
                                                    "targets": 2, "repeated": 2}
    assert summary["sms", "sms_message"]["repeated"] == 1


async def test_a_work_order_asked_again_after_its_report_went_missing_reports_again(client, app, sink):
    await inject(client, kind="no_report", province="SH", operation="service_work_order", count=1)
    first = await call(client, "SH/crm/service_work_order", "O1:service_work_order:SH", SERVICE, "vpdn-open-O1")
    await asyncio.sleep(0.06)
    await app.state.reporter.send_due()
    assert (first.json()["status"], sink.delivered) == ("accepted", [])

    again = await call(client, "SH/crm/service_work_order", "O1:service_work_order:SH", SERVICE, "vpdn-open-O1")
    await asyncio.sleep(0.06)
    await app.state.reporter.send_due()

    assert again.json() == first.json()
    [report] = sink.delivered
    assert (report.correlation, report.province, report.operation, report.outcome) == (
        "vpdn-open-O1", "SH", "service_work_order", "completed")
    [work_order] = await held(client, "SH", "crm", "service_order")
    assert work_order["writes"] == 1


async def test_a_report_still_lost_is_not_sent_again(client, app, sink):
    await inject(client, kind="no_report", province="SH", operation="service_work_order")
    for _ in range(2):
        await call(client, "SH/crm/service_work_order", "O2:service_work_order:SH", SERVICE, "vpdn-open-O2")
    await asyncio.sleep(0.06)
    await app.state.reporter.send_due()

    assert sink.delivered == []
