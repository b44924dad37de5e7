"""A command whose reader stops reading (`vpdn order members … | head`) ends quietly: no
"unexpected BrokenPipeError … a bug" line and no exit 70."""

import os
import subprocess
import sys
from pathlib import Path

VPDN = Path(sys.executable).parent / "vpdn"


def test_a_reader_that_stopped_reading_is_not_a_bug(cli_environment, cli_api):
    read, write = os.pipe()
    os.close(read)  # like `head` once it has its lines: every write now fails with EPIPE
    try:
        done = subprocess.run([VPDN, "admin", "token", "list"], stdout=write, stderr=subprocess.PIPE,
                              text=True, timeout=60)
    finally:
        os.close(write)
    assert done.stderr == ""
    assert done.returncode == 0
