"""What an incident mentions, as normalised entity values (pure Python, no database).

Each :class:`Found` is one value of one kind with the key that makes two mentions the same entity:

* names: companies by their distinctive name and business words (legal forms, places and generic words
  out; Chinese as pinyin), persons by their name tokens in any order. The key keeps Vietnamese diacritics
  when the text has them, so "Hùng" and "Hưng" stay two entities (the scorer decides whether they link) while
  "HOÀNG PHÁT" and "Hoang Phat" are two entities that the scorer links automatically;
* identifiers by their normalised form: phones in E.164, e-mails lower-cased, tax ids and documents compact,
  addresses with their abbreviations spelt out, containers and IMO numbers only with a valid check digit,
  bills of lading / air waybills, parcel tracking numbers and vehicle plates compact.

Placeholders ("N/A", "TO ORDER", "unknown") and the agency's exclusion list (linkage/data/exclusions.csv:
carriers, forwarders, port authorities that appear everywhere) never become entities. Natural persons and
their identifiers are nominal data.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from typing import Any

from interdict.linkage import identifiers
from interdict.linkage.names import company, person
from interdict.linkage.tables import data_dir
from interdict.linkage.text import fold

NAME_KINDS = frozenset({"company", "person"})
_COMPACT = re.compile(r"[^0-9A-Z]")


@dataclass(frozen=True, slots=True)
class Found:
    kind: str
    key: str
    text: str  # as written
    role: str
    country: str | None = None
    nominal: bool = False
    tokens: tuple[str, ...] = ()  # candidate-generation tokens (names only)


def compact(raw: str | None, *, min_length: int = 5) -> str | None:
    """Upper case, letters and digits only; None when too short to identify anything."""
    if not raw:
        return None
    value = _COMPACT.sub("", fold(raw).upper())
    return value if len(value) >= min_length else None


def company_key(text: str) -> tuple[str, tuple[str, ...]] | None:
    """(key, candidate tokens) of a company name; None when nothing distinctive is left ("Trading Co., Ltd")."""
    name = company(text)
    if not name.distinctive:
        return None
    marked = [m or d for m, d in zip(name.marked, name.distinctive, strict=True)]
    key = "".join(marked) + "/" + "+".join(sorted(name.concepts))
    joined = "".join(name.distinctive)
    pairs = {a + b for a, b in zip(name.distinctive, name.distinctive[1:], strict=False)}
    tokens = {*name.distinctive, *name.pinyin_words, *pairs, joined}
    return key, tuple(sorted(t for t in tokens if len(t) >= 2))


def person_key(text: str) -> tuple[str, tuple[str, ...]] | None:
    name = person(text)
    if not name.tokens:
        return None
    key = " ".join(sorted(name.marked if name.has_marks else name.tokens))
    return key, tuple(sorted({*name.tokens, "".join(sorted(name.tokens))}))


@functools.cache
def exclusions() -> frozenset[tuple[str, str]]:
    """(kind, key) of the values the agency never links on (linkage/data/exclusions.csv)."""
    out: set[tuple[str, str]] = set()
    with (data_dir() / "exclusions.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(line for line in fh if not line.startswith("#")):
            kind, name = row["kind"].strip(), row["name"].strip()
            keyed = company_key(name) if kind == "company" else person_key(name) if kind == "person" else None
            if keyed:
                out.add((kind, keyed[0]))
            elif kind not in NAME_KINDS:
                out.add((kind, compact(name, min_length=1) or name))
    return frozenset(out)


def _party(p: Any) -> list[Found]:
    natural = p.kind == "person"
    found: list[Found] = []
    if p.name and not identifiers.is_placeholder(p.name):
        keyed = person_key(p.name) if natural else company_key(p.name)
        if keyed:
            kind = "person" if natural else "company"
            found.append(Found(kind, keyed[0], p.name, p.role, p.country, natural, keyed[1]))
    values: list[tuple[str, str | None, str | None]] = [
        ("phone", identifiers.phone_e164(p.phone, p.country or "VN") if p.phone else None, p.phone),
        ("email", identifiers.email(p.email), p.email),
        ("tax_id", compact(p.tax_id), p.tax_id),
        ("id_document", compact(p.id_document), p.id_document),
    ]
    if p.address and not identifiers.is_placeholder(p.address):
        normalised = identifiers.address(p.address)
        values.append(("address", normalised if len(normalised) >= 12 else None, p.address))
    for kind, key, text in values:
        if key and text and not identifiers.is_placeholder(text):
            found.append(Found(kind, key, text, p.role, p.country, natural))
    return found


def extract(incident: Any) -> list[Found]:
    """Every entity value the incident mentions (parties, containers, vessel, transport documents)."""
    found: list[Found] = []
    for p in incident.parties:
        found += _party(p)
    for c in incident.containers:
        number = identifiers.container(c.number)
        if number:
            found.append(Found("container", number, c.number, "container"))
    vessel = identifiers.imo(incident.vessel_imo)
    if vessel:
        found.append(Found("vessel", vessel, incident.vessel_name or f"IMO {vessel}", "vessel"))
    for kind, raw in (
        ("bill_of_lading", incident.bl_awb),
        ("parcel", incident.parcel_tracking),
        ("vehicle", incident.vehicle_plate),
    ):
        if raw and not identifiers.is_placeholder(raw):
            key = compact(raw, min_length=6 if kind != "vehicle" else 5)
            if key:
                found.append(Found(kind, key, raw, kind))
    excluded = exclusions()
    unique: dict[tuple[str, str, str], Found] = {}
    for f in found:
        if (f.kind, f.key) not in excluded:
            unique.setdefault((f.kind, f.key, f.role), f)
    return list(unique.values())
