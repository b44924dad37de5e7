"""How a province's system answers a hub call: once per idempotency key.

The effect on what the system holds, the answer and, for a work order answered later, the
pending completion report are written in one transaction with the key's record, so a crash
leaves all of them or none. A repeated key gets the first answer again and changes nothing.
A batch call acts on all its members with a few bulk statements, never one per member.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.hub import FaultKind, FaultSpec, HubAnswer, HubRejection, HubReport, HubRequest
from simulator.db import IdempotencyRecord, PendingReport, Resource, utcnow
from simulator.operations import SMS_MESSAGE, Effect, Operation, member_result
from simulator.writes import log_writes


@dataclass(frozen=True)
class Reply:
    """What goes back over HTTP: a status code and a JSON body."""

    status_code: int
    body: dict[str, Any]


def refusal(op: Operation, request: HubRequest) -> HubRejection | None:
    """Why the hub refuses a malformed request before anything happens, if it does."""
    if _carries_password(request.payload):
        return HubRejection(code="E4001", text="plaintext password refused: send password_hash")
    if op.batch and not _valid_members(request.payload.get("members")):
        return HubRejection(
            code="E4000", text="payload.members is required: a list of {msisdn, ...}"
        )
    if not op.batch and op.key_field and request.payload.get(op.key_field) in (None, ""):
        return HubRejection(code="E4000", text=f"payload.{op.key_field} is required")
    if op.asynchronous and request.correlation is None:
        return HubRejection(
            code="E4000",
            text=f"{op.system}.{op.name} reports its completion later: correlation is required",
        )
    return None


def _valid_members(members: Any) -> bool:
    """A batch names its members: a non-empty list of objects, each with an msisdn."""
    return (
        isinstance(members, list)
        and bool(members)
        and all(isinstance(m, dict) and isinstance(m.get("msisdn"), str) and m["msisdn"]
                for m in members)
    )


def batch_msisdns(op: Operation, request: HubRequest) -> frozenset[str] | None:
    """The members' numbers of a batch call; None for any other call."""
    return frozenset(m["msisdn"] for m in request.payload["members"]) if op.batch else None


def _carries_password(value: Any) -> bool:
    if isinstance(value, dict):
        return "password" in value or any(_carries_password(v) for v in value.values())
    if isinstance(value, list):
        return any(_carries_password(v) for v in value)
    return False


def repeated_answer(engine: Engine, op: Operation, province: str, key: str) -> Reply | None:
    """The first answer to a key already answered, before anything is checked (as idempotent
    APIs do): the call is counted and changes nothing. None for a key not answered yet."""
    with Session(engine) as session, session.begin():
        record = session.exec(
            select(IdempotencyRecord)
            .where(
                IdempotencyRecord.idempotency_key == key,
                IdempotencyRecord.province == province,
                IdempotencyRecord.system == op.system,
                IdempotencyRecord.operation == op.name,
                IdempotencyRecord.status_code.is_not(None),
            )
            .with_for_update()
        ).first()
        if record is None:
            return None
        record.calls += 1
        return Reply(record.status_code, record.answer)


def report_again(engine: Engine, op: Operation, province: str, request: HubRequest, report_delay_s: float) -> None:
    """A work order accepted before and asked again (its report went missing): the province
    sends its completion report again, as for the first call."""
    with Session(engine) as session, session.begin():
        record = session.exec(select(IdempotencyRecord).where(
            IdempotencyRecord.idempotency_key == request.idempotency_key, IdempotencyRecord.province == province,
            IdempotencyRecord.system == op.system, IdempotencyRecord.operation == op.name)).one()
        answer = HubAnswer.model_validate(record.answer)
        session.merge(_completion_report(op, province, request, answer, report_delay_s))  # due again, unsent


def answer_call(
    engine: Engine,
    op: Operation,
    province: str,
    request: HubRequest,
    faults: list[FaultSpec],
    report_delay_s: float,
) -> Reply:
    """Count the call and answer it: a transient fault's 503, the key's first answer if it has
    one, or else the injected rejection or the operation's effect, stored as the first answer."""
    try:
        return _answer_once(engine, op, province, request, faults, report_delay_s)
    except IntegrityError:
        # A concurrent call created the same key or resource first: answer after it.
        return _answer_once(engine, op, province, request, faults, report_delay_s)


def _answer_once(
    engine: Engine,
    op: Operation,
    province: str,
    request: HubRequest,
    faults: list[FaultSpec],
    report_delay_s: float,
) -> Reply:
    with Session(engine) as session, session.begin():
        record = _idempotency_record(session, op, province, request.idempotency_key)
        record.calls += 1
        if transient := _first(faults, FaultKind.transient):
            return Reply(503, {"code": transient.code, "text": transient.text})
        if record.status_code is None:
            reply = _first_answer(session, op, province, request, faults, report_delay_s)
            record.status_code, record.answer = reply.status_code, reply.body
        return Reply(record.status_code, record.answer)


def _first(faults: list[FaultSpec], kind: FaultKind) -> FaultSpec | None:
    """The first fault of that kind that hits the whole call (names no members)."""
    return next((f for f in faults if f.kind == kind and f.msisdns is None), None)


def _member_rejections(faults: list[FaultSpec]) -> dict[str, FaultSpec]:
    """The members that reject faults single out, each with the first fault naming it."""
    return {
        msisdn: fault
        for fault in reversed(faults)
        if fault.kind == FaultKind.reject and fault.msisdns is not None
        for msisdn in fault.msisdns
    }


def _idempotency_record(
    session: Session, op: Operation, province: str, key: str
) -> IdempotencyRecord:
    record = session.exec(
        select(IdempotencyRecord)
        .where(
            IdempotencyRecord.idempotency_key == key,
            IdempotencyRecord.province == province,
            IdempotencyRecord.system == op.system,
            IdempotencyRecord.operation == op.name,
        )
        .with_for_update()
    ).first()
    if record is None:
        record = IdempotencyRecord(
            idempotency_key=key, province=province, system=op.system, operation=op.name
        )
        session.add(record)
    return record


def _first_answer(
    session: Session,
    op: Operation,
    province: str,
    request: HubRequest,
    faults: list[FaultSpec],
    report_delay_s: float,
) -> Reply:
    if rejection := _first(faults, FaultKind.reject):
        return Reply(422, HubRejection(code=rejection.code, text=rejection.text).model_dump())
    if op.batch:
        data = _apply_to_members(session, op, province, request, _member_rejections(faults))
    else:
        data = _apply_effect(session, op, province, request)
    answer = HubAnswer(status="accepted" if op.asynchronous else "done", data=data)
    if op.asynchronous and not _first(faults, FaultKind.no_report):
        session.add(_completion_report(op, province, request, answer, report_delay_s))
    return Reply(200, answer.model_dump())


def _apply_effect(
    session: Session, op: Operation, province: str, request: HubRequest
) -> dict[str, Any]:
    """Read, write or remove what the system holds; return the answer's data."""
    if op.effect is Effect.read:
        return op.reader(session, province, request.payload)
    key = _resource_key(op, request.idempotency_key, request.payload)
    resource = session.exec(
        select(Resource).where(
            Resource.province == province,
            Resource.system == op.system,
            Resource.kind == op.kind,
            Resource.key == key,
        )
    ).first()
    if op.effect is Effect.remove:
        if resource is not None:
            session.delete(resource)
        return {"kind": op.kind, "key": key, "removed": resource is not None}
    if resource is None:
        resource = Resource(province=province, system=op.system, kind=op.kind, key=key)
        session.add(resource)
    resource.data = request.payload
    resource.writes += 1
    resource.updated_at = utcnow()
    _log(session, op, province, request.idempotency_key, {key: request.payload})
    return {"kind": op.kind, "key": key}


def _log(session: Session, op: Operation, province: str, call_key: str, written: dict[str, dict]) -> None:
    """Log the writes to the write log: by resource key, an SMS by the number it went to."""
    targets = [data.get("msisdn", key) if op.kind == SMS_MESSAGE else key for key, data in written.items()]
    log_writes(session, province, op.system, op.kind, op.name, call_key, targets)


def _resource_key(op: Operation, call_key: str, fields: dict[str, Any]) -> str:
    """The key of the resource an operation acts on, from a payload's or member's fields."""
    return call_key if op.key_field is None else str(fields[op.key_field])


def _apply_to_members(
    session: Session,
    op: Operation,
    province: str,
    request: HubRequest,
    rejections: dict[str, FaultSpec],
) -> dict[str, Any]:
    """Act on each member no fault rejects; answer for every member in the batch's order."""
    members = request.payload["members"]
    proceeding = [member for member in members if member["msisdn"] not in rejections]
    if op.effect is Effect.read:
        outcomes = iter(op.reader(session, proceeding))
    else:
        outcomes = iter(_write_members(session, op, province, request, proceeding))
    results = []
    for member in members:
        fault = rejections.get(member["msisdn"])
        results.append(
            member_result(member["msisdn"], False, fault.code, fault.text)
            if fault
            else next(outcomes)
        )
    if op.effect is Effect.read:
        return {"results": results}
    return {"kind": op.kind, "results": results}


def _write_members(
    session: Session, op: Operation, province: str, request: HubRequest, members: list[dict]
) -> list[dict[str, Any]]:
    """Upsert, amend or remove one resource per member, in bulk. A member's data is the
    common payload fields merged with its own (an amendment merges them into what is held)."""
    common = {field: value for field, value in request.payload.items() if field != "members"}
    keys = [
        _resource_key(op, f"{request.idempotency_key}:{m['msisdn']}", m) for m in members
    ]
    wanted = {key: common | member for key, member in zip(keys, members)}
    held = {
        key: (resource_id, writes, data)
        for resource_id, key, writes, data in session.exec(
            select(Resource.id, Resource.key, Resource.writes, Resource.data)
            .where(
                Resource.province == province,
                Resource.system == op.system,
                Resource.kind == op.kind,
                Resource.key.in_(list(wanted)),
            )
            .with_for_update()
        )
    }
    if op.effect is Effect.remove:
        if held:
            session.exec(delete(Resource).where(Resource.id.in_([i for i, _, _ in held.values()])))
        return [member_result(m["msisdn"], removed=key in held) for m, key in zip(members, keys)]
    now = utcnow()
    if op.effect is Effect.amend:
        wanted = {key: held[key][2] | data for key, data in wanted.items() if key in held}
    _log(session, op, province, request.idempotency_key, wanted)
    if held:
        session.exec(update(Resource), params=[
            {"id": resource_id, "data": wanted[key], "writes": writes + 1, "updated_at": now}
            for key, (resource_id, writes, _) in held.items()
        ])
    if op.effect is Effect.amend:
        return [member_result(m["msisdn"]) if key in held else
                member_result(m["msisdn"], False, "E3404", f"no {op.kind} held for this number")
                for m, key in zip(members, keys)]
    if new := [key for key in wanted if key not in held]:
        session.exec(insert(Resource), params=[
            {"province": province, "system": op.system, "kind": op.kind, "key": key,
             "data": wanted[key], "writes": 1, "created_at": now, "updated_at": now}
            for key in new
        ])
    return [member_result(m["msisdn"]) for m in members]


def _completion_report(
    op: Operation,
    province: str,
    request: HubRequest,
    answer: HubAnswer,
    report_delay_s: float,
) -> PendingReport:
    """The report (报竣) the province will send when the work order is done."""
    report_id = str(
        uuid.uuid5(
            uuid.NAMESPACE_URL,
            f"vpdn-simulator:{province}/{op.system}/{op.name}/{request.idempotency_key}",
        )
    )
    report = HubReport(
        report_id=report_id,
        correlation=request.correlation,
        province=province,
        system=op.system,
        operation=op.name,
        outcome="completed",
        data=answer.data,
    )
    return PendingReport(
        report_id=report_id,
        report=report.model_dump(mode="json"),
        due_at=utcnow() + timedelta(seconds=report_delay_s),
    )
