"""CLI refusals: bad input gets a clear message and a non-zero exit, and nothing starts."""

import pytest
from typer.testing import CliRunner

from cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("VPDN_DATA_DIR", str(tmp_path))
    # Nothing listens here: a command that tried to start a workflow would fail differently.
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
    monkeypatch.setenv("VPDN_SIM_PORT", "1")


@pytest.mark.parametrize("code", ["12345", "12345678901", "31000A2345", ""])
def test_malformed_customer_code_is_refused_before_anything_starts(code):
    result = runner.invoke(app, ["customer", "acquire", code, "--by", "alice"])

    assert result.exit_code == 2
    assert "customer code must be exactly 10 digits" in result.output


def test_unreachable_temporal_is_reported_plainly():
    result = runner.invoke(app, ["customer", "acquire", "3100012345", "--by", "alice"])

    assert result.exit_code == 1
    assert "cannot reach Temporal at 127.0.0.1:1" in result.output


def test_showing_a_customer_not_in_gpms_says_how_to_acquire_it():
    result = runner.invoke(app, ["customer", "show", "3100012345"])

    assert result.exit_code == 1
    assert "vpdn customer acquire 3100012345" in result.output


def test_seed_without_a_source_is_refused():
    result = runner.invoke(app, ["sim", "seed"])

    assert result.exit_code == 2
    assert "give --file or --customers/--subscribers" in result.output


def test_unreachable_simulator_is_reported_plainly():
    result = runner.invoke(app, ["sim", "reset"])

    assert result.exit_code == 1
    assert "cannot reach the simulator" in result.output
