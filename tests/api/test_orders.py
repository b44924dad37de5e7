"""Submitting orders through the API: each kind accepted once and refused once, and the
requester in the audit trail is the authenticated principal, never a typed name."""

import httpx
import pytest
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError

import intake.base as intake_base
from api.app import create_app
from api.auth import StaticTokens
from intake import Intake
from settings import Settings
from store import OrderStore
from tests.api.served import (  # noqa: F401 - served: the module's API
    MEMBER, PRINCIPALS, TARIFF, active_service, auth, recorded, served)
from tests.helpers import CUSTOMER, contract, migrated

pytestmark = pytest.mark.asyncio(loop_scope="session")

OPENING = {"customer_code": CUSTOMER, "apn": "api.acme.vpdn", "access_province": "SH", "provinces": ["GD"],
           "tariff": TARIFF, "contract": contract("CT-API-1")}


@pytest.fixture(scope="module")
def services(served):  # noqa: F811
    active_service(served.store, "SVC-A", member=MEMBER)
    active_service(served.store, "SVC-C")
    return served


async def assert_requested_by_alice(served, order_no: str) -> None:  # noqa: F811
    order = await recorded(served, order_no)
    assert order["requested_by"] == "alice"
    assert order["events"][0]["actor"] == "alice"


async def test_a_customer_acquisition_is_accepted_for_the_principal_and_a_bad_code_is_refused(served):  # noqa: F811
    accepted = await served.http.post("/orders/customer-acquisition",
                                      json={"customer_code": "4100012345", "order_no": "ACQ-API-1"})
    refused = await served.http.post("/orders/customer-acquisition", json={"customer_code": "41000A2345"})

    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["workflow_id"] == "vpdn-acquire-ACQ-API-1"
    await assert_requested_by_alice(served, "ACQ-API-1")
    assert refused.status_code == 422
    assert "customer code must be exactly 10 digits" in refused.json()["detail"]


async def test_the_requester_is_never_a_field_of_the_request(served):  # noqa: F811
    response = await served.http.post("/orders/customer-acquisition",
                                      json={"customer_code": "4100012345", "requested_by": "mallory"})

    assert response.status_code == 422
    assert response.json()["detail"] == "requested_by: Extra inputs are not permitted"


async def test_a_service_opening_is_accepted_once_and_its_number_is_refused_again(services):
    first = await services.http.post("/orders/service-opening", json={**OPENING, "order_no": "OPN-API-1"})
    again = await services.http.post("/orders/service-opening",
                                     json={**OPENING, "apn": "other.acme.vpdn", "order_no": "OPN-API-1"})

    assert first.status_code == 201, first.text
    assert first.json()["service_id"] == "SVC-OPN-API-1"
    await assert_requested_by_alice(services, "OPN-API-1")
    assert again.status_code == 409
    assert again.json()["detail"].startswith("order OPN-API-1 was already submitted")


async def test_a_bad_service_opening_names_every_bad_field(services):
    response = await services.http.post("/orders/service-opening",
                                        json={**OPENING, "access_province": "XX", "apn": "no dots"})

    assert response.status_code == 422
    assert "access_province: unknown province code 'XX'" in response.json()["detail"]
    assert "apn: APN 'no dots' is not a domain name" in response.json()["detail"]


async def test_a_tariff_change_is_queued_for_an_account_manager_and_refused_to_a_viewer(services):
    body = {"service_id": "SVC-A", "order_no": "TRF-API-1", "change": {"parameters": {"monthly_fee": "120"}}}

    viewer = await services.http.post("/orders/tariff-change", json=body, headers=auth("viewer"))
    accepted = await services.http.post("/orders/tariff-change", json=body)

    assert viewer.status_code == 403
    assert viewer.json()["detail"] == "bob lacks the role account_manager"
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["queue"]["order_no"] == "TRF-API-1"
    await assert_requested_by_alice(services, "TRF-API-1")


async def test_a_service_change_is_queued_and_one_that_changes_nothing_is_refused(services):
    accepted = await services.http.post("/orders/service-change", json={
        "service_id": "SVC-A", "order_no": "CHG-API-1", "pre_approved_by": "hq-wang",
        "change": {"line": {"bandwidth_mbps": 200, "address": "1 Road"}}})
    refused = await services.http.post("/orders/service-change", json={"service_id": "SVC-A", "change": {}})

    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["queue"]["waiting_behind"] == "TRF-API-1"
    assert refused.status_code == 422
    assert "a service change changes the line, the provinces or the paying province" in refused.json()["detail"]


async def test_a_closure_is_queued_once_and_its_number_is_refused_again(services):
    body = {"service_id": "SVC-C", "order_no": "CLS-API-1"}

    accepted = await services.http.post("/orders/service-closure", json=body)
    again = await services.http.post("/orders/service-closure", json=body)

    assert accepted.status_code == 201, accepted.text
    assert again.status_code == 409
    assert "CLS-API-1" in again.json()["detail"]


async def test_a_closure_of_a_service_with_members_is_refused(services):
    response = await services.http.post("/orders/service-closure", json={"service_id": "SVC-A"})

    assert response.status_code == 422
    assert "service SVC-A still has 1 member" in response.json()["detail"]


async def test_a_member_join_reads_a_gb18030_file_and_a_bad_file_is_refused_naming_its_line(services):
    gb18030 = "msisdn,name\n13800000002,张伟\n13800000003,李娜\n".encode("gb18030")

    accepted = await services.http.post("/orders/member-join", data={"service_id": "SVC-A", "order_no": "JOIN-API-1"},
                                        files={"file": ("members.csv", gb18030, "text/csv")})
    refused = await services.http.post("/orders/member-join", data={"service_id": "SVC-A"},
                                       files={"file": ("members.csv", b"13800000002\n1380000000X\n", "text/csv")})

    assert accepted.status_code == 201, accepted.text
    assert (accepted.json()["member_count"], accepted.json()["member_file_encoding"]) == (2, "gb18030")
    assert [m.name for m in services.store.members.member_results("JOIN-API-1")] == ["张伟", "李娜"]
    assert refused.status_code == 422
    assert "line 2: '1380000000X' is not an 11-digit mobile number" in refused.json()["detail"]


async def test_a_member_exit_is_queued_once_and_its_number_is_refused_again(services):
    form = {"service_id": "SVC-A", "order_no": "EXIT-API-1"}

    accepted = await services.http.post("/orders/member-exit", data=form, files={"file": ("m.csv", MEMBER.encode())})
    again = await services.http.post("/orders/member-exit", data=form, files={"file": ("m.csv", MEMBER.encode())})

    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["member_count"] == 1
    assert again.status_code == 409
    assert "EXIT-API-1" in again.json()["detail"]


async def test_a_member_plan_change_is_queued_and_a_plan_of_another_tariff_version_is_refused(services):
    def plan(version: int) -> dict:
        return {"service_id": "SVC-A", "plan_from": "next_month",
                "plan": f'{{"name": "gold", "tariff_version": {version}, "parameters": {{"member_fee": "9"}}}}'}

    refused = await services.http.post("/orders/member-plan-change", data=plan(2),
                                       files={"file": ("m.csv", MEMBER.encode())})
    accepted = await services.http.post("/orders/member-plan-change", data={**plan(1), "order_no": "PLAN-API-1"},
                                        files={"file": ("m.csv", MEMBER.encode())})

    assert refused.status_code == 422
    assert refused.json()["detail"] == "the plan refers to tariff version 2; the service's current version is 1"
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["order_type"] == "member_plan_change"


async def test_a_submission_without_credentials_is_refused(served):  # noqa: F811
    response = await served.http.post("/orders/service-closure", json={"service_id": "SVC-C"},
                                      headers={"Authorization": ""})

    assert response.status_code == 401
    assert response.json()["detail"] == "no credentials: send a bearer token"


async def test_a_submission_temporal_cannot_take_answers_503_and_says_why(tmp_path):
    """Found by the schemathesis run: a failing engine was a 500 with the exception's name."""
    async def unreachable():
        raise RuntimeError("Failed client connect: connection refused")

    store = OrderStore(migrated(f"sqlite:///{tmp_path / 'gpms.db'}"))
    app = create_app(Intake(Settings(data_dir=tmp_path), store, unreachable), store, StaticTokens(PRINCIPALS))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gpms") as http:
        response = await http.post("/orders/customer-acquisition", json={"customer_code": "4100012345"},
                                   headers=auth("am"))

    assert response.status_code == 503
    assert response.json()["detail"].startswith("cannot reach Temporal at ")


async def test_a_submission_its_services_queue_does_not_confirm_answers_503_and_says_how_to_check(
        services, monkeypatch):
    """Found by the schemathesis run (no worker answered the update): it was a 500."""
    async def no_answer(*_):
        raise WorkflowUpdateRPCTimeoutOrCancelledError()

    monkeypatch.setattr(intake_base, "submit_service_order", no_answer)
    response = await services.http.post("/orders/tariff-change", json={
        "service_id": "SVC-A", "order_no": "TRF-API-2", "change": {"parameters": {"monthly_fee": "130"}}})

    assert response.status_code == 503
    assert response.json()["detail"] == (
        "Temporal did not confirm order TRF-API-2 (no answer in time; are the workers running?): see "
        "`vpdn order show TRF-API-2` before submitting it again")
