"""`vpdn member`: member files, joins, exits, plan changes and notifications refused with every
reason (nothing starts), and what a notification causes."""

import json

import pytest
from typer.testing import CliRunner

from cli import app

runner = CliRunner()


def members_file(tmp_path, text: str) -> str:
    path = tmp_path / "members.csv"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("text, message", [
    ("msisdn,name\n13800000002,Li\n1380000000X,Wang\n", "line 3: '1380000000X' is not an 11-digit mobile number"),
    ("13800000002\n13800000003\n13800000002\n", "line 3: 13800000002 is listed twice (first on line 1)"),
    ("\n\n", "it lists no member"),
])
def test_bad_member_files_are_refused_with_every_bad_line(tmp_path, active_service, text, message):
    result = runner.invoke(app, ["--as", "alice", "member", "join", "SVC-OPN-0", "--file", members_file(tmp_path, text)])

    assert result.exit_code == 2
    assert message in result.output
    assert "nothing started" in result.output


def test_joining_members_already_in_the_vpdn_is_refused_with_the_list(tmp_path, active_service):
    result = runner.invoke(app, ["--as", "alice", "member", "join", "SVC-OPN-0", "--file",
                                 members_file(tmp_path, "13800000001\n13800000002\n")])

    assert result.exit_code == 2
    assert "1 member is already in service SVC-OPN-0: 13800000001; nothing started" in result.output
    assert active_service.orders.list_orders() == []


def test_exiting_numbers_that_are_not_members_is_refused_with_the_list(tmp_path, active_service):
    result = runner.invoke(app, ["--as", "alice", "member", "exit", "SVC-OPN-0", "--file",
                                 members_file(tmp_path, "13800000001\n13900000009\n")])

    assert result.exit_code == 2
    assert "1 number is not a member of service SVC-OPN-0 (unknown or already exited): 13900000009" in result.output


def test_members_cannot_join_a_service_that_is_not_active(tmp_path, active_service):
    active_service.services.set_service_state("SVC-OPN-0", "closed")

    result = runner.invoke(app, ["--as", "alice", "member", "join", "SVC-OPN-0", "--file", members_file(tmp_path, "13800000002\n")])

    assert result.exit_code == 2
    assert "service SVC-OPN-0 is closed" in result.output


def test_a_notification_for_a_number_in_no_vpdn_is_refused(active_service):
    result = runner.invoke(app, ["--as", "hub", "member", "notify", "cancelled", "13900000009", "--province", "GD", "--id", "N1"])

    assert result.exit_code == 2
    assert "13900000009 is not a member of any VPDN" in result.output


def test_a_member_file_that_is_not_utf8_is_refused_in_one_line_naming_the_line(tmp_path, active_service):
    path = tmp_path / "members.csv"
    path.write_bytes(b"13800000002\n\xff\xfe\x00garbage\n")

    result = runner.invoke(app, ["--as", "alice", "member", "join", "SVC-OPN-0", "--file", str(path)])

    assert result.exit_code == 2
    assert result.output == "error: member file refused: line 2: neither UTF-8 nor GB18030 (GBK) text; nothing started\n"


def plan_file(tmp_path, plan: dict) -> str:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    return str(path)


@pytest.mark.parametrize("members, plan, message", [
    ("13800000001\n13900000009\n", {"name": "gold", "tariff_version": 1, "parameters": {"member_fee": "9"}},
     "1 number is not an active member of service SVC-OPN-0: 13900000009"),
    ("13800000001\n", {"name": "gold", "tariff_version": 1, "parameters": {"member_speed": "9", "monthly_fee": "1"}},
     "unknown plan parameters: member_speed, monthly_fee (member parameters of tariff version 1: member_fee)"),
    ("13800000001\n", {"name": "gold", "tariff_version": 2, "parameters": {"member_fee": "9"}},
     "the plan refers to tariff version 2; the service's current version is 1"),
    ("13800000001\n", {"name": "standard", "tariff_version": 1, "parameters": {}},
     "the plan changes nothing for 1 members already on plan standard (v1): 13800000001"),
    ("13800000001\n", {"tariff_version": 1}, "plan.name: is required"),
])
def test_a_member_plan_change_that_cannot_apply_is_refused(tmp_path, active_service, members, plan, message):
    result = runner.invoke(app, ["--as", "alice", "member", "plan", "SVC-OPN-0", "--file", members_file(tmp_path, members),
                                 "--plan", plan_file(tmp_path, plan)])

    assert result.exit_code == 2
    assert message in result.output and "nothing started" in result.output
    assert active_service.orders.list_orders() == []


def test_a_member_plan_change_on_a_service_that_is_not_active_is_refused(tmp_path, active_service):
    active_service.services.set_service_state("SVC-OPN-0", "closing")

    result = runner.invoke(app, ["--as", "alice", "member", "plan", "SVC-OPN-0", "--file", members_file(tmp_path, "13800000001\n"),
                                 "--plan", plan_file(tmp_path, {"name": "gold", "tariff_version": 1})])

    assert result.exit_code == 2
    assert "service SVC-OPN-0 is being closed: it accepts no further orders" in result.output


def test_a_member_file_with_a_300_000_character_line_is_refused_in_one_line_naming_it(tmp_path, active_service):
    text = "13800000002\n13800000003," + "x" * 300_000 + "\n13800000004\n"

    result = runner.invoke(app, ["--as", "alice", "member", "join", "SVC-OPN-0", "--file", members_file(tmp_path, text)])

    assert result.exit_code == 2, result.output
    assert result.output == ("error: member file refused: line 2: longer than 1000 characters: not a member "
                             "line; nothing started\n")
    assert active_service.orders.list_orders() == []


def test_a_member_number_with_full_width_digits_is_refused(tmp_path, active_service):
    number = "13" + "８０００００００２"  # a mobile number's shape, in full-width digits after the 13
    result = runner.invoke(app, ["--as", "alice", "member", "join", "SVC-OPN-0", "--file", members_file(tmp_path, number + "\n")])

    assert result.exit_code == 2, result.output
    assert f"line 1: '{number}' is not an 11-digit mobile number" in result.output


@pytest.mark.parametrize("args, message", [
    (["cancelled", "13800000001", "--id", "N123"],
     "its order MCH-N123-EXIT (the number exits) waits its turn on the service"),
    (["changed", "13800000001", "--new", "15500000001", "--id", "N124"],
     "its orders MCH-N124-OLD (the old number exits) and MCH-N124-NEW (the new number joins) wait their turn"),
])
def test_a_member_notification_names_the_orders_it_causes(monkeypatch, args, message):
    import cli.members

    monkeypatch.setattr(cli.members, "deliver", lambda path, body: {"detail": "received", "service_id": "SVC-OPN-0"})

    result = runner.invoke(app, ["--as", "hub", "member", "notify", *args, "--province", "GD"])

    assert result.exit_code == 0, result.output
    assert message in " ".join(result.output.split())
    assert "vpdn member notifications SVC-OPN-0" in " ".join(result.output.split())
