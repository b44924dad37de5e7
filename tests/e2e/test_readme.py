"""The README's walk-through, run as written against `vpdn up`: it cannot drift from the CLI.

Every fenced ```bash block that follows a `<!-- walkthrough -->` line of README.md is part of
it; its commands run in order with bash, in an empty folder, as a reader pastes them.
"""

import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.test_embedded import Up, env, vpdn  # noqa: F401 - `env` is a fixture

README = Path(__file__).parents[2] / "README.md"
MARKER = "<!-- walkthrough -->"


def walkthrough(text: str) -> list[str]:
    """The walk-through's commands, in order: a line each, a `\\` continuation or a heredoc
    (`<<'EOF'` … `EOF`) kept with its command; blank and comment lines left out."""
    blocks = re.findall(rf"^{re.escape(MARKER)}\n```bash\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)
    commands: list[str] = []
    for block in blocks:
        lines = iter(block.splitlines())
        for line in lines:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            command = line
            while command.endswith("\\"):
                command += "\n" + next(lines)
            if heredoc := re.search(r"<<-?\s*'?\"?(\w+)'?\"?", command):
                for body in lines:
                    command += "\n" + body
                    if body.strip() == heredoc.group(1):
                        break
            commands.append(command)
    return commands


def test_the_walkthrough_is_an_operators_first_service():
    """The blocks are found, and they go from the seed to the reconciliation."""
    commands = walkthrough(README.read_text(encoding="utf-8"))

    steps = ["vpdn sim seed", "vpdn customer acquire", "cat > order.json", "vpdn service open --file order.json",
             "vpdn order approve", "vpdn member join", "vpdn fallout list", "vpdn reconcile"]
    firsts = [next((i for i, c in enumerate(commands) if unattributed(c).startswith(step)), None) for step in steps]
    assert None not in firsts, dict(zip(steps, firsts))
    assert firsts == sorted(firsts), dict(zip(steps, firsts))
    seed, *_, opened, approved, joined, _fallout, _reconcile = (commands[i] for i in firsts)
    assert "--members-file members.csv" in seed and "--file members.csv" in joined
    # Two different people: the one who submits, and the auditor who approves.
    assert re.search(r"--as (\S+)", approved).group(1) != re.search(r"--as (\S+)", opened).group(1)
    assert any(c.startswith("vpdn order status") for c in commands[firsts[4]:])


def unattributed(command: str) -> str:
    """The command without the person it acts as (`vpdn --as NAME …`)."""
    return re.sub(r"^vpdn --as \S+ ", "vpdn ", command)


def first_words(command: str) -> str:
    """What a command's output is looked up by: its first three words (before a comment),
    without the person it acts as."""
    return " ".join(unattributed(command).split("#")[0].split()[:3])


def test_the_readme_walkthrough_runs_as_written(env, tmp_path):  # noqa: F811 - the fixture
    commands = walkthrough(README.read_text(encoding="utf-8"))
    folder = tmp_path / "reader"
    folder.mkdir()
    shell = {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}
    outputs: dict[str, str] = {}

    up = Up(env)
    started = time.monotonic()
    try:
        for command in commands:
            done = subprocess.run(["bash", "-c", command], cwd=folder, env=shell, capture_output=True, text=True,
                                  timeout=120)
            assert done.returncode == 0, f"$ {command}\n{done.stdout}{done.stderr}"
            outputs[first_words(command)] = outputs.get(first_words(command), "") + done.stdout
        print(f"walk-through: {len(commands)} commands in {time.monotonic() - started:.1f} s")

        # The customer acquired is the first one the seed printed; the members it joined are
        # the active subscribers the seed wrote to members.csv, every one of them joined.
        acquired = re.search(r"customer acquire (\d{10})", "\n".join(commands)).group(1)
        assert re.search(r"customer codes: (\d{10})", outputs["vpdn sim seed"]).group(1) == acquired
        assert "wrote 200 members (active subscribers)" in outputs["vpdn sim seed"]
        assert "completed" in outputs["vpdn customer acquire"] and "Kaiyuan Pharmaceutical" in outputs[
            "vpdn customer acquire"]
        assert "approved by bob" in outputs["vpdn order approve"]
        assert "completed" in outputs["vpdn order status"]
        with (folder / "members.csv").open(encoding="utf-8", newline="") as file:
            rows = list(csv.reader(file))
        assert rows[0] == ["msisdn", "name"] and len(rows) == 201
        join = re.search(r"--order-no (JOIN\S*)", "\n".join(commands)).group(1)
        assert f"order {join} completed: 200 done, 0 refused by verification, 0 failed" in " ".join(
            outputs["vpdn member join"].split())
        members = json.loads(vpdn(env, "order", "members", join, "--json").stdout)
        assert sorted((m["msisdn"], m["name"], m["state"]) for m in members) == sorted(
            (msisdn, name, "done") for msisdn, name in rows[1:])
        assert "no open fallout" in outputs["vpdn fallout list"]
        assert "GPMS and the provinces agree" in outputs["vpdn reconcile"]
    finally:
        assert up.stop() == 0, "".join(up.output)
