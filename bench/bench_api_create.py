"""Benchmark: create an incident through the REST API on PostgreSQL.

A real `interdict serve` process (uvicorn) serves a scratch PostgreSQL database; this script is
the client, in a separate process: it sends N ``POST /api/v1/incidents`` requests with an API
token (officer of VNC-HP), each a realistic incident generated from the real reference data
(``interdict.demo.seed.generate_incident``), and prints the latency percentiles.

Target: p95 < 30 ms (sequential client, one server worker).

    .venv/bin/python bench/bench_api_create.py                # 500 requests
    .venv/bin/python bench/bench_api_create.py -n 50 --warmup 5   # quick run
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    PG_ADMIN_URL,
    bench_user,
    console,
    create_orgs_and_users,
    header,
    loadavg,
    prepare_schema,
    scratch_dir,
    scratch_pg,
    serve,
    summary_ms,
    table,
    verdict,
    wait_idle,
)

TARGET_P95_MS = 30.0
UNIT = "VNC-HP"


def payloads(url: str, count: int, seed: int, submit_ratio: float) -> list[dict[str, Any]]:
    from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
    from interdict.demo.seed import generate_incident
    from interdict.reference.catalogue import get_index

    engine = make_engine(url)
    rng = random.Random(seed)
    out = []
    with unit_of_work(make_sessionmaker(engine)) as s:
        index = get_index(s)
        for n in range(count):
            body = generate_incident(rng, index, UNIT, n).model_dump(mode="json", exclude_none=True)
            body["submit"] = rng.random() < submit_ratio
            out.append(body)
    engine.dispose()
    return out


def run(base: str, token: str, bodies: list[dict[str, Any]], concurrency: int) -> tuple[list[float], list[str]]:
    """Send every body once; return the latencies (s) and the unexpected responses."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    queue = list(enumerate(bodies))

    def worker() -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
            while True:
                with lock:
                    if not queue:
                        return
                    _, body = queue.pop(0)
                content = json.dumps(body).encode()
                t0 = time.perf_counter()
                r = c.post("/api/v1/incidents", content=content, headers={"Content-Type": "application/json"})
                dt = time.perf_counter() - t0
                with lock:
                    latencies.append(dt)
                    if r.status_code != 201:
                        failures.append(f"{r.status_code}: {r.text[:300]}")

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, failures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--requests", type=int, default=500, help="measured requests (default 500)")
    ap.add_argument("--warmup", type=int, default=20, help="requests sent first and not measured (default 20)")
    ap.add_argument("--concurrency", type=int, default=1, help="client threads (default 1: sequential)")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    ap.add_argument("--submit-ratio", type=float, default=0.5, help="share of requests with submit=true")
    ap.add_argument("--seed", type=int, default=1988)
    ap.add_argument("--pg", default=PG_ADMIN_URL, help="admin URL of the PostgreSQL server (a scratch DB is made)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch database and data directory")
    ap.add_argument(
        "--wait-idle", type=float, metavar="LOAD", help="before measuring, wait until the 1-min load average < LOAD"
    )
    args = ap.parse_args()

    header("create incident via REST API (PostgreSQL)")
    with (
        scratch_pg("interdict_bench_api", keep=args.keep, admin_url=args.pg) as url,
        scratch_dir("interdict-bench-api", keep=args.keep) as data_dir,
    ):
        prepare_schema(url)
        token = create_orgs_and_users(url, token_user=bench_user(UNIT))
        assert token is not None
        bodies = payloads(url, args.warmup + args.requests, args.seed, args.submit_ratio)
        with serve(data_dir, url, workers=args.workers) as srv:
            _, warm_fail = run(srv.url, token, bodies[: args.warmup], args.concurrency)
            wait_idle(args.wait_idle)
            load_before = loadavg()
            cpu0, t0 = srv.cpu_seconds(), time.perf_counter()
            lat, failures = run(srv.url, token, bodies[args.warmup :], args.concurrency)
            elapsed, cpu = time.perf_counter() - t0, srv.cpu_seconds() - cpu0
            load_after = loadavg()
        for f in (warm_fail + failures)[:5]:
            console.print(f"[red]unexpected response[/] {f}")
        s = summary_ms(lat)
        table(
            f"POST /api/v1/incidents — {s['n']} requests, concurrency {args.concurrency}, "
            f"{args.workers} worker(s), {args.warmup} warm-up",
            ["metric", "value"],
            [
                ["p50 (ms)", s["p50"]],
                ["p95 (ms)", s["p95"]],
                ["p99 (ms)", s["p99"]],
                ["min / mean / max (ms)", f"{s['min']:.1f} / {s['mean']:.1f} / {s['max']:.1f}"],
                ["throughput (req/s)", len(lat) / elapsed],
                ["server CPU per request (ms)", cpu * 1000 / len(lat)],
                ["load average before / after", f"{load_before} / {load_after}"],
                ["non-201 responses", len(warm_fail) + len(failures)],
            ],
        )
        ok = s["p95"] < TARGET_P95_MS and not failures
        console.print(f"target p95 < {TARGET_P95_MS:.0f} ms: {verdict(ok)}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
