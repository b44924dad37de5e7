import subprocess
import sys
import time

from benchmarks.cpu import cpu_seconds, cpu_used


def burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_the_cpu_this_process_spends_is_counted_as_its_own():
    before = cpu_seconds()
    burn(0.3)
    spent = cpu_seconds()
    assert spent["this process"] - before["this process"] >= 0.25
    assert cpu_used(before).startswith("cpu: ")
    assert "this process" in cpu_used(before)


def test_a_process_running_the_simulator_is_counted_as_the_simulator():
    script = ("import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"
              "print('burnt', flush=True)\ntime.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", script, "vpdn simulator"], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "burnt"
        assert cpu_seconds()["simulator"] >= 0.35
    finally:
        child.kill()
        child.wait()
