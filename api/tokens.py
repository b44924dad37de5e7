"""Bearer tokens the API accepts: the order store's (made by `vpdn admin token create` or an
admin's `POST /tokens`), then an OIDC issuer's JWTs when one is configured; `GET /me` says
who a token stands for."""

import asyncio
import re
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field, field_validator

from api.auth import Authenticator, Principal, Role, authenticated, known_roles, require
from api.oidc import OidcTokens
from store import OrderStore, TokenExists
from settings import Settings
from store.tokens import TokenView


class StoreTokens:
    """The order store's tokens: known by their hash, not expired, not revoked."""

    def __init__(self, store: OrderStore) -> None:
        self._store = store

    async def principal(self, token: str) -> Principal | None:
        holder = await asyncio.to_thread(self._store.tokens.holder, token)
        return Principal(name=holder.name, roles=known_roles(holder.roles)) if holder else None


class FirstOf:
    """The first authenticator that knows the token decides who it stands for."""

    def __init__(self, *authenticators: Authenticator) -> None:
        self._authenticators = authenticators

    async def principal(self, token: str) -> Principal | None:
        for authenticator in self._authenticators:
            if (principal := await authenticator.principal(token)) is not None:
                return principal
        return None


router = APIRouter(tags=["who is acting"])


@router.get("/me", summary="Who the bearer token stands for, and its roles")
async def me(principal: Principal = Depends(authenticated)) -> Principal:
    return principal


HOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


class NewToken(BaseModel):
    name: str = Field(description="Who holds the token, as the audit trail names the actor: letters, digits "
                                  "and . _ @ - (at most 64).")
    roles: list[Role] = Field(min_length=1)
    expires_in_days: int | None = Field(90, ge=1, le=3650,
                                        description="Its lifetime (10 years at most); null: it does not expire.")

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not HOLDER_NAME.fullmatch(name.strip()):
            raise ValueError(f"{name!r} is not a name for the audit trail: letters, digits and . _ @ - only "
                             "(at most 64)")
        return name.strip()


class IssuedToken(BaseModel):
    """A token made: shown this once, only its hash is kept."""

    name: str
    roles: list[Role]
    expires_at: datetime | None
    token: str


@router.post("/tokens", status_code=201, summary="Make a bearer token (shown once; admin)")
async def create_token(request: Request, new: NewToken,
                       principal: Principal = Depends(require(Role.admin))) -> IssuedToken:
    expires_at = datetime.now(UTC) + timedelta(days=new.expires_in_days) if new.expires_in_days else None
    try:
        token = await asyncio.to_thread(request.app.state.store.tokens.create, new.name.strip(),
                                        [role.value for role in new.roles], expires_at)
    except TokenExists as exists:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exists)) from None
    return IssuedToken(name=new.name.strip(), roles=sorted(set(new.roles)), expires_at=expires_at, token=token)


@router.get("/tokens", summary="Every token's holder, roles, dates and state, never the token (admin)")
async def list_tokens(request: Request, principal: Principal = Depends(require(Role.admin))) -> list[TokenView]:
    return await asyncio.to_thread(request.app.state.store.tokens.list_tokens)


@router.delete("/tokens/{name}", summary="Revoke NAME's token: refused from the next request on (admin)")
async def revoke_token(request: Request, name: str, principal: Principal = Depends(require(Role.admin))) -> dict:
    if not await asyncio.to_thread(request.app.state.store.tokens.revoke, name):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{name} holds no token that is not revoked")
    return {"name": name, "revoked": True}


def authenticator_for(store: OrderStore, settings: Settings) -> Authenticator:
    """The store's tokens, then the OIDC issuer's JWTs when VPDN_OIDC_ISSUER and
    VPDN_OIDC_AUDIENCE are set."""
    oidc = OidcTokens.from_settings(settings)
    return FirstOf(StoreTokens(store), oidc) if oidc else StoreTokens(store)
