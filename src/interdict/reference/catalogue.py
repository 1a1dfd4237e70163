"""In-memory reference index: substance resolution and ranked autocomplete, HS, UN/LOCODE, countries.

Built once per process from the reference tables (a few MB) and rebuilt when a reload changes
them. Resolution is deterministic: what an officer types ("P2P", "BMK", "103-79-7",
"anhydrit axetic", "醋酸酐") is folded (case, diacritics, punctuation) and compared against
every name, synonym, abbreviation and CAS RN of every substance.
"""

from __future__ import annotations

import gc
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from interdict.core.text import compact, fold, tokens
from interdict.reference.files import data_dir, read_csv
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

# Which lists rank first when two substances match equally well.
LIST_PRIORITY = {
    "UN1988-I": 0,
    "UN1988-II": 1,
    "VN-D28-IVA": 2,
    "CN-NARCOTIC": 3,
    "CN-PSYCHOTROPIC-I": 4,
    "CN-PSYCHOTROPIC-II": 5,
    "CN-NPS": 6,
}


@dataclass(frozen=True)
class ControlList:
    code: str
    kind: str
    country: str | None
    label_en: str
    label_vi: str


@dataclass
class SubstanceInfo:
    id: uuid.UUID
    name: str
    cas: str | None
    is_nps: bool
    is_precursor: bool
    controls: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    hs_codes: list[str] = field(default_factory=list)
    names: dict[str, list[str]] = field(default_factory=dict)  # lang -> names

    @property
    def priority(self) -> int:
        return min((LIST_PRIORITY.get(c, 9) for c in self.controls), default=9)

    def display_name(self, lang: str = "en") -> str:
        local = self.names.get(lang)
        return local[0] if lang != "en" and local else self.name


@dataclass(frozen=True)
class _NameEntry:
    substance_id: uuid.UUID
    name: str
    lang: str
    kind: str
    folded: str
    compact: str
    sorted_key: str


@dataclass(frozen=True)
class SubstanceMatch:
    substance: SubstanceInfo
    matched_name: str
    matched_lang: str
    score: float
    exact: bool


@dataclass(frozen=True)
class LocationInfo:
    code: str
    country: str
    name: str
    name_ascii: str
    subdivision: str | None
    is_seaport: bool
    is_airport: bool
    is_border: bool
    folded: str


class ReferenceIndex:
    def __init__(self, session: Session) -> None:
        self.stamp = _stamp(session)
        self.substances: dict[uuid.UUID, SubstanceInfo] = {
            s.id: SubstanceInfo(s.id, s.name, s.cas, s.is_nps, s.is_precursor)
            for s in session.scalars(select(Substance))
        }
        self._entries: list[_NameEntry] = []
        self._by_compact: dict[str, set[uuid.UUID]] = defaultdict(set)
        self._by_sorted: dict[str, set[uuid.UUID]] = defaultdict(set)
        for n in session.scalars(select(SubstanceName).order_by(SubstanceName.id)):
            info = self.substances.get(n.substance_id)
            if info is None:
                continue
            info.names.setdefault(n.lang, []).append(n.name)
            e = _NameEntry(
                n.substance_id,
                n.name,
                n.lang,
                n.kind,
                fold(n.name),
                compact(n.name),
                " ".join(sorted(tokens(n.name))),
            )
            self._entries.append(e)
            if e.compact:
                self._by_compact[e.compact].add(e.substance_id)
            self._by_sorted[e.sorted_key].add(e.substance_id)
        # The canonical name always resolves, even when no list carries it as a name row
        # (exports write it, and an exported file must import back).
        named = {(e.substance_id, e.compact) for e in self._entries}
        for info in self.substances.values():
            key = compact(info.name)
            if key and (info.id, key) not in named:
                e = _NameEntry(
                    info.id, info.name, "en", "name", fold(info.name), key, " ".join(sorted(tokens(info.name)))
                )
                self._entries.append(e)
                self._by_compact[key].add(info.id)
                self._by_sorted[e.sorted_key].add(info.id)
        self._folded_names = [e.folded for e in self._entries]
        for c in session.scalars(select(SubstanceControl)):
            if c.substance_id in self.substances and c.list_code not in self.substances[c.substance_id].controls:
                self.substances[c.substance_id].controls.append(c.list_code)
        self.class_labels: dict[str, tuple[str, str]] = {}
        self.class_members: dict[str, set[uuid.UUID]] = defaultdict(set)
        for k in session.scalars(select(SubstanceClass)):
            self.class_labels[k.class_code] = (k.label_en, k.label_vi)
            self.class_members[k.class_code].add(k.substance_id)
            if k.substance_id in self.substances:
                self.substances[k.substance_id].classes.append(k.class_code)
        for h in session.scalars(select(SubstanceHs)):
            if h.substance_id in self.substances:
                codes = self.substances[h.substance_id].hs_codes
                for code in (h.hs_code, h.national_code):
                    if code and code not in codes:
                        codes.append(code)
        self.control_lists = {
            r["code"]: ControlList(r["code"], r["kind"], r["country"] or None, r["label_en"], r["label_vi"])
            for r in read_csv(data_dir() / "curated" / "control-lists.csv")
        }
        self.hs: dict[str, str] = dict(session.execute(select(HsCode.code, HsCode.description)).tuples().all())
        self.countries: dict[str, tuple[str, str]] = {
            c.code: (c.name_en, c.name_vi) for c in session.scalars(select(Country))
        }
        self.locations: dict[str, LocationInfo] = {}
        for row in session.execute(
            select(
                Location.code,
                Location.country,
                Location.name,
                Location.name_ascii,
                Location.subdivision,
                Location.is_seaport,
                Location.is_airport,
                Location.is_border,
            )
        ):
            self.locations[row[0]] = LocationInfo(*row, folded=fold(row[3]))
        self.taxonomy: dict[str, dict[str, TaxonomyTerm]] = defaultdict(dict)
        for t in session.scalars(select(TaxonomyTerm).order_by(TaxonomyTerm.sort)):
            session.expunge(t)
            self.taxonomy[t.scheme][t.code] = t

    # --- substances --------------------------------------------------------------------------

    def search_substances(self, query: str, *, limit: int = 10) -> list[SubstanceMatch]:
        """Ranked matches: exact (name, abbreviation, CAS, any word order) before prefix before fuzzy."""
        q_fold, q_compact = fold(query).strip(), compact(query)
        if not q_compact:
            return []
        q_sorted = " ".join(sorted(tokens(query)))
        q_tokens = tokens(query)
        best: dict[uuid.UUID, tuple[float, _NameEntry, bool]] = {}

        def offer(entry: _NameEntry, score: float, exact: bool) -> None:
            cur = best.get(entry.substance_id)
            if cur is None or score > cur[0]:
                best[entry.substance_id] = (score, entry, exact)

        for e in self._entries:
            if e.compact == q_compact:
                offer(e, 100.0, True)
            elif e.sorted_key == q_sorted:
                offer(e, 98.0, True)
            elif e.compact.startswith(q_compact):
                offer(e, 90.0 - min(10.0, (len(e.compact) - len(q_compact)) / 3), False)
            elif all(any(t.startswith(qt) for t in e.folded.split()) for qt in q_tokens):
                offer(e, 80.0 - min(10.0, len(e.folded) / 20), False)
        if len(best) < limit and len(q_compact) >= 3:
            for _name, score, idx in process.extract(
                q_fold, self._folded_names, scorer=fuzz.WRatio, limit=limit * 3, score_cutoff=70
            ):
                offer(self._entries[idx], score * 0.75, False)
        ranked = sorted(
            best.values(), key=lambda t: (-t[0], self.substances[t[1].substance_id].priority, len(t[1].name))
        )
        return [
            SubstanceMatch(self.substances[e.substance_id], e.name, e.lang, round(s, 1), ex)
            for s, e, ex in ranked[:limit]
        ]

    def resolve_substance(self, text: str, *, suggest: bool = True) -> tuple[SubstanceInfo | None, list[SubstanceInfo]]:
        """(the substance, []) when ``text`` names exactly one; (None, candidates) otherwise.

        Candidates are the substances sharing the name, or (``suggest``) the closest fuzzy matches.
        """
        text = text.strip()
        try:
            sid = uuid.UUID(text)
        except ValueError:
            sid = None
        if sid is not None:
            found = self.substances.get(sid)
            return (found, []) if found else (None, [])
        ids = self._by_compact.get(compact(text)) or self._by_sorted.get(" ".join(sorted(tokens(text)))) or set()
        if len(ids) == 1:
            return self.substances[next(iter(ids))], []
        if len(ids) > 1:
            cands = sorted((self.substances[i] for i in ids), key=lambda s: (s.priority, s.name))
            # One entry on the international tables wins over national duplicates of other substances.
            if cands[0].priority <= 1 and cands[1].priority > 1:
                return cands[0], []
            return None, cands
        if not suggest:
            return None, []
        return None, [m.substance for m in self.search_substances(text, limit=3)]

    def substances_in_class(self, code: str) -> set[uuid.UUID]:
        """Members of a curated class, or of a control list (e.g. 'UN1988-I'), or 'nps' / 'precursor'."""
        if code in self.class_members:
            return set(self.class_members[code])
        if code == "nps":
            return {s.id for s in self.substances.values() if s.is_nps}
        if code == "precursor":
            return {s.id for s in self.substances.values() if s.is_precursor}
        return {s.id for s in self.substances.values() if code in s.controls}

    def known_classes(self) -> list[str]:
        return sorted(self.class_labels) + sorted(self.control_lists) + ["nps", "precursor"]

    # --- places and codes --------------------------------------------------------------------

    def search_locations(
        self, query: str, *, country: str | None = None, seaport: bool = False, limit: int = 10
    ) -> list[LocationInfo]:
        q = fold(query).strip()
        if not q:
            return []
        qu = query.strip().upper().replace(" ", "")
        scored: list[tuple[int, LocationInfo]] = []
        for loc in self.locations.values():
            if (country and loc.country != country) or (seaport and not loc.is_seaport):
                continue
            if loc.code == qu:
                s = 100
            elif len(qu) >= 3 and loc.code.startswith(qu):
                s = 90
            elif loc.folded.startswith(q):
                s = 80
            elif f" {q}" in f" {loc.folded}":
                s = 70
            else:
                continue
            s += 5 if loc.country == "VN" else 0
            s += 3 if loc.is_seaport else 0
            scored.append((s, loc))
        scored.sort(key=lambda t: (-t[0], len(t[1].name), t[1].code))
        return [loc for _, loc in scored[:limit]]

    def country_name(self, code: str | None, lang: str = "en") -> str:
        if not code:
            return ""
        names = self.countries.get(code)
        return (names[1] if lang == "vi" else names[0]) if names else code


def _stamp(session: Session) -> str:
    row = session.execute(select(func.count(), func.max(ReferenceDataset.loaded_at))).one()
    return f"{row[0]}:{row[1]}"


# Keyed by database URL: every engine (and process worker) on the same database shares one index.
_CACHE: dict[str, tuple[ReferenceIndex, float]] = {}
_LOCK = threading.Lock()
_RECHECK_SECONDS = 30.0


def _key(session: Session) -> str:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return engine.url.render_as_string(hide_password=False)


def get_index(session: Session) -> ReferenceIndex:
    """The index for this session's database; rebuilt when the reference tables were reloaded."""
    engine = _key(session)
    now = time.monotonic()
    with _LOCK:
        cached = _CACHE.get(engine)
        if cached is not None:
            index, checked = cached
            if now - checked < _RECHECK_SECONDS:
                return index
            if _stamp(session) == index.stamp:
                _CACHE[engine] = (index, now)
                return index
        index = ReferenceIndex(session)
        _CACHE[engine] = (index, now)
        _settle_long_lived_objects()
        return index


def _settle_long_lived_objects() -> None:
    """Exclude the (re)built index from Python's cyclic garbage collection.

    The index is hundreds of thousands of objects that live as long as the process. Left in the collector's
    oldest generation, every full collection walks them all: 90-140 ms pauses measured in the middle of
    searches (bench/bench_search.py p95). Collected once now, then frozen (gc.freeze), they are skipped. A
    replaced index is still freed by reference counting; only reference cycles inside it would stay.
    """
    gc.collect()
    gc.freeze()


def invalidate(session: Session) -> None:
    with _LOCK:
        _CACHE.pop(_key(session), None)
