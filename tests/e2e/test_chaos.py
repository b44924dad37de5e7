"""A small chaos run in the suite: the worker killed and restarted, the dev server restarted,
transient faults in every province — and still every order ends, nothing twice, the order
store agrees with the provinces (benchmarks/chaos.py, at a size CI affords)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_orders_survive_worker_kills_a_server_restart_and_faults_without_loss_or_duplicates():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "chaos.py"), "--services", "2", "--members", "20",
         "--kills", "4", "--fault-rate", "0.3"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "orders: 14 " in result.stdout
    assert "stuck orders: 0" in result.stdout
    assert "duplicated effects: 0" in result.stdout
    assert "differences between GPMS and the provinces: 0" in result.stdout
    assert "worker SIGKILLs: 4, dev server restarts: 1" in result.stdout
