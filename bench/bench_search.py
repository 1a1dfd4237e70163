"""Benchmark: search over many incidents on PostgreSQL (filters + full text), through the API.

1. A scratch PostgreSQL database gets the demo organisations and ``--incidents`` (200,000)
   realistic incidents spread over the 12 demo units, generated from the real reference data
   (``interdict.demo.seed.generate_incident``, ``service.check``) and written with the bulk path
   (``service.bulk_create``) by ``--procs`` processes; then ``VACUUM ANALYZE``.
2. A real `interdict serve` process serves it; this script sends a mix of
   ``GET /api/v1/incidents`` queries (page_size 25, sorted by -incident_date, total count
   included, as the analyst of VNC-ASID with a read token): free text, each filter, and
   combinations; p50/p95 per query kind and overall.
3. For every kind whose p95 is over the target, the two SQL statements of the search (count and
   page, rebuilt exactly as ``service.search_incidents`` builds them) are run under
   ``EXPLAIN (ANALYZE, BUFFERS)`` and printed.

Target: p95 < 150 ms.

    .venv/bin/python bench/bench_search.py                           # 200,000 incidents
    .venv/bin/python bench/bench_search.py --incidents 5000 --reps 5   # quick run
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import timedelta
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
    percentile,
    prepare_schema,
    scratch_dir,
    scratch_pg,
    serve,
    summary_ms,
    table,
    verdict,
    wait_idle,
)

TARGET_P95_MS = 150.0
SEARCH_USER = "analyst"  # VNC-ASID (root VNC, VN): reads most of the data set
BATCH = 1000


# --- data generation ---------------------------------------------------------------------------


def _generate_unit(url: str, unit: str, count: int, seed: int) -> tuple[str, int, float]:
    """Worker: generate and bulk-insert ``count`` incidents owned by ``unit`` (commit per batch)."""
    from interdict.accounts import service as accounts
    from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
    from interdict.demo.seed import generate_incident
    from interdict.incidents import service as svc
    from interdict.reference.catalogue import get_index

    t0 = time.perf_counter()
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    rng = random.Random(f"{seed}-{unit}")
    done = 0
    while done < count:
        size = min(BATCH, count - done)
        with unit_of_work(factory) as s:
            index = get_index(s)
            subject = accounts.subject_by_username(s, bench_user(unit), channel="cli")
            items = []
            for k in range(size):
                data = generate_incident(rng, index, unit, done + k)
                status = rng.choices(["submitted", "updated", "closed", "draft"], weights=[55, 20, 20, 5])[0]
                items.append(svc.BulkItem(data, svc.check(index, data), status))
            svc.bulk_create(s, subject, items)
        done += size
    engine.dispose()
    return unit, count, time.perf_counter() - t0


def generate(url: str, total: int, procs: int, seed: int) -> float:
    from interdict.demo.seed import UNIT_PLACES

    rng = random.Random(seed)
    units = [c for c in UNIT_PLACES if c != "KHC"]
    per_unit = Counter("KHC" if n % 40 == 0 else rng.choice(units) for n in range(total))
    console.print(f"generating {total} incidents over {len(per_unit)} units with {procs} processes …")
    t0 = time.perf_counter()
    done = 0
    with ProcessPoolExecutor(max_workers=procs) as pool:
        futures = [pool.submit(_generate_unit, url, u, n, seed) for u, n in per_unit.most_common()]
        for f in as_completed(futures):
            unit, n, dt = f.result()
            done += n
            console.print(
                f"  {unit:<14} {n:>7} incidents in {dt:6.1f} s   ({done}/{total}, {time.perf_counter() - t0:.0f} s)"
            )
    elapsed = time.perf_counter() - t0
    console.print(f"generated {total} incidents in {elapsed:.1f} s ({total / elapsed:.0f}/s)")
    return elapsed


def vacuum_analyze(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        t0 = time.perf_counter()
        conn.execute(text("VACUUM (ANALYZE)"))
        console.print(f"VACUUM (ANALYZE) in {time.perf_counter() - t0:.1f} s")
        sizes = conn.execute(
            text(
                "SELECT relname, n_live_tup, pg_size_pretty(pg_total_relation_size(relid)) "
                "FROM pg_stat_user_tables WHERE relname LIKE 'incident%' ORDER BY relname"
            )
        ).all()
    engine.dispose()
    table("tables", ["table", "rows", "size (with indexes)"], [list(r) for r in sizes])


# --- the query mix -----------------------------------------------------------------------------


def query_mix(url: str) -> dict[str, list[dict[str, Any]]]:
    """Kind -> parameter variants (cycled). Container numbers are sampled from the data."""
    from sqlalchemy import create_engine, text

    from interdict.core.clock import today

    engine = create_engine(url)
    with engine.connect() as conn:
        containers = list(
            conn.execute(text("SELECT number FROM incident_containers ORDER BY md5(number) LIMIT 6")).scalars()
        )
    engine.dispose()
    d = today()

    def days(n: int) -> str:
        return (d - timedelta(days=n)).isoformat()

    return {
        "no filter": [{}],
        "q narrative word": [
            {"q": "laboratory"},
            {"q": "anomalies"},
            {"q": "licence"},
            {"q": "detector dog"},
            {"q": "samples sent"},
        ],
        "q company word": [{"q": "hoang phat"}, {"q": "tianhe"}, {"q": "ruida"}, {"q": "mumbai"}, {"q": "kim long"}],
        "q container number": [{"q": c} for c in containers],
        "type": [{"type": "seizure"}, {"type": "diversion"}, {"type": "illicit_laboratory"}],
        "country": [{"country": "KH"}, {"country": "VN"}],
        "port=VNHPH": [{"port": "VNHPH"}],
        "route_country=CN": [{"route_country": "CN"}],
        "substance=P2P": [{"substance": "P2P"}],
        "substance_class=precursor-fentanyl": [{"substance_class": "precursor-fentanyl"}],
        "date range": [
            {"date_from": days(30), "date_to": days(0)},
            {"date_from": days(400), "date_to": days(310)},
            {"date_from": days(365), "date_to": days(0)},
        ],
        "company=": [{"company": "hoang phat"}, {"company": "tianhe"}, {"company": "mumbai"}],
        "filter + q": [
            {"type": "seizure", "q": "laboratory"},
            {"port": "VNHPH", "q": "tianhe"},
            {"country": "VN", "q": "anomalies"},
            {"substance_class": "precursor-fentanyl", "q": "hoang phat"},
            {"date_from": days(90), "date_to": days(0), "q": containers[0] if containers else "csqu"},
        ],
        "several filters": [
            {"substance_class": "precursor-fentanyl", "route_country": "CN", "date_from": days(365)},
            {"type": "stopped_shipment", "port": "VNHPH", "date_from": days(180), "date_to": days(0)},
            {"substance": "P2P", "country": "VN", "route_country": "CN"},
        ],
        "company= + q": [{"company": "hoang phat", "q": "laboratory"}],
    }


BASE_PARAMS = {"page_size": 25, "sort": "-incident_date"}


def warm_up(base: str, token: str, mix: dict[str, list[dict[str, Any]]]) -> None:
    """Every variant once, not measured (first queries load the reference index, fill caches)."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as c:
        for variants in mix.values():
            for v in variants:
                c.get("/api/v1/incidents", params={**BASE_PARAMS, **v})


def measure(
    base: str, token: str, mix: dict[str, list[dict[str, Any]]], reps: int
) -> tuple[dict[str, list[tuple[int, float, int]]], list[str]]:
    """kind -> [(variant index, seconds, total)] ; plus the unexpected responses."""
    results: dict[str, list[tuple[int, float, int]]] = {k: [] for k in mix}
    errors: list[str] = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as c:
        for rep in range(reps):
            for kind, variants in mix.items():
                i = rep % len(variants)
                t0 = time.perf_counter()
                r = c.get("/api/v1/incidents", params={**BASE_PARAMS, **variants[i]})
                dt = time.perf_counter() - t0
                total = -1
                if r.status_code == 200:
                    total = r.json()["total"]
                else:
                    errors.append(f"{kind} {variants[i]} -> {r.status_code}: {r.text[:200]}")
                results[kind].append((i, dt, total))
    return results, errors


# --- EXPLAIN ANALYZE of a slow query -------------------------------------------------------------


def explain(url: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """EXPLAIN (ANALYZE, BUFFERS) of the count and the page statements, built like search_incidents."""
    from sqlalchemy import func, select

    from interdict.accounts import service as accounts
    from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
    from interdict.core.pagination import PageParams
    from interdict.incidents import service as svc
    from interdict.incidents.api import params_filter
    from interdict.incidents.models import Incident
    from interdict.sharing.service import readable

    keys = [
        "type",
        "status",
        "country",
        "port",
        "route_country",
        "substance",
        "substance_class",
        "date_from",
        "date_to",
        "company",
        "container",
        "modus",
        "detection_method",
        "owner_org",
        "hs_code",
        "vessel_imo",
        "is_demo",
    ]
    kw: dict[str, Any] = {}
    for k in keys:
        v = params.get(k)
        if v is None:
            kw[k] = None
        elif k in ("date_from", "date_to"):
            from datetime import date

            kw[k] = date.fromisoformat(v)
        elif k in ("company", "container", "hs_code", "vessel_imo", "is_demo"):
            kw[k] = v
        else:
            kw[k] = [v]
    node = params_filter(**kw)
    q = params.get("q")
    page = PageParams(page=1, page_size=25)
    engine = make_engine(url)
    out = []
    with unit_of_work(make_sessionmaker(engine)) as s:
        subject = accounts.subject_by_username(s, SEARCH_USER, channel="api")
        # Exactly as service.search_incidents builds them: capped count, flat page query.
        conditions = svc._search_conditions(s, subject, node, q)
        ids = readable(select(Incident.id).where(*conditions), subject, Incident).limit(svc.COUNT_CAP + 1)
        count_stmt = select(func.count()).select_from(ids.subquery())
        page_stmt = (
            readable(select(Incident).where(*conditions), subject, Incident)
            .order_by(*svc.SORTS["-incident_date"])
            .offset(page.offset)
            .limit(page.page_size)
        )
        conn = s.connection()
        total = s.scalar(count_stmt) or 0
        for label, stmt in (("count", count_stmt), ("page", page_stmt)):
            if label == "page" and svc.dense_plan(s, exact=total <= svc.COUNT_CAP, sort="-incident_date", page=page):
                conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")  # as search_incidents does
                label = "page (newest-first plan)"
            compiled = stmt.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), compiled.params).scalars()
            out.append((label, "\n".join(rows)))
    engine.dispose()
    return out


# --- where the time of one request goes (in-process diagnosis) ------------------------------------


def breakdown(
    url: str, data_dir: Path, token: str, mix: dict[str, list[dict[str, Any]]], kinds: list[str], reps: int
) -> list[list[Any]]:
    """Run each kind's first variant ``reps`` times through the app in-process (TestClient, same database) and
    split the request time into SQL (count, page, child selectin loads, other) and the rest (Python)."""
    import statistics

    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from _common import BENCH_SECRET
    from interdict.app import create_app
    from interdict.config import Settings

    app = create_app(Settings(database_url=url, data_dir=data_dir, secret_key=BENCH_SECRET))
    engine = app.state.engine
    spent: dict[str, float] = {}

    def category(sql: str) -> str:
        head = sql.lstrip()[:200]
        if head.startswith("SELECT count(*)"):
            return "count"
        if head.startswith("SELECT incidents.id") and "LIMIT" in sql:
            return "page"
        if head.startswith("SELECT incident_"):
            return "children"
        return "other"

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *a: Any) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, *a: Any) -> None:
        c = category(statement)
        spent[c] = spent.get(c, 0.0) + time.perf_counter() - conn.info.pop("bench_t0")

    rows = []
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {token}"}
        for kind in kinds:
            params = {**BASE_PARAMS, **mix[kind][0]}
            client.get("/api/v1/incidents", params=params, headers=headers)
            per: dict[str, list[float]] = {k: [] for k in ("total", "count", "page", "children", "other", "python")}
            for _ in range(reps):
                spent.clear()
                t0 = time.perf_counter()
                r = client.get("/api/v1/incidents", params=params, headers=headers)
                total = time.perf_counter() - t0
                r.raise_for_status()
                per["total"].append(total)
                for k in ("count", "page", "children", "other"):
                    per[k].append(spent.get(k, 0.0))
                per["python"].append(total - sum(spent.values()))
            rows.append([kind, *(statistics.median(per[k]) * 1000 for k in per)])
    engine.dispose()
    return rows


# --- main ----------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--incidents", type=int, default=200_000, help="incidents to generate (default 200000)")
    ap.add_argument("--procs", type=int, default=2, help="generator processes (default 2)")
    ap.add_argument("--reps", type=int, default=30, help="measured requests per query kind (default 30)")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    ap.add_argument("--seed", type=int, default=1988)
    ap.add_argument("--explain", choices=["slow", "all", "none"], default="slow", help="which kinds to EXPLAIN")
    ap.add_argument("--explain-out", type=Path, help="also write the EXPLAIN output to this file")
    ap.add_argument(
        "--server-pgoptions",
        metavar="OPTS",
        help="PGOPTIONS for the server's connections, for what-if runs, e.g. '-c jit=off' (default: none)",
    )
    ap.add_argument(
        "--breakdown",
        type=int,
        default=0,
        metavar="REPS",
        help="also split each kind's request time (in-process, REPS runs of its first variant) into SQL and Python",
    )
    ap.add_argument("--pg", default=PG_ADMIN_URL, help="admin URL of the PostgreSQL server (a scratch DB is made)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch database (to rerun with --reuse-url)")
    ap.add_argument("--reuse-url", help="measure an already generated database (kept by --keep); not dropped")
    ap.add_argument(
        "--wait-idle", type=float, metavar="LOAD", help="before measuring, wait until the 1-min load average < LOAD"
    )
    args = ap.parse_args()

    header(f"search over {args.incidents if not args.reuse_url else 'existing'} incidents (PostgreSQL)")
    from contextlib import nullcontext

    db_ctx: Any = (
        nullcontext(args.reuse_url)
        if args.reuse_url
        else scratch_pg("interdict_bench_search", keep=args.keep, admin_url=args.pg)
    )
    with db_ctx as url, scratch_dir("interdict-bench-search") as data_dir:
        if not args.reuse_url:
            prepare_schema(url)
            create_orgs_and_users(url)
            generate(url, args.incidents, args.procs, args.seed)
            vacuum_analyze(url)
        from _common import BENCH_SECRET
        from interdict.accounts import service as accounts
        from interdict.accounts.schemas import TokenCreate
        from interdict.core.db import make_engine, make_sessionmaker, unit_of_work

        engine = make_engine(url)
        with unit_of_work(make_sessionmaker(engine)) as s:
            user = accounts.get_user_by_username(s, SEARCH_USER)
            assert user is not None
            token, _ = accounts.create_api_token(
                s, user, TokenCreate(name="bench", scopes=["read"]), pepper=BENCH_SECRET
            )
        engine.dispose()

        mix = query_mix(url)
        extra = {"PGOPTIONS": args.server_pgoptions} if args.server_pgoptions else None
        if extra:
            console.print(
                f"[yellow]what-if:[/] connections of the server (and of the EXPLAIN / breakdown below) use "
                f"PGOPTIONS={args.server_pgoptions!r}"
            )
            import os

            os.environ["PGOPTIONS"] = args.server_pgoptions
        with serve(data_dir, url, workers=args.workers, extra_env=extra) as srv:
            warm_up(srv.url, token, mix)
            wait_idle(args.wait_idle)
            load_before = loadavg()
            cpu0, t0 = srv.cpu_seconds(), time.perf_counter()
            results, errors = measure(srv.url, token, mix, args.reps)
            elapsed, cpu = time.perf_counter() - t0, srv.cpu_seconds() - cpu0
            load_after = loadavg()
        for e in errors[:10]:
            console.print(f"[red]unexpected response[/] {e}")

        rows = []
        all_lat: list[float] = []
        slow: list[str] = []
        for kind, res in results.items():
            lat = [dt for _, dt, _ in res]
            all_lat += lat
            s_ = summary_ms(lat)
            totals = sorted({t for _, _, t in res})
            total_txt = (str(totals[0]) if len(totals) == 1 else f"{totals[0]}–{totals[-1]}") if totals else "-"
            over = s_["p95"] >= TARGET_P95_MS
            if over:
                slow.append(kind)
            rows.append([kind, s_["n"], s_["p50"], s_["p95"], s_["max"], total_txt, "FAIL" if over else "ok"])
        overall = summary_ms(all_lat)
        rows.append(["ALL", overall["n"], overall["p50"], overall["p95"], overall["max"], "", ""])
        table(
            f"GET /api/v1/incidents (page_size 25, sort -incident_date, with total) — {args.reps} per kind, "
            f"{elapsed:.0f} s",
            ["query kind", "n", "p50 ms", "p95 ms", "max ms", "matches (total)", "p95<150"],
            rows,
        )
        console.print(f"overall p50 {overall['p50']:.1f} ms, p95 {overall['p95']:.1f} ms, p99 {overall['p99']:.1f} ms")
        n_measured = sum(len(r) for r in results.values())
        console.print(
            f"server CPU per request: {cpu * 1000 / n_measured:.1f} ms; "
            f"load average before / after: {load_before} / {load_after}"
        )

        to_explain = list(mix) if args.explain == "all" else slow if args.explain == "slow" else []
        report: list[str] = []
        for kind in to_explain:
            # the variant with the highest median latency
            per_variant: dict[int, list[float]] = {}
            for i, dt, _ in results[kind]:
                per_variant.setdefault(i, []).append(dt)
            worst = max(per_variant, key=lambda i: percentile(per_variant[i], 50))
            params = mix[kind][worst]
            for label, plan in explain(url, params):
                block = f"=== {kind} {params} — {label} statement ===\n{plan}\n"
                report.append(block)
                if args.explain_out:  # full plans go to the file; here the time lines only
                    lines = [x.strip() for x in plan.splitlines() if x.startswith(("Execution Time", "  Timing"))]
                    console.print(f"EXPLAIN {kind} {params} {label}: {'; '.join(lines)}", markup=False, highlight=False)
                else:
                    console.print(block, markup=False, highlight=False)
        if args.explain_out and report:
            args.explain_out.write_text("\n".join(report))
            console.print(f"EXPLAIN output written to {args.explain_out}")

        if args.breakdown:
            table(
                f"in-process breakdown: median of {args.breakdown} requests (first variant of each kind), ms",
                ["query kind", "total", "SQL count", "SQL page", "SQL children", "SQL other", "Python/rest"],
                breakdown(url, data_dir, token, mix, list(mix), args.breakdown),
            )

        ok = overall["p95"] < TARGET_P95_MS and not slow and not errors
        console.print(
            f"target p95 < {TARGET_P95_MS:.0f} ms overall: {verdict(overall['p95'] < TARGET_P95_MS)}; "
            f"kinds over target: {', '.join(slow) or 'none'}; errors: {len(errors)}"
        )
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
