"""Shared helpers for the benchmark scripts (not a test suite: plain scripts that print figures).

* scratch PostgreSQL databases (created on the server at ``--pg``, dropped afterwards);
* a real ``interdict serve`` / ``interdict demo`` process in a subprocess, stopped by its pid;
* percentiles, machine description and result tables.
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get("INTERDICT_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BIN = Path(sys.executable).parent
INTERDICT = str(BIN / "interdict")
BENCH_SECRET = "bench-secret-key-not-for-production"
PASSWORD = "bench-password-Xy7#q"

console = Console(width=110)


# --- figures -----------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100), at least 1
    return ordered[int(rank) - 1]


def summary_ms(values_s: Sequence[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {
        "n": len(ms),
        "min": min(ms),
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": max(ms),
        "mean": sum(ms) / len(ms),
    }


def verdict(ok: bool) -> str:
    return "[bold green]PASS[/]" if ok else "[bold red]FAIL[/]"


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    t = Table(title=title, title_justify="left")
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 else "right")
    for r in rows:
        t.add_row(*[f"{v:.1f}" if isinstance(v, float) else str(v) for v in r])
    console.print(t)


def machine() -> str:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return (
        f"{os.cpu_count()} cores, {model}, {mem_kb / 1024 / 1024:.1f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def header(title: str) -> None:
    console.rule(f"[bold]{title}")
    console.print(f"machine: {machine()}")
    console.print(f"date:    {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    console.print(f"load average (1/5/15 min) at start: {loadavg()}")


def wait_idle(max_load: float | None, timeout: float = 900) -> None:
    """Wait (up to ``timeout`` s) until the 1-minute load average is below ``max_load``."""
    if max_load is None:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if float(loadavg().split()[0]) < max_load:
            return
        time.sleep(5)
    console.print(f"[yellow]load average still {loadavg()} after {timeout:.0f} s; measuring anyway[/]")


def group_cpu_seconds(pgid: int) -> float:
    """user + system CPU seconds of every live process in process group ``pgid``."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is state (field 3); pgrp is field 5, utime 14, stime 15
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def process_tree(pid: int) -> list[int]:
    """``pid`` and every live descendant (children, their children...), read from /proc."""
    parent_of: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parent_of[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += [c for c, parent in parent_of.items() if parent == p]
    return tree


def rss_kib(pid: int) -> int:
    """VmRSS of a process in KiB (0 if it is gone)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# --- scratch databases -------------------------------------------------------------------------


@contextlib.contextmanager
def scratch_pg(prefix: str, *, keep: bool = False, admin_url: str = PG_ADMIN_URL) -> Iterator[str]:
    """A fresh, empty PostgreSQL database; dropped (WITH FORCE) on exit unless ``keep``."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    console.print(f"scratch database: {name}")
    try:
        yield url
    finally:
        if keep:
            console.print(f'[yellow]kept database {name}[/] (drop it with: DROP DATABASE "{name}" WITH (FORCE))')
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            console.print(f"dropped scratch database {name}")
        admin.dispose()


@contextlib.contextmanager
def scratch_dir(prefix: str, *, keep: bool = False) -> Iterator[Path]:
    import shutil

    path = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    try:
        yield path
    finally:
        if keep:
            console.print(f"[yellow]kept directory {path}[/]")
        else:
            shutil.rmtree(path, ignore_errors=True)


def prepare_schema(url: str) -> None:
    """Migrate and load the reference data (what `interdict serve` would do on first start)."""
    from interdict.core import migrate
    from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
    from interdict.reference.loader import load_reference

    engine = make_engine(url)
    migrate.upgrade(engine)
    with unit_of_work(make_sessionmaker(engine)) as session:
        load_reference(session)
    engine.dispose()


def create_orgs_and_users(
    url: str, *, token_user: str | None = None, token_scopes: tuple[str, ...] = ("read", "write")
) -> str | None:
    """The demo organisations (from interdict.demo.seed), one officer per unit, the demo users;
    returns an API token for ``token_user`` (hashed with BENCH_SECRET, which the server must use)."""
    from interdict.accounts import service as accounts
    from interdict.accounts.schemas import OrganisationCreate, TokenCreate, UserCreate
    from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
    from interdict.demo.seed import ORGS, UNIT_PLACES, USERS

    engine = make_engine(url)
    token: str | None = None
    with unit_of_work(make_sessionmaker(engine)) as s:
        for org in ORGS:
            if accounts.get_org_by_code(s, org["code"]) is None:
                accounts.create_organisation(s, OrganisationCreate.model_validate(org))
        wanted = [dict(u) for u in USERS] + [
            {"username": bench_user(unit), "full_name": f"Bench officer {unit}", "role": "officer", "org_code": unit}
            for unit in UNIT_PLACES
        ]
        for u in wanted:
            if accounts.get_user_by_username(s, u["username"]) is None:
                accounts.create_user(s, UserCreate.model_validate({**u, "password": PASSWORD}))
        if token_user:
            user = accounts.get_user_by_username(s, token_user)
            assert user is not None
            token, _ = accounts.create_api_token(
                s, user, TokenCreate(name="bench", scopes=list(token_scopes)), pepper=BENCH_SECRET
            )
    engine.dispose()
    return token


def bench_user(unit: str) -> str:
    return f"bench.{unit.lower()}"


# --- a real server process ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERDICT_")}
    env["INTERDICT_DATA_DIR"] = str(data_dir)
    env["INTERDICT_SECRET_KEY"] = BENCH_SECRET
    # The servers under test measure one thing: without this, the linkage worker would be linking every
    # generated incident (from the outbox) during the measurement. Linkage is measured in its own benchmarks.
    env["INTERDICT_LINKAGE_WORKER"] = os.environ.get("INTERDICT_BENCH_LINKAGE_WORKER", "false")
    # Likewise the watch worker (it reads every incident event); bench_alert_path.py turns it on.
    env["INTERDICT_WATCH_WORKER"] = os.environ.get("INTERDICT_BENCH_WATCH_WORKER", "false")
    if database_url:
        env["INTERDICT_DATABASE_URL"] = database_url
    return env


def wait_http(url: str, timeout: float, proc: subprocess.Popen[Any] | None = None, expect: int = 200) -> float:
    """Poll ``url`` until it answers ``expect``; returns time.perf_counter() at that moment."""
    deadline = time.perf_counter() + timeout
    with httpx.Client(timeout=2.0) as c:
        while time.perf_counter() < deadline:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"server exited with code {proc.returncode} before answering")
            try:
                if c.get(url).status_code == expect:
                    return time.perf_counter()
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer {expect} within {timeout:.0f} s")


class Server:
    def __init__(self, url: str, proc: subprocess.Popen[Any]) -> None:
        self.url = url
        self.proc = proc

    def cpu_seconds(self) -> float:
        return group_cpu_seconds(self.proc.pid)


@contextlib.contextmanager
def serve(
    data_dir: Path,
    database_url: str | None,
    *,
    workers: int = 1,
    log: Path | None = None,
    timeout: float = 120,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Start `interdict serve` in a subprocess; yield it once /healthz answers; stop it on exit."""
    port = free_port()
    out = open(log or (data_dir / "server.log"), "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [INTERDICT, "serve", "--port", str(port), "--workers", str(workers)],
        env={**server_env(data_dir, database_url), **(extra_env or {})},
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/healthz", timeout, proc)
        console.print(f"server pid {proc.pid} at {base} ({workers} worker(s))")
        yield Server(base, proc)
    finally:
        stop(proc)
        out.close()


def stop(proc: subprocess.Popen[Any], timeout: float = 15) -> None:
    """Stop a process this script started (its own process group: uvicorn workers included)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
