"""Bearer tokens the API accepts: the order store's (made by `vpdn admin token create`),
then an OIDC issuer's JWTs when one is configured; and `GET /me`, who a token stands for."""

import asyncio

from fastapi import APIRouter, Depends

from api.auth import Authenticator, Principal, authenticated, known_roles
from api.oidc import OidcTokens
from store import OrderStore


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


def authenticator_for(store: OrderStore) -> Authenticator:
    """The store's tokens, then the OIDC issuer's JWTs when VPDN_OIDC_ISSUER and
    VPDN_OIDC_AUDIENCE are set."""
    oidc = OidcTokens.from_environment()
    return FirstOf(StoreTokens(store), oidc) if oidc else StoreTokens(store)
