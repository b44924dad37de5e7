"""Property: any order file, member file or customer code either starts an order or is
refused with a clear message and a non-zero exit — never a stack trace, never a
half-created order. Temporal is unreachable here, so an accepted order ends in a clear
"cannot reach Temporal" and must leave nothing behind either."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli import app
from models.service import ServiceRegistration
from settings import Settings
from store import OrderStore
from tests.helpers import acquired_customer

runner = CliRunner()
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

provinces = st.one_of(st.sampled_from(["SH", "gd", "BJ", "XX", "", "ZZZ"]), st.text(max_size=4))
anything = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                      max_size=3), max_leaves=8)
order_files = st.fixed_dictionaries({}, optional={
    "customer_code": st.one_of(st.just("3100012345"), st.text(max_size=12)),
    "apn": st.one_of(st.just("acme.vpdn.sh"), st.just("new.acme.vpdn"), st.text(max_size=20)),
    "access_province": provinces,
    "provinces": st.one_of(st.lists(provinces, max_size=4), anything),
    "tariff": st.one_of(st.just({"name": "t", "parameters": {"monthly_fee": "1", "member_fee": "1"}}), anything),
    "line": st.one_of(st.none(), st.fixed_dictionaries({"bandwidth_mbps": st.integers(-5, 10**6),
                                                         "address": st.text(max_size=5)}), anything),
    "rental_rule": st.one_of(st.sampled_from(["next_day", "next_month", "on_confirmation", "never"]), anything),
    "order_no": st.one_of(st.just("OPN-P"), st.text(max_size=10)),
    "contract": st.one_of(st.just({"number": "CT-1", "signed_on": "2026-11-20", "signed_by": "am",
                                   "tariff_reference": "TRF-1"}), anything),
})
member_files = st.one_of(
    st.lists(st.one_of(st.from_regex(r"1[3-9]\d{9}", fullmatch=True), st.text(max_size=14)), max_size=6)
    .map(lambda lines: "\n".join(lines).encode()),
    st.binary(max_size=40),
)


@pytest.fixture
def store(cli_environment, cli_api) -> OrderStore:
    """The order store the CLI's API uses (the commands act as alice, an account manager)."""
    store = OrderStore(Settings().database_url)
    acquired_customer(store)
    store.services.register_service(ServiceRegistration(
        order_no="OPN-0", service_id="SVC-OPN-0", customer_code="3100012345", apn="acme.vpdn.sh",
        access_province="SH", paying_province="SH", provinces=["SH"],
        tariff={"name": "t", "parameters": {"monthly_fee": "1", "member_fee": "1"}}))
    store.services.set_service_state("SVC-OPN-0", "active")
    return store


def assert_clean(result) -> None:
    """Refused (2), or accepted and then unable to reach Temporal (1); never a stack trace."""
    assert isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (1, 2), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 1:
        assert "cannot reach Temporal" in result.output


@SETTINGS
@given(content=st.one_of(order_files, anything))
def test_any_order_file_starts_an_order_or_is_refused_cleanly(store, tmp_path, content):
    path = tmp_path / "order.json"
    path.write_text(json.dumps(content))

    assert_clean(runner.invoke(app, ["--as", "alice", "service", "open", "--file", str(path)]))
    assert store.orders.list_orders() == []
    assert [s for s in ("SVC-OPN-P",) if store.services.get_service(s)] == []


@SETTINGS
@given(data=member_files)
def test_any_member_file_starts_an_order_or_is_refused_cleanly(store, tmp_path, data):
    path = tmp_path / "members.csv"
    path.write_bytes(data)

    result = runner.invoke(app, ["--as", "alice", "member", "join", "SVC-OPN-0", "--file", str(path),
                                 "--order-no", "JOIN-P"])

    assert_clean(result)
    assert store.members.member_results("JOIN-P") == []  # nothing staged is left behind


@SETTINGS
@given(code=st.text(max_size=14))
def test_any_customer_code_is_acquired_or_refused_cleanly(store, code):
    assert_clean(runner.invoke(app, ["--as", "alice", "customer", "acquire", code]))
