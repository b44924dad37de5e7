"""The service the CLI's tests act on: ORDER, the content of its opening order file, and
`active_service`, the order store holding it active with one member (import the fixture)."""

import pytest

from models.members import MemberLine
from models.service import ServiceRegistration
from settings import Settings
from store import OrderStore
from tests.helpers import acquired_customer


ORDER = {
    "customer_code": "3100012345", "apn": "acme.vpdn.sh", "access_province": "SH", "provinces": ["GD"],
    "tariff": {"name": "Acme", "parameters": {"monthly_fee": "100", "member_fee": "5"}},
    "contract": {"number": "CT-2026-001", "signed_on": "2026-11-20", "signed_by": "am-zhang",
                 "tariff_reference": "HQ-TRF-2026-0173"},
}


@pytest.fixture
def active_service(tmp_path) -> OrderStore:
    store = OrderStore(Settings().database_url)
    acquired_customer(store)
    store.services.register_service(ServiceRegistration(
        order_no="OPN-0", service_id="SVC-OPN-0", customer_code="3100012345", apn="acme.vpdn.sh",
        access_province="SH", paying_province="SH", provinces=["SH"], tariff=ORDER["tariff"],
        contract={**ORDER["contract"], "number": "CT-OPN-0"}))
    store.services.set_service_state("SVC-OPN-0", "active")
    store.staging.stage("JOIN-0", "SVC-OPN-0", "join", [MemberLine(msisdn="13800000001")])
    store.members.assign_batches("JOIN-0", 10)
    store.members.record_results("JOIN-0", {"13800000001": ("home_done", None, "")}, homes={"13800000001": "GD"})
    store.members.finish_members("JOIN-0", "SVC-OPN-0", "join")
    return store
