"""A member order's submission has one commit point, whatever the person does: a command
killed while its members are staged leaves them refused to another file under the same
number; an orphan (its API died) is cleared after a while and never joined by a later order."""

import asyncio
import os
import socket
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from api.server import build_app
from embedded import local_principals
from intake import ORPHANS_CLEARED_AFTER, Intake
from models.members import MemberLine, MemberOrderResult
from models.orders import OrderState, OrderType
from store.tables import MemberStaging, utcnow
from tests.helpers import order_result
from tests.workflows.test_member_join import GD, SERVICE, SH, service  # noqa: F401 (`service`: a fixture)

VPDN = str(Path(sys.executable).parent / "vpdn")


def member_file(tmp_path: Path, name: str, numbers: list[str]) -> str:
    path = tmp_path / name
    path.write_text("\n".join(numbers) + "\n")
    return str(path)


async def vpdn(env: dict, *args: str) -> asyncio.subprocess.Process:
    """A `vpdn` command (the worker of this test keeps running while it does)."""
    return await asyncio.create_subprocess_exec(VPDN, *args, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)


async def killed_after_staging(env: dict, store, order_no: str, file: str) -> None:
    """`vpdn member join` killed (SIGKILL) once the API has staged its members, while the API
    is still trying to reach a Temporal server that never answers."""
    command = await vpdn(env, "--as", "alice", "member", "join", SERVICE, "--file", file, "--order-no", order_no,
                         "--pre-approved-by", "hq")
    deadline = time.monotonic() + 60
    while not store.members.member_results(order_no):
        assert command.returncode is None and time.monotonic() < deadline, "the command never staged its members"
        await asyncio.sleep(0.05)
    command.kill()
    await command.wait()


async def test_resubmitting_an_interrupted_order_with_another_file_never_joins_the_first_files_members(
    client, settings, simulator, worker, store, tmp_path, api_server, monkeypatch
):
    with socket.socket() as silent:  # the API's Temporal: it takes the connection and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:%d" % silent.getsockname()[1])
        api_server.app = build_app(settings)
        local_principals(settings)
        env = {**os.environ, "VPDN_DATA_DIR": str(settings.data_dir), "VPDN_API_URL": api_server.url}
        await killed_after_staging(env, store, "JOIN-R", member_file(tmp_path, "first.csv", GD))

        again = await vpdn(env, "--as", "alice", "member", "join", SERVICE, "--file",
                           member_file(tmp_path, "corrected.csv", SH), "--order-no", "JOIN-R", "--pre-approved-by", "hq")
        _, stderr = await asyncio.wait_for(again.communicate(), 120)

    assert again.returncode == 2, stderr.decode()
    assert "order JOIN-R is being submitted with other members" in stderr.decode()
    assert store.orders.get_order("JOIN-R") is None
    assert store.members.member_homes(SERVICE) == {}


async def test_an_orphaned_staging_is_cleared_and_its_order_number_joins_only_the_new_members(
    client, settings, simulator, worker, store
):
    store.staging.stage("JOIN-O", SERVICE, "join", [MemberLine(msisdn=m) for m in GD])
    with store.engine.begin() as connection:  # staged long ago by a command that died
        connection.execute(update(MemberStaging).values(staged_at=utcnow() - ORPHANS_CLEARED_AFTER
                                                        - timedelta(minutes=1)))

    async def connect():
        return client

    accepted = await Intake(settings, store, connect).member_order(
        SERVICE, "join", "\n".join(SH).encode(), {"order_no": "JOIN-O", "requested_by": "alice",
                                                  "pre_approved_by": "hq"})
    result = await order_result(client, OrderType.member_join, "JOIN-O", MemberOrderResult, timeout_s=60)

    assert (accepted.member_count, result.state, result.counts.done) == (2, OrderState.completed, 2)
    assert set(store.members.member_homes(SERVICE)) == set(SH)
    assert {m.msisdn for m in store.members.member_results("JOIN-O")} == set(SH)
