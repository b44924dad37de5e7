"""The CLI's tests: every command reaches the API over the test's own order store, as `vpdn
up`'s people; `active_service` is the order store holding one service active with one
member."""

import pytest

from models.members import MemberLine
from models.service import ServiceRegistration
from settings import Settings
from store import OrderStore
from tests.helpers import OPENING_ORDER, acquired_customer


@pytest.fixture(autouse=True)
def isolated(cli_environment, cli_api):
    """cli_environment before cli_api, which reads it."""


@pytest.fixture
def active_service(tmp_path) -> OrderStore:
    store = OrderStore(Settings().database_url)
    acquired_customer(store)
    store.services.register_service(ServiceRegistration(
        order_no="OPN-0", service_id="SVC-OPN-0", customer_code="3100012345", apn="acme.vpdn.sh",
        access_province="SH", paying_province="SH", provinces=["SH"], tariff=OPENING_ORDER["tariff"],
        contract={**OPENING_ORDER["contract"], "number": "CT-OPN-0"}))
    store.services.set_service_state("SVC-OPN-0", "active")
    store.staging.stage("JOIN-0", "SVC-OPN-0", "join", [MemberLine(msisdn="13800000001")])
    store.members.assign_batches("JOIN-0", 10)
    store.members.record_results("JOIN-0", {"13800000001": ("home_done", None, "")}, homes={"13800000001": "GD"})
    store.members.finish_members("JOIN-0", "SVC-OPN-0", "join")
    return store
