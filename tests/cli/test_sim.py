"""`vpdn sim`: seeding the provinces' simulator (and the members file it writes) and injecting
faults; what it cannot do is refused in one line."""

import json

import pytest
from typer.testing import CliRunner

from cli import app
from settings import Settings

runner = CliRunner()


def test_seed_without_a_source_is_refused():
    result = runner.invoke(app, ["sim", "seed"])

    assert result.exit_code == 2
    assert "give --file or --customers/--subscribers" in result.output


@pytest.mark.parametrize("option, message", [
    (["--rate", "5"], "rate: Input should be less than or equal to 1"),
    (["--count", "-1"], "count: Input should be greater than or equal to 1"),
    (["--province", "XX"], "unknown province 'XX'; valid provinces: BJ"),
])
def test_a_fault_out_of_range_is_refused_in_one_line_naming_the_option(option, message):
    result = runner.invoke(app, ["sim", "fault", "reject", "--province", "GD", *option])

    assert result.exit_code == 2
    assert result.output.strip().startswith(f"error: {message}") and len(result.output.strip().splitlines()) == 1


def test_unreachable_simulator_is_reported_plainly():
    result = runner.invoke(app, ["sim", "reset"])

    assert result.exit_code == 1
    assert "cannot reach the simulator" in result.output


def test_a_seed_file_that_is_not_utf8_is_refused_in_one_line_naming_the_line(tmp_path):
    path = tmp_path / "seed.json"
    path.write_bytes(b'{"subscribers": [\n  {"msisdn": "13800000001", "home_province": "GD",\n'
                     b'   "name": "\xe9t\xe9"}]}\n')

    result = runner.invoke(app, ["sim", "seed", "--file", str(path)])

    assert result.exit_code == 2, result.output
    assert result.output == f"error: cannot read seed file {path}: line 3 is not UTF-8 text\n"


@pytest.fixture
def simulator_db(monkeypatch):
    """The CLI's simulator calls answered in-process by the simulator app on its own database."""
    import asyncio

    import httpx

    from simulator import create_app

    app = create_app(Settings(), report_sink=lambda *_: None, change_sink=lambda *_: None)

    def request(method, url, json=None, params=None, timeout=None):
        async def call():
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as client:
                return await client.request(method, url, json=json, params=params)
        return asyncio.run(call())

    monkeypatch.setattr(httpx, "request", request)
    yield app.state.engine
    app.state.engine.dispose()


def seeded_subscribers(engine) -> dict[str, tuple[str, str]]:
    from sqlmodel import Session, select

    from simulator.db import Subscriber

    with Session(engine) as session:
        return {s.msisdn: (s.home_province, s.status) for s in session.exec(select(Subscriber))}


def test_sim_seed_writes_a_members_file_of_active_subscribers_it_seeded(simulator_db, tmp_path):
    path = tmp_path / "members.csv"

    result = runner.invoke(app, ["sim", "seed", "--customers", "2", "--subscribers", "1000",
                                 "--members-file", str(path), "--members", "40", "--members-home", "sd,BJ"])

    assert result.exit_code == 0, result.output
    assert f"wrote 40 members (active subscribers of SD,BJ) to {path}" in result.output
    lines = path.read_bytes().decode("utf-8").splitlines()
    assert lines[0] == "msisdn,name"
    rows = [line.split(",") for line in lines[1:]]
    seeded = seeded_subscribers(simulator_db)
    assert len({msisdn for msisdn, _name in rows}) == 40
    assert all(seeded[msisdn][0] in ("SD", "BJ") and seeded[msisdn][1] == "active" for msisdn, _name in rows)
    assert all(name.strip() for _msisdn, name in rows)


def test_sim_seed_from_a_file_writes_only_its_active_subscribers_and_says_when_fewer_than_asked(
    simulator_db, tmp_path
):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"subscribers": [
        {"msisdn": "13800000001", "home_province": "GD"},
        {"msisdn": "13800000002", "home_province": "GD", "status": "suspended"},
        {"msisdn": "13800000003", "home_province": "SH"},
    ]}))
    path = tmp_path / "members.csv"

    result = runner.invoke(app, ["sim", "seed", "--file", str(seed), "--members-file", str(path)])

    assert result.exit_code == 0, result.output
    assert "wrote 2 members" in result.output and "only 2 were seeded, 200 asked" in result.output
    assert [line.split(",")[0] for line in path.read_text(encoding="utf-8").splitlines()] == [
        "msisdn", "13800000001", "13800000003"]


@pytest.mark.parametrize("args, message", [
    (["--members", "10"], "give it too"),
    (["--members-file", "m.csv", "--members-home", "GDD"], "unknown province 'GDD'"),
    (["--members-file", "m.csv", "--members-home", "[bold]GD"], "unknown province '[bold]GD'"),  # shown as typed
    (["--members-file", "m.csv", "--members", "0"], "--members 0: at least 1"),
])
def test_sim_seed_refuses_a_members_file_it_cannot_write_before_seeding(args, message):
    result = runner.invoke(app, ["sim", "seed", "--subscribers", "10", *args])

    assert result.exit_code == 2
    assert message in result.output
