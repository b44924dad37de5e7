"""A member file given as a pipe (`--file <(sed … members.csv)`) is read as it comes."""

import os
import threading

from typer.testing import CliRunner

from cli import app

runner = CliRunner()


def test_a_member_file_read_from_a_pipe_is_checked_like_a_file(tmp_path, active_service):
    pipe = tmp_path / "members"
    os.mkfifo(pipe)
    lines = "".join(f"1380000{n:04d}\n" for n in range(2, 3000)) + "1380000000X\n"
    writer = threading.Thread(target=pipe.write_text, args=(lines,), daemon=True)
    writer.start()

    result = runner.invoke(app, ["--as", "alice", "member", "join", "SVC-OPN-0", "--file", str(pipe)])
    writer.join(timeout=30)

    assert result.exit_code == 2, result.output
    assert "line 2999: '1380000000X' is not an 11-digit mobile number" in result.output
    assert "nothing started" in result.output
