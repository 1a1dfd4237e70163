"""Countries by name: ISO 3166-1 codes with their English and Vietnamese names (data/countries/countries.csv).

Users pick a country by name ("Trung Quốc (CN)"); what they type is compared folded and without spaces or
punctuation against every name of every country, so "viet nam", "Việt Nam", "vietnam" and "VN" are one country.
Read from the data file once per process: validators need it without a database session.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from interdict.core.text import compact, fold
from interdict.reference.files import data_dir, datasets, read_csv

_LABEL_RE = re.compile(r"^(?P<name>.*?)\s*\((?P<code>[A-Za-z]{2,3})\)\s*$")


@dataclass(frozen=True)
class CountryNames:
    code: str
    alpha3: str
    name_en: str
    name_vi: str
    other_names: tuple[str, ...]

    def name(self, lang: str = "en") -> str:
        return self.name_vi if lang == "vi" else self.name_en

    def label(self, lang: str = "en") -> str:
        """What a user sees and picks: the name with the code, e.g. "Trung Quốc (CN)"."""
        return f"{self.name(lang)} ({self.code})"

    @functools.cached_property
    def keys(self) -> tuple[str, ...]:
        """Compacted forms of every name (case, diacritics, spaces and punctuation ignored)."""
        return tuple(dict.fromkeys(compact(n) for n in (self.name_en, self.name_vi, *self.other_names) if compact(n)))

    @functools.cached_property
    def words(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(fold(n) for n in (self.name_en, self.name_vi, *self.other_names)))


@functools.lru_cache(maxsize=1)
def all_countries() -> dict[str, CountryNames]:
    base = data_dir()
    return {
        r["code"]: CountryNames(
            r["code"],
            r["alpha3"],
            r["name_en"],
            r["name_vi"],
            tuple(n.strip() for n in r["other_names"].split(";") if n.strip()),
        )
        for r in read_csv(base / datasets(base)["countries"].path)
    }


@functools.lru_cache(maxsize=1)
def _by_key() -> dict[str, str | None]:
    """Compacted name or code -> country code; None where two countries share a name."""
    out: dict[str, str | None] = {}
    for c in all_countries().values():
        for key in c.keys:
            out[key] = c.code if out.get(key, c.code) == c.code else None
    for c in all_countries().values():  # codes win over names ("IN" is India, whatever a name compacts to)
        out[c.code.lower()] = c.code
        out[c.alpha3.lower()] = c.code
    return out


def resolve_country(text: str) -> str | None:
    """The alpha-2 code ``text`` names: a code (VN, VNM), a name in English or Vietnamese with or without
    diacritics and spaces, or a picked label "Việt Nam (VN)" (whose code decides). None if it names none."""
    raw = text.strip()
    m = _LABEL_RE.match(raw)
    if m:
        code = _by_key().get(m["code"].lower())
        if code is not None:
            return code
    return _by_key().get(compact(raw)) if raw else None


def country_label(code: str | None, lang: str = "en") -> str:
    """A stored code as users see it ("Trung Quốc (CN)"); anything unknown as it is."""
    if not code:
        return ""
    c = all_countries().get(code)
    return c.label(lang) if c else code


def search_countries(query: str, lang: str = "en", *, limit: int = 20) -> list[CountryNames]:
    """Ranked: the code, then a whole name, then a name's start, then a word's start, then anywhere in a name."""
    q_compact, q_fold = compact(query), fold(query).strip()
    if not q_compact:
        return []
    scored: list[tuple[int, str, CountryNames]] = []
    for c in all_countries().values():
        if q_compact in (c.code.lower(), c.alpha3.lower()):
            score = 100
        elif q_compact in c.keys:
            score = 90
        elif any(k.startswith(q_compact) for k in c.keys):
            score = 80
        elif any(f" {q_fold}" in f" {w}" for w in c.words):
            score = 70
        elif len(q_compact) >= 3 and any(q_compact in k for k in c.keys):
            score = 60
        else:
            continue
        scored.append((score, fold(c.name(lang)), c))
    scored.sort(key=lambda t: (-t[0], t[1]))
    return [c for _, _, c in scored[:limit]]
