"""How `vpdn` speaks: one-line errors and exit codes, tables and JSON, and the API's answers
(reads, submissions, the hub's door, acceptance tables) as the person acting."""

import asyncio
import contextlib
import json
import os
import traceback
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException
from pydantic import BaseModel, TypeAdapter
from rich.console import Console
from rich.markup import escape
from rich.table import Table

import api_client
from models.acceptance import FORMATS
from api_client import ApiError
from models.views import Accepted
from refusal import Refusal, RefusalKind, Unavailable
from settings import Settings, SettingsInvalid


class Commands(TyperGroup):
    """Every command's failure reaches the operator as one line with a non-zero exit: a
    refusal (2), an unreachable or refusing service (1), a bug (70, its traceback kept in
    the data folder's cli-errors.log)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException, SystemExit):
            raise
        except BrokenPipeError:  # the reader stopped reading (`| head`): nothing went wrong
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nor at exit, flushing what is left
            raise typer.Exit(0) from None
        except Exception as error:  # noqa: BLE001 - the operator gets one line, never a traceback
            text, code = explain(error)
            errors.print(f"[red]error:[/red] {escape(text)}", highlight=False, soft_wrap=True)
            raise typer.Exit(code) from None


def explain(error: Exception) -> tuple[str, int]:
    """What went wrong, in one line, and the exit code."""
    # Imported here, on the way out: a command that reads through the API loads no engine or store.
    from sqlalchemy.exc import OperationalError
    from temporalio.service import RPCError

    from codec import CannotOpen, KeysRefused
    from setup_step import SetupMissing
    from simulator.db import SimulatorDatabaseOutdated
    from store import SchemaNotCurrent

    if isinstance(error, Refusal):
        return f"{error.text}; nothing started", 2
    if isinstance(error, ApiError):
        return error.text, error.exit_code
    if isinstance(error, (KeysRefused, CannotOpen)):
        return str(error), 2
    if isinstance(error, RPCError):
        return f"Temporal refused: {error.message}", 1
    if isinstance(error, httpx.HTTPError):
        return f"the provinces' hub at {Settings().hub_url} did not answer properly: {error}", 1
    if isinstance(error, (SettingsInvalid, SchemaNotCurrent, SimulatorDatabaseOutdated, SetupMissing)):
        return str(error), 2
    if isinstance(error, OperationalError):
        reason = " ".join(str(error.orig).split())  # libpq's hint is on a line of its own
        return f"the order store is unreachable ({redacted_url(Settings().database_url)}): {reason}", 1
    log = Settings().data_dir / "cli-errors.log"
    with contextlib.suppress(OSError):
        log.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a") as file:
            file.write(f"--- {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n{traceback.format_exc()}")
    first_line = next(iter(str(error).splitlines()), "")  # the rest is in the log
    return f"unexpected {type(error).__name__}: {first_line} (a bug: the details are in {log})", 70


def redacted_url(url: str) -> str:
    """A database URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# Lines are never cut by the CLI (a terminal wraps them itself): an id stays whole for copying.
console = Console(soft_wrap=True)


errors = Console(stderr=True)


WaitOption = Annotated[bool, typer.Option(help="Show progress until the order ends (exit 3 when it is held "
                                                "for a decision, 1 when it fails).")]


JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


OrderNoOption = Annotated[str | None, typer.Option(help="Business order number (default: generated).")]


PreApprovedOption = Annotated[str | None, typer.Option(help="The business audit was done outside GPMS by.")]


def fail(message: str, code: int = 1) -> NoReturn:
    errors.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def print_rows(headers: list[str], rows: list[list[str]], *, ids: tuple[str, ...], empty: str) -> None:
    """A table on a terminal, its id columns never cut (others wrap); tab-separated plain
    rows in a pipe, so ids can be copied and scripts can cut columns."""
    if not rows:
        console.print(empty)
        return
    if not console.is_terminal:
        for row in [headers, *rows]:
            print("\t".join(row))
        return
    table = Table()
    for index, header in enumerate(headers):
        if header in ids:
            table.add_column(header, no_wrap=True, min_width=max(len(row[index]) for row in [headers, *rows]))
        else:
            table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)


@contextlib.contextmanager
def answered() -> Iterator[None]:
    """A question GPMS refuses ends the command with its text: 1 when what was asked for
    does not exist, 2 for a bad question."""
    try:
        yield
    except Refusal as refusal:
        fail(escape(refusal.text), code=1 if refusal.kind == RefusalKind.not_found else 2)


def print_json(value: BaseModel | dict | list) -> None:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    print(json.dumps(value, indent=2, ensure_ascii=False))


def run(coroutine: Any) -> Any:
    """Run an async command, turning unreachable services into a clear error."""
    from temporalio.service import RPCError

    try:
        return asyncio.run(coroutine)
    except RuntimeError as error:
        if "connect" in str(error).lower():
            fail(f"cannot reach Temporal at {Settings().temporal_address}: is `vpdn up` running? ({error})")
        raise
    except RPCError as error:
        fail(f"Temporal refused: {error.message}")
    except Unavailable as error:
        fail(error.text)


def quoted(identifier: str) -> str:
    """An order number, service id or customer code as one segment of the API's paths. One
    that cannot be a segment (empty, `.`, `..`, with a `/`) would reach another path: refused."""
    segment = identifier.strip()
    if not segment.strip(".") or "/" in segment:
        fail(f"{identifier!r} is not an order number, service id, fallout id or customer code", code=2)
    return urllib.parse.quote(segment, safe="")


def read(path: str, answer: Any, **params: Any) -> Any:
    """GET `path` from the API as `answer` (a model, or a list of them); a question about
    something that does not exist ends the command with exit 1, a bad one with 2."""
    try:
        return TypeAdapter(answer).validate_python(api_client.call("GET", path, params=params))
    except ApiError as error:
        fail(escape(error.text), code=1 if error.status == 404 else error.exit_code)


def submit(kind: str, **sent: Any) -> Accepted:
    """POST an order to the API (`sent`: httpx's json, or data and files); a refusal ends the
    command: nothing started."""
    try:
        answer = api_client.request("POST", f"/orders/{kind}", timeout=api_client.SUBMISSION_TIMEOUT, **sent)
    except ApiError as refusal:
        if refusal.status is not None and refusal.status < 500:
            fail(f"{escape(refusal.text)}; nothing started", code=2)
        raise
    return Accepted.model_validate(answer.json())


def submitted(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields of a submission the person gave (the API defaults the others)."""
    return {name: value for name, value in fields.items() if value is not None}


def deliver(path: str, body: dict) -> dict:
    """POST what a provincial CRM tells GPMS to the hub's door; a refusal ends the command."""
    try:
        return api_client.call("POST", path, body=body)
    except ApiError as refusal:
        if refusal.status is not None and refusal.status < 500:
            fail(f"{escape(refusal.text)}; not delivered", code=2)
        raise


def read_text_file(file: Path, what: str) -> str:
    """A UTF-8 text file's content, or a one-line refusal (with the line that is not UTF-8)."""
    try:
        content = file.read_bytes()
    except OSError as error:
        fail(f"cannot read {what} file {file}: {error.strerror or error}", code=2)
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as error:
        line = content.count(b"\n", 0, error.start) + 1
        fail(f"cannot read {what} file {file}: line {line} is not UTF-8 text", code=2)


def not_a_number(constant: str) -> None:
    raise ValueError(f"{constant} is not a number JSON allows")


def read_json_file(file: Path, what: str) -> dict:
    """A JSON object from a file, or a clear refusal."""
    try:
        content = json.loads(read_text_file(file, what), parse_constant=not_a_number)
    except ValueError as error:
        fail(f"cannot read {what} file {file}: {error}", code=2)
    if not isinstance(content, dict):
        fail(f"the {what} file {file} must hold a JSON object {{…}}, not {type(content).__name__}", code=2)
    return content


LangOption = Annotated[str, typer.Option("--lang", help="Column headers in zh (Chinese) or en (English).")]


OutOption = Annotated[Path, typer.Option("--out", help="The file to write: table.xlsx or table.csv.")]


def write_acceptance_table(path: str, out: Path, lang: str, what: str, **params: Any) -> None:
    """Fetch the acceptance table at the API's `path` in the format of `out`'s suffix and write it."""
    if out.suffix.lower() not in FORMATS:
        fail(f"--out {out}: the table is written as .xlsx or .csv", code=2)
    if lang not in ("zh", "en"):
        fail(f"--lang {lang}: zh or en", code=2)
    try:
        table = api_client.request("GET", path, params={**params, "format": out.suffix.lower()[1:], "lang": lang})
    except ApiError as error:
        fail(escape(error.text), code=1 if error.status == 404 else error.exit_code)
    try:
        out.write_bytes(table.content)
    except OSError as error:
        fail(f"cannot write {out}: {error}")
    console.print(f"acceptance basic information table of {what} written to {out}", highlight=False)

