"""A worker process that ends normally says nothing more.

Native bindings built with nanobind (DuckDB's, rigour's) list the objects still alive when the interpreter shuts
down: pages of "leaked instance" lines, harmless (the process is exiting) but written to the stream the worker shares
with the server that started it, after the server's own last words — in the test suite, after its summary, so a
passing run looked like a failing one (issue 17 §8). The job worker, a child of the server, registers this at start:
once its main code has returned (an error is printed before atexit runs), standard error goes to /dev/null.
"""

from __future__ import annotations

import atexit
import os


def _silence_stderr() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
    except OSError:  # pragma: no cover - nothing to do at exit
        pass


def quiet_at_exit() -> None:
    """From the end of the main code on, nothing reaches standard error (registered once per process)."""
    atexit.unregister(_silence_stderr)
    atexit.register(_silence_stderr)
