"""Who is acting: the order store's bearer tokens, made by `vpdn admin token`, hashed,
expiring and revocable."""

import hashlib
import json
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from typer.testing import CliRunner

from api.app import create_app
from api.tokens import StoreTokens
from cli import app as cli
from embedded import local_principals
from intake import Intake
from settings import Settings
from store import OrderStore
from tests.helpers import migrated

runner = CliRunner()


@pytest.fixture(scope="module")
def token_store(tmp_path_factory) -> OrderStore:
    return OrderStore(migrated(f"sqlite:///{tmp_path_factory.mktemp('auth') / 'gpms.db'}"))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(token_store) -> AsyncIterator[httpx.AsyncClient]:
    async def no_temporal():
        raise RuntimeError("no Temporal in these tests")

    app = create_app(Intake(Settings(), token_store, no_temporal), token_store, StoreTokens(token_store))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        yield client


@pytest.fixture
def admin_cli(token_store, monkeypatch):
    monkeypatch.setenv("VPDN_DATABASE_URL", str(token_store.engine.url))
    return lambda *args: runner.invoke(cli, ["admin", "token", *args])


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def test_a_token_is_printed_once_and_only_its_hash_is_stored(api, admin_cli, token_store):
    created = admin_cli("create", "--name", "hq-wang", "--role", "hq_auditor", "--role", "viewer",
                        "--expires-in", "30d")

    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith("vpdn_") and len(token) > 40
    me = await api.get("/me", headers=bearer(token))
    assert me.status_code == 200
    assert (me.json()["name"], sorted(me.json()["roles"])) == ("hq-wang", ["hq_auditor", "viewer"])
    with token_store.engine.connect() as connection:
        [(stored_hash, expires)] = connection.execute(text(
            "select token_hash, expires_at from api_token where name = 'hq-wang'")).all()
    assert stored_hash == hashlib.sha256(token.encode()).hexdigest()
    assert timedelta(days=29) < datetime.fromisoformat(expires) - datetime.now(UTC).replace(tzinfo=None) < timedelta(days=31)
    assert token.encode() not in open(token_store.engine.url.database, "rb").read()
    listed = admin_cli("list")
    assert "hq-wang\thq_auditor,viewer" in listed.stdout and "active" in listed.stdout
    assert token not in listed.output
    again = admin_cli("create", "--name", "hq-wang", "--role", "hq_auditor")
    assert again.exit_code == 2 and "hq-wang already holds a token: revoke it first" in again.output


async def test_a_revoked_token_is_refused(api, admin_cli):
    token = admin_cli("create", "--name", "ops-li", "--role", "operator").stdout.strip()
    assert (await api.get("/me", headers=bearer(token))).status_code == 200

    revoked = admin_cli("revoke", "ops-li")
    refused = await api.get("/me", headers=bearer(token))

    assert revoked.exit_code == 0 and "token of ops-li revoked" in revoked.stdout
    assert refused.status_code == 401
    assert refused.json()["detail"] == "the token is unknown, expired or revoked"
    assert "ops-li\toperator" in admin_cli("list").stdout and "revoked" in admin_cli("list").stdout


async def test_an_expired_token_is_refused(api, token_store):
    token = token_store.tokens.create("am-old", ["account_manager"], datetime.now(UTC) - timedelta(seconds=1))

    refused = await api.get("/me", headers=bearer(token))

    assert refused.status_code == 401
    assert refused.json()["detail"] == "the token is unknown, expired or revoked"


async def test_no_token_or_an_unknown_one_is_refused(api):
    missing = await api.get("/me")
    unknown = await api.get("/me", headers=bearer("vpdn_not-a-token"))

    assert (missing.status_code, missing.json()["detail"]) == (401, "no credentials: send a bearer token")
    assert unknown.status_code == 401


def test_a_bad_lifetime_or_role_is_refused(admin_cli):
    assert "'soon' is not a lifetime" in admin_cli("create", "--name", "x", "--role", "viewer",
                                                   "--expires-in", "soon").output
    assert admin_cli("create", "--name", "x", "--role", "king").exit_code == 2


def test_a_lifetime_past_the_calendar_is_refused_in_one_line(admin_cli):
    """It ended as exit 70 (a bug): the lifetime overflowed the date."""
    refused = admin_cli("create", "--name", "x", "--role", "viewer", "--expires-in", "99999999999d")

    assert refused.exit_code == 2, refused.output
    assert "'99999999999d' is longer than 10 years (3650d)" in " ".join(refused.output.split())
    assert "Traceback" not in refused.output and "x\t" not in admin_cli("list").stdout


async def test_an_admin_manages_tokens_through_the_api_and_nobody_else_does(api, token_store):
    admin = bearer(token_store.tokens.create("root", ["admin"], None))
    operator = bearer(token_store.tokens.create("ops-zhao", ["operator"], None))

    made = await api.post("/tokens", headers=admin, json={"name": "am-sun", "roles": ["account_manager"],
                                                          "expires_in_days": 7})
    token = made.json()["token"]
    listed = await api.get("/tokens", headers=admin)
    refused = await api.post("/tokens", headers=operator, json={"name": "me-too", "roles": ["admin"]})
    revoked = await api.delete("/tokens/am-sun", headers=admin)

    assert made.status_code == 201 and made.json()["roles"] == ["account_manager"]
    assert listed.status_code == 200 and token not in listed.text
    assert {"name": "am-sun", "roles": ["account_manager"]}.items() <= next(
        t for t in listed.json() if t["name"] == "am-sun").items()
    assert refused.status_code == 403 and refused.json()["detail"] == "ops-zhao lacks the role admin"
    assert (await api.get("/tokens", headers=operator)).status_code == 403
    assert revoked.status_code == 200
    assert (await api.get("/me", headers=bearer(token))).status_code == 401
    assert (await api.delete("/tokens/am-sun", headers=admin)).status_code == 404


def test_vpdn_up_gives_its_local_people_tokens_once_in_a_private_file(tmp_path):
    settings = Settings(data_dir=tmp_path)
    migrated(settings.database_url)
    local_principals(settings)
    path = tmp_path / "credentials.json"
    first = json.loads(path.read_text())
    local_principals(settings)  # a restart keeps them
    store = OrderStore(settings.database_url)
    store.tokens.revoke("carol")
    local_principals(settings)  # a revoked one is made again

    again = json.loads(path.read_text())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert {name: person["roles"] for name, person in first.items()} == {
        "alice": ["account_manager"], "bob": ["hq_auditor"], "carol": ["operator"], "hub": ["hub"], "admin": ["admin"],
        "viewer": ["viewer"]}
    assert [name for name, person in first.items() if person.get("default")] == ["viewer"]
    assert {name: store.tokens.holder(person["token"]).name for name, person in again.items()} == {
        name: name for name in first}
    assert again["alice"] == first["alice"] and again["carol"]["token"] != first["carol"]["token"]


async def test_a_token_for_a_name_the_audit_trail_cannot_show_plainly_is_refused(api, token_store):
    admin = bearer(token_store.tokens.create("root-names", ["admin"], None))

    for name in ("bad name!", "", "-dash-first", "x" * 65, "王经理"):
        made = await api.post("/tokens", headers=admin, json={"name": name, "roles": ["viewer"]})

        assert made.status_code == 422
        assert made.json()["detail"] == (f"name: {name!r} is not a name for the audit trail: letters, digits and "
                                         ". _ @ - only (at most 64)")
