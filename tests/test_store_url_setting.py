"""A database URL the stores cannot run on is a bad setting: one line naming the variable and
the value, exit 2 (`mysql://…` was "unexpected ModuleNotFoundError … (a bug)", exit 70)."""

import pytest
from typer.testing import CliRunner

from cli import app


@pytest.mark.parametrize("variable, url", [("VPDN_DATABASE_URL", "mysql://gpms@db/gpms"),
                                           ("VPDN_SIM_DATABASE_URL", "/var/lib/vpdn/simulator.db")])
def test_a_database_url_neither_sqlite_nor_postgresql_is_refused_naming_the_variable(
        cli_environment, monkeypatch, variable, url):
    monkeypatch.setenv(variable, url)
    result = CliRunner().invoke(app, ["db", "current"])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {variable}='{url}' is not valid")
    assert len(result.output.splitlines()) == 1
