"""How a province's system answers a hub call: once per idempotency key.

The effect on what the system holds, the answer and, for a work order answered later, the
pending completion report are written in one transaction with the key's record, so a crash
leaves all of them or none. A repeated key gets the first answer again and changes nothing.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.hub import CompletionReport, FaultKind, FaultSpec, HubAnswer, HubRejection, HubRequest
from simulator.db import IdempotencyRecord, PendingReport, Resource, utcnow
from simulator.operations import Effect, Operation


@dataclass(frozen=True)
class Reply:
    """What goes back over HTTP: a status code and a JSON body."""

    status_code: int
    body: dict[str, Any]


def refusal(op: Operation, request: HubRequest) -> HubRejection | None:
    """Why the hub refuses a malformed request before anything happens, if it does."""
    if _carries_password(request.payload):
        return HubRejection(code="E4001", text="plaintext password refused: send password_hash")
    if op.key_field and request.payload.get(op.key_field) in (None, ""):
        return HubRejection(code="E4000", text=f"payload.{op.key_field} is required")
    if op.asynchronous and request.reply_to is None:
        return HubRejection(
            code="E4000",
            text=f"{op.system}.{op.name} reports its completion later: reply_to is required",
        )
    return None


def _carries_password(value: Any) -> bool:
    if isinstance(value, dict):
        return "password" in value or any(_carries_password(v) for v in value.values())
    if isinstance(value, list):
        return any(_carries_password(v) for v in value)
    return False


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
    return next((fault for fault in faults if fault.kind == kind), None)


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
    answer = HubAnswer(
        status="accepted" if op.asynchronous else "done",
        data=_apply_effect(session, op, province, request),
    )
    if op.asynchronous and not _first(faults, FaultKind.no_report):
        session.add(_completion_report(op, province, request, answer, report_delay_s))
    return Reply(200, answer.model_dump())


def _apply_effect(
    session: Session, op: Operation, province: str, request: HubRequest
) -> dict[str, Any]:
    """Read, write or remove what the system holds; return the answer's data."""
    if op.effect is Effect.read:
        return op.reader(session, province, request.payload)
    key = request.idempotency_key if op.key_field is None else str(request.payload[op.key_field])
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
    return {"kind": op.kind, "key": key}


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
    report = CompletionReport(
        report_id=report_id,
        province=province,
        system=op.system,
        operation=op.name,
        idempotency_key=request.idempotency_key,
        outcome="completed",
        data=answer.data,
    )
    return PendingReport(
        report_id=report_id,
        workflow_id=request.reply_to.workflow_id,
        signal=request.reply_to.signal,
        report=report.model_dump(mode="json"),
        due_at=utcnow() + timedelta(seconds=report_delay_s),
    )
