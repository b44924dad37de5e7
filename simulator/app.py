"""The simulated HQ hub and provinces' systems as an HTTP service.

`POST /v1/provinces/{province}/{system}/{operation}` is the hub API the adapters call;
`/admin/...` lets tests, benchmarks and people seed data, inject faults and look inside.
Every error body is `{"code", "text"}`.
"""

import asyncio
from contextlib import asynccontextmanager, suppress
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlmodel import Session, select

from models.hub import FaultKind, FaultSpec, HubRequest, SeedData
from models.provinces import HQ, PROVINCE_CODES, System
from settings import Settings
from simulator import db, seed
from simulator.calls import answer_call, batch_msisdns, refusal, repeated_answer, report_again
from simulator.customers import ChangeSink, RecordChange, change_record
from simulator.db import IdempotencyRecord, PendingReport, Resource
from simulator.faults import add_fault, list_faults, take_faults
from simulator.writes import repeated_writes, writes_summary
from simulator.operations import (
    OPERATIONS,
    SMS_MESSAGE,
    UnknownAddress,
    find_operation,
    find_system,
)
from simulator.reports import GpmsDoor, Reporter, ReportSink


def _error(status_code: int, code: str, text: str) -> JSONResponse:
    return JSONResponse({"code": code, "text": text}, status_code=status_code)


async def _unknown_address(_request: Request, err: UnknownAddress) -> JSONResponse:
    return _error(404, "E4040", str(err))


async def _invalid_request(_request: Request, err: RequestValidationError) -> JSONResponse:
    return _error(422, "E4000", f"invalid request: {err.errors()}")


async def _engine(request: Request) -> Engine:
    return request.app.state.engine


EngineDep = Annotated[Engine, Depends(_engine)]

hub = APIRouter()


@hub.post("/v1/provinces/{province}/{system}/{operation}")
async def call_system(
    province: str, system: str, operation: str, call: HubRequest, request: Request
) -> JSONResponse:
    """One call from the hub to an operation of a province's system. A key already answered
    gets its first answer before anything else; then the request is checked, faults hit
    (latency, transient 503, rejection of the call or of the batch members a fault names),
    and the operation runs; a lost answer (504) comes after the work is done."""
    province = province.upper()
    op = find_operation(province, system, operation)
    engine = request.app.state.engine
    if repeated := await run_in_threadpool(repeated_answer, engine, op, province, call.idempotency_key):
        if op.asynchronous and repeated.status_code == 200 and call.correlation and not await run_in_threadpool(
                take_faults, engine, province, system, operation, kinds={FaultKind.no_report}):
            await run_in_threadpool(report_again, engine, op, province, call,
                                    request.app.state.settings.report_delay_s)
        return JSONResponse(repeated.body, status_code=repeated.status_code)
    if rejection := refusal(op, call):
        return JSONResponse(rejection.model_dump(), status_code=422)
    faults = await run_in_threadpool(
        take_faults, engine, province, system, operation, batch_msisdns(op, call)
    )
    latency_ms = sum(fault.latency_ms for fault in faults if fault.kind == FaultKind.latency)
    if latency_ms:
        await asyncio.sleep(latency_ms / 1000)
    reply = await run_in_threadpool(
        answer_call, engine, op, province, call, faults, request.app.state.settings.report_delay_s
    )
    if any(fault.kind == FaultKind.lost_answer for fault in faults):
        return _error(504, "E5040", "the province's answer was lost on its way back (the work is done)")
    return JSONResponse(reply.body, status_code=reply.status_code)


@hub.get("/v1/provinces/{province}/{system}/holdings")
def holdings(
    province: str, system: str, engine: EngineDep, after: str = "",
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict:
    """What a province's system holds, a page at a time, in the order of kind and key (for
    reconciliation's merge-walk): `{"holdings": [{"kind", "key", "data"}], "next"}`; `next`
    is the `after` of the next page, `<kind>/<key>` of the page's last (null: the last page)."""
    province = province.upper()
    query = select(Resource).where(Resource.province == province, Resource.system == find_system(province, system))
    binary = "C" if engine.dialect.name == "postgresql" else "BINARY"  # byte order, as Python compares
    kind, key = Resource.kind.collate(binary), Resource.key.collate(binary)
    if after:
        after_kind, after_key = after.split("/", 1)
        query = query.where((kind > after_kind) | ((kind == after_kind) & (key > after_key)))
    with Session(engine) as session:
        page = list(session.exec(query.order_by(kind, key).limit(limit)))
    return {"holdings": [{"kind": r.kind, "key": r.key, "data": r.data} for r in page],
            "next": f"{page[-1].kind}/{page[-1].key}" if len(page) == limit else None}


@hub.get("/health")
async def health() -> dict:
    return {"status": "ok"}


admin = APIRouter(prefix="/admin")

_FAULT_TARGETS = {
    "province": {*PROVINCE_CODES, HQ},
    "system": set(System),
    "operation": {name for _system, name in OPERATIONS},
}


@admin.post("/faults")
def inject_fault(spec: FaultSpec, engine: EngineDep):
    """Inject a fault into matching calls from now on: `{"id"}`."""
    spec = spec.model_copy(update={"province": spec.province.upper()})
    unknown = [
        f"{field} {getattr(spec, field)!r}"
        for field, valid in _FAULT_TARGETS.items()
        if getattr(spec, field) not in valid | {"*"}
    ]
    if unknown:
        return _error(422, "E4000", f"the fault targets an unknown {', '.join(unknown)}")
    if spec.msisdns is not None and spec.kind != FaultKind.reject:
        return _error(422, "E4000", "only a reject fault can name members (msisdns)")
    return {"id": add_fault(engine, spec)}


@admin.get("/faults")
def faults_in_force(engine: EngineDep) -> list[dict]:
    """The faults in force: `[{"id", "remaining", "spec": FaultSpec}]`."""
    return list_faults(engine)


@admin.post("/reset")
def reset(engine: EngineDep, everything: Annotated[bool, Query(alias="all")] = False) -> dict:
    """Clear the faults; with `all=true` also everything the provinces hold and every
    idempotency record, pending report, customer and subscriber: `{"cleared": {table: rows}}`."""
    return {"cleared": db.reset(engine, everything)}


@admin.post("/seed")
def seed_data(data: SeedData, engine: EngineDep):
    """Put customers and subscribers in the CRMs (replacing same keys): `{"customers",
    "subscribers"}` counts."""
    try:
        return seed.store(engine, data)
    except ValueError as err:
        return _error(422, "E4000", str(err))


@admin.post("/seed/generate")
def generate_seed(request: seed.GenerateRequest, engine: EngineDep) -> SeedData:
    """Generate seed data from a seed number, store it, and return it."""
    data = seed.generate(request)
    seed.store(engine, data)
    return data


@admin.get("/provinces/{province}/{system}/resources")
def resources(
    province: str,
    system: str,
    engine: EngineDep,
    kind: str | None = None,
    key: str | None = None,
    limit: int = 10_000,
) -> list[Resource]:
    """What a province's system holds, optionally of one kind and/or with one key."""
    province = province.upper()
    query = select(Resource).where(
        Resource.province == province, Resource.system == find_system(province, system)
    )
    for column, wanted in ((Resource.kind, kind), (Resource.key, key)):
        if wanted:
            query = query.where(column == wanted)
    with Session(engine) as session:
        return list(session.exec(query.order_by(Resource.id).limit(limit)))


@admin.get("/sms")
def sms_outbox(engine: EngineDep, msisdn: str | None = None) -> list[dict]:
    """The SMS gateway's outbox, optionally to one number: `[{"msisdn", "text", "key"}]`."""
    query = select(Resource).where(
        Resource.province == HQ, Resource.system == System.sms, Resource.kind == SMS_MESSAGE
    )
    if msisdn:
        query = query.where(Resource.data["msisdn"].as_string() == msisdn)
    with Session(engine) as session:
        return [
            {"msisdn": sms.data.get("msisdn"), "text": sms.data.get("text"), "key": sms.key}
            for sms in session.exec(query.order_by(Resource.id))
        ]


@admin.get("/calls")
def calls(
    engine: EngineDep,
    province: str | None = None,
    system: str | None = None,
    operation: str | None = None,
    key: str | None = None,
    limit: int = 1000,
) -> list[IdempotencyRecord]:
    """The idempotency records: how many calls carried each key, and its first answer."""
    query = select(IdempotencyRecord)
    for column, wanted in (
        (IdempotencyRecord.province, province and province.upper()),
        (IdempotencyRecord.system, system),
        (IdempotencyRecord.operation, operation),
        (IdempotencyRecord.idempotency_key, key),
    ):
        if wanted:
            query = query.where(column == wanted)
    with Session(engine) as session:
        return list(session.exec(query.order_by(IdempotencyRecord.id).limit(limit)))


@admin.get("/writes/repeated")
def writes_repeated(engine: EngineDep, limit: int = 1000) -> list[dict]:
    """The effects one step applied more than once (its key with or without an attempt) to one
    resource, or SMSs it sent one number more than once: `[{"province", "system", "kind",
    "key", "step", "writes", "keys"}]`."""
    with Session(engine) as session:
        return repeated_writes(session, limit)


@admin.get("/writes/summary")
def writes_summary_(engine: EngineDep) -> list[dict]:
    """Per system and kind, the writes applied, the resources written and those written more
    than once by one step: `[{"system", "kind", "writes", "targets", "repeated"}]`."""
    with Session(engine) as session:
        return writes_summary(session)


@admin.get("/reports")
def reports(engine: EngineDep, pending: bool = False, limit: int = 1000) -> list[PendingReport]:
    """The completion reports, with `pending=true` only those not yet delivered."""
    query = select(PendingReport)
    if pending:
        query = query.where(PendingReport.sent == False)  # noqa: E712
    with Session(engine) as session:
        return list(session.exec(query.order_by(PendingReport.due_at).limit(limit)))


@admin.post("/customers/{customer_code}/changes")
async def change_customer(customer_code: str, change: RecordChange, request: Request):
    """A province's CRM changes (or deletes) its record of a customer, and pushes the change
    to GPMS (客户信息同步): the record's version goes up by one. Returns the change sent."""
    try:
        sent = await run_in_threadpool(change_record, request.app.state.engine, customer_code, change)
    except ValueError as err:
        return _error(422, "E4000", str(err))
    except LookupError as err:
        return _error(404, "E4040", str(err))
    try:
        await request.app.state.change_sink(sent)
    except Exception as err:  # noqa: BLE001 - the record changed; say the push failed
        return _error(502, "E5020", f"{sent.province} record version {sent.version} saved, "
                                    f"but not delivered to GPMS: {err}")
    return sent


def create_app(
    settings: Settings, report_sink: ReportSink | None = None, change_sink: ChangeSink | None = None
) -> FastAPI:
    """The simulator on its database (`settings.simulator_database_url`). Completion reports go
    to `report_sink`, by default POSTed to GPMS's door (`settings.api_url`); while the app runs
    (its lifespan), a loop sends them as they fall due; `app.state.reporter.send_due()` sends
    them on demand. Customer record changes go to `change_sink`, by default to the door too."""
    engine = db.open_database(settings.simulator_database_url)
    door = GpmsDoor(settings)
    reporter = Reporter(engine, report_sink or door.report, retry_delay_s=settings.report_delay_s)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        sending = asyncio.create_task(reporter.run())
        try:
            yield
        finally:
            sending.cancel()
            with suppress(asyncio.CancelledError):
                await sending
            await door.aclose()
            engine.dispose()

    app = FastAPI(title="vpdn provinces simulator", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.reporter = reporter
    app.state.change_sink = change_sink or door.customer_change
    app.add_exception_handler(UnknownAddress, _unknown_address)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.include_router(hub)
    app.include_router(admin)
    return app
