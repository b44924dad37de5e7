"""Members' VPDN passwords: derived, hashed, never stored or logged in clear.

A password is derived from a secret and (order, member), so a retried activity sends the
same password in its SMS as the AAA received the hash of; only the hash leaves for the AAA.
"""

import base64
import hashlib
import hmac
import secrets
from pathlib import Path


class MemberPasswords:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def from_file(cls, path: Path) -> "MemberPasswords":
        """The secret kept in `path` (created, readable by its owner only, on first use)."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(secrets.token_bytes(32))
            path.chmod(0o600)
        return cls(path.read_bytes())

    def password(self, order_no: str, msisdn: str) -> str:
        digest = hmac.new(self._secret, f"{order_no}:{msisdn}".encode(), hashlib.sha256).digest()
        return base64.b32encode(digest).decode()[:10]


def password_hash(password: str) -> str:
    """`sha256$salt$hex`, as the AAA keeps it."""
    salt = secrets.token_hex(8)
    return f"sha256${salt}${hashlib.sha256((salt + password).encode()).hexdigest()}"


def password_matches(password: str, stored_hash: str) -> bool:
    _, salt, digest = stored_hash.split("$")
    return hmac.compare_digest(hashlib.sha256((salt + password).encode()).hexdigest(), digest)
