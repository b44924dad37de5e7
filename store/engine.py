"""The order store's database: SQLite by default (WAL), PostgreSQL by URL."""

from pathlib import Path

from sqlalchemy import Engine, Insert, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import create_engine

from private_files import private_file


def engine_for(url: str, pool_size: int = 5, max_overflow: int = 10, pool_timeout: float = 30) -> Engine:
    """An engine for a database URL, its pool at most `pool_size` + `max_overflow`
    connections (a worker's: VPDN_DB_POOL_SIZE, VPDN_DB_MAX_OVERFLOW), waiting at most
    `pool_timeout` seconds for one; a new SQLite file is created 0600 (in a 0700 folder).
    Every store call holds at most one connection at a time, so a pool as large as the
    worker's activity slots always serves them."""
    pool = {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": pool_timeout}
    if url.startswith("sqlite:///"):
        private_file(Path(url.removeprefix("sqlite:///")))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return create_engine(url, pool_pre_ping=True, **pool)


def _sqlite_pragmas(connection, _record) -> None:
    # Foreign keys enforced as PostgreSQL does, so both databases accept the same writes;
    # WAL so that readers never wait for the worker's many short writes.
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")


def insert_new(engine: Engine, table: Table | type) -> Insert:
    """An INSERT that skips a row whose unique key is already held (ON CONFLICT DO NOTHING):
    each row is checked against its unique index. A NOT EXISTS on the table written to may
    be planned, with statistics of a service that had few members, as a read of every row
    of the service per row inserted, the statement's own new rows included."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()
