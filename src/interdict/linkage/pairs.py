"""Score a CSV file of name pairs (the ``interdict linkage score-pairs`` command).

Input columns ``name1``, ``name2`` and optionally ``schema`` (Person, Company, Organization,
LegalEntity, Vessel; empty = guess); any other columns are copied through. Output: the same rows plus
``score`` (4 decimals) and ``match`` (``true``/``false`` at DEFAULT_THRESHOLD); a cell beginning with a formula
character gets a leading quote, as in every file Interdict writes for spreadsheets (``core.spreadsheet``).
Rows are streamed: a file of millions of rows is never held in memory.
"""

from __future__ import annotations

import csv
from pathlib import Path

from interdict.core import spreadsheet
from interdict.linkage.score import DEFAULT_THRESHOLD, score_pair

REQUIRED = ("name1", "name2")
ADDED = ("score", "match")


class PairsFileError(ValueError):
    """The input file cannot be scored (a required column is missing...)."""


def score_csv(in_path: str | Path, out_path: str | Path) -> int:
    """Score every row of ``in_path`` into ``out_path``; returns the number of rows written.

    The output appears only complete: rows go to a temporary file beside it, renamed at the end, so a
    bad row leaves no half-written output (and an existing file is kept).
    """
    with spreadsheet.staged(Path(out_path)) as tmp:
        return _score(Path(in_path), tmp)


def _score(in_path: Path, out_path: Path) -> int:
    with (
        in_path.open(encoding="utf-8-sig", newline="") as src,
        out_path.open("w", encoding="utf-8", newline="") as dst,
    ):
        reader = csv.DictReader(src)
        fields = list(reader.fieldnames or [])
        missing = [c for c in REQUIRED if c not in fields]
        if missing:
            raise PairsFileError(
                f"{in_path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                f"(the header has: {', '.join(fields) or 'nothing'})"
            )
        clash = [c for c in ADDED if c in fields]
        if clash:
            raise PairsFileError(f"{in_path}: already has column {', '.join(clash)}; rename it first")
        writer = spreadsheet.DictWriter(dst, [*fields, *ADDED], lineterminator="\n")
        writer.writeheader()
        n = 0
        for row in reader:
            if None in row:  # more cells than header columns
                raise PairsFileError(f"{in_path}: line {reader.line_num} has more cells than the header")
            schema = (row.get("schema") or "").strip() or None
            try:
                result = score_pair(row["name1"] or "", row["name2"] or "", schema)
            except ValueError as exc:
                raise PairsFileError(f"{in_path}: line {reader.line_num}: {exc}") from exc
            row["score"] = f"{result.score:.4f}"
            row["match"] = "true" if result.score >= DEFAULT_THRESHOLD else "false"
            writer.writerow(row)
            n += 1
    return n
