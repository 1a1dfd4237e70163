"""The filter language over targeting records (risk profiles and the worklist filter).

Every field has both forms of core/filters.py: SQL over ``targeting_records`` (worklist filters, "which records
does this profile hit") and a Python test over one record's facts (scoring a load in memory). Both read the same
stored values: derived values (folded party names, the goods description's words, value per kg, the
chemical-mismatch flag, days since the consignee was first seen) are computed once at load and stored as columns,
so the two forms agree by construction (tests/targeting/test_workflow_profiles.py checks it on random records).

The facts are any object with the record's attributes (the ORM row itself when scoring).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any

from sqlalchemy import and_, false, not_, or_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from interdict.core.filters import FieldSpec, FilterValueError, Registry, Test, compare
from interdict.core.text import fold, tokens
from interdict.reference.catalogue import get_index
from interdict.targeting.models import TargetingRecord as R

CHEMICAL_CHAPTERS = ("28", "29", "38")
_EQ = frozenset({"eq", "ne", "in", "not_in", "exists"})
_NUM = frozenset({"eq", "gte", "lte", "between", "exists"})


# --- derived values (stored at load) ---------------------------------------------------------------


def party_key(name: str | None) -> str | None:
    """A party name as ``contains`` compares it: folded (lower case, no diacritics), spaces squashed."""
    if not name:
        return None
    return " ".join(fold(name).split()) or None


def goods_words(text: str | None) -> str | None:
    """The description's folded words, space-separated with a space at each end (whole-word matching)."""
    if not text:
        return None
    words = tokens(text)
    return f" {' '.join(words)} " if words else None


@functools.cache
def chemical_words() -> tuple[tuple[str, ...], ...]:
    """The shipped word list (targeting/data/chemical-words.txt): each entry a tuple of words; a word ending in
    ``*`` is a prefix."""
    text = (resources.files("interdict.targeting") / "data" / "chemical-words.txt").read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(tuple(line.split()))
    return tuple(out)


def mentions_chemical(words: str | None) -> bool:
    if not words:
        return False
    ws = words.split()
    for phrase in chemical_words():
        n = len(phrase)
        for i in range(len(ws) - n + 1):
            if all(ws[i + j].startswith(p[:-1]) if p.endswith("*") else ws[i + j] == p for j, p in enumerate(phrase)):
                return True
    return False


def chemical_mismatch(words: str | None, hs_code: str | None) -> bool:
    """The description mentions a chemical word while the HS chapter is not 28, 29 or 38 (or no HS is given)."""
    return mentions_chemical(words) and (hs_code or "")[:2] not in CHEMICAL_CHAPTERS


def value_per_kg(value: float | None, net: float | None, gross: float | None) -> float | None:
    weight = net or gross
    if value is None or not weight:
        return None
    return round(value / weight, 6)


# --- the registry ----------------------------------------------------------------------------------


def _code(v: Any) -> str:
    text = re.sub(r"\s+", "", str(v)).upper()
    if not text:
        raise FilterValueError("a value is required")
    return text


def _hs(v: Any) -> str:
    digits = re.sub(r"[\s.\-]", "", str(v))
    if not re.fullmatch(r"\d{2,10}", digits):
        raise FilterValueError(f"'{v}' is not an HS code or prefix (2 to 10 digits, e.g. 2915 or 2915.24)")
    return digits


def _number(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        raise FilterValueError(f"'{v}' is not a number") from None


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    text = str(v).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise FilterValueError(f"'{v}' is not true or false")


def _text(v: Any) -> str:
    key = party_key(str(v))
    if not key:
        raise FilterValueError("a value is required")
    return key


def name_upper(v: Any) -> str:
    """Vessel names and office codes as stored and compared: upper case, spaces squashed."""
    text = " ".join(str(v).split()).upper()
    if not text:
        raise FilterValueError("a value is required")
    return text


def _column(name: str, parse: Callable[[Any], Any] = _code) -> FieldSpec:
    """Equality on a stored (already normalised) code column."""
    col = getattr(R, name)

    def build(op: str, value: Any) -> ColumnElement[bool]:
        if op == "exists":
            return col.is_not(None) if value else col.is_(None)  # type: ignore[no-any-return]
        if op == "eq":
            return col == value  # type: ignore[no-any-return]
        if op == "ne":
            return col != value  # type: ignore[no-any-return]
        if op == "in":
            return col.in_(value)  # type: ignore[no-any-return]
        return col.not_in(value)  # type: ignore[no-any-return]

    def test(op: str, value: Any) -> Test:
        return lambda facts: compare(op, getattr(facts, name), value)

    return FieldSpec(build=build, ops=_EQ, parse=parse, test=test)


def _numeric(name: str) -> FieldSpec:
    col = getattr(R, name)

    def build(op: str, value: Any) -> ColumnElement[bool]:
        if op == "exists":
            return col.is_not(None) if value else col.is_(None)  # type: ignore[no-any-return]
        if op == "eq":
            return col == value  # type: ignore[no-any-return]
        if op == "gte":
            return col >= value  # type: ignore[no-any-return]
        if op == "lte":
            return col <= value  # type: ignore[no-any-return]
        return col.between(value[0], value[1])  # type: ignore[no-any-return]

    def test(op: str, value: Any) -> Test:
        return lambda facts: compare(op, getattr(facts, name), value)

    return FieldSpec(build=build, ops=_NUM, parse=_number, test=test)


def _contains(name: str) -> FieldSpec:
    """``contains``: the folded party name contains the folded value."""
    col = getattr(R, name)

    def build(op: str, value: Any) -> ColumnElement[bool]:
        if op == "exists":
            return col.is_not(None) if value else col.is_(None)  # type: ignore[no-any-return]
        return col.contains(value, autoescape=True)  # type: ignore[no-any-return]

    def test(op: str, value: Any) -> Test:
        if op == "exists":
            return lambda facts: compare(op, getattr(facts, name), value)

        def t(facts: Any) -> bool | None:
            have = getattr(facts, name)
            return None if have is None else value in have

        return t

    return FieldSpec(build=build, ops=frozenset({"contains", "exists"}), parse=_text, test=test)


def _prefixes(col: Any, codes: Iterable[str]) -> ColumnElement[bool]:
    parts = [col.like(f"{c}%") for c in sorted(set(codes))]
    return or_(false(), *parts) if parts else false()


def _hs_field() -> FieldSpec:
    """HS code by prefix: ``eq 2915`` matches 29152400."""

    def build(op: str, value: Any) -> ColumnElement[bool]:
        if op == "exists":
            return R.hs_code.is_not(None) if value else R.hs_code.is_(None)
        codes = [value] if op in ("eq", "ne") else value
        expr = _prefixes(R.hs_code, codes)
        return and_(R.hs_code.is_not(None), not_(expr)) if op in ("ne", "not_in") else expr

    def test(op: str, value: Any) -> Test:
        if op == "exists":
            return lambda facts: compare(op, facts.hs_code, value)
        codes = [value] if op in ("eq", "ne") else value

        def t(facts: Any) -> bool | None:
            hs = facts.hs_code
            if hs is None:
                return None if op in ("eq", "in") else False
            hit = any(hs.startswith(c) for c in codes)
            return not hit if op in ("ne", "not_in") else hit

        return t

    return FieldSpec(build=build, ops=_EQ, parse=_hs, test=test)


def _hs_list_field(lists: Callable[[str], frozenset[str] | None]) -> FieldSpec:
    """``hs_in_list eq precursor``: the HS code starts with an HS code of a substance of that list (reference
    data: ``precursor``, ``nps``, a curated class or a control list such as ``UN1988-I``)."""

    def parse(v: Any) -> frozenset[str]:
        name = str(v).strip()
        codes = lists(name)
        if codes is None:
            raise FilterValueError(f"'{name}' is not a substance list (e.g. precursor, nps, UN1988-I)")
        return codes

    def build(op: str, value: Any) -> ColumnElement[bool]:
        return _prefixes(R.hs_code, value)

    def test(op: str, value: Any) -> Test:
        def t(facts: Any) -> bool | None:
            hs = facts.hs_code
            if hs is None:
                return None if value else False
            return any(hs.startswith(c) for c in value)

        return t

    return FieldSpec(build=build, ops=frozenset({"eq"}), parse=parse, test=test)


def _words_field() -> FieldSpec:
    """``goods_text match "acetic anhydride"``: every word appears as a whole word of the description."""

    def parse(v: Any) -> tuple[str, ...]:
        words = tuple(tokens(str(v)))
        if not words:
            raise FilterValueError("give at least one word")
        return words

    def build(op: str, value: Any) -> ColumnElement[bool]:
        return and_(*[R.goods_words.like(f"% {w} %") for w in value])

    def test(op: str, value: Any) -> Test:
        def t(facts: Any) -> bool | None:
            have = facts.goods_words
            return None if have is None else all(f" {w} " in have for w in value)

        return t

    return FieldSpec(build=build, ops=frozenset({"match", "contains"}), parse=parse, test=test)


def _listed_field(name: str, parse: Callable[[Any], Any]) -> FieldSpec:
    """One of several values stored in a text column between spaces (`` SGSIN MYPKG ``): eq, in, exists."""
    col = getattr(R, name)

    def build(op: str, value: Any) -> ColumnElement[bool]:
        if op == "exists":
            return col != "" if value else col == ""  # type: ignore[no-any-return]
        values = [value] if op == "eq" else value
        return or_(false(), *[col.like(f"% {v} %") for v in values])

    def test(op: str, value: Any) -> Test:
        if op == "exists":
            return lambda facts: bool(getattr(facts, name)) == bool(value)
        values = [value] if op == "eq" else value
        return lambda facts: any(f" {v} " in (getattr(facts, name) or "") for v in values)

    return FieldSpec(build=build, ops=frozenset({"eq", "in", "exists"}), parse=parse, test=test)


def _phone(v: Any) -> str:
    from interdict.linkage.identifiers import phone_e164

    text = str(v).strip()
    if not text.startswith(("+", "00")):
        raise FilterValueError(f"'{v}': write the number with its country code, e.g. +84 903 555 777")
    e164 = phone_e164(text, "VN")  # the region is not used for a number with its country code
    if e164 is None:
        raise FilterValueError(f"'{v}' is not a valid phone number")
    return e164


def _flag_field() -> FieldSpec:
    def build(op: str, value: Any) -> ColumnElement[bool]:
        return R.chemical_mismatch.is_(True) if value else R.chemical_mismatch.is_(False)

    def test(op: str, value: Any) -> Test:
        return lambda facts: bool(facts.chemical_mismatch) == value

    return FieldSpec(build=build, ops=frozenset({"eq"}), parse=_bool, test=test)


def substance_hs_lists(session: Session) -> Callable[[str], frozenset[str] | None]:
    index = get_index(session)

    def lists(name: str) -> frozenset[str] | None:
        if name not in index.known_classes():
            return None
        members = index.substances_in_class(name)
        codes = {
            re.sub(r"\D", "", code)
            for sid in members
            if sid in index.substances
            for code in index.substances[sid].hs_codes
        }
        return frozenset(c for c in codes if len(c) >= 4)

    return lists


FIELDS_DOC = {
    "hs_code": "HS code by prefix (eq, ne, in, not_in, exists)",
    "hs_in_list": "HS code of a substance of a reference list: precursor, nps, a class or control list (eq)",
    "country_origin": "country of origin (ISO code)",
    "country_departure": "country of departure (ISO code)",
    "port_loading": "port of loading (UN/LOCODE)",
    "port_discharge": "port of discharge (UN/LOCODE)",
    "port_transshipment": "a port of transshipment (UN/LOCODE)",
    "phone": "a phone of the record's parties, with its country code (eq, in, exists)",
    "consignee": "consignee name contains (no diacritics, any case)",
    "shipper": "shipper name contains",
    "importer": "importer name contains",
    "declarant": "declarant name contains",
    "consignee_first_seen_days": "days since the consignee first appeared in the agency's loads",
    "goods_text": "goods description has these words",
    "goods_mentions_chemical_but_hs_not_chemical": "description mentions a chemical while HS chapter is not 28/29/38",
    "value_per_kg": "declared value per kg (net weight, else gross)",
    "weight": "gross weight (kg)",
    "office": "customs office code",
    "vessel": "vessel name (upper case)",
}


def registry(session: Session) -> Registry:
    return Registry(
        {
            "hs_code": _hs_field(),
            "hs_in_list": _hs_list_field(substance_hs_lists(session)),
            "country_origin": _column("country_origin"),
            "country_departure": _column("country_departure"),
            "port_loading": _column("port_loading"),
            "port_discharge": _column("port_discharge"),
            "port_transshipment": _listed_field("transshipment_text", _code),
            "phone": _listed_field("phones_text", _phone),  # E.164 since the load
            "consignee": _contains("consignee_key"),
            "shipper": _contains("shipper_key"),
            "importer": _contains("importer_key"),
            "declarant": _contains("declarant_key"),
            "consignee_first_seen_days": _numeric("consignee_first_seen_days"),
            "goods_text": _words_field(),
            "goods_mentions_chemical_but_hs_not_chemical": _flag_field(),
            "value_per_kg": _numeric("value_per_kg"),
            "weight": _numeric("gross_weight"),
            "office": _column("office", name_upper),
            "vessel": _column("vessel", name_upper),
        }
    )
