"""Where the versioned reference data files live, and how to read them."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


def data_dir() -> Path:
    return Path(str(resources.files("interdict.reference") / "data"))


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    version: str
    path: str
    licence: str
    sources: str


def datasets(base: Path | None = None) -> dict[str, DatasetInfo]:
    base = base or data_dir()
    with (base / "datasets.csv").open(encoding="utf-8") as fh:
        return {
            r["dataset"]: DatasetInfo(r["dataset"], r["version"], r["path"], r["licence"], r["sources"])
            for r in csv.DictReader(fh)
        }


def read_csv(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        yield from csv.DictReader(fh)
