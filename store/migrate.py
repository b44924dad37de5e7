"""The order store's schema versions (Alembic, revisions in store/migrations/).

Only `vpdn setup` / `vpdn db upgrade` (and `vpdn up` for its embedded store) run DDL; an
`OrderStore` only checks that its database is at the head revision. A database made by a
release without versions (tables by `create_all`, no `alembic_version`) is adopted: stamped
at the first revision when its tables and columns are those of that revision.
"""

import functools
import logging
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, create_engine, inspect
from sqlmodel import SQLModel

import store.tables  # noqa: F401 - the models the revisions describe (store/__init__ imports the others)

MIGRATIONS = Path(__file__).parent / "migrations"
FIRST_REVISION = "0001"
UPGRADE_HINT = "run `vpdn db upgrade`"
# Alembic tells at INFO which dialect it drives, at every check of a store: not an operator's news.
logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)


class SchemaNotCurrent(Exception):
    """The order store's database is not at the schema this release needs (one line)."""


class SchemaUnknown(SchemaNotCurrent):
    """A database without schema versions whose tables are not those of any release."""


@functools.cache
def store_tables() -> MetaData:
    """The order store's tables: the SQLModel tables defined in store/ (the simulator's
    share SQLModel's metadata but are not ours)."""
    metadata = MetaData()
    for mapper in SQLModel._sa_registry.mappers:  # noqa: SLF001 - SQLModel's one registry
        if mapper.class_.__module__.startswith("store."):
            mapper.local_table.to_metadata(metadata)
    return metadata


def include_name(name: str | None, type_: str, _parents: dict) -> bool:
    """Alembic's filter: only the store's tables (not the simulator's, if they share a database)."""
    return type_ != "table" or name in store_tables().tables


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@functools.cache
def head() -> str:
    """The revision this release needs."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def current(engine: Engine) -> str | None:
    """The database's revision (None: no versions, empty or from the previous release)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Bring the database to the head revision (adopting a previous release's); its revision."""
    with engine.begin() as connection:
        if MigrationContext.configure(connection).get_current_revision() is None and _has_store_tables(connection):
            _adopt(connection)
        command.upgrade(_config(connection), "head")
    return current(engine)


def check(engine: Engine) -> list:
    """The differences between the database and the models (empty when they agree)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": include_name})
        return compare_metadata(context, store_tables())


def require_head(engine: Engine) -> None:
    """Refuse (SchemaNotCurrent) a database that is not at the head revision."""
    at, needed = current(engine), head()
    if at != needed:
        found = f"at schema version {at}" if at else "without schema versions (empty, or from an older release)"
        raise SchemaNotCurrent(f"the order store {engine.url.render_as_string(hide_password=True)} is {found}, "
                               f"this vpdn needs {needed}: {UPGRADE_HINT}")


def _has_store_tables(connection: Connection) -> bool:
    return bool(set(inspect(connection).get_table_names()) & set(store_tables().tables))


def _adopt(connection: Connection) -> None:
    """Stamp a previous release's database at the first revision if its schema is that one."""
    scratch = create_engine("sqlite://")
    with scratch.begin() as empty:
        command.upgrade(_config(empty), FIRST_REVISION)
        expected = _columns(empty)
    found = _columns(connection)
    missing = sorted(set(expected) - set(found))
    differing = sorted(table for table in found if found[table] != expected.get(table))
    if missing or differing:
        raise SchemaUnknown(f"the order store has tables but no schema version, and they are not those of revision "
                            f"{FIRST_REVISION} (missing: {', '.join(missing) or 'none'}; other columns: "
                            f"{', '.join(differing) or 'none'}): it was not made by a vpdn release")
    command.stamp(_config(connection), FIRST_REVISION)


def _columns(connection: Connection) -> dict[str, set[str]]:
    inspector = inspect(connection)
    return {table: {column["name"] for column in inspector.get_columns(table)}
            for table in inspector.get_table_names() if table in store_tables().tables}
