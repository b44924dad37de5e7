"""The simulator's own database: what the provinces' systems hold, apart from the order store.

SQLite by default. Every transaction on SQLite starts with ``BEGIN IMMEDIATE`` so that the
request threads and the report loop queue for the write lock (up to the busy timeout)
instead of failing when two of them read and then write at once.
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Engine, Index, UniqueConstraint, delete, event, inspect
from sqlalchemy.engine import make_url
from sqlmodel import Field, Session, SQLModel, create_engine, select

from private_files import private_file


def utcnow() -> datetime:
    return datetime.now(UTC)


class CustomerRecord(SQLModel, table=True):
    """A group customer as one province's CRM knows it (the group itself or a branch)."""

    __tablename__ = "sim_customer"

    province: str = Field(primary_key=True)
    customer_code: str = Field(primary_key=True, index=True)
    name: str
    credit_code: str = Field(index=True)
    level: str
    version: int = 1  # the province's own version of its record, up by one at each change


class Subscriber(SQLModel, table=True):
    """A mobile number, its home province and whether it is in service."""

    __tablename__ = "sim_subscriber"

    msisdn: str = Field(primary_key=True)
    home_province: str = Field(index=True)
    status: str


class Resource(SQLModel, table=True):
    """Something a province's system holds because of a work order: a tariff package, an AAA
    account, a rental… `writes` counts how many times an effect was applied to it. Indexed by
    kind and key too, to find a number's resources in any province (成员核查)."""

    __tablename__ = "sim_resource"
    __table_args__ = (
        UniqueConstraint("province", "system", "kind", "key"),
        Index("ix_sim_resource_kind_key", "kind", "key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    province: str
    system: str
    kind: str
    key: str
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    writes: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class IdempotencyRecord(SQLModel, table=True):
    """The calls carrying one idempotency key to one operation of one province's system, and
    the first answer given to them, which every later call gets again."""

    __tablename__ = "sim_idempotency"
    __table_args__ = (UniqueConstraint("idempotency_key", "province", "system", "operation"),)

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(index=True)
    province: str
    system: str
    operation: str
    calls: int = 0
    status_code: int | None = None  # None until answered: a transient failure is no answer
    answer: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    first_call_at: datetime = Field(default_factory=utcnow)


class WriteRecord(SQLModel, table=True):
    """One effect applied to what a system holds (the write log, simulator/writes.py): to which
    resource (or, for an SMS, to which number), by which call."""

    __tablename__ = "sim_write"

    id: int | None = Field(default=None, primary_key=True)
    province: str
    system: str
    kind: str
    target: str = Field(index=True)  # the resource's key, or the number an SMS went to
    operation: str
    idempotency_key: str
    step: str  # the idempotency key without its attempt
    at: datetime = Field(default_factory=utcnow)


class Fault(SQLModel, table=True):
    """An injected fault (a `FaultSpec`) and how many more calls it may hit."""

    __tablename__ = "sim_fault"

    id: int | None = Field(default=None, primary_key=True)
    spec: dict[str, Any] = Field(sa_type=JSON)
    remaining: int | None = None  # None: no limit
    hits: int = 0  # calls it has hit so far


class PendingReport(SQLModel, table=True):
    """A completion report (报竣) a province owes GPMS, kept until GPMS took it (or refused it)
    so that it survives a restart of the simulator."""

    __tablename__ = "sim_hub_report"  # sim_report named workflows; these carry correlations

    report_id: str = Field(primary_key=True)
    report: dict[str, Any] = Field(sa_type=JSON)  # a HubReport
    due_at: datetime = Field(index=True)
    sent: bool = Field(default=False, index=True)
    attempts: int = 0
    last_error: str | None = None


class SchemaVersion(SQLModel, table=True):
    """The one row saying which version of these tables the database holds (none before 2)."""

    __tablename__ = "sim_version"

    version: int = Field(primary_key=True)


SCHEMA_VERSION = 2


class SimulatorDatabaseOutdated(Exception):
    """The simulator's database is from another version of vpdn (one line, what to do)."""


# What `reset` clears: the faults, and with `everything` all that the provinces hold.
FAULT_TABLES = {"faults": Fault}
STATE_TABLES = {
    "resources": Resource,
    "calls": IdempotencyRecord,
    "writes": WriteRecord,
    "reports": PendingReport,
    "customers": CustomerRecord,
    "subscribers": Subscriber,
}


def open_database(url: str) -> Engine:
    """The engine for the simulator's database, with its tables created in a new one.
    Raises SimulatorDatabaseOutdated for a database of another version."""
    engine = _sqlite_engine(url) if url.startswith("sqlite") else create_engine(url)
    tables = [table.__table__ for table in (SchemaVersion, *FAULT_TABLES.values(), *STATE_TABLES.values())]
    existing = set(inspect(engine).get_table_names()) & {table.name for table in tables}
    if existing:
        _check_version(engine, url, has_version=SchemaVersion.__tablename__ in existing)
    else:
        SQLModel.metadata.create_all(engine, tables=tables)
        with Session(engine) as session, session.begin():
            session.add(SchemaVersion(version=SCHEMA_VERSION))
    return engine


def _check_version(engine: Engine, url: str, has_version: bool) -> None:
    with Session(engine) as session:
        found = session.exec(select(SchemaVersion.version)).first() if has_version else None
    if found != SCHEMA_VERSION:
        engine.dispose()
        where = make_url(url).render_as_string(hide_password=True)
        raise SimulatorDatabaseOutdated(
            f"the simulator's database {where} is from {'an older' if (found or 1) < SCHEMA_VERSION else 'another'} "
            f"version of vpdn (version {found or 1}, this one needs {SCHEMA_VERSION}): delete it or set "
            f"VPDN_SIM_DATABASE_URL to a new one (it holds only the simulated provinces' data)")


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        private_file(Path(database))
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    return engine


def _sqlite_connect(dbapi_connection, _record) -> None:
    # Leave starting transactions to the "begin" event rather than the sqlite3 module.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def reset(engine: Engine, everything: bool = False) -> dict[str, int]:
    """Clear the faults, or with `everything` all that the provinces hold; count what went."""
    tables = {**FAULT_TABLES, **(STATE_TABLES if everything else {})}
    with Session(engine) as session, session.begin():
        return {name: session.exec(delete(table)).rowcount for name, table in tables.items()}
