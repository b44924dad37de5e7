"""An OIDC issuer's JWTs as bearer tokens (VPDN_OIDC_ISSUER, VPDN_OIDC_AUDIENCE).

The issuer's keys come from its JWKS, found through `/.well-known/openid-configuration` and
cached (fetched again for a key id it does not hold, at most once a minute). A claim
(VPDN_OIDC_ROLES_CLAIM, default `roles`; a dotted path such as `realm_access.roles` reaches
into the token) gives the roles; the principal is `preferred_username`, else `sub`.
"""

import logging
import time
from typing import Any

import httpx
import jwt

from api.auth import Principal, known_roles
from settings import Settings

log = logging.getLogger(__name__)

# Only the issuer's public keys sign: never a shared secret, never `none`.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
KEYS_KEPT_S = 3600
REFETCH_AFTER_S = 60


class OidcTokens:
    def __init__(self, issuer: str, audience: str, roles_claim: str = "roles",
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.issuer, self.audience, self.roles_claim = issuer.rstrip("/"), audience, roles_claim
        self._transport = transport
        self._keys: jwt.PyJWKSet | None = None
        self._fetched_at = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> "OidcTokens | None":
        """The issuer's JWTs when VPDN_OIDC_ISSUER and VPDN_OIDC_AUDIENCE are set."""
        if not settings.oidc_issuer or not settings.oidc_audience:
            return None
        return cls(settings.oidc_issuer, settings.oidc_audience, settings.oidc_roles_claim)

    async def principal(self, token: str) -> Principal | None:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = await self._key(kid)
            if key is None:
                return None
            claims = jwt.decode(token, key.key, algorithms=ALGORITHMS, audience=self.audience, issuer=self.issuer,
                                options={"require": ["exp", "iss", "aud"]})
        except jwt.PyJWTError as error:
            log.info("OIDC token refused: %s", error)
            return None
        except (httpx.HTTPError, KeyError, ValueError) as error:
            log.warning("the OIDC issuer %s did not answer: %s", self.issuer, error)
            return None
        name = claims.get("preferred_username") or claims.get("sub")
        return Principal(name=name, roles=known_roles(self._roles(claims))) if name else None

    def _roles(self, claims: dict) -> list[str]:
        value: Any = claims
        for part in self.roles_claim.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str):
            return value.split()
        return [role for role in value if isinstance(role, str)] if isinstance(value, list) else []

    async def _key(self, kid: str | None) -> jwt.PyJWK | None:
        """The issuer's key `kid` (its only key when the token names none)."""
        now = time.monotonic()
        stale = now - self._fetched_at > KEYS_KEPT_S
        if self._keys is None or stale or (self._find(kid) is None and now - self._fetched_at > REFETCH_AFTER_S):
            self._keys, self._fetched_at = await self._fetch_keys(), now
        return self._find(kid)

    def _find(self, kid: str | None) -> jwt.PyJWK | None:
        keys = self._keys.keys if self._keys else []
        if kid is None:
            return keys[0] if len(keys) == 1 else None
        return next((key for key in keys if key.key_id == kid), None)

    async def _fetch_keys(self) -> jwt.PyJWKSet:
        async with httpx.AsyncClient(transport=self._transport, timeout=10) as http:
            discovery = await http.get(f"{self.issuer}/.well-known/openid-configuration")
            discovery.raise_for_status()
            keys = await http.get(discovery.json()["jwks_uri"])
            keys.raise_for_status()
        return jwt.PyJWKSet.from_dict(keys.json())
