"""Benchmark: evaluate 10,000 active watch rules against one new incident (PostgreSQL).

1. A scratch PostgreSQL database gets the demo organisations, one officer per unit, and ``--incidents``
   generated incidents (the demo generator: real substances, ports, routes, companies).
2. ``--rules`` (10,000) active watch rules, owned by the officers of every unit, with filters of the kinds
   duty officers write: a substance; a class (e.g. any Table I precursor) on a route; a port and incident
   types; a company name; an HS heading outside a country; free text; a container prefix or a vessel.
   Their values are drawn from the reference data and from the generated incidents, so rules do match.
3. For each incident, as the watch worker does it:
   a. matching: the compiled rule book's candidates (index on one required value per rule) and the Python
      form of each candidate's filter — the figure the target is about;
   b. the whole step (watch.service.process_incident: matching, "may the owner read it" per owning
      organisation, person-data check, recording each rule-incident pair, notifications) in a transaction
      that is rolled back, so every incident meets the same 10,000 rules.
   Also reported: the time to compile the rule book (once per process, and after any rule change).

Target: evaluating 10,000 watch rules against one new incident < 50 ms (p95) on 2 cores.

    .venv/bin/python bench/bench_watch_rules.py
    .venv/bin/python bench/bench_watch_rules.py --rules 2000 --incidents 50     # quick run
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    PG_ADMIN_URL,
    bench_user,
    console,
    create_orgs_and_users,
    header,
    loadavg,
    prepare_schema,
    scratch_pg,
    summary_ms,
    table,
    verdict,
)

TARGET_P95_MS = 50.0


def make_filters(rng: random.Random, index: Any, incidents: list[Any], n: int) -> list[dict[str, Any]]:
    substances = sorted(s.name for s in index.substances.values())
    classes = index.known_classes()
    countries = sorted({p.country for i in incidents for p in i.places if p.country})
    ports = sorted({p.locode for i in incidents for p in i.places if p.locode})
    words = sorted({w for i in incidents for w in (i.company_names or "").split() if len(w) > 3})
    text_words = sorted({w for i in incidents for w in (i.search_text or "").split() if len(w) > 4})
    containers = sorted({c.number for i in incidents for c in i.containers})
    imos = sorted({i.vessel_imo for i in incidents if i.vessel_imo}) or ["9074729"]
    types = ["seizure", "stopped_shipment", "suspicious_shipment", "diversion", "suspended_shipment"]
    out: list[dict[str, Any]] = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.30:
            f: dict[str, Any] = {"field": "substance", "op": "eq", "value": rng.choice(substances)}
        elif kind < 0.45:
            f = {
                "all": [
                    {"field": "substance_class", "op": "eq", "value": rng.choice(classes)},
                    {"field": "route_country", "op": "eq", "value": rng.choice(countries)},
                ]
            }
        elif kind < 0.60:
            f = {
                "all": [
                    {"field": "port", "op": "eq", "value": rng.choice(ports)},
                    {"field": "type", "op": "in", "value": rng.sample(types, 2)},
                ]
            }
        elif kind < 0.70:
            f = {"field": "company", "op": "contains", "value": rng.choice(words)}
        elif kind < 0.80:
            f = {
                "all": [
                    {"field": "hs_code", "op": "contains", "value": rng.choice(["2915", "2932", "2939", "2914"])},
                    {"not": {"field": "country", "op": "eq", "value": "VN"}},
                ]
            }
        elif kind < 0.90:
            f = {"field": "text", "op": "match", "value": rng.choice(text_words)}
        else:
            f = {
                "any": [
                    {"field": "container", "op": "contains", "value": rng.choice(containers)[:6]},
                    {"field": "vessel_imo", "op": "eq", "value": rng.choice(imos)},
                ]
            }
        out.append(f)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules", type=int, default=10_000)
    ap.add_argument("--incidents", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--admin-url", default=PG_ADMIN_URL)
    args = ap.parse_args()

    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from interdict.accounts import service as accounts
    from interdict.accounts.models import Organisation, User
    from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
    from interdict.demo.seed import UNIT_PLACES, generate_incident
    from interdict.incidents import service as svc
    from interdict.incidents.models import Incident
    from interdict.incidents.search import IncidentFacts
    from interdict.reference.catalogue import get_index
    from interdict.watch import service as watch
    from interdict.watch.models import WatchRule

    header(f"Watch rules: {args.rules:,} rules against one new incident (PostgreSQL)")
    rng = random.Random(args.seed)
    with scratch_pg("interdict_bench_watch", admin_url=args.admin_url) as url:
        prepare_schema(url)
        create_orgs_and_users(url)
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        units = [u for u in UNIT_PLACES]
        with unit_of_work(factory) as s:
            index = get_index(s)
            for n in range(args.incidents):
                unit = units[n % len(units)]
                subject = accounts.subject_by_username(s, bench_user(unit), channel="cli")
                data = generate_incident(rng, index, unit, n)
                svc.bulk_create(s, subject, [svc.BulkItem(data, svc.check(index, data), "submitted")])
        with unit_of_work(factory) as s:
            index = get_index(s)
            loaded = list(
                s.scalars(
                    select(Incident).options(
                        selectinload(Incident.places),
                        selectinload(Incident.containers),
                        selectinload(Incident.substances),
                        selectinload(Incident.modus),
                        selectinload(Incident.parties),
                    )
                )
            )
            owners = list(s.execute(select(User.id, User.org_id).where(User.username.like("bench.%"))))
            filters = make_filters(rng, index, loaded, args.rules)
            for k, f in enumerate(filters):
                user_id, org_id = rng.choice(owners)
                s.add(WatchRule(name=f"rule {k}", scope="user", owner_user_id=user_id, owner_org_id=org_id, filter=f))
        console.print(f"{args.incidents} incidents, {args.rules:,} rules; load {loadavg()}")

        with unit_of_work(factory) as s:
            watch.reset_books()
            t0 = time.perf_counter()
            book = watch.rule_book(s)
            compile_s = time.perf_counter() - t0
        console.print(
            f"rule book: {book.size:,} rules compiled in {compile_s:.2f} s; {len(book.unindexed):,} without an indexed value"
        )

        match_s: list[float] = []
        step_s: list[float] = []
        candidates: list[int] = []
        matched: list[int] = []
        told: list[int] = []
        codes: dict[Any, str] = {}
        for incident_id in [i.id for i in loaded]:
            s = factory()
            try:
                if not codes:
                    codes.update(s.execute(select(Organisation.id, Organisation.code)).all())
                incident = s.scalars(
                    select(Incident)
                    .where(Incident.id == incident_id)
                    .options(
                        selectinload(Incident.places),
                        selectinload(Incident.containers),
                        selectinload(Incident.substances),
                        selectinload(Incident.modus),
                        selectinload(Incident.parties),
                    )
                ).one()
                book = watch.rule_book(s)
                t0 = time.perf_counter()
                facts = IncidentFacts.of(incident, codes[incident.owner_org_id])
                public = facts.as_reader(nominal_visible=False)
                cands = book.candidates(facts)
                hits = [r for r in cands if r.test(public) is True]
                match_s.append(time.perf_counter() - t0)
                candidates.append(len(cands))
                matched.append(len(hits))
                t0 = time.perf_counter()
                told.append(watch.process_incident(s, incident))
                s.flush()
                step_s.append(time.perf_counter() - t0)
            finally:
                s.rollback()
                s.close()
        engine.dispose()

    m, w = summary_ms(match_s), summary_ms(step_s)
    avg = lambda xs: sum(xs) / max(1, len(xs))  # noqa: E731
    table(
        f"Per incident, {args.rules:,} active rules",
        ["what", "p50 ms", "p95 ms", "max ms", "target", "verdict"],
        [
            [
                "matching (candidates + filters)",
                f"{m['p50']:.2f}",
                f"{m['p95']:.2f}",
                f"{m['max']:.2f}",
                f"< {TARGET_P95_MS:.0f} ms",
                verdict(m["p95"] < TARGET_P95_MS),
            ],
            [
                "whole step (read checks, records, notifications)",
                f"{w['p50']:.2f}",
                f"{w['p95']:.2f}",
                f"{w['max']:.2f}",
                "reported",
                "",
            ],
        ],
    )
    console.print(
        f"per incident: {avg(candidates):.0f} candidate rules tested, {avg(matched):.1f} matched, "
        f"{avg(told):.1f} notifications (owners may read it); rule book compiled in {compile_s:.2f} s"
    )
    return 0 if m["p95"] < TARGET_P95_MS else 1


if __name__ == "__main__":
    sys.exit(main())
