"""Fit the linkage score calibration on the dev part of the international pairs (never on the held-out part).

    python bench/fit_linkage_calibration.py [--pairs FILE] [--out FILE] [--version V]

For each scorer path that the set covers (``person_international``: persons outside the Vietnamese and
Chinese rules; ``company``) a logistic regression on the raw score (Platt scaling, scikit-learn; or
``--method isotonic``) maps the raw score to the share of true matches among dev pairs with that score;
its curve, sampled every 0.025, is written to
src/interdict/linkage/data/calibration.csv, which ``score_pair`` reads (linear between breakpoints).
Vietnamese and Chinese persons and vessels keep their raw score (no curve).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from interdict.linkage.score import raw_score, score_pair

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PAIRS = ROOT / "bench" / "data" / "international_pairs.csv"
DEFAULT_OUT = ROOT / "src" / "interdict" / "linkage" / "data" / "calibration.csv"


def group_of(schema: str, features: dict[str, float]) -> str | None:
    if schema == "Company":
        return "company"
    if schema == "Person" and features.get("international"):
        return "person_international"
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=Path, default=DEFAULT_PAIRS)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--version", default="1")
    ap.add_argument("--method", choices=("logistic", "isotonic"), default="logistic")
    ap.add_argument("--groups", default="person_international", help="comma-separated paths to calibrate")
    args = ap.parse_args(argv)
    data: dict[str, list[tuple[float, float]]] = defaultdict(list)
    with args.pairs.open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["part"] != "dev":
                continue
            res = score_pair(r["name1"], r["name2"], r["schema"] or None)
            group = group_of(res.schema, res.features)
            if group is not None:
                data[group].append((raw_score(res), float(r["label"])))
    rows = []
    for group in sorted(g for g in data if g in args.groups.split(",")):
        xs = [x for x, _ in data[group]]
        ys = [y for _, y in data[group]]
        if args.method == "isotonic":
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(xs, ys)
            points = list(zip(iso.X_thresholds_, iso.y_thresholds_, strict=True))
        else:  # logistic (Platt): smooth, so pairs between the thresholds still go to review
            lr = LogisticRegression(C=100.0).fit(np.array(xs).reshape(-1, 1), ys)
            grid = np.linspace(0.0, 1.0, 41)
            points = list(zip(grid, lr.predict_proba(grid.reshape(-1, 1))[:, 1], strict=True))
        rows += [(args.version, group, f"{x:.4f}", f"{y:.4f}") for x, y in points]
        print(f"{group}: {len(xs)} dev pairs, {len(points)} breakpoints")
        for x, y in points:
            print(f"  raw {x:.4f} -> {y:.4f}")
    with args.out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["version", "group", "raw", "calibrated"])
        w.writerows(rows)
    print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
