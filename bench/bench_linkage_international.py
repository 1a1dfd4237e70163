"""Linkage on international names: the labelled set of make_international_pairs.py scored through score-pairs.

    python bench/bench_linkage_international.py [--pairs FILE] [--part dev|heldout|all] [--kinds] [--misses N]

The pairs go through ``interdict.linkage.pairs.score_csv``, the code of ``interdict linkage score-pairs``
(same columns in, ``score`` and ``match`` out), so the figures are those of the product's threshold. Printed
for each part (dev, heldout): precision, recall and F1 at the default threshold, the best threshold and its
F1, and the same for rapidfuzz WRatio (the best threshold picked on dev and applied to heldout); with
``--kinds`` per kind; a reliability table (score bins: share of true pairs); ``--misses N`` prints N wrong
pairs of the dev part.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from rapidfuzz import fuzz, utils

from interdict.linkage.pairs import score_csv
from interdict.linkage.score import DEFAULT_THRESHOLD

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PAIRS = ROOT / "bench" / "data" / "international_pairs.csv"


def prf(scored: list[tuple[float, bool]], threshold: float) -> tuple[float, float, float]:
    tp = sum(1 for s, y in scored if y and s >= threshold)
    fp = sum(1 for s, y in scored if not y and s >= threshold)
    fn = sum(1 for s, y in scored if y and s < threshold)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def best_threshold(scored: list[tuple[float, bool]]) -> tuple[float, float]:
    best = (0.0, 0.0)
    for t in sorted({round(s, 2) for s, _ in scored}):
        f = prf(scored, t)[2]
        if f > best[1]:
            best = (t, f)
    return best


def source_of(kind: str) -> str:
    """Where a kind of pair comes from: labels of public data sets, of a package, or of this project's patterns."""
    if kind.startswith(("person_historical", "person_febrl")):
        return "historical_50k + FEBRL4 (labels of the data sets)"
    if kind.startswith("person_nickname"):
        return "nicknames package"
    if kind.startswith("person_script"):
        return "ICU transliteration"
    return "patterns written here (persons, companies, vessels)"


def score_rows(path: Path) -> list[dict[str, str]]:
    """Every row with the product's score and match, through the score-pairs code."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scored.csv"
        score_csv(path, out)
        with out.open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))


def reliability(scored: list[tuple[float, bool]]) -> None:
    edges = [0.0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0001]
    print(f"  {'score bin':<12} {'pairs':>6} {'true share':>10}")
    for lo, hi in itertools.pairwise(edges):
        b = [y for s, y in scored if lo <= s < hi]
        if b:
            print(f"  [{lo:.2f}, {min(hi, 1.0):.2f}{')' if hi < 1 else ']'} {len(b):>6} {sum(b) / len(b):>10.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=Path, default=DEFAULT_PAIRS)
    ap.add_argument("--kinds", action="store_true", help="figures per kind")
    ap.add_argument("--misses", type=int, default=0, help="print this many wrong dev pairs")
    args = ap.parse_args(argv)
    rows = score_rows(args.pairs)
    parts: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        parts[r["part"]].append(r)
    wr_dev_t = None
    print(f"default threshold {DEFAULT_THRESHOLD}")
    for part in ("dev", "heldout"):
        rs = parts[part]
        scored = [(float(r["score"]), r["label"] == "1") for r in rs]
        wr = [
            (fuzz.WRatio(r["name1"], r["name2"], processor=utils.default_process) / 100, r["label"] == "1") for r in rs
        ]
        p, rec, f = prf(scored, DEFAULT_THRESHOLD)
        bt, bf = best_threshold(scored)
        if wr_dev_t is None:
            wr_dev_t = best_threshold(wr)[0]
        wp, wrc, wf = prf(wr, wr_dev_t)
        wbt, wbf = best_threshold(wr)
        pos = sum(y for _, y in scored)
        print(f"\n## {part}: {len(rs)} pairs ({pos} true)")
        print(
            f"  engine at {DEFAULT_THRESHOLD}: P {p:.3f} R {rec:.3f} F1 {f:.3f}   (best threshold {bt:.2f}: F1 {bf:.3f})"
        )
        print(
            f"  rapidfuzz WRatio at {wr_dev_t:.2f} (best on dev): P {wp:.3f} R {wrc:.3f} F1 {wf:.3f}"
            f"   (best on this part {wbt:.2f}: F1 {wbf:.3f})"
        )
        reliability(scored)
        by_source: dict[str, list[tuple[float, bool]]] = defaultdict(list)
        for r in rs:
            by_source[source_of(r["kind"])].append((float(r["score"]), r["label"] == "1"))
        for src in sorted(by_source):
            sp, sr, sf = prf(by_source[src], DEFAULT_THRESHOLD)
            print(f"  source {src:<46} {len(by_source[src]):>5}  P {sp:.3f} R {sr:.3f} F1 {sf:.3f}")
        if args.kinds:
            by_kind: dict[str, list[tuple[float, bool]]] = defaultdict(list)
            for r in rs:
                by_kind[r["kind"]].append((float(r["score"]), r["label"] == "1"))
            for kind in sorted(by_kind):
                sc = by_kind[kind]
                ok = sum(1 for s, y in sc if (s >= DEFAULT_THRESHOLD) == y)
                print(f"  {kind:<32} {len(sc):>4}  correct {ok / len(sc):.3f}")
    if args.misses:
        wrong = [r for r in parts["dev"] if (r["match"] == "true") != (r["label"] == "1")]
        print(f"\n## {len(wrong)} wrong dev pairs (first {args.misses})")
        for r in wrong[: args.misses]:
            print(f"  {r['label']} {r['score']} {r['kind']:<26} {r['name1']} | {r['name2']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
