"""What each simulated system can be asked to do through the hub, as one table.

A row says which resource an operation reads, creates/updates (upsert) or removes, which
payload field names that resource, and whether the province answers at once (`done`) or
accepts the work order and sends a completion report (报竣) later. A batch operation moves
many members at once: its payload carries `members` (`[{"msisdn", ...}]`) and the common
fields, it acts on one resource per member and answers for each member. Settlement, SMS and
the hub itself live at HQ; every other system lives in each of the 31 provinces.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlmodel import Session, select

from models.provinces import HQ, HQ_SYSTEMS, PROVINCE_CODES, System
from simulator.db import CustomerRecord, Resource, Subscriber


class Effect(StrEnum):
    read = "read"
    upsert = "upsert"
    remove = "remove"
    amend = "amend"  # change fields of what is held; a batch member with nothing held fails


# Answers a read operation from what the province's system holds: (session, province, payload).
Reader = Callable[[Session, str, dict[str, Any]], dict[str, Any]]
# Answers a batch read with one result per member, in order: (session, members).
MemberReader = Callable[[Session, list[dict[str, Any]]], list[dict[str, Any]]]

VPDN_SUBSCRIPTION = "vpdn_subscription"
SMS_MESSAGE = "sms_message"


@dataclass(frozen=True)
class Operation:
    system: System
    name: str
    effect: Effect
    # Payload (in a batch: member) field naming the resource; None: the idempotency key (in a
    # batch: the idempotency key and the member's msisdn).
    key_field: str | None
    kind: str = ""  # the resource kind an upsert or remove acts on
    asynchronous: bool = False  # answer `accepted`, report completion later
    reader: Reader | MemberReader | None = None  # how a read is answered
    batch: bool = False  # acts on each of `payload.members`, answers `data.results`


def member_result(
    msisdn: str, ok: bool = True, code: str | None = None, text: str | None = None, **details
) -> dict[str, Any]:
    """One member's entry in a batch answer's `results`."""
    return {"msisdn": msisdn, "ok": ok, "code": code, "text": text, **details}


def query_group_customer(session: Session, province: str, payload: dict[str, Any]) -> dict:
    """The province's CRM tells what it holds of a group customer (客户信息获取)."""
    record = session.get(CustomerRecord, (province, payload["customer_code"]))
    return {"found": record is not None, "record": record.model_dump(exclude={"version"}) if record else None}


def lookup_subscriber(session: Session, province: str, payload: dict[str, Any]) -> dict:
    """A CRM tells whether a number exists, its home province and status (成员核查)."""
    subscriber = session.get(Subscriber, payload["msisdn"])
    if subscriber is None:
        return {"found": False, "msisdn": payload["msisdn"], "home_province": None, "status": None}
    return {"found": True, **subscriber.model_dump()}


def verify_members(session: Session, members: list[dict[str, Any]]) -> list[dict]:
    """The hub routes each number to its home province (成员核查): whether it exists, its home
    province and status, and the VPDN subscription its home HLR already holds for it."""
    msisdns = [member["msisdn"] for member in members]
    subscribers = {
        msisdn: (home_province, status)
        for msisdn, home_province, status in session.exec(
            select(Subscriber.msisdn, Subscriber.home_province, Subscriber.status).where(
                Subscriber.msisdn.in_(msisdns)
            )
        )
    }
    vpdn = {
        (province, msisdn): data
        for province, msisdn, data in session.exec(
            select(Resource.province, Resource.key, Resource.data).where(
                Resource.kind == VPDN_SUBSCRIPTION,
                Resource.key.in_(list(subscribers)),
                Resource.system == System.hlr,
            )
        )
    }
    results = []
    for msisdn in msisdns:
        if msisdn not in subscribers:
            results.append(member_result(
                msisdn, False, "E3001", "no such number", found=False, home_province=None,
                status=None, vpdn=None,
            ))
            continue
        home_province, status = subscribers[msisdn]
        results.append(member_result(
            msisdn, found=True, home_province=home_province, status=status,
            vpdn=vpdn.get((home_province, msisdn)),
        ))
    return results


OPERATIONS: dict[tuple[System, str], Operation] = {
    (op.system, op.name): op
    for op in [
        Operation(System.crm, "query_group_customer", Effect.read, "customer_code",
                  reader=query_group_customer),
        Operation(System.crm, "lookup_subscriber", Effect.read, "msisdn",
                  reader=lookup_subscriber),
        Operation(System.crm, "configure_group_tariff", Effect.upsert, "service_id",
                  "group_tariff_package", asynchronous=True),
        Operation(System.crm, "cancel_group_tariff", Effect.remove, "service_id",
                  "group_tariff_package", asynchronous=True),
        Operation(System.crm, "service_work_order", Effect.upsert, "service_id",
                  "service_order", asynchronous=True),
        Operation(System.crm, "cancel_work_order", Effect.remove, "service_id",
                  "service_order"),
        Operation(System.line, "schedule_line", Effect.upsert, "service_id", "line_order",
                  asynchronous=True),
        Operation(System.line, "cancel_line", Effect.remove, "service_id", "line_order"),
        Operation(System.line, "terminate_line", Effect.remove, "service_id", "line_order",
                  asynchronous=True),
        Operation(System.crm, "service_change_sync", Effect.upsert, "service_id", "service_change",
                  asynchronous=True),
        Operation(System.billing, "start_rental", Effect.upsert, "rental_id", "rental"),
        Operation(System.billing, "stop_rental", Effect.remove, "rental_id", "rental"),
        Operation(System.settlement, "record_rental", Effect.upsert, "rental_id",
                  "rental_record"),
        Operation(System.settlement, "cancel_rental", Effect.remove, "rental_id",
                  "rental_record"),
        Operation(System.crm, "member_opening_order", Effect.upsert, "batch_id",
                  "member_opening_order", asynchronous=True),
        Operation(System.crm, "member_closing_order", Effect.upsert, "batch_id",
                  "member_closing_order", asynchronous=True),
        Operation(System.crm, "access_opening_order", Effect.upsert, "batch_id",
                  "access_opening_order", asynchronous=True),
        Operation(System.crm, "access_closing_order", Effect.upsert, "batch_id",
                  "access_closing_order", asynchronous=True),
        Operation(System.hlr, "subscribe_vpdn", Effect.upsert, "msisdn", VPDN_SUBSCRIPTION),
        Operation(System.hlr, "unsubscribe_vpdn", Effect.remove, "msisdn", VPDN_SUBSCRIPTION),
        Operation(System.hlr, "subscribe_vpdn_batch", Effect.upsert, "msisdn", VPDN_SUBSCRIPTION,
                  batch=True),
        Operation(System.hlr, "unsubscribe_vpdn_batch", Effect.remove, "msisdn",
                  VPDN_SUBSCRIPTION, batch=True),
        Operation(System.billing, "open_members_batch", Effect.upsert, "msisdn",
                  "member_billing", batch=True),
        Operation(System.billing, "close_members_batch", Effect.remove, "msisdn",
                  "member_billing", batch=True),
        Operation(System.crm, "member_plan_change_order", Effect.upsert, "batch_id",
                  "member_plan_change_order", asynchronous=True),
        Operation(System.billing, "set_member_plan_batch", Effect.amend, "msisdn",
                  "member_billing", batch=True),
        Operation(System.aaa, "create_account", Effect.upsert, "msisdn", "aaa_account"),
        Operation(System.aaa, "remove_account", Effect.remove, "msisdn", "aaa_account"),
        Operation(System.aaa, "create_accounts_batch", Effect.upsert, "msisdn", "aaa_account",
                  batch=True),
        Operation(System.aaa, "remove_accounts_batch", Effect.remove, "msisdn", "aaa_account",
                  batch=True),
        Operation(System.sms, "send", Effect.upsert, None, SMS_MESSAGE),
        Operation(System.sms, "send_batch", Effect.upsert, None, SMS_MESSAGE, batch=True),
        Operation(System.hub, "verify_members", Effect.read, "msisdn", reader=verify_members,
                  batch=True),
    ]
}


class UnknownAddress(LookupError):
    """The hub has no such province, system or operation; the message says what exists."""


def sites(system: System) -> tuple[str, ...]:
    """Where a system lives: HQ for settlement, SMS and the hub, else each of the 31 provinces."""
    return (HQ,) if system in HQ_SYSTEMS else PROVINCE_CODES


def find_system(province: str, system: str) -> System:
    """The system at that province, or UnknownAddress naming the valid ones."""
    if province not in PROVINCE_CODES and province != HQ:
        raise UnknownAddress(
            f"unknown province {province!r}; valid: {' '.join(PROVINCE_CODES)} and {HQ}"
        )
    try:
        found = System(system)
    except ValueError:
        raise UnknownAddress(f"unknown system {system!r}; valid: {' '.join(System)}") from None
    if province not in sites(found):
        where = f"at {HQ} only" if found in HQ_SYSTEMS else "in each of the 31 provinces"
        at_province = [s for s in System if province in sites(s)]
        raise UnknownAddress(
            f"no {system} at {province}: {system} is {where}; "
            f"systems at {province}: {' '.join(at_province)}"
        )
    return found


def find_operation(province: str, system: str, operation: str) -> Operation:
    """The operation of that system at that province, or UnknownAddress naming the valid ones."""
    found = find_system(province, system)
    if (found, operation) not in OPERATIONS:
        offered = [name for (s, name) in OPERATIONS if s == found]
        raise UnknownAddress(
            f"unknown operation {operation!r} of {system}; valid: {' '.join(offered)}"
        )
    return OPERATIONS[found, operation]
