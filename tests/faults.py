"""Run Interdict's real server or CLI with a pause point, so a test can SIGKILL it in the middle of a transaction.

    python -m tests.faults serve PORT
    python -m tests.faults cli ARGS...          (the `interdict` command line)

With INTERDICT_TEST_PAUSE_SQL set (a case-insensitive piece of SQL), the process stops for good just before it
runs the N-th statement containing it (INTERDICT_TEST_PAUSE_AFTER, default 1), after writing the file named by
INTERDICT_TEST_PAUSE_FILE: the test waits for that file and kills the process, whose transaction is then open
with part of its work written. Nothing else differs from `interdict serve` / `interdict`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
SECRET = "fault-test-secret"


def environment(
    url: str, data_dir: Path, pause: str | None, marker: Path | None, after: int = 1, **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERDICT_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        INTERDICT_DATABASE_URL=url,
        INTERDICT_DATA_DIR=str(data_dir),
        INTERDICT_SECRET_KEY=SECRET,
        INTERDICT_LINKAGE_WORKER="false",
        **extra,
    )
    if pause:
        assert marker is not None
        env.update(
            INTERDICT_TEST_PAUSE_SQL=pause, INTERDICT_TEST_PAUSE_FILE=str(marker), INTERDICT_TEST_PAUSE_AFTER=str(after)
        )
    return env


def start_server(
    url: str,
    data_dir: Path,
    port: int,
    *,
    pause: str | None = None,
    marker: Path | None = None,
    after: int = 1,
    **extra: str,
) -> subprocess.Popen[bytes]:
    """The real server (uvicorn, create_app, every worker) in its own process group; returns once it answers."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.faults", "serve", str(port)],
        cwd=ROOT,
        env=environment(url, data_dir, pause, marker, after, **extra),
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited during start-up"
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        time.sleep(0.1)
    raise AssertionError("the server did not start")


def run_cli(
    url: str,
    data_dir: Path,
    args: list[str],
    *,
    output: Path,
    pause: str | None = None,
    marker: Path | None = None,
    after: int = 1,
) -> subprocess.Popen[bytes]:
    """The `interdict` command line in its own process group; what it prints goes to ``output``."""
    with output.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.faults", "cli", *args],
            cwd=ROOT,
            env=environment(url, data_dir, pause, marker, after),
            start_new_session=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def kill(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def kill_during(proc: subprocess.Popen[bytes], marker: Path, request: Callable[[], object]) -> str:
    """Make ``request`` (which brings the process to its pause point: an HTTP request to the server, or waiting
    for the command), SIGKILL the process as soon as it is paused there, and return the statement it was about
    to run. An HTTP request gets no answer."""
    killer = threading.Thread(target=lambda: (wait_for("the pause point", marker.exists), kill(proc)), daemon=True)
    killer.start()
    with contextlib.suppress(httpx.TransportError):
        request()
    killer.join()
    assert marker.exists() and proc.returncode == -signal.SIGKILL, "the process never reached the pause point"
    return marker.read_text(encoding="utf-8")


def wait_for(what: str, check: Callable[[], object], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _install_pause() -> None:
    needle = os.environ.get("INTERDICT_TEST_PAUSE_SQL", "").lower()
    if not needle:
        return
    after = int(os.environ.get("INTERDICT_TEST_PAUSE_AFTER", "1"))
    marker = Path(os.environ["INTERDICT_TEST_PAUSE_FILE"])
    seen = 0
    lock = threading.Lock()

    def check(statement: str) -> None:
        nonlocal seen
        if needle not in statement.lower():
            return
        with lock:
            seen += 1
            hit = seen == after
        if hit:
            # Written whole then renamed: the killer acts as soon as the marker exists, and must read the statement.
            partial = marker.with_name(marker.name + ".partial")
            partial.write_text(statement[:200], encoding="utf-8")
            os.replace(partial, marker)
            while True:  # until SIGKILL
                time.sleep(60)

    event.listen(Engine, "before_cursor_execute", lambda conn, cursor, statement, *a: check(statement))
    # Bulk writes go through core.db.insert_rows, which uses COPY on PostgreSQL (no SQLAlchemy statement):
    # it is announced as "BULK INSERT INTO <table>" (on SQLite its INSERT statement is seen as well).
    from interdict.core import db
    from interdict.incidents import service

    plain = db.insert_rows

    def insert_rows(session: Any, table: Any, rows: Any) -> None:
        if rows:
            check(f"BULK INSERT INTO {table.name} ({len(rows)} rows)")
        plain(session, table, rows)

    db.insert_rows = service.insert_rows = insert_rows  # type: ignore[assignment]


def main() -> None:
    _install_pause()
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "serve":
        import uvicorn

        import tests.notifications.records  # noqa: F401  (the crash tests' record type)
        from interdict.app import create_app

        uvicorn.run(create_app(), host="127.0.0.1", port=int(args[0]), log_level="warning")
    elif mode == "cli":
        from interdict.cli import app

        app(args=args, prog_name="interdict")
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
