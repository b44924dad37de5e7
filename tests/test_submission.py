"""A member order's submission through the intake has one commit point: the members it
stages are bound to the order number and the file's content, and a refused submission
takes back only what it staged itself. The service's queue is replaced here by a stand-in
that answers as the real one would."""

import asyncio

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

import intake.base as intake_base
from intake import Intake, Refusal
from models.orders import Decision, NewOrder, OrderEventIn
from models.service import ServiceRegistration
from models.service_orders import SubmissionAnswer
from settings import Settings
from store import OrderStore
from tests.helpers import CUSTOMER, acquired_customer, migrated

SERVICE = "SVC-SUB"
FILE_A = b"13800000001\n13800000002\n"


@pytest.fixture
def store(tmp_path) -> OrderStore:
    store = OrderStore(migrated(f"sqlite:///{tmp_path / 'gpms.db'}"))
    acquired_customer(store)
    store.services.register_service(ServiceRegistration(
        order_no="OPN-SUB", service_id=SERVICE, customer_code=CUSTOMER, apn="sub.acme.vpdn", access_province="SH",
        paying_province="SH", provinces=["SH"], tariff={"name": "t", "parameters": {"monthly_fee": "1",
                                                                                     "member_fee": "1"}}))
    store.services.set_service_state(SERVICE, "active")
    return store


@pytest.fixture
def intake(tmp_path, store) -> Intake:
    async def connect():
        return None  # the stand-in queue below needs no client

    return Intake(Settings(data_dir=tmp_path), store, connect)


def join_fields(order_no: str) -> dict:
    return {"order_no": order_no, "requested_by": "alice", "pre_approved_by": "hq"}


async def test_a_refused_duplicate_submission_never_touches_the_accepted_orders_members(intake, store, monkeypatch):
    """Two submissions of JOIN-1 at once: the first is accepted by the service's queue while
    the second is refused as a duplicate; the accepted order keeps its members."""
    first_queued = asyncio.Event()
    submissions = []

    async def service_queue(_client, _task_queue, order):
        submissions.append(order.order_no)
        if len(submissions) == 1:
            await first_queued.wait()
            return SubmissionAnswer(order_no=order.order_no, position=0)
        raise WorkflowUpdateFailedError(ApplicationError(f"order {order.order_no} is already queued"))

    monkeypatch.setattr(intake_base, "submit_service_order", service_queue)
    first = asyncio.create_task(intake.member_order(SERVICE, "join", FILE_A, join_fields("JOIN-1")))
    while not submissions:
        await asyncio.sleep(0.01)

    with pytest.raises(Refusal, match="order JOIN-1 is already queued"):
        await intake.member_order(SERVICE, "join", FILE_A, join_fields("JOIN-1"))
    first_queued.set()
    accepted = await first

    assert accepted.member_count == 2
    assert [m.msisdn for m in store.members.member_results("JOIN-1")] == ["13800000001", "13800000002"]



async def test_the_same_order_number_with_other_members_is_refused_while_submitted_and_once_recorded(
    intake, store, monkeypatch
):
    async def service_queue(_client, _task_queue, order):
        return SubmissionAnswer(order_no=order.order_no, position=0)

    monkeypatch.setattr(intake_base, "submit_service_order", service_queue)
    await intake.member_order(SERVICE, "join", FILE_A, join_fields("JOIN-2"))

    with pytest.raises(Refusal, match="order JOIN-2 is being submitted with other members"):
        await intake.member_order(SERVICE, "join", b"13800000003\n", join_fields("JOIN-2"))
    store.orders.record_order(NewOrder(order_no="JOIN-2", order_type="member_join", workflow_id="vpdn-join-JOIN-2",
                                       customer_code=CUSTOMER, requested_by="alice", service_id=SERVICE), "k")
    with pytest.raises(Refusal, match="order JOIN-2 was already submitted"):
        await intake.member_order(SERVICE, "join", b"13800000003\n", join_fields("JOIN-2"))

    assert [m.msisdn for m in store.members.member_results("JOIN-2")] == ["13800000001", "13800000002"]


async def test_a_decision_on_an_order_queued_behind_another_says_it_waits_for_that_one(tmp_path, store, client):
    store.orders.record_order(NewOrder(order_no="TRF-Q", order_type="tariff_change", workflow_id="vpdn-tariff-TRF-Q",
                                       customer_code=CUSTOMER, requested_by="alice", service_id=SERVICE), "k")
    store.orders.record_event(OrderEventIn(order_no="TRF-Q", actor="gpms", event="queued",
                                           sub_state="waiting behind TRF-P"), "k2")

    async def connect():
        return client

    with pytest.raises(Refusal) as refused:
        await Intake(Settings(data_dir=tmp_path), store, connect).decide("TRF-Q", "approve", Decision(by="hq-wang"))

    assert refused.value.text == ("order TRF-Q is queued, waiting behind TRF-P: it takes decisions once that order "
                                  "has ended and this one has started")
