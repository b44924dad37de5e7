"""Members' VPDN passwords: derived, hashed with a slow KDF, never stored or logged in clear.

A password is derived (HMAC-SHA256) from a secret and (order, member). The secret is
configured and shared by every worker, never created per host, and versioned: a batch's
passwords record the version they were issued with (`store.passwords`), so a step retried
on any worker, even after the secret was rotated, sends by SMS the password whose hash the
AAA holds. Only the hash (scrypt) leaves for the AAA.

The secrets file holds one `<version> <secret>` per line (`#` starts a comment), each secret
at least 32 characters; the highest version issues new passwords, older ones stay while
orders that used them may still retry.
"""

import asyncio
import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from private_files import write_private_file

SECRETS_VARIABLE = "VPDN_PASSWORD_SECRET_FILE"
MIN_SECRET_CHARS = 32
PASSWORD_CHARS = 12  # base32: 60 random bits
# scrypt's cost, kept in every hash so it can be raised later. The passwords are random (60
# bits), so a 1 MiB, ~2 ms hash already makes a leaked AAA table useless to brute force,
# while 100 000 members still get their accounts in minutes.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**10, 8, 1


class SecretsRefused(ValueError):
    """The password secrets are missing or unusable; the worker does not start."""


class SecretVersionMissing(LookupError):
    """Passwords were issued with a secret version this worker does not hold."""


class MemberPasswords:
    def __init__(self, versions: dict[int, str]) -> None:
        if not versions:
            raise SecretsRefused("the password secrets file holds no secret")
        for version, secret in versions.items():
            if len(secret) < MIN_SECRET_CHARS:
                raise SecretsRefused(f"password secret version {version} is {len(secret)} characters: "
                                     f"at least {MIN_SECRET_CHARS} are needed")
        self._secrets = {version: secret.encode() for version, secret in versions.items()}
        self.current_version = max(versions)

    @classmethod
    def from_file(cls, path: Path) -> "MemberPasswords":
        """The secrets kept in `path`. Raises SecretsRefused saying what is wrong."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SecretsRefused(f"cannot read the password secrets file {path} ({SECRETS_VARIABLE}): "
                                 f"{error}") from None
        versions: dict[int, str] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            version, _, secret = line.partition(" ")
            if not version.isascii() or not version.isdigit() or int(version) in versions:
                raise SecretsRefused(f"{path} line {number}: expected `<version> <secret>` with a new "
                                     "version number")
            versions[int(version)] = secret.strip()
        return cls(versions)

    def password(self, order_no: str, msisdn: str, version: int) -> str:
        secret = self._secrets.get(version)
        if secret is None:
            raise SecretVersionMissing(
                f"member passwords of this step were issued with secret version {version}, which "
                f"{SECRETS_VARIABLE} no longer holds: keep old versions while orders may retry")
        digest = hmac.new(secret, f"{order_no}:{msisdn}".encode(), hashlib.sha256).digest()
        return base64.b32encode(digest).decode()[:PASSWORD_CHARS]


def create_secrets_file(path: Path) -> None:
    """A new secrets file with one random secret, version 1 (the embedded default's)."""
    write_private_file(path, (f"# vpdn member password secrets: `<version> <secret>` per line\n"
                              f"1 {secrets.token_urlsafe(48)}\n").encode())


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)


def password_hash(password: str) -> str:
    """`scrypt$n$r$p$salt$hash` (base64), as the AAA keeps it."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    encoded = [base64.b64encode(part).decode() for part in (salt, digest)]
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), *encoded])


# Passwords a batch hashes per turn in the hashing threads; it reports progress after each.
HASH_TURN = 10


class PasswordHashing:
    """Hashes passwords in threads of its own, at most one per core (scrypt's CPU): hashing
    never queues the worker's other blocking calls, and batches hashing at once take turns
    (HASH_TURN passwords each), each reporting its progress as it goes."""

    def __init__(self, threads: int | None = None) -> None:
        self._pool = ThreadPoolExecutor(threads or os.cpu_count() or 1, thread_name_prefix="password-hashing")

    async def hashes(self, passwords: dict[str, str], progress: Callable[[int], None]) -> dict[str, str]:
        """Each member's password hash; `progress(count hashed)` after every turn."""
        loop, hashes, members = asyncio.get_running_loop(), {}, list(passwords.items())
        for start in range(0, len(members), HASH_TURN):
            turn = members[start:start + HASH_TURN]
            hashes |= await loop.run_in_executor(self._pool, _hashed, turn)
            progress(len(hashes))
        return hashes


def _hashed(members: list[tuple[str, str]]) -> dict[str, str]:
    return {msisdn: password_hash(password) for msisdn, password in members}


def password_matches(password: str, stored_hash: str) -> bool:
    scheme, n, r, p, salt, digest = stored_hash.split("$")
    if scheme != "scrypt":
        return False
    computed = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    return hmac.compare_digest(computed, base64.b64decode(digest))
