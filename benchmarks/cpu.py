"""Where a run's CPU went: CPU-seconds of this process and of the processes beside it on the
machine (the simulator, worker processes, the Temporal dev server, PostgreSQL's backends),
read from /proc before and after the run. On two cores, a run that keeps both busy cannot
be faster than its CPU-seconds over two, whoever waits for whom."""

import os
from collections import Counter
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
# The part a process belongs to, by the first of these its command line contains.
PARTS = [("vpdn simulator", "simulator"), ("vpdn worker", "workers"), ("server start-dev", "dev server"),
         ("postgres: ", "postgresql"), ("bin/postgres ", "postgresql")]


def _part(pid: int, cmdline: str) -> str | None:
    if pid == os.getpid():
        return "this process"
    return next((part for needle, part in PARTS if needle in cmdline), None)


def cpu_seconds() -> Counter:
    """CPU-seconds (user + system) used so far by each part's processes alive now."""
    used = Counter()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        part = _part(int(entry.name), cmdline)
        if part:
            used[part] += (int(fields[11]) + int(fields[12])) / TICKS
    return used


def cpu_used(before: Counter) -> str:
    """`cpu: 61.2 s (this process 30.1, simulator 18.0, …)` since `before`."""
    spent = cpu_seconds()
    spent.subtract(before)
    parts = [(part, seconds) for part, seconds in spent.most_common() if seconds > 0.05]
    return f"cpu: {sum(s for _, s in parts):.1f} s (" + ", ".join(f"{p} {s:.1f}" for p, s in parts) + ")"
