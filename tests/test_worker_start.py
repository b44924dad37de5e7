"""`vpdn worker` with its Temporal unreachable says so in one line, exit 1 (it was an
"unexpected RuntimeError … (a bug)", exit 70)."""

from typer.testing import CliRunner

from cli import app


def test_a_worker_whose_temporal_is_unreachable_says_so_in_one_line(cli_environment, cli_api, tmp_path,
                                                                      monkeypatch):
    secrets = tmp_path / "password-secrets"
    secrets.write_text("1 " + "s" * 40 + "\n")
    monkeypatch.setenv("VPDN_PASSWORD_SECRET_FILE", str(secrets))
    result = CliRunner().invoke(app, ["worker"])
    assert result.exit_code == 1
    assert result.output.startswith("error: cannot reach Temporal at 127.0.0.1:1")
    assert len(result.output.splitlines()) == 1
