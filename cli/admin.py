"""`vpdn admin token`: the API's bearer tokens, made on the order store's host.

A token is printed once (alone on stdout, so a script can keep it) and only its hash is
stored; `list` never shows tokens; `revoke` ends one at once.
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from api.auth import Role
from settings import Settings
from store import OrderStore, TokenExists

admin_app = typer.Typer(help="Administration: the API's bearer tokens.", no_args_is_help=True, rich_markup_mode=None)
token_app = typer.Typer(help="Bearer tokens: create (shown once), list, revoke.", no_args_is_help=True,
                        rich_markup_mode=None)
admin_app.add_typer(token_app, name="token")

UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


# The longest lifetime, as the API's `POST /tokens` allows.
LONGEST = timedelta(days=3650)


def lifetime(text: str) -> timedelta | None:
    """`30d`, `12h`, `2w`, `90m` (10 years at most); `never` for a token that does not expire."""
    if text == "never":
        return None
    if not (match := re.fullmatch(r"(\d+)([mhdw])", text.strip())) or int(match[1]) == 0:
        raise typer.BadParameter(f"{text!r} is not a lifetime: give e.g. 30d, 12h, 2w, 90m, or never")
    try:
        life = timedelta(**{UNITS[match[2]]: int(match[1])})
    except OverflowError:
        life = LONGEST * 2
    if life > LONGEST:
        raise typer.BadParameter(f"{text!r} is longer than 10 years (3650d): give a shorter lifetime, or never")
    return life


def store() -> OrderStore:
    return OrderStore(Settings().database_url)


@token_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Who holds the token (the actor in the audit trail).")],
    role: Annotated[list[Role], typer.Option(help="A role it grants (repeat for several).")],
    expires_in: Annotated[str, typer.Option(help="Lifetime: 30d, 12h, 2w, 90m (10 years at most) or never.")] = "90d",
) -> None:
    """Make a token for NAME: printed once, only its hash is kept."""
    name = name.strip()
    if not name:
        raise typer.BadParameter("a token needs a name", param_hint="--name")
    life = lifetime(expires_in)
    expires_at = datetime.now(UTC) + life if life else None
    try:
        token = store().tokens.create(name, [r.value for r in role], expires_at)
    except TokenExists as exists:
        typer.echo(f"error: {exists}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"token for {name} ({', '.join(sorted(r.value for r in set(role)))}), "
               + (f"expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "does not expire")
               + ": shown this once, keep it secret", err=True)
    typer.echo(token)


@token_app.command("list")
def list_tokens() -> None:
    """Every token's name, roles, dates and state (never the token)."""
    now = datetime.now(UTC)
    tokens = store().tokens.list_tokens()
    if not tokens:
        typer.echo("no tokens: make one with `vpdn admin token create --name NAME --role ROLE`")
    for token in tokens:
        expires = f"{token.expires_at:%Y-%m-%d %H:%M}" if token.expires_at else "never"
        typer.echo(f"{token.name}\t{','.join(token.roles)}\tcreated {token.created_at:%Y-%m-%d %H:%M}"
                   f"\texpires {expires}\t{token.state(now)}")


@token_app.command("revoke")
def revoke(name: str) -> None:
    """Revoke NAME's token: refused from the next request on."""
    if not store().tokens.revoke(name.strip()):
        typer.echo(f"error: {name} holds no token that is not revoked; see `vpdn admin token list`", err=True)
        raise typer.Exit(2)
    typer.echo(f"token of {name} revoked")
