"""Benchmark: the access-control filter must not make search slow (PostgreSQL).

1. A scratch PostgreSQL database gets 50 organisations (10 agencies in 10 countries, each with 4 units),
   10 sharing groups of 2-6 member organisations, and ``--incidents`` (200,000) generated incidents spread
   over the 50 organisations with a mix of distributions (unit 10 %, organisation 35 %, national 15 %,
   group 20 %, all 20 %), TLP markings and nominal sharing, written with the bulk path; then VACUUM ANALYZE.
2. A real `interdict serve` process answers the same query mix (``GET /api/v1/incidents``, page 25,
   newest first, with the capped total) for two callers, interleaved: an officer of a small provincial
   unit (sees its own records and what is shared with it) and an administrator of the largest agency's
   head office.

Targets: the small unit's p95 < 150 ms, and within 20 % of the administrator's p95 for the same queries.

    .venv/bin/python bench/bench_search_sharing.py                           # 200,000 incidents
    .venv/bin/python bench/bench_search_sharing.py --incidents 5000 --reps 5   # quick run
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BENCH_SECRET,
    PASSWORD,
    PG_ADMIN_URL,
    console,
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
from bench_search import BASE_PARAMS, vacuum_analyze

TARGET_P95_MS = 150.0
MAX_RATIO = 1.20
COUNTRIES = ["VN", "CN", "LA", "KH", "TH", "MM", "ID", "MY", "PH", "SG"]
UNIT_KINDS = ["department", "provincial_unit", "provincial_unit", "pcu"]
SMALL_UNIT_USER = "bench.la-u3"  # a PCU of the Lao agency
ADMIN_USER = "bench.vn-admin"  # administrator at the Vietnamese head office
BATCH = 1000
CHUNK = 100  # records one organisation enters in one burst (interleaved layout)
TASK_CHUNKS = 20  # bursts per worker task


def agency(country: str) -> str:
    return f"{country}-C"


def units(country: str) -> list[str]:
    return [f"{country}-U{i}" for i in range(4)]


def create_world(url: str, seed: int) -> None:
    """50 organisations, an officer per organisation, an admin of VN-C, 10 sharing groups."""
    from interdict.accounts import service as accounts
    from interdict.accounts.schemas import OrganisationCreate, UserCreate
    from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
    from interdict.sharing import groups
    from interdict.sharing.schemas import SharingGroupCreate

    rng = random.Random(seed)
    engine = make_engine(url)
    with unit_of_work(make_sessionmaker(engine)) as s:
        for c in COUNTRIES:
            accounts.create_organisation(
                s, OrganisationCreate(code=agency(c), name=f"Customs {c}", kind="agency", country=c)
            )
            for code, kind in zip(units(c), UNIT_KINDS, strict=True):
                accounts.create_organisation(
                    s,
                    OrganisationCreate(
                        code=code,
                        name=f"Unit {code}",
                        kind=kind,  # type: ignore[arg-type]
                        country=c,
                        parent_code=agency(c),
                    ),
                )
        for c in COUNTRIES:
            for org in [agency(c), *units(c)]:
                accounts.create_user(
                    s,
                    UserCreate(
                        username=f"bench.{org.lower()}",
                        full_name=f"Officer {org}",
                        role="officer",
                        org_code=org,
                        password=PASSWORD,
                    ),
                )
        accounts.create_user(
            s,
            UserCreate(
                username=ADMIN_USER, full_name="Admin VN", role="admin", org_code=agency("VN"), password=PASSWORD
            ),
        )
        s.flush()
        all_orgs = [o for c in COUNTRIES for o in [agency(c), *units(c)]]
        for g in range(10):
            owner = rng.choice(all_orgs)
            owner_admin = f"bench.gadmin{g}"
            accounts.create_user(
                s,
                UserCreate(
                    username=owner_admin, full_name="Group admin", role="admin", org_code=owner, password=PASSWORD
                ),
            )
            subject = accounts.subject_by_username(s, owner_admin)
            members = rng.sample([a for a in all_orgs if a != owner], rng.randint(1, 5))
            groups.create_group(s, subject, SharingGroupCreate(code=f"G{g}", name=f"Group {g}", members=members))
    engine.dispose()


def _generate(url: str, chunks: list[tuple[str, int, int]], seed: int) -> int:
    """Write ``chunks`` in order: each is (organisation, first number, count), one transaction each."""
    from interdict.accounts import service as accounts
    from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
    from interdict.demo.seed import generate_incident
    from interdict.incidents import service as svc
    from interdict.reference.catalogue import get_index
    from interdict.sharing import groups

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    done = 0
    for org, start, size in chunks:
        place_unit = random.Random(f"{seed}-{org}").choice(["VNC-HP", "VNC-HCM", "VNC-LS", "VNC-QN", "KHC"])
        rng = random.Random(f"{seed}-{org}-{start}")
        with unit_of_work(factory) as s:
            index = get_index(s)
            subject = accounts.subject_by_username(s, f"bench.{org.lower()}", channel="cli")
            mine = {g.code: g.id for g in groups.visible_groups(s, subject)}
            items = []
            for k in range(size):
                data = generate_incident(rng, index, place_unit, start + k)
                dist = rng.choices(["unit", "organisation", "national", "group", "all"], [10, 35, 15, 20, 20])[0]
                group_id = None
                if dist == "group":
                    if mine:
                        code = rng.choice(sorted(mine))
                        group_id = mine[code]
                    else:
                        dist = "organisation"
                tlp = rng.choices(["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"], [10, 30, 40, 15, 5])[0]
                data = data.model_copy(update={"distribution": dist, "tlp": tlp, "share_nominal": rng.random() < 0.3})
                status = rng.choices(["submitted", "updated", "closed", "draft"], weights=[55, 20, 20, 5])[0]
                items.append(svc.BulkItem(data, svc.check(index, data), status, group_id))
            svc.bulk_create(s, subject, items)
        done += size
    engine.dispose()
    return done


def generate(url: str, total: int, procs: int, seed: int, *, layout: str = "interleaved") -> None:
    """``total`` incidents over the 50 organisations, Vietnamese units reporting most.

    ``interleaved`` (default) writes them in bursts of ``CHUNK`` records of one organisation, the bursts of
    all organisations shuffled, as records arrive over time in a shared system, so the table's physical
    order mixes organisations. ``by-organisation`` writes each organisation's records in one run (the layout
    of the runs before 2026-12-06): then the first tenth of the table is mostly Vietnamese, which the
    administrator of the Vietnamese head office reads at 91 % and the small Lao unit at 23 %, and every
    plan that stops at the first matches in physical or id order favours the administrator.
    """
    orgs = [o for c in COUNTRIES for o in [agency(c), *units(c)]]
    rng = random.Random(seed)
    weights = [6 if o.startswith("VN") else 1 for o in orgs]
    counts: dict[str, int] = dict.fromkeys(orgs, 0)
    for o in rng.choices(orgs, weights, k=total):
        counts[o] += 1
    size = CHUNK if layout == "interleaved" else BATCH
    chunks = [(o, start, min(size, n - start)) for o, n in counts.items() for start in range(0, n, size)]
    if layout == "interleaved":
        rng.shuffle(chunks)
        tasks = [chunks[i : i + TASK_CHUNKS] for i in range(0, len(chunks), TASK_CHUNKS)]
    else:
        tasks = [[c for c in chunks if c[0] == o] for o in orgs if counts[o]]
    console.print(f"generating {total} incidents over {len(orgs)} organisations ({layout}) with {procs} processes …")
    t0 = time.perf_counter()
    done = 0
    with ProcessPoolExecutor(max_workers=procs) as pool:
        futures = [pool.submit(_generate, url, task, seed) for task in tasks]
        for f in as_completed(futures):
            done += f.result()
    console.print(f"generated {done} incidents in {time.perf_counter() - t0:.1f} s")


def query_mix() -> dict[str, list[dict[str, Any]]]:
    return {
        "no filter": [{}],
        "q narrative word": [{"q": "laboratory"}, {"q": "anomalies"}, {"q": "samples sent"}],
        "q company word": [{"q": "hoang phat"}, {"q": "tianhe"}],
        "type": [{"type": "seizure"}, {"type": "diversion"}],
        "substance_class": [{"substance_class": "precursor-fentanyl"}],
        "route_country=CN": [{"route_country": "CN"}],
        "company=": [{"company": "hoang phat"}, {"company": "tianhe"}],
        "filter + q": [{"type": "seizure", "q": "laboratory"}, {"country": "VN", "q": "anomalies"}],
    }


def token_for(url: str, username: str) -> str:
    from interdict.accounts import service as accounts
    from interdict.accounts.schemas import TokenCreate
    from interdict.core.db import make_engine, make_sessionmaker, unit_of_work

    engine = make_engine(url)
    with unit_of_work(make_sessionmaker(engine)) as s:
        user = accounts.get_user_by_username(s, username)
        assert user is not None
        token, _ = accounts.create_api_token(s, user, TokenCreate(name="bench", scopes=["read"]), pepper=BENCH_SECRET)
    engine.dispose()
    return token


def measure(base: str, tokens: dict[str, str], mix: dict[str, list[dict[str, Any]]], reps: int) -> dict[str, Any]:
    results: dict[tuple[str, str], list[float]] = {}
    totals: dict[tuple[str, str], set[int]] = {}
    clients = {
        who: httpx.Client(base_url=base, headers={"Authorization": f"Bearer {t}"}, timeout=120)
        for who, t in tokens.items()
    }
    try:
        for variants in mix.values():  # warm-up: every variant once per caller
            for v in variants:
                for c in clients.values():
                    c.get("/api/v1/incidents", params={**BASE_PARAMS, **v})
        for rep in range(reps):
            for kind, variants in mix.items():
                v = variants[rep % len(variants)]
                for who, c in clients.items():
                    t0 = time.perf_counter()
                    r = c.get("/api/v1/incidents", params={**BASE_PARAMS, **v})
                    dt = time.perf_counter() - t0
                    r.raise_for_status()
                    results.setdefault((who, kind), []).append(dt)
                    totals.setdefault((who, kind), set()).add(r.json()["total"])
    finally:
        for c in clients.values():
            c.close()
    return {"lat": results, "totals": totals}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--incidents", type=int, default=200_000)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--pg", default=PG_ADMIN_URL)
    ap.add_argument("--keep", action="store_true", help="keep the scratch database (to rerun with --reuse-url)")
    ap.add_argument("--reuse-url", help="measure an already generated database (kept by --keep); not dropped")
    ap.add_argument("--wait-idle", type=float, metavar="LOAD")
    ap.add_argument(
        "--layout",
        choices=["interleaved", "by-organisation"],
        default="interleaved",
        help="physical order of the generated incidents (see generate)",
    )
    args = ap.parse_args()

    header(f"search with access control: 50 organisations, 10 sharing groups, {args.incidents} incidents")
    db_ctx: Any = (
        nullcontext(args.reuse_url)
        if args.reuse_url
        else scratch_pg("interdict_bench_sharing", keep=args.keep, admin_url=args.pg)
    )
    with db_ctx as url, scratch_dir("interdict-bench-sharing") as data_dir:
        if not args.reuse_url:
            prepare_schema(url)
            create_world(url, args.seed)
            generate(url, args.incidents, args.procs, args.seed, layout=args.layout)
            vacuum_analyze(url)
        tokens = {"small unit": token_for(url, SMALL_UNIT_USER), "administrator": token_for(url, ADMIN_USER)}
        mix = query_mix()
        with serve(data_dir, url) as srv:
            wait_idle(args.wait_idle)
            load_before = loadavg()
            out = measure(srv.url, tokens, mix, args.reps)
            load_after = loadavg()
    rows = []
    overall: dict[str, list[float]] = {who: [] for who in tokens}
    for kind in mix:
        cells: list[Any] = [kind]
        for who in tokens:
            lat = out["lat"][(who, kind)]
            overall[who] += lat
            s_ = summary_ms(lat)
            t = sorted(out["totals"][(who, kind)])
            cells += [s_["p50"], s_["p95"], f"{t[0]}–{t[-1]}" if len(t) > 1 else str(t[0])]
        rows.append(cells)
    small, admin = summary_ms(overall["small unit"]), summary_ms(overall["administrator"])
    rows.append(["ALL", small["p50"], small["p95"], "", admin["p50"], admin["p95"], ""])
    table(
        f"GET /api/v1/incidents, {args.reps} per kind and caller, interleaved",
        ["query kind", "unit p50", "unit p95", "unit matches", "admin p50", "admin p95", "admin matches"],
        rows,
    )
    ratio = small["p95"] / admin["p95"] if admin["p95"] else float("inf")
    console.print(
        f"small unit p95 {small['p95']:.1f} ms, administrator p95 {admin['p95']:.1f} ms, ratio {ratio:.2f}; "
        f"load average before / after: {load_before} / {load_after}"
    )
    fast, close = small["p95"] < TARGET_P95_MS, ratio <= MAX_RATIO
    console.print(
        f"target small unit p95 < {TARGET_P95_MS:.0f} ms: {verdict(fast)}; "
        f"within {round((MAX_RATIO - 1) * 100)} % of the administrator: {verdict(close)}"
    )
    return 0 if fast and close else 1


if __name__ == "__main__":
    raise SystemExit(main())
