"""An OIDC issuer's JWTs: keys made here, served as the issuer's JWKS (found through its
discovery document), roles from a claim, the principal from preferred_username or sub."""

import json
import time
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from api.app import create_app
from api.oidc import OidcTokens
from api.tokens import FirstOf, StoreTokens, authenticator_for
from intake import Intake
from settings import Settings
from store import OrderStore
from tests.helpers import migrated

ISSUER = "https://idp.example.test/realms/gpms"
AUDIENCE = "vpdn-api"


class Issuer:
    """A test identity provider: its key pair, its discovery document and JWKS over HTTP."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.requests: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url.path)
        if request.url.path == "/realms/gpms/.well-known/openid-configuration":
            return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": f"{ISSUER}/protocol/certs"})
        if request.url.path == "/realms/gpms/protocol/certs":
            public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
            return httpx.Response(200, json={"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]})
        return httpx.Response(404)

    def token(self, key=None, **claims) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "f81d4fae", "iat": now, "exp": now + 300, **claims}
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(issuer, tmp_path_factory) -> AsyncIterator[httpx.AsyncClient]:
    store = OrderStore(migrated(f"sqlite:///{tmp_path_factory.mktemp('oidc') / 'gpms.db'}"))
    oidc = OidcTokens(ISSUER, AUDIENCE, "realm_access.roles", transport=httpx.MockTransport(issuer.handle))
    app = create_app(Intake(Settings(), store, None), store, FirstOf(StoreTokens(store), oidc))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        yield client


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def test_an_issuers_jwt_stands_for_its_user_with_the_roles_of_its_claim(api, issuer):
    token = issuer.token(preferred_username="hq-wang", realm_access={"roles": ["hq_auditor", "offline_access"]})

    me = await api.get("/me", headers=bearer(token))
    again = await api.get("/me", headers=bearer(issuer.token(realm_access={"roles": ["operator"]})))

    assert me.status_code == 200, me.text
    assert me.json() == {"name": "hq-wang", "roles": ["hq_auditor"]}
    assert again.json() == {"name": "f81d4fae", "roles": ["operator"]}  # no preferred_username: sub
    # The keys were discovered once and kept.
    assert issuer.requests == ["/realms/gpms/.well-known/openid-configuration", "/realms/gpms/protocol/certs"]


@pytest.mark.parametrize("claims, key", [
    ({"aud": "another-api"}, None),
    ({"iss": "https://evil.example.test"}, None),
    ({"exp": int(time.time()) - 60}, None),
    ({}, rsa.generate_private_key(public_exponent=65537, key_size=2048)),  # signed by another key
], ids=["audience", "issuer", "expired", "signature"])
async def test_a_jwt_for_another_audience_issuer_expired_or_forged_is_refused(api, issuer, claims, key):
    refused = await api.get("/me", headers=bearer(issuer.token(key, preferred_username="mallory", **claims)))

    assert refused.status_code == 401
    assert refused.json()["detail"] == "the token is unknown, expired or revoked"


def test_oidc_is_used_only_when_issuer_and_audience_are_set(monkeypatch, tmp_path):
    store = OrderStore(migrated(f"sqlite:///{tmp_path / 'gpms.db'}"))
    monkeypatch.setenv("VPDN_OIDC_ISSUER", ISSUER)
    assert isinstance(authenticator_for(store, Settings()), StoreTokens)
    monkeypatch.setenv("VPDN_OIDC_AUDIENCE", AUDIENCE)
    assert isinstance(authenticator_for(store, Settings()), FirstOf)
