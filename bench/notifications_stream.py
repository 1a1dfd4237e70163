"""Benchmark: from a notification's commit to its arrival at a subscriber's open stream (Server-Sent Events).

1. A scratch PostgreSQL database gets one agency and ``--subscribers`` (500) users, each with an API token.
2. A real server process (uvicorn, one worker, the product's create_app with its dispatcher thread) is started with a
   renderer registered for a benchmark record type (no producer's record type is on this branch yet; the lead
   extends this script to the full path: incident -> 10,000 watch rules -> browser).
3. Every subscriber opens ``GET /api/v1/notifications/stream`` (asyncio + httpx, one connection each) and waits.
4. Another process creates notifications for a random subscriber at a steady ``--rate`` for ``--seconds``, each in its
   own transaction through ``notifications.service.notify`` (which also plans deliveries, as in production), and
   records the wall-clock time right after each commit.
5. Latency = time the event was read by the subscriber's client - commit time (same machine, same clock). Also
   printed: server CPU (user + system, from /proc) over the measurement, and events lost (never received).

Target: p95 < 2 s with 500 connected subscribers, on 2 cores.

    .venv/bin/python bench/notifications_stream.py                      # 500 subscribers, 10/s for 60 s
    .venv/bin/python bench/notifications_stream.py --subscribers 50 --seconds 10   # quick run
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BENCH_SECRET,
    PG_ADMIN_URL,
    console,
    free_port,
    group_cpu_seconds,
    header,
    loadavg,
    prepare_schema,
    scratch_dir,
    scratch_pg,
    server_env,
    stop,
    summary_ms,
    table,
    verdict,
    wait_http,
)

TARGET_P95_MS = 2000.0
REF_TYPE = "bench-record"


def register_renderer() -> None:
    from interdict.notifications import service

    def render(session: Any, subject: Any, n: Any) -> Any:
        return service.Rendered(title=f"Bench alert {n.ref_id}", text="", url="/notifications")

    service.register_renderer(REF_TYPE, render)


def serve(port: int) -> None:
    """The server process: the product's app plus the benchmark record type's renderer."""
    import uvicorn

    from interdict.app import create_app

    register_renderer()
    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="warning")


def setup(url: str, n: int) -> list[tuple[str, str]]:
    """One agency, ``n`` users each with an API token; returns (user id, token) pairs."""
    from interdict.accounts import service as accounts
    from interdict.accounts.models import User
    from interdict.accounts.schemas import OrganisationCreate, TokenCreate
    from interdict.core.db import make_engine, make_sessionmaker, unit_of_work

    engine = make_engine(url)
    out = []
    with unit_of_work(make_sessionmaker(engine)) as s:
        org = accounts.create_organisation(
            s, OrganisationCreate(code="BENCH", name="Bench agency", kind="agency", country="VN")
        )
        for i in range(n):
            user = User(username=f"sub{i:04d}", full_name=f"Subscriber {i}", role="officer", org_id=org.id)
            s.add(user)
            s.flush()
            token, _ = accounts.create_api_token(
                s, user, TokenCreate(name="bench", scopes=["read"]), pepper=BENCH_SECRET
            )
            out.append((str(user.id), token))
    engine.dispose()
    return out


def produce(url: str, user_ids: list[str], rate: float, seconds: float, result: Any) -> None:
    """The producer process: ``rate`` notifications per second, each committed on its own; sends {id: commit time}."""
    from interdict.config import Settings
    from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
    from interdict.notifications import delivery, service

    delivery.install(Settings(database_url=url))
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    rng = random.Random(7)
    committed: dict[int, tuple[float, str]] = {}
    total = int(rate * seconds)
    t0 = time.time()
    for i in range(total):
        delay = t0 + i / rate - time.time()
        if delay > 0:
            time.sleep(delay)
        target = rng.choice(user_ids)
        with unit_of_work(factory) as s:
            ref = uuid.uuid4()
            [n] = service.notify(
                s,
                user_ids=[uuid.UUID(target)],
                kind="bench",
                ref_type=REF_TYPE,
                ref_id=ref,
                event_key=f"bench:{ref}",
                urgency="urgent",
            )
            nid = n.id
        committed[nid] = (time.time(), target)
    engine.dispose()
    result.put(committed)


async def subscriber(
    client: Any,
    base: str,
    token: str,
    user_id: str,
    received: dict[int, tuple[float, str, str]],
    ready: asyncio.Event,
    counter: list[int],
    n: int,
    gate: asyncio.Semaphore,
) -> None:
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    await gate.acquire()  # connect a few at a time (pages are opened over minutes, not in one instant)
    async with client.stream("GET", f"{base}/api/v1/notifications/stream", headers=headers) as response:
        assert response.status_code == 200, response.status_code
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                if event == "unread":
                    gate.release()
                    counter[0] += 1
                    if counter[0] == n:
                        ready.set()
                elif event == "notification":
                    data = json.loads(line[6:])
                    received[data["id"]] = (time.time(), user_id, data["ref_id"])


async def run_clients(
    base: str, users: list[tuple[str, str]], url: str, rate: float, seconds: float, server_pid: int
) -> tuple[dict[int, tuple[float, str]], dict[int, tuple[float, str, str]], float, float, float]:
    import httpx

    received: dict[int, tuple[float, str, str]] = {}
    ready = asyncio.Event()
    counter = [0]
    gate = asyncio.Semaphore(20)
    limits = httpx.Limits(max_connections=len(users) + 10, max_keepalive_connections=len(users) + 10)
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=None), limits=limits) as client:
        tasks = [
            asyncio.create_task(subscriber(client, base, token, uid, received, ready, counter, len(users), gate))
            for uid, token in users
        ]
        t_connect = time.perf_counter()
        await asyncio.wait_for(ready.wait(), 300)
        connect_s = time.perf_counter() - t_connect
        console.print(f"{len(users)} subscribers connected in {connect_s:.1f} s")
        await asyncio.sleep(2)
        ctx = multiprocessing.get_context("spawn")
        result = ctx.Queue()
        cpu0 = group_cpu_seconds(server_pid)
        w0 = time.perf_counter()
        proc = ctx.Process(target=produce, args=(url, [u for u, _ in users], rate, seconds, result))
        proc.start()
        committed = await asyncio.to_thread(result.get)
        await asyncio.to_thread(proc.join)
        await asyncio.sleep(3)  # the last events in flight
        wall = time.perf_counter() - w0
        cpu = group_cpu_seconds(server_pid) - cpu0
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return committed, received, cpu, wall, connect_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--rate", type=float, default=10.0, help="notifications per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--pg", default=PG_ADMIN_URL)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0

    header(f"notification stream: {args.subscribers} subscribers, {args.rate:g}/s for {args.seconds:g} s")
    with scratch_pg("interdict_bench_stream", keep=args.keep, admin_url=args.pg) as url, scratch_dir("stream") as data:
        prepare_schema(url)
        users = setup(url, args.subscribers)
        port = free_port()
        env = server_env(data, url)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(__file__).resolve().parent.parent / "src"), env.get("PYTHONPATH", "")]
        )
        log = open(data / "server.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{base}/healthz", 60, proc)
            console.print(f"server pid {proc.pid} at {base}")
            committed, received, cpu, wall, connect_s = asyncio.run(
                run_clients(base, users, url, args.rate, args.seconds, proc.pid)
            )
        finally:
            stop(proc)
            log.close()
    latencies = []
    wrong = 0
    for nid, (t_commit, target) in committed.items():
        got = received.get(nid)
        if got is None:
            continue
        if got[1] != target:
            wrong += 1
        latencies.append(max(0.0, got[0] - t_commit))
    lost = len(committed) - len(latencies)
    s = (
        summary_ms(latencies)
        if latencies
        else {k: float("nan") for k in ("n", "min", "p50", "p95", "p99", "max", "mean")}
    )
    table(
        "commit -> received on the subscriber's stream (ms)",
        ["subscribers", "notifications", "received", "lost", "wrong user", "p50", "p95", "p99", "max"],
        [[args.subscribers, len(committed), len(latencies), lost, wrong, s["p50"], s["p95"], s["p99"], s["max"]]],
    )
    console.print(
        f"server CPU during the run: {cpu:.1f} s over {wall:.1f} s wall = {100 * cpu / wall:.0f} % of one core; "
        f"connect {args.subscribers} subscribers: {connect_s:.1f} s; load average after: {loadavg()}"
    )
    ok = lost == 0 and wrong == 0 and s["p95"] < TARGET_P95_MS
    console.print(f"target p95 < {TARGET_P95_MS:.0f} ms, nothing lost: {verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
