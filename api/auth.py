"""Who is acting: every request carries a bearer token, mapped to a principal and its roles.

The roles come from the business (the domain page's parties). A principal may hold several.
Which tokens are valid is the `Authenticator`'s business: hashed tokens in the order store,
and an OIDC issuer's JWTs when one is configured.
"""

from collections.abc import Callable
from typing import Protocol

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from models.roles import Role


def known_roles(names: list[str]) -> frozenset[Role]:
    """The roles among `names` (a name the API does not know gives none)."""
    return frozenset(Role(name) for name in names if name in Role.__members__)


class Principal(BaseModel):
    """An authenticated caller: the actor written in every order event it causes."""

    name: str
    roles: frozenset[Role]


class Authenticator(Protocol):
    async def principal(self, token: str) -> Principal | None:
        """The principal a bearer token stands for; None when it is unknown, expired or revoked."""


class StaticTokens:
    """Fixed tokens, for tests that exercise one router without the token store."""

    def __init__(self, tokens: dict[str, Principal]) -> None:
        self._tokens = tokens

    async def principal(self, token: str) -> Principal | None:
        return self._tokens.get(token)


_bearer = HTTPBearer(auto_error=False)


async def authenticated(request: Request,
                        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Principal:
    if credentials is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "no credentials: send a bearer token",
                            headers={"WWW-Authenticate": "Bearer"})
    principal = await request.app.state.authenticator.principal(credentials.credentials)
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the token is unknown, expired or revoked",
                            headers={"WWW-Authenticate": "Bearer"})
    return principal


def require(*roles: Role) -> Callable:
    """A dependency: the caller, who must hold one of `roles` (any authenticated caller when none)."""

    async def check(principal: Principal = Depends(authenticated)) -> Principal:
        if roles and not principal.roles.intersection(roles):
            needed = " or ".join(roles)
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"{principal.name} lacks the role {needed}")
        return principal

    return check
