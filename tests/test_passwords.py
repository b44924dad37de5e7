"""Member password secrets: configured and shared (never made up by a worker), long enough,
versioned, in files private to their owner; and the data folder's databases likewise."""

import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.passwords import create_secrets_file
from cli import app
from simulator.db import open_database
from store import OrderStore, engine_for, migrate

runner = CliRunner()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("VPDN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")  # nothing listens: a worker must not get that far
    monkeypatch.delenv("VPDN_PASSWORD_SECRET_FILE", raising=False)


def test_the_worker_refuses_to_start_without_the_password_secrets_saying_what_to_set(tmp_path):
    result = runner.invoke(app, ["worker"])

    assert result.exit_code == 2
    assert "set VPDN_PASSWORD_SECRET_FILE to the secrets file every worker shares" in result.output
    assert not (tmp_path / "data").exists()  # no secret made up, nothing created


@pytest.mark.parametrize("content, refusal", [
    (b"", "holds no secret"),
    (b"# rotated away\n", "holds no secret"),
    (b"1 too-short-a-secret\n", "password secret version 1 is 18 characters: at least 32 are needed"),
    (b"1 " + b"x" * 40 + b"\n1 " + b"y" * 40 + b"\n", "line 2: expected `<version> <secret>` with a new version"),
    (bytes(range(0x80, 0xa0)), "password secrets"),  # not UTF-8
])
def test_an_empty_short_or_unreadable_secret_is_refused(tmp_path, monkeypatch, content, refusal):
    secrets_file = tmp_path / "secrets"
    secrets_file.write_bytes(content)
    monkeypatch.setenv("VPDN_PASSWORD_SECRET_FILE", str(secrets_file))

    result = runner.invoke(app, ["worker"])

    assert result.exit_code == 2, result.output
    assert refusal in result.output and "Traceback" not in result.output


def test_a_new_secrets_file_is_0600_from_its_first_byte(tmp_path, monkeypatch):
    def restricted_afterwards(*_args, **_kwargs):
        raise AssertionError("the file was readable by others until it was restricted")

    monkeypatch.setattr(os, "chmod", restricted_afterwards)
    monkeypatch.setattr(Path, "chmod", restricted_afterwards)
    umask = os.umask(0o022)
    try:
        create_secrets_file(tmp_path / "secrets" / "password-secrets")
    finally:
        os.umask(umask)

    assert mode(tmp_path / "secrets" / "password-secrets") == 0o600
    assert mode(tmp_path / "secrets") == 0o700


def test_the_order_store_and_simulator_databases_are_created_0600_in_a_0700_folder(tmp_path):
    data = tmp_path / "data"
    umask = os.umask(0o022)
    try:
        migrate.upgrade(engine_for(f"sqlite:///{data / 'gpms.db'}"))  # as `vpdn db upgrade` creates it
        store = OrderStore(f"sqlite:///{data / 'gpms.db'}")
        store.orders.get_order("nothing")  # opens a connection: the journal files exist
        simulator = open_database(f"sqlite:///{data / 'simulator.db'}")
        with simulator.connect():
            files = {f.name: mode(f) for f in data.iterdir()}
    finally:
        os.umask(umask)

    assert mode(data) == 0o700
    assert {"gpms.db", "gpms.db-wal", "simulator.db", "simulator.db-wal"} <= set(files)
    assert {name: m for name, m in files.items() if m != 0o600} == {}
