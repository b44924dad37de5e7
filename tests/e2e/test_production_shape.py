"""The production shape at CI size: dev server, PostgreSQL order store, `vpdn api`, the
simulator and two workers, each its own process; one worker SIGTERMed and the other
SIGKILLed while members join; every order ends completed and reconcile agrees."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not POSTGRES_URL, reason="VPDN_TEST_POSTGRES_URL is not set: the production shape needs PostgreSQL")
def test_orders_end_right_when_one_worker_is_stopped_and_the_other_killed_mid_run():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "production_shape.py"), "--services", "1", "--members", "20",
         "--postgres", POSTGRES_URL], capture_output=True, text=True, timeout=280, cwd=ROOT)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "worker 1 after SIGTERM exited 0" in result.stdout
    assert "JOIN-SHAPE-1 completed, OPN-SHAPE-1 completed" in result.stdout
    assert "GPMS and the provinces agree" in result.stdout
