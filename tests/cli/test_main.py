"""What every `vpdn` command does alike: who is acting (`--as`, tokens, the default reader),
one-line errors (the API, Temporal or the order store unreachable, a bug), ids and filters
checked, `--json` failures on stderr, version and help."""

import json

import pytest
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from cli import app
from settings import Settings

runner = CliRunner()


def test_unreachable_temporal_is_reported_plainly():
    result = runner.invoke(app, ["--as", "alice", "customer", "acquire", "3100012345"])

    assert result.exit_code == 1
    assert "cannot reach Temporal at 127.0.0.1:1" in result.output


def test_a_decision_needs_the_role_of_the_person_acting():
    result = runner.invoke(app, ["--as", "bob", "fallout", "resolve", "OPN-1-F1", "--action", "retry"])

    assert result.exit_code == 2
    assert result.output == "error: bob lacks the role operator\n"


def test_a_decision_without_a_person_says_how_to_choose_one(tmp_path):
    stranger = runner.invoke(app, ["--as", "mallory", "order", "approve", "OPN-1"])
    (tmp_path / "credentials.json").unlink()
    nobody = runner.invoke(app, ["order", "approve", "OPN-1"])

    assert nobody.exit_code == 2
    assert "who is acting? choose a person with `vpdn --as NAME …`" in " ".join(nobody.output.split())
    assert stranger.exit_code == 2 and "no credentials for mallory" in stranger.output


def test_without_a_person_the_default_reads_and_is_refused_a_write_naming_the_role(active_service):
    shown = runner.invoke(app, ["service", "members", "SVC-OPN-0", "--json"])
    approved = runner.invoke(app, ["order", "approve", "OPN-1"])
    submitted = runner.invoke(app, ["service", "close", "SVC-OPN-0"])

    assert shown.exit_code == 0 and json.loads(shown.stdout)[0]["msisdn"] == "13800000001"
    assert (approved.exit_code, approved.output) == (2, "error: viewer lacks the role hq_auditor\n")
    assert (submitted.exit_code, submitted.output) == (
        2, "error: viewer lacks the role account_manager; nothing started\n")
    assert active_service.orders.list_orders() == []


def test_a_token_the_api_does_not_know_is_refused_in_one_line(monkeypatch):
    monkeypatch.setenv("VPDN_API_TOKEN", "vpdn_forged")

    result = runner.invoke(app, ["order", "list"])

    assert result.exit_code == 2
    assert result.output.startswith("error: the API at http://127.0.0.1:") and result.output.endswith(
        "refused the token: the token is unknown, expired or revoked\n")


def test_an_unreachable_api_is_reported_plainly(monkeypatch):
    monkeypatch.setenv("VPDN_API_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("VPDN_API_TOKEN", "vpdn_anything")

    result = runner.invoke(app, ["order", "cancel", "OPN-1", "--reason", "gone"])

    assert result.exit_code == 1
    assert "cannot reach the API at http://127.0.0.1:1: is `vpdn up` (or `vpdn api`) running?" in result.output


def test_a_failed_json_command_prints_nothing_on_stdout_and_says_why_on_stderr():
    result = runner.invoke(app, ["order", "show", "OPN-NOPE", "--json"])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == "error: no order OPN-NOPE; list them with `vpdn order list`"


@pytest.mark.parametrize("args, message", [
    (["fallout", "list", "--province", "GDD"], "unknown province 'GDD'; valid provinces: BJ TJ"),
    (["fallout", "list", "--system", "crn"], "unknown system 'crn'; valid systems: crm hlr"),
    (["order", "list", "--province", "XX"], "unknown province 'XX'"),
    (["order", "list", "--customer", "abc"], "customer code must be exactly 10 digits, got 'abc'"),
    (["--as", "carol", "events", "subscribe", "http://listener.example/ev", "--province", "XX"],
     "unknown province code 'XX'; valid codes: BJ TJ"),
])
def test_a_mistyped_filter_is_refused_with_the_valid_values(args, message):
    result = runner.invoke(app, args)

    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize("args", [
    ["order", "show", "."], ["order", "status", ".."], ["order", "status", ""], ["service", "show", "../orders"],
    ["--as", "carol", "order", "cancel", "..", "--reason", "x"],
])
def test_an_id_that_is_no_path_segment_is_refused_in_one_line_not_sent_elsewhere(args):
    result = runner.invoke(app, args)

    assert result.exit_code == 2, result.output
    assert result.output.strip().startswith("error: ") and len(result.output.strip().splitlines()) == 1
    assert "is not an order number, service id, fallout id or customer code" in result.output


def test_an_api_whose_order_store_is_unreachable_is_one_line_naming_the_store(monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("SELECT", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr("store.orders.OrderRecords.list_orders", unreachable)
    result = runner.invoke(app, ["order", "list"])

    assert result.exit_code == 1
    assert result.output == f"error: the order store is unreachable ({Settings().database_url}): connection refused\n"


def test_a_bug_is_one_line_with_its_traceback_kept_in_the_data_folder(monkeypatch, tmp_path):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("cli.orders.print_rows", broken)
    result = runner.invoke(app, ["order", "list"])

    assert result.exit_code == 70
    assert "unexpected ZeroDivisionError: division by zero (a bug: the details are in" in result.output
    assert "Traceback" not in result.output
    assert "ZeroDivisionError" in (tmp_path / "cli-errors.log").read_text()


def test_a_bug_with_a_many_line_message_is_still_one_line(monkeypatch, tmp_path):
    def broken(*args, **kwargs):
        raise ValueError("3 validation errors for OrderView\norder_no\n  Field required")

    monkeypatch.setattr("cli.orders.print_rows", broken)
    result = runner.invoke(app, ["order", "list"])

    assert result.exit_code == 70
    assert result.output.splitlines() == [
        f"error: unexpected ValueError: 3 validation errors for OrderView (a bug: the details are in "
        f"{tmp_path / 'cli-errors.log'})"]
    assert "Field required" in (tmp_path / "cli-errors.log").read_text()


def test_vpdn_prints_its_version():
    result = runner.invoke(app, ["--version"])

    assert result.exit_code == 0
    assert result.stdout.strip() == "vpdn 0.1.0"


def test_help_shows_flags_as_flags():
    result = runner.invoke(app, ["order", "list", "--help"])

    assert "--json " in result.stdout and "<bool>" not in result.stdout
