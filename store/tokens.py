"""The API's bearer tokens: a name, its roles, when it was made, expires and was revoked.

Only a token's sha256 hash is stored: the token itself is returned once, when it is made,
and cannot be read back. A name holds at most one token that is not revoked.
"""

import hashlib
import secrets
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session, select

from store.tables import ApiToken, utcnow

TOKEN_PREFIX = "vpdn_"


class TokenExists(Exception):
    """The name already holds a token that is not revoked."""


class TokenView(BaseModel):
    name: str
    roles: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at is not None and self.expires_at <= now else "active"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes: they are UTC."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _view(record: ApiToken) -> TokenView:
    return TokenView(name=record.name, roles=record.roles, created_at=_aware(record.created_at),
                     expires_at=_aware(record.expires_at), revoked_at=_aware(record.revoked_at))


class TokenRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, name: str, roles: list[str], expires_at: datetime | None) -> str:
        """Make a token for `name` with `roles`; returns the token, which is not kept."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with Session(self.engine) as session:
            if session.exec(select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))).first():
                raise TokenExists(f"{name} already holds a token: revoke it first (`vpdn admin token revoke {name}`)")
            session.add(ApiToken(name=name, roles=sorted(set(roles)), token_hash=token_hash(token),
                                 expires_at=expires_at))
            session.commit()
        return token

    def holder(self, token: str) -> TokenView | None:
        """Who holds `token`, if it is known, not revoked and not expired."""
        with Session(self.engine) as session:
            record = session.exec(select(ApiToken).where(ApiToken.token_hash == token_hash(token))).first()
            view = _view(record) if record is not None else None
        return view if view is not None and view.state(utcnow()) == "active" else None

    def list_tokens(self) -> list[TokenView]:
        """Every token ever made, oldest first (never the tokens themselves)."""
        with Session(self.engine) as session:
            return [_view(record) for record in session.exec(select(ApiToken).order_by(ApiToken.id))]

    def revoke(self, name: str) -> bool:
        """Revoke the token `name` holds; False when it holds none."""
        with Session(self.engine) as session:
            record = session.exec(select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))).first()
            if record is None:
                return False
            record.revoked_at = utcnow()
            session.add(record)
            session.commit()
        return True
