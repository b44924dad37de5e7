"""Payloads sealed in Temporal's history: nothing of an order readable without the keys,
everything back with them, across a key rotation; no worker without configured keys."""

import stat

import pytest
from temporalio.api.common.v1 import Payload
from typer.testing import CliRunner

from cli import app
from codec import KEYS_VARIABLE, CannotOpen, KeysRefused, SealingCodec, create_keys_file, keys_file, load_keys
from embedded import private_data
from models.service import ServiceOpeningOrder
from settings import Settings
from tests.helpers import acquired_customer, opening_order, start_opening

PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'{"apn": "acme.vpdn.sh"}')


async def test_a_history_read_without_the_keys_shows_no_field_of_the_order(client, settings, worker, store):
    acquired_customer(store)
    order = opening_order("SEAL-1")
    handle = await start_opening(client, settings, order)
    await handle.result()

    history = await handle.fetch_history()
    raw = b"".join(event.SerializeToString() for event in history.events)
    for field in (order.apn, order.line.address, order.contract.number, order.tariff.name):
        assert field.encode() not in raw, field
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.input.payloads[0].metadata["encoding"] == b"binary/encrypted"
    assert started.input.payloads[0].metadata["encryption-key-id"] == b"test-1"
    [decoded] = await client.data_converter.decode(started.input.payloads, [ServiceOpeningOrder])
    assert decoded == order


async def test_after_a_rotation_the_new_key_seals_and_the_old_one_still_opens(tmp_path):
    keys = tmp_path / "payload-keys"
    create_keys_file(keys, key_id="2026-11")
    [sealed_before] = await SealingCodec.from_file(keys).encode([PLAIN])
    create_keys_file(tmp_path / "new", key_id="2026-12")
    keys.write_text(keys.read_text() + (tmp_path / "new").read_text())

    rotated = SealingCodec.from_file(keys)
    [sealed_after] = await rotated.encode([PLAIN])

    assert sealed_after.metadata["encryption-key-id"] == b"2026-12"
    assert await rotated.decode([sealed_before, sealed_after, PLAIN]) == [PLAIN, PLAIN, PLAIN]
    with pytest.raises(CannotOpen, match=f"key '2026-11', which {KEYS_VARIABLE} no longer holds"):
        await SealingCodec.from_file(tmp_path / "new").decode([sealed_before])


async def test_a_key_id_reused_for_another_key_is_named_not_a_bug(tmp_path):
    create_keys_file(tmp_path / "one", key_id="1")
    create_keys_file(tmp_path / "other", key_id="1")
    sealed = await SealingCodec.from_file(tmp_path / "one").encode([PLAIN])

    with pytest.raises(CannotOpen, match="sealed with key '1' does not open with the key of that id"):
        await SealingCodec.from_file(tmp_path / "other").decode(sealed)


def test_a_malformed_keys_file_is_refused_naming_the_line(tmp_path):
    keys = tmp_path / "payload-keys"
    keys.write_text("# keys\n1 c2hvcnQ=\n")

    with pytest.raises(KeysRefused, match="payload-keys line 2: expected `<key id> <base64 of 32 bytes>`"):
        load_keys(keys)


def test_a_worker_without_configured_keys_refuses_to_start(monkeypatch, settings):
    create_keys_file(settings.data_dir / "payload-keys")  # what `vpdn up` left: not shared with other workers
    monkeypatch.delenv(KEYS_VARIABLE, raising=False)
    monkeypatch.setenv("VPDN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("VPDN_PASSWORD_SECRET_FILE", str(settings.password_secret_file))

    result = CliRunner().invoke(app, ["worker"])

    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: the payload keys are not configured: set {KEYS_VARIABLE} to the keys file every worker and "
        "client shares (`<key id> <base64 key>` lines, see the README)"]


def test_an_api_without_payload_keys_refuses_to_start_not_at_the_first_order(monkeypatch, settings):
    monkeypatch.delenv(KEYS_VARIABLE, raising=False)
    monkeypatch.setenv("VPDN_DATA_DIR", str(settings.data_dir))

    result = CliRunner().invoke(app, ["api"])

    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: the payload keys are not configured: set {KEYS_VARIABLE} to the keys file every worker and "
        "client shares (`<key id> <base64 key>` lines, see the README)"]


def test_the_embedded_default_keeps_its_keys_private_in_the_data_folder(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", password_secret_file=None, payload_keys_file=None)

    embedded = private_data(settings)
    again = private_data(settings)

    keys = tmp_path / "data" / "payload-keys"
    assert embedded.payload_keys_file == again.payload_keys_file == keys
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    assert len(load_keys(keys)) == 1
    assert keys_file(settings) == keys  # a client beside `vpdn up` (its CLI) seals with the same keys
    with pytest.raises(KeysRefused):
        keys_file(settings.model_copy(update={"data_dir": tmp_path / "elsewhere"}))
