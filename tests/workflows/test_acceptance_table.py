"""The VPDN acceptance basic information table (VPDN业务受理基础信息表): compiled and kept with
an opening or a member order when it ends, written as XLSX and CSV that a reader opens."""

import csv

from openpyxl import load_workbook

from acceptance_sheet import write_table
from models.members import ItemState
from tests.helpers import acquired_customer, contract, opened_service
from tests.workflows.test_member_plan_change import (  # noqa: F401 - the fixture with six joined members
    BJ,
    FIELD_STAFF,
    GD,
    MEMBERS,
    SERVICE,
    inject,
    plan_change,
    service,
)


async def test_an_opening_keeps_its_table_with_contract_and_each_provinces_completion(
    client, settings, simulator, store
):
    opening = await opened_service(client, settings, "TBL-OPEN-1", contract=contract("TBL-CT-1"))

    table = store.acceptance.order_table("TBL-OPEN-1")

    assert {k: table.service[k] for k in ("order_no", "order_state", "contract_number", "apn", "access_province",
                                          "related_provinces", "tariff_version", "paying_province")} == {
        "order_no": "TBL-OPEN-1", "order_state": "completed", "contract_number": "TBL-CT-1", "apn": opening.apn,
        "access_province": "SH", "related_provinces": "SH GD BJ", "tariff_version": "1", "paying_province": "SH"}
    assert table.service["rental_start"] == store.services.get_service(opening.service_id).rental_start != ""
    assert table.service["line"] == "100 Mbit/s, 88 Century Avenue, Pudong, Shanghai"
    assert [(p.province, p.role, p.first_report is not None) for p in table.provinces] == [
        ("BJ", "related", True), ("GD", "related", True), ("SH", "access related", True)]


async def test_a_partial_plan_change_keeps_its_table_and_it_opens_as_xlsx_and_csv(
    client, settings, simulator, store, tmp_path
):
    await inject(simulator, province="BJ", system="crm", operation="member_plan_change_order", kind="reject",
                 code="E3900", text="CRM frozen")
    await (await plan_change(client, settings, store, "TBL-PLAN-2", MEMBERS, FIELD_STAFF)).result()
    table = store.acceptance.order_table("TBL-PLAN-2")

    write_table(table, tmp_path / "table.xlsx", "zh")
    write_table(table, tmp_path / "table.csv", "en")

    workbook = load_workbook(tmp_path / "table.xlsx")
    assert workbook.sheetnames == ["业务信息", "成员", "省份"]
    service_cells = {row[0]: row[1] for row in workbook["业务信息"].iter_rows(min_row=2, values_only=True)}
    assert (service_cells["订单编号"], service_cells["订单状态"], service_cells["业务编号"]) == (
        "TBL-PLAN-2", "partial", SERVICE)
    members = list(workbook["成员"].iter_rows(values_only=True))
    assert members[0] == ("号码", "姓名", "归属省", "成员套餐", "状态", "开通日期", "起租日期", "报竣日期", "备注")
    by_number = {row[0]: row for row in members[1:]}
    assert set(by_number) == set(MEMBERS)
    plan_from = store.terms.terms(SERVICE)[GD[0]].plan_from
    moved = by_number[GD[0]]
    assert (moved[2], moved[3], moved[4]) == ("GD", f"{FIELD_STAFF} from {plan_from}", ItemState.done)
    assert moved[5] and moved[6] and moved[7]  # opened on and rental from (the join), reported (this order)
    kept = by_number[BJ[0]]
    assert (kept[3], kept[4], kept[7]) == ("standard", ItemState.failed, None)  # kept its plan; BJ never reported
    assert "E5000" in kept[8] and "CRM frozen" in kept[8]
    provinces = {row[0]: row for row in workbook["省份"].iter_rows(min_row=2, values_only=True)}
    assert provinces["BJ"][2:6] == (2, 0, 2, 0) and provinces["GD"][2:6] == (2, 2, 0, 0)
    assert provinces["GD"][6] and provinces["BJ"][6] is None

    raw = (tmp_path / "table.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, so Excel reads it right
    rows = list(csv.reader((tmp_path / "table.csv").open(encoding="utf-8-sig")))
    assert rows[0] == ["[Service]"] and rows[1] == ["Field", "Value"]
    members_at = rows.index(["[Members]"])
    assert rows[members_at + 1][:4] == ["Number", "Name", "Home province", "Plan"]
    assert {row[0]: row[4] for row in rows[members_at + 2:members_at + 2 + len(MEMBERS)]} == {
        **dict.fromkeys(MEMBERS, "done"), **dict.fromkeys(BJ, "failed")}


async def test_the_service_table_lists_the_members_now_in_the_vpdn_with_their_dates(client, settings, store):
    table = store.acceptance.service_table(SERVICE)

    assert sorted(row.msisdn for row in table.members) == sorted(MEMBERS)
    assert all(row.state == "active" and row.plan == "standard" and row.opened_on and row.rental_from
               for row in table.members)
    assert {p.province: p.members for p in table.provinces} == {"SH": 2, "GD": 2, "BJ": 2}
