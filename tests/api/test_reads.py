"""Reading through the API: what `vpdn order|service|customer|fallout … --json` shows, for
every staff role and not for the hub; bad filters refused with the CLI's words."""

import asyncio
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from openpyxl import load_workbook
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from cli import app as cli_app
from models.fallout import Fallout
from models.members import MemberLine
from models.orders import NewOrder
from tests.api.served import MEMBER, TARIFF, active_service, auth, recorded, served  # noqa: F401 - the module's API
from tests.conftest import PAYLOAD_KEYS
from tests.helpers import CUSTOMER, contract

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(served, temporal_env, api_server):  # noqa: F811
    """SVC-R in the store with one member joined by JOIN-SVC-R and a held fallout; OPN-R-1
    opened through the API and the simulated provinces, completed."""
    store = served.store
    active_service(store, "SVC-R", member=MEMBER)
    store.orders.record_order(NewOrder(order_no="JOIN-SVC-R", order_type="member_join", workflow_id="vpdn-join-R",
                                       customer_code=CUSTOMER, requested_by="alice", provinces=["SH", "GD"],
                                       service_id="SVC-R"), "accepted")
    store.fallouts.open_fallout(Fallout(
        fallout_id="JOIN-SVC-R-F1", order_no="JOIN-SVC-R", order_type="member_join", step="HLR subscription",
        province="GD", system="hlr", code="E1021", text="HLR down", allowed=["retry", "compensate"],
        deadline=datetime.now(UTC) + timedelta(days=1)))
    opened = await served.http.post("/orders/service-opening", json={
        "order_no": "OPN-R-1", "customer_code": CUSTOMER, "apn": "r.acme.vpdn", "access_province": "SH",
        "provinces": ["GD"], "tariff": TARIFF, "contract": contract("CT-R-1"), "pre_approved_by": "hq-wang"})
    assert opened.status_code == 201, opened.text
    await recorded(served, "OPN-R-1", "completed")
    served.temporal_address = temporal_env.client.service_client.config.target_host
    served.api_server = api_server  # the CLI's reads reach the API over HTTP
    return served


async def cli(world, *args: str) -> object:
    """What `vpdn <args> --json` prints, reading from this API as the viewer."""
    world.api_server.app = world.app
    env = {"VPDN_DATA_DIR": str(world.settings.data_dir), "TEMPORAL_ADDRESS": world.temporal_address,
           "VPDN_PAYLOAD_KEYS_FILE": str(PAYLOAD_KEYS), "VPDN_API_URL": world.api_server.url,
           "VPDN_API_TOKEN": "viewer"}
    result = await asyncio.to_thread(CliRunner().invoke, cli_app, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


async def get(world, path: str, token: str = "viewer", **params) -> object:
    response = await world.http.get(path, params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()


async def test_an_order_is_what_order_show_shows_with_the_principal_as_requester(world):
    order = await get(world, "/orders/OPN-R-1")

    assert order == await cli(world, "order", "show", "OPN-R-1")
    assert order["requested_by"] == "alice" and order["state"] == "completed"
    assert await get(world, "/orders/OPN-R-1/events") == order["events"]


async def test_an_orders_status_is_its_workflows_status_query(world):
    status = await get(world, "/orders/OPN-R-1/status")

    assert status["status"] == (await cli(world, "order", "status", "OPN-R-1"))["status"]
    assert status["status"]["state"] == "completed" and status["members"] is None
    assert {step["province"] for step in status["status"]["steps"]} >= {"SH", "GD"}


async def test_the_order_list_takes_order_lists_filters_and_says_the_total(world):
    listed = await get(world, "/orders", customer=CUSTOMER, province="gd", limit=1)
    joins = await get(world, "/orders", service="SVC-R", type="member_join")

    assert [o["order_no"] for o in listed["orders"]] == ["OPN-R-1"] and listed["total"] == 2
    assert [o["order_no"] for o in joins["orders"]] == ["JOIN-SVC-R"] and joins["total"] == 1
    assert [o["order_no"] for o in await cli(world, "order", "list", "--customer", CUSTOMER, "--province", "gd")] \
        == ["OPN-R-1", "JOIN-SVC-R"]


@pytest.mark.parametrize("params, text", [
    ({"province": "XX"}, "unknown province 'XX'; valid provinces:"),
    ({"older_than": "4x"}, "age '4x' is not like 30m, 4h or 2d"),
    ({"type": "upgrade"}, "type: 'upgrade' is not one of"),
    ({"limit": "0"}, "limit: Input should be greater than or equal to 1"),
])
async def test_a_bad_order_list_filter_is_refused_with_the_clis_words(world, params, text):
    response = await world.http.get("/orders", params=params)

    assert response.status_code == 422
    assert text in response.json()["detail"]


async def test_an_orders_members_are_what_order_members_shows(world):
    members = await get(world, "/orders/JOIN-SVC-R/members")

    assert members == await cli(world, "order", "members", "JOIN-SVC-R")
    assert [(m["msisdn"], m["home_province"], m["state"]) for m in members] == [(MEMBER, "GD", "done")]
    assert await get(world, "/orders/JOIN-SVC-R/members", state="failed") == []


async def test_the_acceptance_table_comes_as_xlsx_or_csv_by_format_or_accept(world):
    xlsx = await world.http.get("/orders/OPN-R-1/acceptance-table", params={"lang": "en"})
    by_accept = await world.http.get("/services/SVC-R/acceptance-table", headers={"Accept": "text/csv"})
    by_format = await world.http.get("/services/SVC-R/acceptance-table", params={"format": "csv"})
    none_kept = await world.http.get("/orders/JOIN-SVC-R/acceptance-table")

    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert load_workbook(io.BytesIO(xlsx.content)).sheetnames[0] == "Service"
    assert by_accept.content == by_format.content
    assert by_accept.content.startswith("\ufeff[".encode()) and MEMBER.encode() in by_accept.content
    assert none_kept.status_code == 404
    assert "order JOIN-SVC-R has no acceptance table" in none_kept.json()["detail"]


async def test_a_service_and_its_members_are_what_service_show_and_members_show(world):
    service = await get(world, "/services/SVC-R")

    assert service == await cli(world, "service", "show", "SVC-R")
    assert service["members_by_home_province"] == {"GD": 1}
    assert await get(world, "/services/SVC-R/members") == await cli(world, "service", "members", "SVC-R")
    assert (await world.http.get("/services/SVC-NONE")).json() == {"detail": "no service SVC-NONE"}


async def test_a_customer_is_what_customer_show_shows_and_an_unknown_one_says_how_to_acquire_it(world):
    unknown = await world.http.get("/customers/4100099999")

    assert await get(world, f"/customers/{CUSTOMER}") == await cli(world, "customer", "show", CUSTOMER)
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == ("customer 4100099999 is not in GPMS; acquire it with "
                                        "`vpdn customer acquire 4100099999`")


async def test_the_fallout_worklist_and_policy_are_what_fallout_list_and_policy_show(world):
    fallouts = await get(world, "/fallouts", province="gd", system="hlr")
    bad_system = await world.http.get("/fallouts", params={"system": "fax"})

    assert fallouts == await cli(world, "fallout", "list", "--province", "GD")
    assert [f["fallout_id"] for f in fallouts] == ["JOIN-SVC-R-F1"]
    assert await get(world, "/fallouts", system="aaa") == []
    assert bad_system.status_code == 422 and "unknown system 'fax'" in bad_system.json()["detail"]
    assert await get(world, "/fallout-policy") == await cli(world, "fallout", "policy")


async def test_reconcile_is_for_operators_and_lists_what_the_provinces_lack(world):
    viewer = await world.http.post("/reconcile", headers=auth("viewer"))
    result = await world.http.post("/reconcile", headers=auth("operator"))

    assert viewer.status_code == 403 and viewer.json()["detail"] == "bob lacks the role operator"
    assert result.status_code == 200, result.text
    differences = result.json()["differences"]
    assert result.json()["agree"] is False
    assert {d["service_id"] for d in differences} == {"SVC-R"}
    assert {"service_id": "SVC-R", "province": "GD", "system": "hlr", "kind": "vpdn_subscription", "key": MEMBER,
            "problem": "missing", "code": "missing", "gpms_holds": f"vpdn_subscription {MEMBER}",
            "province_holds": "nothing"} in differences


@pytest.mark.parametrize("token, status", [("viewer", 200), ("am", 200), ("auditor", 200), ("operator", 200),
                                           ("admin", 200), ("hub", 403)])
async def test_every_staff_role_reads_and_the_hub_does_not(world, token, status):
    response = await world.http.get("/orders/OPN-R-1", headers=auth(token))

    assert response.status_code == status
    if status == 403:
        assert response.json()["detail"] == "hq-hub lacks the role viewer or account_manager or hq_auditor or " \
                                            "operator or admin"


async def test_an_unreachable_order_store_is_503_naming_it_without_its_password(world, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("SELECT", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr("store.orders.OrderRecords.list_orders", unreachable)
    response = await world.http.get("/orders")

    assert response.status_code == 503
    assert response.json()["detail"] == (f"the order store is unreachable ({world.settings.database_url}): "
                                         "connection refused")


async def test_a_member_name_with_control_characters_still_makes_an_xlsx_table(world):
    """Found by the schemathesis run: a name a worksheet cannot hold made the table a 500."""
    active_service(world.store, "SVC-X")
    world.store.staging.stage("JOIN-SVC-X", "SVC-X", "join", [MemberLine(msisdn="13800000009", name="Li\x07Wei")])
    world.store.members.assign_batches("JOIN-SVC-X", 10)
    world.store.members.record_results("JOIN-SVC-X", {"13800000009": ("home_done", None, "")},
                                       homes={"13800000009": "GD"})
    world.store.members.finish_members("JOIN-SVC-X", "SVC-X", "join")

    response = await world.http.get("/services/SVC-X/acceptance-table", params={"lang": "en"})

    assert response.status_code == 200
    members = load_workbook(io.BytesIO(response.content)).worksheets[1]
    assert "LiWei" in [cell.value for row in members.iter_rows() for cell in row]
