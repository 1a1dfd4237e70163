"""Benchmark: from an incident's commit to the alert shown on a subscriber's open stream, with 500 connected
subscribers and 10,000 active watch rules (PostgreSQL, one server process on 2 cores).

1. A scratch PostgreSQL database gets the demo organisations and ``--subscribers`` (500) officers spread over the
   Vietnamese units, each with an API token; ``--rules`` (10,000) active watch rules owned by them: for each incident
   the producer will submit, one rule on its container owned by a chosen subscriber (the measured alert), and the
   rest of the kinds duty officers write (bench_watch_rules.make_filters: substances, classes on routes, ports,
   companies, HS headings, text, containers), which also fire on the submitted incidents (background alerts).
2. A real server process (the product's create_app: linkage, watch, delivery workers and the stream broadcaster all
   running, as in production) serves the streams; every subscriber opens ``/api/v1/notifications/stream``.
3. Another process submits ``--rate`` incidents per second for ``--seconds`` (the demo generator plus the container
   its rule watches), each committed in its own transaction as an officer's submit is, and records the commit time.
4. Latency = when the chosen subscriber's client read the alert about that incident - commit time. The path is the
   whole product: outbox event -> watch worker (10,000 rules, read checks, notifications) -> broadcaster -> SSE.

Target: p95 < 2 s.

    .venv/bin/python bench/bench_alert_path.py
    .venv/bin/python bench/bench_alert_path.py --subscribers 50 --rules 1000 --seconds 20     # quick run
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BENCH_SECRET,
    PG_ADMIN_URL,
    console,
    create_orgs_and_users,
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
from bench_watch_rules import make_filters
from notifications_stream import subscriber

TARGET_P95_MS = 2000.0
SUBMITTER = "bench.vnc-hp"


def _container(n: int) -> str:
    from stdnum import iso6346

    base = f"BNCU{n:06d}"
    return base + iso6346.calc_check_digit(base)


def setup(
    url: str, n_subs: int, n_rules: int, n_incidents: int, seed: int, broad: bool = False
) -> list[tuple[str, str, str]]:
    """Subscribers (user id, token, the container of the incident they wait for, '' if none) and the rules."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from interdict.accounts import service as accounts
    from interdict.accounts.models import Organisation, User
    from interdict.accounts.schemas import TokenCreate
    from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
    from interdict.demo.seed import UNIT_PLACES, generate_incident
    from interdict.incidents import service as svc
    from interdict.incidents.models import Incident
    from interdict.reference.catalogue import get_index
    from interdict.watch.models import WatchRule

    create_orgs_and_users(url)
    rng = random.Random(seed)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    subs: list[tuple[str, str, str]] = []
    with unit_of_work(factory) as s:
        units = [o for o in s.scalars(select(Organisation).where(Organisation.code.in_(list(UNIT_PLACES))))]
        units = [o for o in units if o.country == "VN"]
        owners: list[tuple[Any, Any]] = []
        for i in range(n_subs):
            org = units[i % len(units)]
            user = User(username=f"sub{i:04d}", full_name=f"Subscriber {i}", role="officer", org_id=org.id)
            s.add(user)
            s.flush()
            token, _ = accounts.create_api_token(
                s, user, TokenCreate(name="bench", scopes=["read"]), pepper=BENCH_SECRET
            )
            subs.append((str(user.id), token, ""))
            owners.append((user.id, org.id))
        # Background rules with values drawn from a sample of generated incidents (rolled back).
        index = get_index(s)
        sample = []
        subject = accounts.subject_by_username(s, SUBMITTER, channel="cli")
        with s.begin_nested() as nested:
            for k in range(100):
                data = generate_incident(rng, index, "VNC-HP", k)
                sample += svc.bulk_create(s, subject, [svc.BulkItem(data, svc.check(index, data), "submitted")])
            ids = list(sample)
            loaded = list(
                s.scalars(
                    select(Incident)
                    .where(Incident.id.in_(ids))
                    .options(selectinload(Incident.places), selectinload(Incident.containers))
                )
            )
            filters = make_filters(rng, index, loaded, max(0, n_rules - n_incidents))
            nested.rollback()
        # Duty officers' rules are narrow: each background filter is also tied to an incident type and a
        # reporting unit (bench_watch_rules.py measures the broad ones, where 3 % of all rules match).
        types = ["seizure", "stopped_shipment", "suspicious_shipment", "suspended_shipment", "diversion"]
        codes = sorted(UNIT_PLACES)
        for k, f in enumerate(filters):
            if not broad:
                f = {
                    "all": [
                        f,
                        {"field": "type", "op": "eq", "value": rng.choice(types)},
                        {"field": "owner_org", "op": "eq", "value": rng.choice(codes)},
                    ]
                }
            user_id, org_id = rng.choice(owners)
            s.add(WatchRule(name=f"background {k}", scope="user", owner_user_id=user_id, owner_org_id=org_id, filter=f))
        # The measured rules: incident k's container, watched by a chosen subscriber.
        for k in range(n_incidents):
            j = rng.randrange(n_subs)
            user_id, org_id = owners[j]
            c = _container(k)
            s.add(
                WatchRule(
                    name=f"container {c}",
                    scope="user",
                    owner_user_id=user_id,
                    owner_org_id=org_id,
                    filter={"field": "container", "op": "eq", "value": c},
                    urgency="urgent",
                )
            )
            subs.append((str(user_id), "", c))
    engine.dispose()
    return subs


def produce(url: str, n: int, rate: float, result: Any) -> None:
    """Submit ``n`` incidents at ``rate`` per second; sends {incident id: (commit time, container)}."""
    from interdict.accounts import service as accounts
    from interdict.config import Settings
    from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
    from interdict.demo.seed import generate_incident
    from interdict.incidents import service as svc
    from interdict.notifications import delivery
    from interdict.reference.catalogue import get_index

    delivery.install(Settings(database_url=url))
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    rng = random.Random(11)
    committed: dict[str, tuple[float, str]] = {}
    t0 = time.time()
    for k in range(n):
        delay = t0 + k / rate - time.time()
        if delay > 0:
            time.sleep(delay)
        with unit_of_work(factory) as s:
            index = get_index(s)
            subject = accounts.subject_by_username(s, SUBMITTER, channel="api")
            data = generate_incident(rng, index, "VNC-HP", 10_000 + k)
            raw = data.model_dump()
            raw.update(containers=[{"number": _container(k)}], submit=True, distribution="national")
            data = type(data).model_validate(raw)
            incident, _ = svc.create_incident(s, subject, data)
            iid = str(incident.id)
        committed[iid] = (time.time(), _container(k))
    engine.dispose()
    result.put(committed)


def serve(port: int) -> None:
    import uvicorn

    from interdict.app import create_app

    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="warning")


async def run(base: str, url: str, subs: list[tuple[str, str, str]], n: int, rate: float, pid: int) -> Any:
    import httpx

    streams = [(u, t) for u, t, c in subs if t]
    received: dict[int, tuple[float, str, str]] = {}
    ready, counter, gate = asyncio.Event(), [0], asyncio.Semaphore(20)
    limits = httpx.Limits(max_connections=len(streams) + 10, max_keepalive_connections=len(streams) + 10)
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=None), limits=limits) as client:
        tasks = [
            asyncio.create_task(subscriber(client, base, t, u, received, ready, counter, len(streams), gate))
            for u, t in streams
        ]
        t_connect = time.perf_counter()
        await asyncio.wait_for(ready.wait(), 600)
        console.print(f"{len(streams)} subscribers connected in {time.perf_counter() - t_connect:.1f} s")
        await asyncio.sleep(3)
        ctx = multiprocessing.get_context("spawn")
        result = ctx.Queue()
        cpu0, w0 = group_cpu_seconds(pid), time.perf_counter()
        proc = ctx.Process(target=produce, args=(url, n, rate, result))
        proc.start()
        committed = await asyncio.to_thread(result.get)
        await asyncio.to_thread(proc.join)
        await asyncio.sleep(5)
        wall, cpu = time.perf_counter() - w0, group_cpu_seconds(pid) - cpu0
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return committed, received, cpu, wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=500)
    ap.add_argument("--rules", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=1.0, help="incidents submitted per second")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument(
        "--broad", action="store_true", help="background rules not narrowed (about 3 %% match each incident)"
    )
    ap.add_argument("--series", action="store_true", help="also print every latency in submission order")
    ap.add_argument("--pg", default=PG_ADMIN_URL)
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    n = int(args.rate * args.seconds)
    header(f"alert path: {args.subscribers} subscribers, {args.rules:,} rules, {n} incidents at {args.rate:g}/s")
    with scratch_pg("interdict_bench_alert", admin_url=args.pg) as url, scratch_dir("alert") as data:
        prepare_schema(url)
        subs = setup(url, args.subscribers, args.rules, n, args.seed, args.broad)
        env = server_env(data, url)
        env["INTERDICT_WATCH_WORKER"] = "true"
        env["INTERDICT_LINKAGE_WORKER"] = "true"
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(__file__).resolve().parent.parent / "src"), env.get("PYTHONPATH", "")]
        )
        port = free_port()
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
            wait_http(f"{base}/healthz", 90, proc)
            committed, received, cpu, wall = asyncio.run(run(base, url, subs, n, args.rate, proc.pid))
        finally:
            stop(proc)
            log.close()
    waiting = {c: u for u, t, c in subs if c}
    got: dict[tuple[str, str], float] = {}
    background = 0
    for _nid, (t, user, ref) in received.items():
        got.setdefault((user, ref), t)
        background += 1
    latencies, lost = [], 0
    for iid, (t_commit, container) in committed.items():
        t = got.get((waiting[container], iid))
        if t is None:
            lost += 1
        else:
            latencies.append(max(0.0, t - t_commit))
    if args.series:
        console.print("latencies in submission order (ms): " + " ".join(f"{1000 * x:.0f}" for x in latencies))
    s = summary_ms(latencies) if latencies else {k: float("nan") for k in ("p50", "p95", "p99", "max")}
    table(
        "incident commit -> alert read on the watcher's stream (ms)",
        ["subscribers", "rules", "incidents", "alerts received", "lost", "p50", "p95", "p99", "max"],
        [
            [
                args.subscribers,
                args.rules,
                len(committed),
                len(latencies),
                lost,
                f"{s['p50']:.0f}",
                f"{s['p95']:.0f}",
                f"{s['p99']:.0f}",
                f"{s['max']:.0f}",
            ]
        ],
    )
    console.print(
        f"all notifications streamed during the run (measured + background): {background}; server CPU "
        f"{cpu:.1f} s over {wall:.1f} s = {100 * cpu / wall:.0f} % of one core; load average after: {loadavg()}"
    )
    ok = lost == 0 and s["p95"] < TARGET_P95_MS
    console.print(f"target p95 < {TARGET_P95_MS:.0f} ms, nothing lost: {verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
