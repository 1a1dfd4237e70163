"""`interdict reference load`: read the versioned data files into the reference tables.

Idempotent: a dataset whose files (and loader version) are unchanged is skipped; changed
datasets are replaced. Substance ids derive from their keys (uuid5), so incidents that refer to
a substance keep pointing at it across reloads. Never commits (the CLI boundary does).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session
from stdnum import casrn

from interdict.core.clock import utcnow
from interdict.core.text import fold
from interdict.reference.catalogue import invalidate
from interdict.reference.files import DatasetInfo, data_dir, datasets, read_csv
from interdict.reference.models import (
    Country,
    HsCode,
    Location,
    ReferenceDataset,
    Substance,
    SubstanceClass,
    SubstanceControl,
    SubstanceHs,
    SubstanceName,
    TaxonomyTerm,
)
from interdict.reference.unlocode import fill_rows, location_sources

LOADER_VERSION = "3"
SUBSTANCE_NAMESPACE = uuid.UUID("6f1f3c1e-5d2a-4c8e-9a51-1d1c0e2b7a10")
SUBSTANCE_DATASETS = (
    "un1988-tables",
    "vn-decree-28-2026-list-IVA",
    "cn-controlled-2025-07",
    "substance-names",
    "substance-classes",
    "control-lists",
)
CN_LISTS = {
    "CN_narcotic_drugs_2013": "CN-NARCOTIC",
    "CN_psychotropic_class1_2013": "CN-PSYCHOTROPIC-I",
    "CN_psychotropic_class2_2013": "CN-PSYCHOTROPIC-II",
    "CN_non_medical_supplementary_list": "CN-NPS",
}
_ABBREV_RE = re.compile(r"^[A-Za-z0-9αβγδ][\w\-,.'’ αβγδ()]{0,38}$")


def _checksum(base: Path, info: DatasetInfo) -> str:
    h = hashlib.sha256(f"{LOADER_VERSION}:{info.version}".encode())
    h.update((base / info.path).read_bytes())
    return h.hexdigest()


def substance_id(key: str) -> uuid.UUID:
    return uuid.uuid5(SUBSTANCE_NAMESPACE, key)


def valid_cas(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    return value if casrn.is_valid(value) else None


# --- substances: merged from several lists -------------------------------------------------


@dataclass
class _Draft:
    key: str
    name: str
    cas: str | None
    names: list[tuple[str, str, str, str]] = field(default_factory=list)  # name, lang, kind, source
    controls: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    hs: list[tuple[str, str | None, str]] = field(default_factory=list)
    classes: list[tuple[str, str, str]] = field(default_factory=list)

    def add_name(self, name: str, lang: str, kind: str, source: str) -> None:
        name = " ".join(name.replace("*", "").split())
        if not name or name.startswith("("):
            return
        if any(fold(n[0]) == fold(name) and n[1] == lang for n in self.names):
            return
        self.names.append((name, lang, kind, source))


@dataclass
class Corrections:
    rows: list[dict[str, str]]

    def apply(self, dataset: str, row: dict[str, str]) -> dict[str, str]:
        for c in self.rows:
            if c["dataset"] == dataset and row.get(c["match_column"], "").strip() == c["match_value"]:
                row = {**row, c["column"]: c["corrected"]}
        return row


def build_substances(base: Path) -> list[_Draft]:
    ds = datasets(base)
    corrections = Corrections(list(read_csv(base / "curated" / "corrections.csv")))
    drafts: dict[str, _Draft] = {}
    by_cas: dict[str, _Draft] = {}

    def new(key: str, name: str, cas: str | None) -> _Draft:
        d = _Draft(key=key, name=name, cas=cas)
        drafts[key] = d
        if cas and cas not in by_cas:
            by_cas[cas] = d
        return d

    for r in read_csv(base / ds["un1988-tables"].path):
        cas = valid_cas(r["cas_rn"])
        d = by_cas.get(cas) if cas else None
        d = d or new(f"cas:{cas}" if cas else f"un:{fold(r['name'])}", r["name"].strip(), cas)
        d.add_name(r["name"], "en", "name", "UN1988")
        for syn in r["synonyms"].split(";"):
            d.add_name(syn, "en", "synonym", "UN1988")
        d.controls.append((f"UN1988-{r['convention_table'].strip()}", None, r["year_placed"] or None))
        if r["hs2022"]:
            d.hs.append((r["hs2022"].replace(".", ""), None, "UN1988"))

    for r in read_csv(base / ds["vn-decree-28-2026-list-IVA"].path):
        r = corrections.apply("vn-decree-28-2026-list-IVA", r)
        cas = valid_cas(r["cas"])
        parts = [p.strip() for p in r["ten_chat"].split(";") if p.strip()]
        d = by_cas.get(cas) if cas else None
        d = d or new(f"cas:{cas}" if cas else f"vn:{fold(parts[0])}", parts[0], cas)
        for part in parts:
            d.add_name(part, "en", "name", "VN-D28-IVA")
            for abbr in re.findall(r"\(([^)]+)\)", part):
                d.add_name(abbr, "en", "abbreviation", "VN-D28-IVA")
        d.add_name(r["ten_khoa_hoc"], "en", "systematic", "VN-D28-IVA")
        d.controls.append(("VN-D28-IVA", r["stt"], r["co_quan_quan_ly"] or None))
        code = r["ma_so_hang_hoa_vn"].replace(".", "").strip()
        if code:
            d.hs.append((code[:6], code, "VN-D28-IVA"))

    for r in read_csv(base / ds["cn-controlled-2025-07"].path):
        r = corrections.apply("cn-controlled-2025-07", r)
        cas_list = [c for c in (valid_cas(x) for x in r["cas_numbers"].split(";")) if c]
        cas = cas_list[0] if cas_list else None
        list_code = CN_LISTS[r["list"]]
        d = by_cas.get(cas) if cas else None
        if d is None or not d.key.startswith("cas:") or any(c[0].startswith("CN-") for c in d.controls):
            key = (
                f"cas:{cas}"
                if cas and f"cas:{cas}" not in drafts
                else f"cn:{list_code}:{r['seq']}:{fold(r['name_en'])}"
            )
            d = new(key, r["name_en"].strip() or r["name_zh"].strip(), cas)
        d.add_name(r["name_en"], "en", "name", list_code)
        d.add_name(r["name_zh"], "zh", "name", list_code)
        remark = (r["remark"] or "").strip()
        if remark and _ABBREV_RE.match(remark):
            d.add_name(remark, "en", "abbreviation", list_code)
        for extra in cas_list[1:]:
            d.add_name(extra, "und", "cas", list_code)
        d.controls.append((list_code, r["seq"], r["section"] or None))

    for r in read_csv(base / ds["substance-names"].path):
        cas = valid_cas(r["cas"])
        if cas is None or cas not in by_cas:
            raise ValueError(f"substance-names.csv: no substance with CAS {r['cas']!r}")
        by_cas[cas].add_name(r["name"], r["lang"], r["kind"], "curated")

    for r in read_csv(base / ds["substance-classes"].path):
        for c in r["cas"].split(";"):
            cas = valid_cas(c)
            if cas is None or cas not in by_cas:
                raise ValueError(f"substance-classes.csv: class {r['class']}: no substance with CAS {c!r}")
            by_cas[cas].classes.append((r["class"], r["label_en"], r["label_vi"]))
    return list(drafts.values())


def _load_substances(session: Session, base: Path) -> int:
    drafts = build_substances(base)
    existing = set(session.scalars(select(Substance.id)))
    for table in (SubstanceName, SubstanceControl, SubstanceHs, SubstanceClass):
        session.execute(delete(table))
    names, controls, hs, classes = [], [], [], []
    for d in drafts:
        sid = substance_id(d.key)
        values = {
            "key": d.key,
            "name": d.name,
            "cas": d.cas,
            "is_nps": any(c[0] == "CN-NPS" for c in d.controls),
            "is_precursor": any(c[0].startswith(("UN1988", "VN-D28")) for c in d.controls),
        }
        if sid in existing:
            session.execute(update(Substance).where(Substance.id == sid).values(**values))
        else:
            session.execute(insert(Substance).values(id=sid, **values))
        names += [{"substance_id": sid, "name": n, "lang": lang, "kind": k, "source": s} for n, lang, k, s in d.names]
        if d.cas:
            names.append({"substance_id": sid, "name": d.cas, "lang": "und", "kind": "cas", "source": "cas"})
        controls += [{"substance_id": sid, "list_code": c, "entry": e, "note": n} for c, e, n in d.controls]
        hs += [
            {"substance_id": sid, "hs_code": h, "national_code": nc, "source": s} for h, nc, s in dict.fromkeys(d.hs)
        ]
        classes += [{"substance_id": sid, "class_code": c, "label_en": le, "label_vi": lv} for c, le, lv in d.classes]
    for table, rows in (
        (SubstanceName, names),
        (SubstanceControl, controls),
        (SubstanceHs, hs),
        (SubstanceClass, classes),
    ):
        if rows:
            session.execute(insert(table), rows)
    return len(drafts)


def country_rows(base: Path) -> list[dict[str, str]]:
    return [
        {"code": r["code"], "alpha3": r["alpha3"], "name_en": r["name_en"], "name_vi": r["name_vi"]}
        for r in read_csv(base / datasets(base)["countries"].path)
    ]


def _load_countries(session: Session, base: Path) -> int:
    session.execute(delete(Country))
    rows = country_rows(base)
    session.execute(insert(Country), rows)
    return len(rows)


def _load_hs(session: Session, base: Path) -> int:
    session.execute(delete(HsCode))
    rows = [
        {
            "code": r["hscode"],
            "description": r["description"],
            "parent": None if r["parent"] == "TOTAL" else r["parent"],
            "level": int(r["level"]),
            "section": r["section"],
        }
        for r in read_csv(base / datasets(base)["hs2022"].path)
        if r["hscode"] != "TOTAL"
    ]
    session.execute(insert(HsCode), rows)
    return len(rows)


def _ascii(name: str) -> str:
    """The name without diacritics, case kept ("Thu Dúc" -> "Thu Duc"), as UNECE's NameWoDiacritics column."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_ASCII_SPECIAL))
    return unicodedata.normalize("NFKC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


_ASCII_SPECIAL = str.maketrans({"đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss"})


def location_rows(base: Path) -> list[dict[str, Any]]:
    seen: set[str] = set()
    rows: list[dict[str, Any]] = []
    for r in read_csv(base / datasets(base)["unlocode"].path):
        if r["Change"].strip().upper() == "X" or not r["Location"].strip():
            continue
        code = (r["Country"] + r["Location"]).strip().upper()
        if code in seen or len(code) != 5:
            continue
        seen.add(code)
        fn = (r["Function"] or "").ljust(8, "-")
        rows.append(
            {
                "code": code,
                "country": r["Country"].strip(),
                "name": r["Name"].strip(),
                "name_ascii": (r["NameWoDiacritics"] or r["Name"]).strip(),
                "subdivision": r["Subdivision"].strip() or None,
                "function": fn,
                "status": r["Status"].strip() or None,
                "iata": r["IATA"].strip() or None,
                "coordinates": r["Coordinates"].strip() or None,
                "is_seaport": fn[0] == "1",
                "is_airport": fn[3] == "4",
                "is_border": "B" in fn,
            }
        )
    # The fill has no function flags, status, IATA code or coordinates: its entries say nothing about them
    # (the index shows their functions as unknown, from location_sources).
    fill = location_sources(base).fill_names
    for r in fill_rows(base):
        code = (r["Country"] + r["Location"]).strip().upper()
        if code not in fill or code in seen:
            continue
        seen.add(code)
        name = r["Name"].strip()
        rows.append(
            {
                "code": code,
                "country": code[:2],
                "name": name,
                "name_ascii": _ascii(name),
                "subdivision": r["Subdivision"].strip() or None,
                "function": "--------",
                "status": None,
                "iata": None,
                "coordinates": None,
                "is_seaport": False,
                "is_airport": False,
                "is_border": False,
            }
        )
    return rows


def _load_locations(session: Session, base: Path) -> int:
    session.execute(delete(Location))
    rows = location_rows(base)
    for i in range(0, len(rows), 5000):
        session.execute(insert(Location), rows[i : i + 5000])
    return len(rows)


def _load_taxonomy(session: Session, base: Path) -> int:
    existing = {(t.scheme, t.code): t for t in session.scalars(select(TaxonomyTerm))}
    seen = set()
    for i, r in enumerate(read_csv(base / datasets(base)["taxonomy"].path)):
        key = (r["scheme"], r["code"])
        seen.add(key)
        values = {
            "parent": r["parent"] or None,
            "label_en": r["label_en"],
            "label_vi": r["label_vi"],
            "active": True,
            "sort": i,
        }
        if key in existing:
            for k, v in values.items():
                setattr(existing[key], k, v)
        else:
            session.add(TaxonomyTerm(scheme=r["scheme"], code=r["code"], **values))
    for key, term in existing.items():
        if key not in seen:
            term.active = False
    session.flush()
    return len(seen)


LOADERS: list[tuple[tuple[str, ...], Callable[[Session, Path], int]]] = [
    (SUBSTANCE_DATASETS, _load_substances),
    (("countries",), _load_countries),
    (("hs2022",), _load_hs),
    (("unlocode", "unlocode-fill"), _load_locations),
    (("taxonomy",), _load_taxonomy),
]


@dataclass
class LoadReport:
    loaded: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def load_reference(
    session: Session,
    *,
    base: Path | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> LoadReport:
    base = base or data_dir()
    infos = datasets(base)
    current = {d.name: d for d in session.scalars(select(ReferenceDataset))}
    report = LoadReport()
    for names, loader in LOADERS:
        sums = {n: _checksum(base, infos[n]) for n in names}
        if not force and all(n in current and current[n].sha256 == sums[n] for n in names):
            report.skipped.extend(names)
            continue
        if progress:
            progress(", ".join(names))
        count = loader(session, base)
        for n in names:
            row = current.get(n) or ReferenceDataset(name=n)
            row.version, row.sha256, row.row_count, row.loaded_at = infos[n].version, sums[n], count, utcnow()
            session.add(row)
            report.loaded[n] = count
    session.flush()
    if report.loaded:
        invalidate(session)
    return report


def is_loaded(session: Session) -> bool:
    return session.scalar(select(ReferenceDataset.name).limit(1)) is not None
