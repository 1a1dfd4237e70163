"""The job worker started by a server ends without printing anything after its work (issue 17 §8)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import atexit, os, sys
# registered first, so it runs last at exit: stands for a native binding's shutdown message
atexit.register(lambda: os.write(2, b"nanobind: leaked 27 instances!\\n"))
from interdict.core.quietexit import quiet_at_exit
quiet_at_exit()
quiet_at_exit()  # once per process, however often it is called
print("worked", flush=True)
os.write(2, b"an error while working\\n")
"""


def test_what_is_printed_after_the_main_code_is_silenced_and_nothing_before() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == "worked\n"
    assert done.stderr == "an error while working\n"


def test_an_error_that_ends_the_worker_is_still_printed() -> None:
    failing = SCRIPT + "\nraise RuntimeError('the database is gone')\n"
    done = subprocess.run([sys.executable, "-c", failing], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "RuntimeError: the database is gone" in done.stderr
    assert "leaked" not in done.stderr
