"""Benchmark: `interdict demo` from an empty data directory to the first served page (SQLite).

Each run: a fresh, empty INTERDICT_DATA_DIR (no database URL: the embedded SQLite database), then
``interdict demo --port P`` is started and timed from the spawn until

1. ``GET /login`` answers 200 (the first served page), and
2. logging in as ``admin`` with the generated password (``demo-credentials.txt``) and
   ``GET /dashboard`` answers 200.

Then the same data directory is started again (already seeded) and timed to ``GET /login`` 200.
Dependencies are installed (the venv); nothing is downloaded.

Target: < 60 s to the first served page.

    .venv/bin/python bench/bench_demo.py              # 3 runs
    .venv/bin/python bench/bench_demo.py --runs 1     # quick run
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    INTERDICT,
    console,
    free_port,
    header,
    loadavg,
    scratch_dir,
    server_env,
    stop,
    table,
    verdict,
    wait_http,
    wait_idle,
)

TARGET_S = 60.0


def start_demo(data_dir: Path, incidents: int | None, log: Path) -> tuple[subprocess.Popen[Any], str, float]:
    port = free_port()
    env = server_env(data_dir, None)
    env.pop("INTERDICT_SECRET_KEY", None)  # as a first-time user: the secret is generated into the data dir
    cmd = [INTERDICT, "demo", "--port", str(port)]
    if incidents is not None:
        cmd += ["--incidents", str(incidents)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("a"), stderr=subprocess.STDOUT, start_new_session=True)
    return proc, f"http://127.0.0.1:{port}", t0


def one_run(n: int, incidents: int | None, keep: bool) -> dict[str, Any]:
    with scratch_dir(f"interdict-bench-demo-{n}", keep=keep) as tmp:
        data_dir = tmp / "data"  # does not exist yet: `interdict demo` creates it
        log = tmp / "demo.log"
        proc, base, t0 = start_demo(data_dir, incidents, log)
        try:
            t_login = wait_http(f"{base}/login", 300, proc) - t0
            password = (data_dir / "demo-credentials.txt").read_text().strip()
            with httpx.Client(base_url=base, timeout=60, follow_redirects=True) as c:
                form = c.get("/login").text  # the login form's CSRF token (its cookie is kept by the client)
                found = re.search(r'name="csrf_token" value="([^"]+)"', form)
                token = found.group(1) if found else ""
                r = c.post(
                    "/login",
                    data={"username": "admin", "password": password, "next": "/dashboard", "csrf_token": token},
                )
                if r.status_code != 200 or not str(r.url).endswith("/dashboard"):
                    raise RuntimeError(f"login failed: {r.status_code} at {r.url}")
                r = c.get("/dashboard")
                r.raise_for_status()
            t_dash = time.perf_counter() - t0
        finally:
            stop(proc)
        seeded = next((line for line in log.read_text().splitlines() if "demo data" in line), "?")
        # second start on the same data directory (migrated, seeded)
        proc, base, t0 = start_demo(data_dir, incidents, log)
        try:
            t_restart = wait_http(f"{base}/login", 300, proc) - t0
        finally:
            stop(proc)
        db_size = (data_dir / "interdict.db").stat().st_size
    return {"login": t_login, "dashboard": t_dash, "restart": t_restart, "seeded": seeded.strip(), "db": db_size}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="runs, each from an empty data directory (default 3)")
    ap.add_argument("--incidents", type=int, help="pass --incidents to `interdict demo` (default: its own, 400)")
    ap.add_argument("--keep", action="store_true", help="keep the data directories")
    ap.add_argument(
        "--wait-idle", type=float, metavar="LOAD", help="before each run, wait until the 1-min load average < LOAD"
    )
    args = ap.parse_args()

    header("interdict demo: empty data directory to first served page (SQLite)")
    results = []
    for n in range(1, args.runs + 1):
        wait_idle(args.wait_idle)
        load = loadavg()
        r = one_run(n, args.incidents, args.keep)
        r["load"] = load
        results.append(r)
        console.print(
            f"run {n}: /login 200 after {r['login']:.1f} s, /dashboard (logged in) after {r['dashboard']:.1f} s, "
            f"restart {r['restart']:.1f} s; {r['seeded']}; load {load}",
            highlight=False,
        )
    rows: list[list[Any]] = [
        [
            f"run {i}",
            r["login"],
            r["dashboard"],
            r["restart"],
            f"{r['db'] / 1e6:.1f}",
            r["load"],
        ]
        for i, r in enumerate(results, 1)
    ]
    if len(results) > 1:
        rows.append(
            [
                "median",
                statistics.median(r["login"] for r in results),
                statistics.median(r["dashboard"] for r in results),
                statistics.median(r["restart"] for r in results),
                "",
                "",
            ]
        )
    table(
        "interdict demo (SQLite, fresh data dir) — seconds from spawn",
        ["run", "GET /login 200 (s)", "login + GET /dashboard 200 (s)", "restart: /login 200 (s)", "db MB", "load avg"],
        rows,
    )
    worst = max(r["dashboard"] for r in results)
    ok = worst < TARGET_S
    console.print(f"target < {TARGET_S:.0f} s to the first served page (worst run, incl. dashboard): {verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
