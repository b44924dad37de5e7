"""The order store on SQLite, and on PostgreSQL when VPDN_TEST_POSTGRES_URL is set."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models.acceptance import TableRequest
from models.contract import ContractRecord
from models.customer import CustomerChange, CustomerHierarchy, ProvincialCustomerRecord
from models.fallout import Fallout, FalloutDecision
from models.members import BatchReport, MemberLine
from models.plans import MemberPlan
from models.service import ServiceRegistration, TariffVersion
from models.service import TariffPackage as TariffPackageSpec
from models.orders import InvalidTransition, NewOrder, OrderEventIn, OrderState, OrderType
from store.tables import GroupCustomer, Member, TariffPackage, TariffParameter, VpdnService
from store import OrderStore


@pytest.fixture
def order_store(database_url: str) -> OrderStore:
    return OrderStore(database_url)


def new_order(order_no: str = "ACQ-1") -> NewOrder:
    return NewOrder(order_no=order_no, order_type=OrderType.customer_acquisition, workflow_id=f"wf-{order_no}",
                    customer_code="3100012345", requested_by="alice", provinces=["GD", "SH"])


def hierarchy(*branches: str) -> CustomerHierarchy:
    return CustomerHierarchy(
        customer_code="3100012345", name="Acme", credit_code="91310000MA1FL0001X", group_province="SH",
        branches=[ProvincialCustomerRecord(province=p, customer_code="3100012345", name=f"Acme {p}",
                                           credit_code="91310000MA1FL0001X", level="branch") for p in branches],
    )


def test_an_order_is_recorded_once_with_its_acceptance_event(order_store):
    order_store.orders.record_order(new_order(), "k0")
    order_store.orders.record_order(new_order(), "k0-retry")

    order = order_store.orders.get_order("ACQ-1")
    assert (order.state, order.requested_by, order.provinces) == (OrderState.acknowledged, "alice", ["GD", "SH"])
    assert [(e.actor, e.event) for e in order.events] == [("alice", "order accepted")]


def test_events_move_the_order_and_a_repeated_event_key_is_recorded_once(order_store):
    order_store.orders.record_order(new_order(), "k0")
    start = OrderEventIn(order_no="ACQ-1", actor="gpms", event="querying", state=OrderState.in_progress,
                         sub_state="awaiting 31 provincial CRMs")
    order_store.orders.record_event(start, "k1")
    order_store.orders.record_event(start, "k1")
    order_store.orders.record_event(OrderEventIn(order_no="ACQ-1", actor="gpms", event="done",
                                          state=OrderState.completed), "k2")

    order = order_store.orders.get_order("ACQ-1")
    assert order.state == OrderState.completed
    assert [e.event for e in order.events] == ["order accepted", "querying", "done"]


def test_a_transition_the_table_forbids_is_refused_and_changes_nothing(order_store):
    order_store.orders.record_order(new_order(), "k0")
    order_store.orders.record_event(OrderEventIn(order_no="ACQ-1", actor="gpms", event="done",
                                          state=OrderState.failed), "k1")

    with pytest.raises(InvalidTransition, match="from failed to in_progress"):
        order_store.orders.record_event(OrderEventIn(order_no="ACQ-1", actor="gpms", event="again",
                                              state=OrderState.in_progress), "k2")

    order = order_store.orders.get_order("ACQ-1")
    assert order.state == OrderState.failed
    assert [e.event for e in order.events] == ["order accepted", "done"]


def test_reacquiring_a_customer_replaces_its_hierarchy(order_store):
    order_store.customers.save_customer(hierarchy("BJ", "GD"))
    order_store.customers.save_customer(hierarchy("GD", "ZJ"))

    stored = order_store.customers.get_customer("3100012345")
    assert stored.group_province == "SH"
    assert [b.province for b in stored.branches] == ["GD", "ZJ"]
    assert order_store.customers.get_customer("9999999999") is None


def test_tariff_packages_are_versioned_per_service_and_members_unique(order_store):
    order_store.customers.save_customer(hierarchy())
    with Session(order_store.engine) as session:
        session.add(VpdnService(service_id="VPDN-1", customer_code="3100012345", apn="acme.vpdn",
                                access_province="SH", paying_province="SH", provinces=["SH", "GD"]))
        session.flush()
        session.add_all([TariffPackage(service_id="VPDN-1", version=1), TariffPackage(service_id="VPDN-1", version=2)])
        session.add(Member(service_id="VPDN-1", msisdn="13800000001", home_province="GD"))
        session.commit()
        v2 = session.get(TariffPackage, 2)
        session.add(TariffParameter(package_id=v2.id, name="monthly_fee", value="100"))
        session.commit()
        assert session.get(VpdnService, "VPDN-1").provinces == ["SH", "GD"]
        assert session.get(GroupCustomer, "3100012345").name == "Acme"

    with Session(order_store.engine) as session, pytest.raises(IntegrityError):
        session.add(TariffPackage(service_id="VPDN-1", version=2))
        session.commit()
    with Session(order_store.engine) as session, pytest.raises(IntegrityError):
        session.add(Member(service_id="VPDN-1", msisdn="13800000001", home_province="GD"))
        session.commit()


# Customer information sync


def record_change(province: str, version: int, name: str, **fields) -> CustomerChange:
    return CustomerChange(province=province, customer_code="3100012345", version=version, name=name,
                          level=fields.pop("level", "branch"), **fields)


def test_provincial_changes_update_the_customer_and_its_hierarchy_idempotently(order_store):
    order_store.customers.save_customer(hierarchy("BJ", "GD"))
    changes = [
        record_change("GD", 2, "Acme South China"),
        record_change("ZJ", 1, "Acme ZJ"),
        record_change("BJ", 2, "Acme BJ", deleted=True),
        record_change("GD", 3, "Acme Group", level="group", credit_code="91440000MA1FL0009Z"),
    ]

    done = [order_store.customers.apply_customer_change(change) for change in changes]
    once = order_store.customers.get_customer("3100012345")
    for change in changes:
        order_store.customers.apply_customer_change(change)

    assert done == ["branch GD updated: Acme South China", "branch ZJ added: Acme ZJ", "branch BJ removed",
                    "group in GD: Acme Group (91440000MA1FL0009Z)"]
    assert (once.name, once.credit_code, once.group_province) == ("Acme Group", "91440000MA1FL0009Z", "GD")
    assert [(b.province, b.name) for b in once.branches] == [("ZJ", "Acme ZJ")]
    assert order_store.customers.get_customer("3100012345") == once


def test_a_change_for_a_customer_never_acquired_is_refused(order_store):
    with pytest.raises(LookupError, match="customer 3100012345 is not in GPMS"):
        order_store.customers.apply_customer_change(record_change("GD", 1, "Acme GD"))


def fallout(fallout_id: str, order_no: str, province: str, system: str) -> Fallout:
    return Fallout(fallout_id=fallout_id, order_no=order_no, order_type="service_opening", step="configure",
                   province=province, system=system, code="E1", text="no", allowed=["retry", "compensate"],
                   deadline=datetime.now(UTC))


def test_the_fallout_worklist_is_oldest_first_filtered_and_drops_resolved_ones(order_store):
    for n in (1, 2, 3):
        order_store.orders.record_order(new_order(f"ACQ-{n}"), f"k{n}")
    order_store.fallouts.open_fallout(fallout("ACQ-2-F1", "ACQ-2", "GD", "crm"))
    order_store.fallouts.open_fallout(fallout("ACQ-1-F1", "ACQ-1", "GD", "line"))
    order_store.fallouts.open_fallout(fallout("ACQ-3-F1", "ACQ-3", "SH", "crm"))
    order_store.fallouts.open_fallout(fallout("ACQ-3-F1", "ACQ-3", "SH", "crm"))  # recorded once

    assert [f.fallout_id for f in order_store.fallouts.list_fallouts()] == ["ACQ-2-F1", "ACQ-1-F1", "ACQ-3-F1"]
    assert [f.fallout_id for f in order_store.fallouts.list_fallouts(province="GD")] == ["ACQ-2-F1", "ACQ-1-F1"]
    assert [f.fallout_id for f in order_store.fallouts.list_fallouts(system="crm")] == ["ACQ-2-F1", "ACQ-3-F1"]
    order_store.fallouts.resolve_fallout(FalloutDecision(fallout_id="ACQ-2-F1", action="skip", by="ops-wang"))
    assert [f.fallout_id for f in order_store.fallouts.list_fallouts()] == ["ACQ-1-F1", "ACQ-3-F1"]
    assert order_store.fallouts.get_fallout("ACQ-2-F1").decided_by == "ops-wang"


# Members at scale: no statement binds one parameter per member


BIG = 70_000  # more than PostgreSQL's 65 535 parameters per statement
HOMES = ("GD", "BJ", "SH", "ZJ", "SC")


def numbers(count: int):
    """A member file's members, generated as they would be read: one at a time."""
    return (MemberLine(msisdn=f"13{n:09d}") for n in range(count))


def big_service(order_store: OrderStore) -> None:
    """Service VPDN-BIG, active in the five home provinces, its customer acquired."""
    order_store.customers.save_customer(hierarchy())
    order_store.services.register_service(ServiceRegistration(
        order_no="OPN-BIG", service_id="VPDN-BIG", customer_code="3100012345", apn="big.vpdn", access_province="SH",
        paying_province="SH", provinces=list(HOMES), tariff={"name": "t", "parameters": {"monthly_fee": "1",
                                                                                      "member_fee": "1"}}))


def member_order(order_store: OrderStore, order_no: str, kind: str) -> None:
    order_store.orders.record_order(NewOrder(
        order_no=order_no, order_type=OrderType(f"member_{kind}"), workflow_id=f"vpdn-{kind}-{order_no}",
        customer_code="3100012345", requested_by="alice", service_id="VPDN-BIG"), f"k-{order_no}")


def run_batches(order_store: OrderStore, order_no: str) -> int:
    """Each batch's members through its steps (one statement per batch; batches of 5 000
    keep the test quick, the statements are those of 500)."""
    batches = order_store.members.assign_batches(order_no, 5000)
    for batch in batches:
        step = f"{order_no}:home:{batch.home_province}:{batch.batch_no}"
        order_store.batch_steps.members(step, order_no, batch.home_province, batch.batch_no, "valid")
        order_store.batch_steps.advance(step, order_no, batch.home_province, batch.batch_no, "valid", "home_done")
    return len(batches)


def test_the_page_that_completes_member_verification_cuts_the_batches_once(order_store):
    big_service(order_store)
    order_store.staging.stage("JOIN-PAGES", "VPDN-BIG", "join", numbers(5))
    member_order(order_store, "JOIN-PAGES", "join")
    first, last = order_store.members.page_numbers("JOIN-PAGES", 0, 3), order_store.members.page_numbers(
        "JOIN-PAGES", 3, 3)

    order_store.members.record_results("JOIN-PAGES", {m: ("valid", None, "") for m in first},
                                       homes=dict.fromkeys(first, "GD"))
    assert order_store.members.batches_once_verified("JOIN-PAGES", 2) is None  # two members still wait
    order_store.members.record_results("JOIN-PAGES", {last[0]: ("valid", None, ""), last[1]: ("invalid", "E1", "")},
                                       homes={last[0]: "BJ"})
    batches = order_store.members.batches_once_verified("JOIN-PAGES", 2)

    assert [(b.home_province, b.batch_no, b.size) for b in batches] == [("BJ", 1, 1), ("GD", 1, 2), ("GD", 2, 1)]
    assert order_store.members.batches_once_verified("JOIN-PAGES", 2) == batches  # asked again: the same


def test_70_000_members_join_and_exit_without_binding_a_parameter_per_member(order_store):
    big_service(order_store)

    assert order_store.staging.stage("JOIN-BIG", "VPDN-BIG", "join", numbers(BIG))
    assert order_store.staging.refused_members("JOIN-BIG", "VPDN-BIG", "join") == (0, [])
    member_order(order_store, "JOIN-BIG", "join")
    for offset in range(0, BIG, 1000):  # member verification: a page of results at a time, by key
        page = order_store.members.page_numbers("JOIN-BIG", offset, 1000)
        order_store.members.record_results("JOIN-BIG", {m: ("valid", None, "") for m in page},
                                           homes={m: HOMES[int(m) % len(HOMES)] for m in page})
    assert run_batches(order_store, "JOIN-BIG") == len(HOMES) * 3  # 14 000 per home province
    order_store.members.finish_members("JOIN-BIG", "VPDN-BIG", "join")
    order_store.terms.record_joined("JOIN-BIG", "VPDN-BIG", [])

    assert order_store.members.member_count("VPDN-BIG") == BIG
    assert order_store.members.item_counts("JOIN-BIG").done == BIG
    order_store.acceptance.keep_order_table(TableRequest(order_no="JOIN-BIG", service_id="VPDN-BIG",
                                                         order_state="completed"))
    table = order_store.acceptance.order_table("JOIN-BIG")
    assert len(table.members) == BIG
    assert {row.plan for row in table.members} == {"standard"}  # every member's terms recorded
    assert {p.province: (p.members, p.done) for p in table.provinces if p.members} == {
        home: (BIG // len(HOMES), BIG // len(HOMES)) for home in HOMES}
    assert order_store.staging.refused_members("JOIN-BIG", "VPDN-BIG", "join")[0] == BIG  # all in it now

    assert order_store.staging.stage("EXIT-BIG", "VPDN-BIG", "exit", numbers(BIG))
    assert order_store.staging.refused_members("EXIT-BIG", "VPDN-BIG", "exit") == (0, [])
    member_order(order_store, "EXIT-BIG", "exit")
    run_batches(order_store, "EXIT-BIG")
    order_store.members.finish_members("EXIT-BIG", "VPDN-BIG", "exit")
    order_store.terms.forget_exited("EXIT-BIG", "VPDN-BIG")

    assert order_store.members.member_count("VPDN-BIG") == 0
    assert order_store.terms.terms("VPDN-BIG") == {}
    assert order_store.members.item_counts("EXIT-BIG").done == BIG


# The pool: every store call holds one connection at a time


def opening(n: int) -> ServiceRegistration:
    return ServiceRegistration(
        order_no=f"OPN-{n}", service_id=f"VPDN-{n}", customer_code="3100012345", apn=f"acme{n}.vpdn",
        access_province="SH", paying_province="SH", provinces=["SH", "GD"],
        tariff={"name": "t", "parameters": {"monthly_fee": "1", "member_fee": "1"}},
        contract={"number": f"CT-{n}", "signed_on": "2026-11-20", "signed_by": "li", "tariff_reference": "TRF-1"})


def test_a_service_is_registered_read_and_amended_over_a_pool_of_one_connection(database_url):
    order_store = OrderStore(database_url, pool_size=1, max_overflow=0, pool_timeout=2)
    order_store.customers.save_customer(hierarchy())

    order_store.services.register_service(opening(1))
    order_store.contracts.record_amendment(ContractRecord(
        service_id="VPDN-1", order_no="CHG-1", amendment={"number": "CT-1B"}))

    service = order_store.services.get_service("VPDN-1")
    assert (service.contract.version, service.contract.contract.number) == (2, "CT-1B")
    assert order_store.contracts.services_with_number("CT-1") == {"VPDN-1": "3100012345"}


def test_a_services_tariff_package_keeps_its_name_through_its_versions(order_store):
    order_store.customers.save_customer(hierarchy())
    order_store.services.register_service(opening(1).model_copy(update={"tariff": TariffPackageSpec(
        name="Kaiyuan 2026", parameters={"monthly_fee": "3000", "member_fee": "8"})}))
    first = order_store.services.get_service("VPDN-1").tariff

    order_store.services.record_tariff_version(TariffVersion(service_id="VPDN-1", version=2, tariff=first.model_copy(
        update={"parameters": {"monthly_fee": "2800", "member_fee": "8"}})))

    assert first.name == "Kaiyuan 2026"  # it was the APN, acme1.vpdn
    assert order_store.services.get_service("VPDN-1").tariff.name == "Kaiyuan 2026"


def test_15_concurrent_service_registrations_share_a_pool_of_15(database_url):
    order_store = OrderStore(database_url, pool_size=15, max_overflow=0, pool_timeout=10)
    order_store.customers.save_customer(hierarchy())

    with ThreadPoolExecutor(15) as threads:
        list(threads.map(order_store.services.register_service, [opening(n) for n in range(15)]))

    assert [s.contract.contract.number for s in order_store.services.list_services()] == sorted(
        f"CT-{n}" for n in range(15))


# A member order's set-based statements on a few members


def test_refusals_a_failed_batch_and_a_plan_change_are_recorded_over_the_orders_items(order_store):
    order_store.customers.save_customer(hierarchy())
    order_store.services.register_service(ServiceRegistration(
        order_no="OPN-T", service_id="VPDN-BIG", customer_code="3100012345", apn="t.vpdn", access_province="SH",
        paying_province="SH", provinces=["GD", "BJ"], tariff={"name": "t", "parameters": {
            "monthly_fee": "1", "member_fee": "1"}}))
    order_store.staging.stage("JOIN-T", "VPDN-BIG", "join", numbers(6))
    member_order(order_store, "JOIN-T", "join")
    order_store.members.record_results("JOIN-T", {m: ("valid", None, "") for m in order_store.members.page_numbers(
        "JOIN-T", 0, 6)}, homes={m: "GD" if int(m) % 2 else "BJ" for m in order_store.members.page_numbers("JOIN-T", 0, 6)})
    assert [(b.home_province, b.batch_no, b.size) for b in order_store.members.assign_batches("JOIN-T", 2)] == [
        ("BJ", 1, 2), ("BJ", 2, 1), ("GD", 1, 2), ("GD", 2, 1)]

    refused, kept = order_store.batch_steps.members("JOIN-T:hlr:GD:1", "JOIN-T", "GD", 1, "valid")
    order_store.members.record_results("JOIN-T", {refused: ("failed", "E3001", "no such subscriber")},
                                       stage="hlr_subscribe")
    assert order_store.batch_steps.advance("JOIN-T:hlr:GD:1", "JOIN-T", "GD", 1, "valid", "home_done") == 1
    assert order_store.members.fail_batch("JOIN-T", "BJ", 1, "valid", "home_province", "E5000", "BJ down") == 2
    for home in ("GD", "BJ"):
        order_store.batch_steps.members(f"JOIN-T:hlr:{home}:2", "JOIN-T", home, 2, "valid")
        order_store.batch_steps.advance(f"JOIN-T:hlr:{home}:2", "JOIN-T", home, 2, "valid", "home_done")
    order_store.members.finish_members("JOIN-T", "VPDN-BIG", "join")
    order_store.terms.record_joined("JOIN-T", "VPDN-BIG", [BatchReport(
        home_province="GD", batch_no=1, province="GD", stage="member_opening_order", reported_on="2026-12-01",
        effective_from="2026-12-02")])

    counts = order_store.members.item_counts("JOIN-T")
    assert (counts.done, counts.failed) == (3, 3)
    failed = {r.msisdn: (r.code, r.detail) for r in order_store.members.member_results("JOIN-T", "failed")}
    assert failed[refused] == ("E3001", "no such subscriber") and list(failed.values()).count(("E5000", "BJ down")) == 2
    terms = order_store.terms.terms("VPDN-BIG")
    assert sorted(terms) == sorted(order_store.members.member_homes("VPDN-BIG"))
    assert (terms[kept].opened_on, terms[kept].rental_from) == ("2026-12-01", "2026-12-02")

    plan = MemberPlan(name="gold", tariff_version=1, parameters={"member_fee": "0"})
    order_store.staging.stage("PLAN-T", "VPDN-BIG", "plan_change", [MemberLine(msisdn=kept)])
    assert order_store.terms.staged_on_plan("PLAN-T", "VPDN-BIG", plan) == (0, [])
    member_order(order_store, "PLAN-T", "plan_change")
    order_store.members.assign_batches("PLAN-T", 500)
    order_store.batch_steps.members("PLAN-T:billing:GD:1", "PLAN-T", "GD", 1, "valid")
    assert order_store.terms.step_plans("VPDN-BIG", "PLAN-T:billing:GD:1") == {kept: (None, None)}
    order_store.batch_steps.advance("PLAN-T:billing:GD:1", "PLAN-T", "GD", 1, "valid", "home_done")
    order_store.terms.record_plan_change("PLAN-T", "VPDN-BIG", plan, "2026-12-05", [])
    assert order_store.terms.plans("VPDN-BIG") == {kept: plan}
    order_store.staging.stage("PLAN-U", "VPDN-BIG", "plan_change", [MemberLine(msisdn=kept)])
    assert order_store.terms.staged_on_plan("PLAN-U", "VPDN-BIG", plan) == (1, [kept])
    assert order_store.staging.clear_orphans(timedelta(0)) == 1  # PLAN-U was never submitted

    order_store.staging.stage("EXIT-T", "VPDN-BIG", "exit", [MemberLine(msisdn=kept)])
    member_order(order_store, "EXIT-T", "exit")
    run_batches(order_store, "EXIT-T")
    order_store.members.finish_members("EXIT-T", "VPDN-BIG", "exit")
    order_store.terms.forget_exited("EXIT-T", "VPDN-BIG")
    assert kept not in order_store.terms.terms("VPDN-BIG") and kept not in order_store.members.member_homes("VPDN-BIG")


def test_an_orders_acceptance_table_shows_each_members_state_plan_dates_and_why_it_failed(order_store):
    order_store.customers.save_customer(hierarchy())
    order_store.services.register_service(ServiceRegistration(
        order_no="OPN-BIG", service_id="VPDN-BIG", customer_code="3100012345", apn="big.vpdn", access_province="SH",
        paying_province="SH", provinces=["SH", "GD", "BJ"], tariff={"name": "t", "parameters": {
            "monthly_fee": "1", "member_fee": "1"}}))
    m0, m1, m2, m3 = (line.msisdn for line in numbers(4))
    order_store.staging.stage("JOIN-TBL", "VPDN-BIG", "join", numbers(4))
    member_order(order_store, "JOIN-TBL", "join")
    order_store.members.record_results("JOIN-TBL", {m0: ("valid", None, ""), m1: ("valid", None, ""),
                                                    m2: ("invalid", "E2001", "barred"), m3: ("valid", None, "")},
                                       homes={m0: "GD", m1: "BJ", m2: "BJ", m3: "GD"})
    run_batches(order_store, "JOIN-TBL")
    order_store.members.finish_members("JOIN-TBL", "VPDN-BIG", "join")
    reports = [BatchReport(home_province="GD", batch_no=1, province="GD", stage="member_opening_order",
                           reported_on="2026-12-01", effective_from="2026-12-02"),
               BatchReport(home_province="GD", batch_no=1, province="SH", stage="access_opening_order",
                           reported_on="2026-12-03")]
    order_store.terms.record_joined("JOIN-TBL", "VPDN-BIG", reports)
    order_store.terms.accept_plan("VPDN-BIG", m3, MemberPlan(name="field", tariff_version=1,
                                                             parameters={"member_fee": "2"}), "2026-12-05", "REC-1")

    order_store.acceptance.keep_order_table(TableRequest(order_no="JOIN-TBL", service_id="VPDN-BIG",
                                                         order_state="partial", batch_reports=reports))

    table = order_store.acceptance.order_table("JOIN-TBL")
    assert [(r.msisdn, r.home_province, r.state, r.plan, r.opened_on, r.rental_from, r.reported_on, r.note)
            for r in table.members] == [
        (m0, "GD", "done", "standard", "2026-12-01", "2026-12-02", "2026-12-01", ""),
        (m1, "BJ", "done", "standard", None, None, None, ""),
        (m2, "BJ", "invalid", "", None, None, None, "E2001 barred"),
        (m3, "GD", "done", "field (v1: member_fee=2) from 2026-12-05", "2026-12-01", "2026-12-02", "2026-12-01", ""),
    ]
    assert [(p.province, p.role, p.members, p.done, p.invalid, p.first_report, p.last_report)
            for p in table.provinces] == [
        ("BJ", "related home", 2, 1, 1, None, None),
        ("GD", "related home", 2, 2, 0, "2026-12-01", "2026-12-01"),
        ("SH", "access related", 0, 0, 0, "2026-12-03", "2026-12-03")]
