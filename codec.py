"""Every payload sealed in Temporal's history: AES-256-GCM, the key id in each payload.

The keys file holds one `<key id> <base64 key>` per line (`#` starts a comment), each key
32 bytes: the last line seals new payloads, every line opens them, so histories sealed
before a rotation still decode. A payload that is not sealed (a history recorded before the
codec) passes through unchanged. The codec runs on every client, worker and replayer
(`data_converter`), never in a workflow.
"""

import base64
import binascii
import dataclasses
import os
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

from private_files import write_private_file

if TYPE_CHECKING:
    from settings import Settings

KEYS_VARIABLE = "VPDN_PAYLOAD_KEYS_FILE"
EMBEDDED_KEYS_FILE = "payload-keys"  # in the data folder, created by `vpdn up`
SEALED = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class KeysRefused(ValueError):
    """The payload keys are missing or unusable: nothing connects to Temporal."""


class CannotOpen(ValueError):
    """A sealed payload does not open: its key is not held, or differs from the one it was sealed with."""


class SealingCodec(PayloadCodec):
    """AES-256-GCM over each whole payload (its metadata and data)."""

    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise KeysRefused("the payload keys file holds no key")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.current_key_id = list(keys)[-1]

    @classmethod
    def from_file(cls, path: Path) -> "SealingCodec":
        """The codec with the keys in `path`. Raises KeysRefused saying what is wrong."""
        return cls(load_keys(path))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._keys[self.current_key_id]
        sealed = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            data = nonce + cipher.encrypt(nonce, payload.SerializeToString(), self.current_key_id.encode())
            sealed.append(Payload(metadata={"encoding": SEALED, KEY_ID: self.current_key_id.encode()}, data=data))
        return sealed

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._open(payload) if payload.metadata.get("encoding") == SEALED else payload
                for payload in payloads]

    def _open(self, payload: Payload) -> Payload:
        key_id = payload.metadata.get(KEY_ID, b"").decode()
        cipher = self._keys.get(key_id)
        if cipher is None:
            raise CannotOpen(f"a payload is sealed with key {key_id!r}, which {KEYS_VARIABLE} no longer holds: "
                             "keep old keys while their histories are read")
        data = payload.data
        try:
            plain = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], key_id.encode())
        except InvalidTag:
            raise CannotOpen(f"a payload sealed with key {key_id!r} does not open with the key of that id in "
                             f"{KEYS_VARIABLE}: another key has that id, or the payload was altered") from None
        opened = Payload()
        opened.ParseFromString(plain)
        return opened


def load_keys(path: Path) -> dict[str, bytes]:
    """The keys in `path`, in file order. Raises KeysRefused saying what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise KeysRefused(f"cannot read the payload keys file {path} ({KEYS_VARIABLE}): {error}") from None
    keys: dict[str, bytes] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not (line := line.strip()) or line.startswith("#"):
            continue
        key_id, _, encoded = line.partition(" ")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            key = b""
        if len(key) != 32 or key_id in keys:
            raise KeysRefused(f"{path} line {number}: expected `<key id> <base64 of 32 bytes>` with a new key id")
        keys[key_id] = key
    return keys


def create_keys_file(path: Path, key_id: str = "") -> None:
    """A new keys file with one random key (the embedded default's), its id made of today's
    date and a random part unless given."""
    key_id = key_id or f"{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"
    key = base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()
    write_private_file(path, (f"# vpdn payload keys: `<key id> <base64 key>` per line; the last one seals\n"
                              f"{key_id} {key}\n").encode())


def data_converter(keys_file: Path) -> DataConverter:
    """The project's data converter: pydantic payloads, sealed with the keys in `keys_file`;
    failure messages and stack traces sealed as well."""
    return dataclasses.replace(pydantic_data_converter, payload_codec=SealingCodec.from_file(keys_file),
                               failure_converter_class=DefaultFailureConverterWithEncodedAttributes)


def keys_file(settings: "Settings", *, shared: bool = False) -> Path:
    """The keys file: VPDN_PAYLOAD_KEYS_FILE, or else, for a client (not `shared` like a
    worker's), the one `vpdn up` created in the data folder. Raises KeysRefused saying what to set."""
    if settings.payload_keys_file is not None:
        return settings.payload_keys_file
    embedded = settings.data_dir / EMBEDDED_KEYS_FILE
    if not shared and embedded.exists():
        return embedded
    raise KeysRefused(f"the payload keys are not configured: set {KEYS_VARIABLE} to the keys file every worker and "
                      "client shares (`<key id> <base64 key>` lines, see the README)")
