"""An order store that does not answer is one line (libpq's "Is the server running…" hint
came on a second line)."""

from typer.testing import CliRunner

from cli import app


def test_an_order_store_that_does_not_answer_is_one_line(cli_environment, monkeypatch):
    monkeypatch.setenv("VPDN_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/gpms")
    result = CliRunner().invoke(app, ["db", "current"])
    assert result.exit_code == 1
    assert result.output.startswith("error: the order store is unreachable (postgresql://postgres@127.0.0.1:1/gpms)")
    assert len(result.output.splitlines()) == 1
