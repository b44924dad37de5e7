"""The order store's schema versions, on SQLite and on PostgreSQL (VPDN_TEST_POSTGRES_URL):
an empty database upgraded is exactly the models, a previous release's database is adopted
with its data, and nothing uses a database that is not upgraded."""

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel
from typer.testing import CliRunner

import simulator.db  # noqa: F401 - the previous release's create_all made the simulator's tables too
from adapters.passwords import create_secrets_file
from cli import app
from models.customer import CustomerHierarchy
from store import OrderStore, SchemaNotCurrent, engine_for, migrate
from store.customers import CustomerRecords
from tests.conftest import PAYLOAD_KEYS, POSTGRES_URL
from tests.helpers import CUSTOMER, drop_schema

runner = CliRunner()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path, monkeypatch) -> str:
    """An empty database, and the CLI's order store set to it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'gpms.db'}"
    elif not POSTGRES_URL:
        pytest.skip("VPDN_TEST_POSTGRES_URL is not set: PostgreSQL migration tests skipped")
    else:
        drop_schema(url := POSTGRES_URL)
    monkeypatch.setenv("VPDN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VPDN_DATABASE_URL", url)
    return url


# The tables of the release before schema versions (later revisions' tables are not among them).
PREVIOUS_RELEASE = {"group_customer", "customer_unit", "vpdn_service", "service_contract", "tariff_package",
                    "tariff_parameter", "tariff_discount", "member", "vpdn_order", "order_event", "order_item",
                    "fallout", "member_terms", "acceptance_table", "acceptance_member", "batch_step",
                    "batch_step_member", "member_staging", "password_issue", "member_notification"}


def previous_release(url: str) -> None:
    """A database as the release before schema versions left it: create_all (of the
    simulator's tables too), a customer."""
    engine = engine_for(url)
    SQLModel.metadata.create_all(engine, tables=[table for name, table in SQLModel.metadata.tables.items()
                                                 if name in PREVIOUS_RELEASE or name.startswith("sim_")])
    CustomerRecords(engine).save_customer(CustomerHierarchy(
        customer_code=CUSTOMER, name="Acme Logistics", credit_code="91310000MA1FL0001X", group_province="SH"))
    engine.dispose()


def test_upgrading_an_empty_database_gives_exactly_the_models(empty_url):
    result = runner.invoke(app, ["db", "upgrade"])

    assert result.exit_code == 0, result.output
    assert f"at schema version {migrate.head()}" in " ".join(result.output.split())  # however rich wraps it
    assert migrate.check(engine_for(empty_url)) == []
    assert runner.invoke(app, ["db", "current"]).exit_code == 0


def test_the_check_sees_a_schema_that_differs_from_the_models(empty_url):
    engine = engine_for(empty_url)
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE vpdn_order ADD COLUMN stray VARCHAR"))

    assert [(kind, column.name) for kind, *_, column in migrate.check(engine)] == [("remove_column", "stray")]


def test_a_previous_release_database_is_adopted_with_its_data(empty_url):
    previous_release(empty_url)

    result = runner.invoke(app, ["db", "upgrade"])

    assert result.exit_code == 0, result.output
    assert OrderStore(empty_url).customers.get_customer(CUSTOMER).name == "Acme Logistics"
    assert migrate.check(engine_for(empty_url)) == []


def test_a_store_on_a_database_not_upgraded_refuses_in_one_line(empty_url):
    previous_release(empty_url)

    with pytest.raises(SchemaNotCurrent, match="run `vpdn db upgrade`"):
        OrderStore(empty_url)
    result = runner.invoke(app, ["api"])  # the API, every command's door, does not start on it
    current = runner.invoke(app, ["db", "current"])

    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "without schema versions" in result.output and "run `vpdn db upgrade`" in result.output
    assert current.exit_code == 1 and "vpdn db upgrade" in current.output


def test_the_worker_refuses_a_database_not_upgraded_before_connecting(empty_url, tmp_path, monkeypatch):
    create_secrets_file(secrets := tmp_path / "secrets" / "password-secrets")
    monkeypatch.setenv("VPDN_PASSWORD_SECRET_FILE", str(secrets))
    monkeypatch.setenv("VPDN_PAYLOAD_KEYS_FILE", str(PAYLOAD_KEYS))
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")

    result = runner.invoke(app, ["worker"])

    assert result.exit_code == 2
    assert "run `vpdn db upgrade`" in result.output and "Temporal" not in result.output


def test_a_database_with_other_tables_is_not_adopted(empty_url):
    engine = engine_for(empty_url)
    with engine.begin() as connection:
        connection.execute(text('CREATE TABLE vpdn_order (order_no VARCHAR PRIMARY KEY)'))
    engine.dispose()

    result = runner.invoke(app, ["db", "upgrade"])

    assert result.exit_code == 2
    assert "are not those of revision 0001" in result.output and "other columns: vpdn_order)" in result.output
    assert migrate.current(engine_for(empty_url)) is None


def test_the_simulators_database_from_an_older_version_says_so(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'simulator.db'}"
    engine = engine_for(url)
    SQLModel.metadata.create_all(engine, tables=[simulator.db.Resource.__table__])  # no version row
    engine.dispose()
    monkeypatch.setenv("VPDN_SIM_DATABASE_URL", url)
    monkeypatch.setenv("VPDN_SIM_PORT", "1")

    result = runner.invoke(app, ["simulator"])

    assert result.exit_code == 2
    assert "is from an older version of vpdn (version 1, this one needs 2)" in result.output
    assert "delete it" in result.output


def test_the_simulators_new_database_gets_its_version_and_opens_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'simulator.db'}"
    simulator.db.open_database(url).dispose()

    simulator.db.open_database(url).dispose()
