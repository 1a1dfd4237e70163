"""Benchmark: link one new incident's entities against 1,000,000 known entities (PostgreSQL), interactively.

1. A scratch PostgreSQL database gets ``--entities`` (1,000,000) entities in the register: half companies
   (Vietnamese names made of syllables of real Vietnamese given names, with business words and legal
   forms), half persons (Vietnamese family + middle + given names), each normalised by the product's own
   code (entities.extract: keys and candidate tokens), written with COPY in ``--procs`` processes; the
   indexes (unique key, token postings) are built afterwards and their build time and size reported.
2. ``--incidents`` (200) new incidents are written, each with 3-4 parties: half of them written
   differently from a known entity (no diacritics, English translation of the business words, other
   legal form, other name order), half new, plus a container and a phone.
3. Each incident is linked as the worker would link it (linkage.service.index_incident: extraction,
   register lookups, candidate generation from the token index, scoring, links, clusters) inside a
   transaction that is rolled back, so every incident meets the same 1,000,000 entities. The time per
   incident is the figure; the found links are counted against the truth (was the variant linked?).

Target: p95 < 100 ms per incident on 2 cores.

    .venv/bin/python bench/bench_linkage_match.py                          # 1,000,000 entities
    .venv/bin/python bench/bench_linkage_match.py --entities 50000 --incidents 50   # quick run
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    PASSWORD,
    PG_ADMIN_URL,
    console,
    header,
    loadavg,
    prepare_schema,
    scratch_pg,
    summary_ms,
    table,
    verdict,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "linkage-eval" / "vietnamese-names"
TARGET_P95_MS = 100.0
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Quang", "Ngọc", "Thanh", "Xuân", "Công"]
SECTORS = [  # (Vietnamese, English) business words the normaliser maps to one concept
    ("Thương mại", "Trading"),
    ("Xuất nhập khẩu", "Import Export"),
    ("Hóa chất", "Chemical"),
    ("Dịch vụ", "Services"),
    ("Vận tải", "Transport"),
    ("Dược phẩm", "Pharmaceutical"),
    ("Thực phẩm", "Food"),
    ("Xây dựng", "Construction"),
    ("Công nghệ", "Technology"),
    ("Nhựa", "Plastic"),
]
VN_FORMS = [("CÔNG TY TNHH", "Co., Ltd"), ("CÔNG TY CỔ PHẦN", "JSC"), ("CÔNG TY TNHH MTV", "One Member Co., Ltd")]


def strip_marks(text: str) -> str:
    import unicodedata

    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def load_names(data: Path) -> tuple[list[str], list[str]]:
    given = []
    for f in ("boy.txt", "girl.txt"):
        given += [line.strip() for line in (data / f).read_text(encoding="utf-8").splitlines() if line.strip()]
    syllables = sorted({s for g in given for s in g.split() if len(s) > 1})
    return given, syllables


def company_parts(rng: random.Random, syllables: list[str]) -> tuple[str, str, int, int]:
    return rng.choice(syllables), rng.choice(syllables), rng.randrange(len(SECTORS)), rng.randrange(len(VN_FORMS))


def company_vn(parts: tuple[str, str, int, int]) -> str:
    a, b, s, f = parts
    return f"{VN_FORMS[f][0]} {SECTORS[s][0].upper()} {a.upper()} {b.upper()}"


def company_en(parts: tuple[str, str, int, int]) -> str:
    a, b, s, f = parts
    return f"{strip_marks(a)} {strip_marks(b)} {SECTORS[s][1]} {VN_FORMS[f][1]}"


def person_vn(rng: random.Random, given: list[str]) -> str:
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(given)}"


def person_variant(name: str) -> str:
    tokens = strip_marks(name).upper().split()
    return " ".join(tokens[-1:] + tokens[:-1])  # "HUNG NGUYEN VAN"


def _generate(part: int, procs: int, count: int, seed: int, data: str, out: str) -> tuple[int, int, float]:
    """Write this process's share of the register (keys hashed to ``part``) as two COPY files."""
    from interdict.entities.extract import company_key, person_key

    t0 = time.perf_counter()
    rng = random.Random(f"{seed}-{part}")
    given, syllables = load_names(Path(data))
    now = datetime.now(UTC).isoformat()
    seen: set[str] = set()
    n_tokens = 0
    ents = open(f"{out}.entities.{part}", "w", encoding="utf-8", newline="")  # noqa: SIM115
    toks = open(f"{out}.tokens.{part}", "w", encoding="utf-8", newline="")  # noqa: SIM115
    ew, tw = csv.writer(ents), csv.writer(toks)
    made = 0
    while made < count:
        if rng.random() < 0.5:
            kind, name = "company", company_vn(company_parts(rng, syllables))
            keyed = company_key(name)
        else:
            kind, name = "person", person_vn(rng, given)
            keyed = person_key(name)
        if keyed is None:
            continue
        key, tokens = keyed
        full = f"{kind}:{key}"
        if hash(full) % procs != part or full in seen:  # PYTHONHASHSEED is fixed for the workers (below)
            continue
        seen.add(full)
        eid = uuid.UUID(int=rng.getrandbits(128))
        ew.writerow([eid, kind, key, name, "VN", kind == "person", eid, 1, "2025-01-01", "2025-06-30", now])
        for t in tokens:
            tw.writerow([t[:80], eid])
            n_tokens += 1
        made += 1
    ents.close()
    toks.close()
    return made, n_tokens, time.perf_counter() - t0


def copy_file(url: str, table_sql: str, path: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY {table_sql} FROM STDIN WITH (FORMAT csv)") as copy, open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                copy.write(chunk)
        conn.commit()


INDEXES = [
    ("uq_entities_kind", "ALTER TABLE entities ADD CONSTRAINT uq_entities_kind UNIQUE (kind, key)"),
    ("ix_entities_canonical_id", "CREATE INDEX ix_entities_canonical_id ON entities (canonical_id)"),
    ("pk_entity_tokens", "ALTER TABLE entity_tokens ADD CONSTRAINT pk_entity_tokens PRIMARY KEY (token, entity_id)"),
    ("ix_entity_tokens_entity_id", "CREATE INDEX ix_entity_tokens_entity_id ON entity_tokens (entity_id)"),
]


def build_register(url: str, entities: int, procs: int, seed: int, data: Path, workdir: Path) -> dict[str, Any]:
    import os

    import psycopg

    raw = url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute("ALTER TABLE entity_tokens DROP CONSTRAINT fk_entity_tokens_entity_id_entities")
        for name, _ in INDEXES:
            if name.startswith(("uq_", "pk_")):
                table_name = "entities" if name.startswith("uq_entities") else "entity_tokens"
                conn.execute(f"ALTER TABLE {table_name} DROP CONSTRAINT {name}")
            else:
                conn.execute(f"DROP INDEX {name}")
    os.environ["PYTHONHASHSEED"] = "0"  # the same hash partition in every worker
    prefix = str(workdir / "register")
    console.print(f"normalising {entities} names in {procs} processes …")
    t0 = time.perf_counter()
    share = entities // procs
    with ProcessPoolExecutor(max_workers=procs) as pool:
        results = list(
            pool.map(
                _generate,
                range(procs),
                [procs] * procs,
                [share + (entities % procs if p == 0 else 0) for p in range(procs)],
                [seed] * procs,
                [str(data)] * procs,
                [prefix] * procs,
            )
        )
    t_norm = time.perf_counter() - t0
    made, tokens = sum(r[0] for r in results), sum(r[1] for r in results)
    console.print(f"normalised {made} entities ({tokens} tokens) in {t_norm:.1f} s; loading with COPY …")
    t0 = time.perf_counter()
    cols = "entities (id, kind, key, name, country, nominal, canonical_id, incident_count, first_seen, last_seen, created_at)"
    for p in range(procs):
        copy_file(url, cols, f"{prefix}.entities.{p}")
        copy_file(url, "entity_tokens (token, entity_id)", f"{prefix}.tokens.{p}")
    t_copy = time.perf_counter() - t0
    t0 = time.perf_counter()
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        for _, sql in INDEXES:
            conn.execute(sql)
        conn.execute(
            "ALTER TABLE entity_tokens ADD CONSTRAINT fk_entity_tokens_entity_id_entities FOREIGN KEY (entity_id) "
            "REFERENCES entities (id) ON DELETE CASCADE"
        )
        t_index = time.perf_counter() - t0
        conn.execute("VACUUM ANALYZE entities")
        conn.execute("VACUUM ANALYZE entity_tokens")
        sizes = {
            name: conn.execute(f"SELECT pg_size_pretty(pg_relation_size('{name}'))").fetchone()[0]  # type: ignore[index]
            for name in ["entities", "entity_tokens", *[n for n, _ in INDEXES]]
        }
    return {
        "entities": made,
        "tokens": tokens,
        "normalise_s": t_norm,
        "copy_s": t_copy,
        "index_s": t_index,
        "sizes": sizes,
    }


def make_incidents(url: str, n: int, seed: int, data: Path) -> list[tuple[uuid.UUID, list[str]]]:
    """``n`` submitted incidents; returns (id, the names in it written differently from a known entity)."""
    from sqlalchemy import select

    from interdict.accounts import service as accounts
    from interdict.accounts.schemas import OrganisationCreate, UserCreate
    from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
    from interdict.demo.seed import container_number
    from interdict.entities.extract import company_key, person_key
    from interdict.entities.models import Entity
    from interdict.incidents import service as svc
    from interdict.incidents.schemas import IncidentCreate
    from interdict.reference.catalogue import get_index

    rng = random.Random(seed)
    given, syllables = load_names(data)
    # Draw from the first worker's generator (same seed): names that are in the register, unless the
    # worker skipped them for the other partition (then they count as new; the check below sees it).
    r0 = random.Random(f"{seed}-0")
    known_companies: list[tuple[str, str, int, int]] = []
    known_persons: list[str] = []
    while len(known_companies) < n or len(known_persons) < n:
        if r0.random() < 0.5:
            known_companies.append(company_parts(r0, syllables))
        else:
            known_persons.append(person_vn(r0, given))
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as s:
        # Keep the names the register really holds (the first worker kept only its hash partition).
        present = set(
            s.scalars(
                select(Entity.key).where(
                    Entity.key.in_(
                        [k[0] for c in known_companies if (k := company_key(company_vn(c)))]
                        + [k[0] for p in known_persons if (k := person_key(p))]
                    )
                )
            )
        )
        known_companies = [c for c in known_companies if (k := company_key(company_vn(c))) and k[0] in present]
        known_persons = [p for p in known_persons if (k := person_key(p)) and k[0] in present]
        accounts.create_organisation(s, OrganisationCreate(code="BENCH", name="Bench", kind="agency", country="VN"))
        accounts.create_user(
            s, UserCreate(username="bench.linker", full_name="B", role="officer", org_code="BENCH", password=PASSWORD)
        )
    expected: list[list[str]] = []
    with unit_of_work(factory) as s:
        subject = accounts.subject_by_username(s, "bench.linker", channel="cli")
        index = get_index(s)
        items = []
        for i in range(n):
            if rng.random() < 0.5:
                c, p = rng.choice(known_companies), rng.choice(known_persons)
                names = [company_en(c), person_variant(p)]
                expected.append(names)
            else:
                names = [company_vn((f"Zq{i}x", f"Vy{i}k", rng.randrange(len(SECTORS)), 0)), f"Trần Thị Zyx{i}"]
                expected.append([])
            parties = [
                {"role": "consignee", "kind": "company", "name": names[0], "country": "VN"},
                {"role": "person_involved", "kind": "person", "name": names[1]},
                {
                    "role": "shipper",
                    "kind": "company",
                    "name": company_vn(company_parts(rng, syllables)),
                    "phone": f"+84 9{rng.randrange(10**8):08d}",
                },
            ]
            data = IncidentCreate.model_validate(
                {
                    "incident_type": "seizure",
                    "incident_date": date(2026, 3, 1).isoformat(),
                    "country": "VN",
                    "parties": parties,
                    "containers": [{"number": container_number(rng)}],
                    "submit": True,
                }
            )
            items.append(svc.BulkItem(data, svc.check(index, data), "submitted", None))
        ids = svc.bulk_create(s, subject, items)
    engine.dispose()
    return list(zip(ids, expected, strict=True))


def measure(url: str, incidents: list[tuple[uuid.UUID, list[str]]]) -> dict[str, Any]:
    from sqlalchemy import select

    from interdict.core.db import make_engine, make_sessionmaker
    from interdict.entities.models import Entity, EntityMention
    from interdict.linkage import service as linkage

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    times: list[float] = []
    auto = suggested = found = wanted = 0
    for iid, expected in incidents:
        with factory() as s:
            incident = linkage._load(s, [iid])[0]
            started = datetime.now(UTC)
            t0 = time.perf_counter()
            links = linkage.index_incident(s, incident)
            s.flush()
            times.append(time.perf_counter() - t0)
            auto += sum(1 for link in links if link.status == "auto")
            suggested += sum(1 for link in links if link.status == "suggested")
            linked = {x for link in links for x in (link.entity_a_id, link.entity_b_id)}
            rows = s.execute(
                select(EntityMention.text, Entity.id, Entity.created_at)
                .join(Entity, Entity.id == EntityMention.entity_id)
                .where(EntityMention.incident_id == iid)
            ).all()
            for text, eid, created in rows:
                if text in expected:
                    wanted += 1
                    found += eid in linked or created < started  # linked now, or already a known key
            s.rollback()
    engine.dispose()
    return {"times": times, "auto": auto, "suggested": suggested, "found": found, "wanted": wanted}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entities", type=int, default=1_000_000)
    ap.add_argument("--incidents", type=int, default=200)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--pg", default=PG_ADMIN_URL)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    header(f"linkage: one incident against {args.entities} known entities")
    import tempfile

    with (
        scratch_pg("interdict_bench_linkage", keep=args.keep, admin_url=args.pg) as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        prepare_schema(url)
        built = build_register(url, args.entities, args.procs, args.seed, args.data, Path(tmp))
        table(
            "register",
            ["entities", "tokens", "normalise s", "COPY s", "index build s"],
            [
                [
                    built["entities"],
                    built["tokens"],
                    f"{built['normalise_s']:.1f}",
                    f"{built['copy_s']:.1f}",
                    f"{built['index_s']:.1f}",
                ]
            ],
        )
        table("sizes", ["relation", "size"], [[k, v] for k, v in built["sizes"].items()])
        incidents = make_incidents(url, args.incidents, args.seed, args.data)
        load_before = loadavg()
        result = measure(url, incidents)
        s = summary_ms(result["times"])
    table(
        f"index_incident per incident ({len(result['times'])} incidents, rolled back)",
        ["p50 ms", "p95 ms", "max ms", "auto links", "suggestions", "known names linked"],
        [[s["p50"], s["p95"], s["max"], result["auto"], result["suggested"], f"{result['found']}/{result['wanted']}"]],
    )
    ok = s["p95"] < TARGET_P95_MS
    console.print(f"p95 {s['p95']:.1f} ms (target < {TARGET_P95_MS:.0f} ms): {verdict(ok)}; load before: {load_before}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
