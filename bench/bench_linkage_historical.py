"""Benchmark: batch deduplication (linkage.batch) of splink's historical_50k persons, names only.

50,578 records of historical persons with their true cluster ids (splink_datasets, MIT). Only the name
(``first_and_surname``) goes in, as it would from an incident party with no date of birth: the figure
shows what names alone can do on English names with nicknames and titles, not the product's use of
identifiers. Pairwise precision / recall / F1 of the clusters against the truth.

    PYTHONPATH=src .venv/bin/python bench/bench_linkage_historical.py [--data DIR]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "linkage-eval" / "splink_datasets" / "historical_50k.parquet"


def pairs_of(groups: dict[str, list[str]]) -> set[tuple[str, str]]:
    return {tuple(sorted(p)) for members in groups.values() for p in combinations(members, 2)}  # type: ignore[misc]


def main() -> int:
    import pyarrow.parquet as pq

    from interdict.linkage.batch import EntityRecord, deduplicate

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args()
    rows = pq.read_table(args.data, columns=["unique_id", "cluster", "first_and_surname"]).to_pylist()
    rows = [r for r in rows if r["first_and_surname"]]
    t0 = time.perf_counter()
    result = deduplicate(
        EntityRecord(id=r["unique_id"], kind="person", name=r["first_and_surname"], country=None) for r in rows
    )
    elapsed = time.perf_counter() - t0
    truth: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        truth[r["cluster"]].append(r["unique_id"])
    found: dict[str, list[str]] = defaultdict(list)
    for rid, cid in result.cluster_map().items():
        found[cid].append(rid)
    t, f = pairs_of(truth), pairs_of(found)
    tp = len(t & f)
    p = tp / len(f) if f else 0.0
    r = tp / len(t) if t else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    print(f"historical_50k, names only: {len(rows)} records in {elapsed:.1f} s")
    print(f"true pairs {len(t):,}; predicted pairs {len(f):,}; precision {p:.3f} recall {r:.3f} F1 {f1:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
