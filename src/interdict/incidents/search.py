"""Full-text search behind one interface, and the incident fields of the filter language.

PostgreSQL: one generated ``text_vector`` tsvector column (the record's text and its person data) with a
GIN index (see migration 0006); person data is matched only where the reader may see it.
SQLite: FTS5 tables ``incidents_fts`` and ``incidents_nominal_fts`` kept in step by :func:`index_incident`.
``search_text`` is already folded (lower case, no diacritics, CJK split per character), so
both backends match "hai phong" against "Hải Phòng" and 醋酸 inside 醋酸酐.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, func, literal, literal_column, or_, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from interdict.accounts.models import Organisation
from interdict.core.filters import FieldSpec, FilterValueError, Registry, Test, compare
from interdict.core.text import fold, tokens
from interdict.incidents.models import (
    Incident,
    IncidentContainer,
    IncidentModus,
    IncidentPlace,
    IncidentSubstance,
)
from interdict.incidents.vocab import (
    DETECTION_METHODS,
    DISTRIBUTIONS,
    INCIDENT_TYPES,
    MODES,
    PLACE_TYPES,
    STATUSES,
    TLPS,
)
from interdict.reference.catalogue import ReferenceIndex

MAX_QUERY_TOKENS = 12


def query_tokens(q: str) -> list[str]:
    return tokens(q)[:MAX_QUERY_TOKENS]


def text_match(
    session_or_dialect: Session | str, q: str, *, nominal: ColumnElement[bool] | None = None
) -> ColumnElement[bool]:
    """SQL that is true for incidents whose text contains every word of ``q`` (last word as a prefix).

    The record's text without person data is always searched. With ``nominal`` (the rows whose person
    data the caller may see, from ``sharing.nominal_clause``) the text including person data is searched
    too, on those rows only; without it, person data is never matched.
    """
    dialect = session_or_dialect if isinstance(session_or_dialect, str) else session_or_dialect.get_bind().dialect.name
    toks = query_tokens(q)
    if not toks:
        return literal_column("1") == literal_column("1")
    if dialect == "postgresql":
        tsq = " & ".join(f"'{t}'" for t in toks[:-1])
        tsq = (tsq + " & " if tsq else "") + f"'{toks[-1]}':*"

        def tsquery() -> ColumnElement[Any]:
            return func.to_tsquery(literal_column("'simple'::regconfig"), bindparam("fts_q", tsq, unique=True))

        # One index condition on the whole text (one GIN scan, no OR of two); then a row that has person data
        # matches only if the reader may see it, or if the text without person data matches by itself. That
        # holds when no word of the query is in the person data (the short text, parsed first), and otherwise
        # only the re-check of the whole search_text can tell (about 27 us a row; the OR stops at the first
        # true, in this order).
        any_word = " | ".join([*(f"'{t}'" for t in toks[:-1]), f"'{toks[-1]}':*"])
        whole = literal_column("incidents.text_vector").op("@@")(tsquery())
        person_text = func.to_tsvector(literal_column("'simple'::regconfig"), Incident.nominal_text)
        public_text = func.to_tsvector(literal_column("'simple'::regconfig"), Incident.search_text)
        allowed = [
            Incident.nominal_text.is_(None),
            *([nominal] if nominal is not None else []),
            ~person_text.op("@@")(
                func.to_tsquery(literal_column("'simple'::regconfig"), bindparam("fts_any", any_word, unique=True))
            ),
            public_text.op("@@")(tsquery()),
        ]
        return and_(whole, or_(*allowed))
    fts = " ".join(f'"{t}"' for t in toks[:-1]) + (" " if len(toks) > 1 else "") + f'"{toks[-1]}"*'

    def fts_match(table: str) -> ColumnElement[bool]:
        sub: Select[Any] = (
            select(literal_column("incident_id"))
            .select_from(text(table))
            .where(text(f"{table} MATCH :fts_q").bindparams(bindparam("fts_q", fts, unique=True)))
        )
        return Incident.id.in_(sub)

    public = fts_match("incidents_fts")
    if nominal is None:
        return public
    return or_(public, and_(nominal, fts_match("incidents_nominal_fts")))


def index_incident(
    session: Session, incident_id: uuid.UUID, search_text: str, nominal_text: str | None, *, new: bool
) -> None:
    """Keep the SQLite FTS tables in step (PostgreSQL indexes the columns itself).

    ``incidents_nominal_fts`` holds the whole text (with person data) of records that have person data.
    """
    if session.get_bind().dialect.name != "sqlite":
        return
    if not new:
        session.execute(text("DELETE FROM incidents_fts WHERE incident_id = :id"), {"id": incident_id.hex})
        session.execute(text("DELETE FROM incidents_nominal_fts WHERE incident_id = :id"), {"id": incident_id.hex})
    session.execute(
        text("INSERT INTO incidents_fts (incident_id, body) VALUES (:id, :body)"),
        {"id": incident_id.hex, "body": search_text},
    )
    if nominal_text:
        session.execute(
            text("INSERT INTO incidents_nominal_fts (incident_id, body) VALUES (:id, :body)"),
            {"id": incident_id.hex, "body": f"{search_text} {nominal_text}"},
        )


def index_many(session: Session, rows: Iterable[tuple[uuid.UUID, str, str | None]]) -> None:
    if session.get_bind().dialect.name != "sqlite":
        return
    rows = list(rows)
    session.execute(
        text("INSERT INTO incidents_fts (incident_id, body) VALUES (:id, :body)"),
        [{"id": i.hex, "body": b} for i, b, _n in rows],
    )
    nominal = [{"id": i.hex, "body": f"{b} {n}"} for i, b, n in rows if n]
    if nominal:
        session.execute(text("INSERT INTO incidents_nominal_fts (incident_id, body) VALUES (:id, :body)"), nominal)


def snippet(source: str | None, q: str | None, width: int = 80) -> str | None:
    """A short excerpt of ``source`` around the first query word (plain text; the template escapes it)."""
    if not source or not q:
        return None
    folded = fold(source)
    for t in query_tokens(q):
        m = re.search(re.escape(t), folded)
        if m:
            start = max(0, m.start() - width // 2)
            end = min(len(source), m.end() + width // 2)
            return ("…" if start else "") + source[start:end].strip() + ("…" if end < len(source) else "")
    return None


# --- why a row matched -----------------------------------------------------------------------------

# A highlighted excerpt: (text, marked) pieces, in order; the template escapes each piece and wraps marked ones in
# <mark>. Never HTML.
Parts = list[tuple[str, bool]]


@dataclass(frozen=True)
class MatchReason:
    field: str  # company, person, container, vessel, bl_awb, vehicle, parcel, reference, goods, narrative, place
    role: str | None  # a party's role (consignee, shipper...)
    parts: Parts


def _folded_with_positions(source: str) -> tuple[str, list[int]]:
    """``source`` folded character by character, and for each folded character the index of its source one."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(source):
        f = fold(ch)
        out.append(f)
        where.extend([i] * len(f))
    return "".join(out), where


def _is_cjk(word: str) -> bool:
    return len(word) == 1 and ord(word) >= 0x2E80


def highlight(source: str | None, words: list[str], *, width: int = 120) -> Parts | None:
    """``source`` cut into pieces with the query words marked (every word whole, the last one also as a word prefix,
    CJK characters anywhere, ignoring case and diacritics); None when no word is in it. A long text is cut to about
    ``width`` characters around the first mark."""
    if not source or not words:
        return None
    folded, where = _folded_with_positions(source)
    spans: list[tuple[int, int]] = []
    for n, word in enumerate(words):
        if _is_cjk(word):
            pattern = re.escape(word)
        else:
            pattern = r"(?<!\w)" + re.escape(word) + ("" if n == len(words) - 1 else r"(?!\w)")
        for m in re.finditer(pattern, folded):
            if m.end() > m.start():
                spans.append((where[m.start()], where[m.end() - 1] + 1))
    if not spans:
        return None
    spans.sort()
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    start, end = 0, len(source)
    if len(source) > width:
        first = merged[0][0]
        start = max(0, first - width // 3)
        end = min(len(source), start + width)
    parts: Parts = [("…", False)] if start else []
    at = start
    for a, b in merged:
        a, b = max(a, start), min(b, end)
        if a >= b:
            continue
        if a > at:
            parts.append((source[at:a], False))
        parts.append((source[a:b], True))
        at = b
    if at < end:
        parts.append((source[at:end], False))
    if end < len(source):
        parts.append(("…", False))
    return parts


MAX_REASONS = 3


def why_matched(
    incident: Incident, q: str | None, company: str | None = None, *, persons_visible: bool = False
) -> list[MatchReason]:
    """Why ``incident`` is a result of the text query ``q`` and the company filter: the fields where their words are
    found, highlighted (a company or person first, then identifiers, then the longer texts), at most three. Persons
    only with ``persons_visible`` (the reader may see this record's persons)."""
    text_words = query_tokens(q) if q else []
    company_words = query_tokens(company) if company else []
    if not text_words and not company_words:
        return []
    found: list[MatchReason] = []

    def add(field: str, role: str | None, value: str | None, words: list[str]) -> None:
        parts = highlight(value, words)
        if parts is not None and not any(r.field == field and r.parts == parts for r in found):
            found.append(MatchReason(field, role, parts))

    parties = sorted(incident.parties, key=lambda p: p.seq)
    for words in (company_words, text_words):
        for p in parties:
            if p.kind != "person":
                add("company", p.role, p.name, words)
            elif persons_visible:
                add("person", p.role, p.name, words)
    if text_words:
        for c in incident.containers:
            add("container", None, c.number, text_words)
        add("vessel", None, " · ".join(v for v in (incident.vessel_name, incident.vessel_imo) if v), text_words)
        add("bl_awb", None, incident.bl_awb, text_words)
        add("vehicle", None, incident.vehicle_plate, text_words)
        add("parcel", None, incident.parcel_tracking, text_words)
        add("reference", None, " · ".join(v for v in (incident.reference, incident.case_reference) if v), text_words)
        add("place", None, incident.place_name, text_words)
        add("goods", None, incident.goods_description, text_words)
        add("narrative", None, incident.narrative, text_words)
    return found[:MAX_REASONS]


# --- the filter language: incident fields ----------------------------------------------------


def _choice(allowed: tuple[str, ...]) -> Any:
    def parse(v: Any) -> str:
        s = str(v).strip()
        if s not in allowed:
            raise FilterValueError(f"'{s}' is not one of {', '.join(allowed)}")
        return s

    return parse


def _date(v: Any) -> date:
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v).strip())
    except ValueError:
        raise FilterValueError(f"'{v}' is not a date (YYYY-MM-DD)") from None


def _upper(v: Any) -> str:
    return str(v).strip().upper().replace(" ", "")


def _column(col: Any) -> Any:
    def build(op: str, v: Any) -> ColumnElement[bool]:
        if op == "eq":
            return col == v  # type: ignore[no-any-return]
        if op == "ne":
            return col != v  # type: ignore[no-any-return]
        if op == "in":
            return col.in_(v)  # type: ignore[no-any-return]
        if op == "not_in":
            return col.not_in(v)  # type: ignore[no-any-return]
        if op == "gte":
            return col >= v  # type: ignore[no-any-return]
        if op == "lte":
            return col <= v  # type: ignore[no-any-return]
        if op == "between":
            return col.between(v[0], v[1])  # type: ignore[no-any-return]
        if op == "exists":
            return col.is_not(None) if v else col.is_(None)  # type: ignore[no-any-return]
        raise AssertionError(op)

    return build


def _values(op: str, v: Any) -> list[Any]:
    return list(v) if op in ("in", "not_in") else [v]


def _negate(op: str, expr: ColumnElement[bool]) -> ColumnElement[bool]:
    return ~expr if op in ("ne", "not_in") else expr


@dataclass(frozen=True)
class IncidentFacts:
    """What the filter language can ask of one incident, read once from the record (for watch rules, which
    test many filters against one new incident in Python rather than many queries against the database).
    ``nominal_visible``: whether the reader the rule works for may see the incident's person data."""

    columns: dict[str, Any]
    substances: frozenset[uuid.UUID]
    countries: frozenset[str]
    locodes: frozenset[str]
    containers: frozenset[str]
    modus: frozenset[str]
    owner_code: str
    company_names: str
    person_names: str | None
    public_tokens: frozenset[str]
    all_tokens: frozenset[str]
    nominal_visible: bool = False

    @classmethod
    def of(cls, incident: Incident, owner_code: str) -> IncidentFacts:
        public = frozenset(tokens(incident.search_text or ""))
        return cls(
            columns={
                "type": incident.incident_type,
                "status": incident.status,
                "country": incident.country,
                "place_type": incident.place_type,
                "mode": incident.mode_of_transport,
                "detection_method": incident.detection_method,
                "tlp": incident.tlp,
                "distribution": incident.distribution,
                "date": incident.incident_date,
                "reported_date": incident.reported_date,
                "reference": incident.reference,
                "vessel_imo": incident.vessel_imo,
                "bl_awb": incident.bl_awb,
                "is_demo": incident.is_demo,
                "hs_code": incident.declared_hs_code,
            },
            substances=frozenset(s.substance_id for s in incident.substances if s.substance_id is not None),
            countries=frozenset(p.country for p in incident.places if p.country),
            locodes=frozenset(p.locode for p in incident.places if p.locode),
            containers=frozenset(c.number for c in incident.containers),
            modus=frozenset(m.code for m in incident.modus),
            owner_code=owner_code,
            company_names=incident.company_names or "",
            person_names=incident.person_names,
            public_tokens=public,
            all_tokens=public | frozenset(tokens(incident.nominal_text or "")),
        )

    def as_reader(self, *, nominal_visible: bool) -> IncidentFacts:
        return replace(self, nominal_visible=nominal_visible)


def _has_words(words: list[str], text: str | None) -> bool:
    """Every word whole, the last as a word prefix, in a text of folded tokens separated by single spaces."""
    spaced = f" {text or ''} "
    return all(f" {w} " in spaced for w in words[:-1]) and f" {words[-1]}" in spaced


def _words_in(words: list[str], have: frozenset[str]) -> bool:
    return all(w in have for w in words[:-1]) and any(t.startswith(words[-1]) for t in have)


def _text_test(q: str) -> Callable[[IncidentFacts], bool]:
    words = query_tokens(q)

    def test(f: IncidentFacts) -> bool:
        if not words:
            return True
        return _words_in(words, f.public_tokens) or (f.nominal_visible and _words_in(words, f.all_tokens))

    return test


def _column_test(name: str) -> Callable[[str, Any], Test]:
    return lambda op, v: lambda f: compare(op, f.columns[name], v)


def _set_test(get: Callable[[IncidentFacts], frozenset[Any]]) -> Callable[[str, Any], Test]:
    def tester(op: str, v: Any) -> Test:
        wanted = set(_values(op, v))
        negate = op in ("ne", "not_in")
        return lambda f: bool(get(f) & wanted) != negate

    return tester


def incident_registry(index: ReferenceIndex, dialect: str, *, nominal: ColumnElement[bool] | None = None) -> Registry:
    """The incident fields of the filter language. ``nominal``: rows whose person data the caller may see
    (text and company conditions match person data only there; see :func:`text_match`)."""
    eq_in = frozenset({"eq", "ne", "in", "not_in"})
    ranged = frozenset({"eq", "gte", "lte", "between"})

    def substance_ids(v: Any) -> uuid.UUID:
        found, candidates = index.resolve_substance(str(v))
        if found is None:
            hint = f"; did you mean {', '.join(c.name for c in candidates[:3])}?" if candidates else ""
            raise FilterValueError(f"unknown substance '{v}'{hint}")
        return found.id

    def substance_class(v: Any) -> str:
        code = str(v).strip()
        if code not in index.known_classes():
            raise FilterValueError(f"unknown substance class '{code}'; known: {', '.join(index.known_classes())}")
        return code

    def build_substance(op: str, v: Any) -> ColumnElement[bool]:
        expr = exists().where(
            IncidentSubstance.incident_id == Incident.id, IncidentSubstance.substance_id.in_(_values(op, v))
        )
        return _negate(op, expr)

    def build_class(op: str, v: Any) -> ColumnElement[bool]:
        ids: set[uuid.UUID] = set()
        for code in _values(op, v):
            ids |= index.substances_in_class(code)
        expr = exists().where(IncidentSubstance.incident_id == Incident.id, IncidentSubstance.substance_id.in_(ids))
        return _negate(op, expr)

    def build_route_country(op: str, v: Any) -> ColumnElement[bool]:
        # One indexed side table holds every country and port of the place and route, so the planner can
        # start from the rare value or from the newest incidents, whichever is cheaper.
        cond = exists().where(IncidentPlace.incident_id == Incident.id, IncidentPlace.country.in_(_values(op, v)))
        return _negate(op, cond)

    def build_port(op: str, v: Any) -> ColumnElement[bool]:
        cond = exists().where(IncidentPlace.incident_id == Incident.id, IncidentPlace.locode.in_(_values(op, v)))
        return _negate(op, cond)

    def build_container(op: str, v: Any) -> ColumnElement[bool]:
        if op == "contains":
            cond: ColumnElement[bool] = IncidentContainer.number.startswith(v, autoescape=True)
        else:
            cond = IncidentContainer.number.in_(_values(op, v))
        return _negate(op, exists().where(IncidentContainer.incident_id == Incident.id, cond))

    def build_company(op: str, v: Any) -> ColumnElement[bool]:
        words = query_tokens(str(v))
        if not words:
            raise FilterValueError("give at least one word of the name")

        def has_words(column: Any) -> ColumnElement[bool]:
            # Folded tokens separated by single spaces: " word " is a whole word, " word" a word prefix (last one).
            spaced = literal(" ").concat(func.coalesce(column, "")).concat(" ")
            return and_(
                *[spaced.contains(f" {w} ", autoescape=True) for w in words[:-1]],
                spaced.contains(f" {words[-1]}", autoescape=True),
            )

        names = has_words(Incident.company_names)
        # Natural persons are nominal data: matched only on records whose person data the caller may see.
        if nominal is not None:
            names = or_(names, and_(Incident.person_names.is_not(None), nominal, has_words(Incident.person_names)))
        # The full-text condition finds the candidates through the index; the names check makes it exact
        # (first: on rows read in date order it is the cheap test that rejects most of them).
        return and_(names, text_match(dialect, str(v), nominal=nominal))

    def build_modus(op: str, v: Any) -> ColumnElement[bool]:
        expr = exists().where(IncidentModus.incident_id == Incident.id, IncidentModus.code.in_(_values(op, v)))
        return _negate(op, expr)

    def build_owner(op: str, v: Any) -> ColumnElement[bool]:
        sub = select(Organisation.id).where(Organisation.code.in_(_values(op, v)))
        return _negate(op, Incident.owner_org_id.in_(sub))

    def build_hs(op: str, v: Any) -> ColumnElement[bool]:
        return Incident.declared_hs_code.startswith(v, autoescape=True)

    def build_text(op: str, v: Any) -> ColumnElement[bool]:
        return text_match(dialect, str(v), nominal=nominal)

    def modus_code(v: Any) -> str:
        code = str(v).strip()
        if code not in index.taxonomy.get("modus", {}):
            raise FilterValueError(f"unknown modus operandi code '{code}'")
        return code

    def hs_digits(v: Any) -> str:
        d = re.sub(r"[\s.]", "", str(v))
        if not re.fullmatch(r"\d{2,10}", d):
            raise FilterValueError(f"'{v}' is not an HS code prefix")
        return d

    def bool_parse(v: Any) -> bool:
        s = str(v).strip().lower()
        if s in ("1", "true", "yes"):
            return True
        if s in ("0", "false", "no"):
            return False
        raise FilterValueError(f"'{v}' is not true or false")

    # The same conditions in Python, over IncidentFacts (watch rules); tests/watch checks both agree.
    def test_class(op: str, v: Any) -> Test:
        ids: set[uuid.UUID] = set()
        for code in _values(op, v):
            ids |= index.substances_in_class(code)
        negate = op in ("ne", "not_in")
        return lambda f: bool(f.substances & ids) != negate

    def test_container(op: str, v: Any) -> Test:
        if op == "contains":
            return lambda f: any(c.startswith(v) for c in f.containers)
        return _set_test(lambda f: f.containers)(op, v)

    def test_company(op: str, v: Any) -> Test:
        words = query_tokens(str(v))
        in_text = _text_test(str(v))

        def test(f: IncidentFacts) -> bool:
            names = _has_words(words, f.company_names) or (
                f.person_names is not None and f.nominal_visible and _has_words(words, f.person_names)
            )
            return names and in_text(f)

        return test

    def test_owner(op: str, v: Any) -> Test:
        codes = set(_values(op, v))
        negate = op in ("ne", "not_in")
        return lambda f: (f.owner_code in codes) != negate

    def test_hs(op: str, v: Any) -> Test:
        return lambda f: None if f.columns["hs_code"] is None else str(f.columns["hs_code"]).startswith(v)

    def column(col: Any, name: str, ops: frozenset[str], parse: Callable[[Any], Any]) -> FieldSpec:
        return FieldSpec(_column(col), ops, parse, test=_column_test(name))

    return Registry(
        {
            "type": column(Incident.incident_type, "type", eq_in, _choice(INCIDENT_TYPES)),
            "status": column(Incident.status, "status", eq_in, _choice(STATUSES)),
            "country": column(Incident.country, "country", eq_in, _upper),
            "place_type": column(Incident.place_type, "place_type", eq_in, _choice(PLACE_TYPES)),
            "mode": column(Incident.mode_of_transport, "mode", eq_in, _choice(MODES)),
            "detection_method": column(
                Incident.detection_method, "detection_method", eq_in, _choice(DETECTION_METHODS)
            ),
            "tlp": column(Incident.tlp, "tlp", eq_in, _choice(TLPS)),
            "distribution": column(Incident.distribution, "distribution", eq_in, _choice(DISTRIBUTIONS)),
            "date": column(Incident.incident_date, "date", ranged, _date),
            "reported_date": column(Incident.reported_date, "reported_date", ranged, _date),
            "reference": column(Incident.reference, "reference", eq_in, lambda v: str(v).strip()),
            "vessel_imo": column(Incident.vessel_imo, "vessel_imo", eq_in, lambda v: re.sub(r"\D", "", str(v))),
            "bl_awb": column(Incident.bl_awb, "bl_awb", eq_in, lambda v: str(v).strip()),
            "is_demo": column(Incident.is_demo, "is_demo", frozenset({"eq"}), bool_parse),
            "substance": FieldSpec(build_substance, eq_in, substance_ids, test=_set_test(lambda f: f.substances)),
            "substance_class": FieldSpec(build_class, eq_in, substance_class, test=test_class),
            "route_country": FieldSpec(build_route_country, eq_in, _upper, test=_set_test(lambda f: f.countries)),
            "port": FieldSpec(build_port, eq_in, _upper, test=_set_test(lambda f: f.locodes)),
            "container": FieldSpec(
                build_container,
                eq_in | {"contains"},
                lambda v: re.sub(r"[\s\-./]", "", str(v)).upper(),
                test=test_container,
            ),
            "company": FieldSpec(build_company, frozenset({"contains", "match"}), lambda v: str(v), test=test_company),
            "modus": FieldSpec(build_modus, eq_in, modus_code, test=_set_test(lambda f: f.modus)),
            "owner_org": FieldSpec(build_owner, eq_in, lambda v: str(v).strip(), test=test_owner),
            "hs_code": FieldSpec(build_hs, frozenset({"eq", "contains"}), hs_digits, test=test_hs),
            "text": FieldSpec(
                build_text, frozenset({"match", "contains"}), lambda v: str(v), test=lambda op, v: _text_test(str(v))
            ),
        }
    )
