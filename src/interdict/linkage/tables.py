"""The linkage reference tables (``linkage/data/*.csv``), loaded once and indexed for matching.

The CSV files hold terms as people write them (diacritics, capitals, Chinese characters);
they are folded here, so an agency adding a row does not have to fold it by hand. Latin terms
become token tuples matched as phrases on folded text; Chinese terms are matched inside
unspaced Chinese text. See ``data/SOURCES.md``.
"""

from __future__ import annotations

import bisect
import csv
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from interdict.linkage.text import fold_tokens, is_han, pinyin_syllables


def data_dir() -> Path:
    return Path(str(resources.files("interdict.linkage") / "data"))


def _rows(name: str) -> Iterator[dict[str, str]]:
    with (data_dir() / name).open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            yield {k: (v or "").strip() for k, v in row.items()}


@dataclass(frozen=True, slots=True)
class Entry:
    """What a matched term means: its role and value (legal form code, concept id, place id...)."""

    role: str  # legal | generic | connector | vessel_prefix | concept | place
    value: str
    term: str  # the term as written in the table, for explanations


@dataclass(frozen=True, slots=True)
class Lexicon:
    latin: dict[tuple[str, ...], Entry]
    latin_max: int
    han: dict[str, Entry]
    han_max: int


def _add(latin: dict[tuple[str, ...], Entry], han: dict[str, Entry], term: str, entry: Entry) -> None:
    """First definition wins: legal forms, then generic words, business terms, places."""
    toks = fold_tokens(term)
    if not toks:
        return
    if len(toks) == 1 and is_han(toks[0]):
        han.setdefault(toks[0], entry)
        # Written in pinyin in Latin-script documents: 贸易 -> "maoyi", 有限公司 -> "youxiangongsi".
        syllables = pinyin_syllables(toks[0])
        latin.setdefault(("".join(syllables),), entry)
        if entry.role in ("legal", "generic"):  # "you xian gong si", "gong si"
            latin.setdefault(syllables, entry)
    elif not any(is_han(t) for t in toks):
        latin.setdefault(tuple(toks), entry)


@functools.cache
def company_lexicon() -> Lexicon:
    latin: dict[tuple[str, ...], Entry] = {}
    han: dict[str, Entry] = {}
    for r in _rows("legal_forms.csv"):
        _add(latin, han, r["term"], Entry("legal", r["form"], r["term"]))
    for r in _rows("generic_words.csv"):
        _add(latin, han, r["term"], Entry(r["role"], r["role"], r["term"]))
    for r in _rows("business_terms.csv"):
        _add(latin, han, r["term"], Entry("concept", r["concept"], r["term"]))
    for r in _rows("places.csv"):
        _add(latin, han, r["term"], Entry("place", r["place"], r["term"]))
    return Lexicon(latin, max(map(len, latin)), han, max(map(len, han)))


@dataclass(frozen=True, slots=True)
class Title:
    marked: str  # casefolded, diacritics kept: "chị"
    position: str  # leading | trailing
    ambiguous: bool  # the folded form is also a common name ("anh", "chi")


@functools.cache
def person_titles() -> dict[str, Title]:
    """Folded title -> Title. Leading Latin titles and trailing Chinese ones (张先生)."""
    out: dict[str, Title] = {}
    for r in _rows("person_titles.csv"):
        toks = fold_tokens(r["title"])
        if len(toks) == 1:
            out[toks[0]] = Title(r["title"].casefold(), r["position"], r["ambiguous"] == "1")
    return out


@functools.cache
def name_weights() -> dict[str, float]:
    """Folded (Chinese: pinyin) name token -> weight below 1 for very common family/middle names."""
    out: dict[str, float] = {}
    for r in _rows("name_weights.csv"):
        toks = fold_tokens(r["token"])
        if len(toks) != 1:
            continue
        key = "".join(pinyin_syllables(toks[0])) if is_han(toks[0]) else toks[0]
        out.setdefault(key, float(r["weight"]))
    return out


@dataclass(frozen=True, slots=True)
class Abbreviation:
    expansion: tuple[str, ...]
    needs_dot: bool  # single letters ("P.", "Q.") count only with a dot or a number glued on


@functools.cache
def address_abbreviations() -> tuple[dict[tuple[str, ...], Abbreviation], int]:
    out: dict[tuple[str, ...], Abbreviation] = {}
    for r in _rows("address_abbreviations.csv"):
        toks = fold_tokens(r["term"])
        if toks:
            out.setdefault(tuple(toks), Abbreviation(tuple(fold_tokens(r["expansion"])), r["needs_dot"] == "1"))
    return out, max(map(len, out))


@functools.cache
def placeholders() -> tuple[frozenset[str], tuple[str, ...]]:
    """(exact folded values, folded prefixes)."""
    exact: set[str] = set()
    prefixes: list[str] = []
    for r in _rows("placeholders.csv"):
        folded = " ".join(fold_tokens(r["value"]))
        if r["match"] == "prefix":
            prefixes.append(folded)
        else:
            exact.add(folded)
    return frozenset(exact), tuple(prefixes)


@dataclass(frozen=True, slots=True)
class Calibration:
    """A monotone map from a raw score to the share of true matches, per scorer path (``calibration.csv``)."""

    version: str
    curves: dict[str, tuple[tuple[float, ...], tuple[float, ...]]]  # group -> (raw points, calibrated points)

    def apply(self, group: str, raw: float) -> float | None:
        """The calibrated score, linear between the fitted points; None when the group has no curve."""
        curve = self.curves.get(group)
        if curve is None:
            return None
        xs, ys = curve
        if raw <= xs[0]:
            return ys[0]
        if raw >= xs[-1]:
            return ys[-1]
        i = bisect.bisect_right(xs, raw)
        x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
        return y0 + (y1 - y0) * (raw - x0) / (x1 - x0) if x1 > x0 else y1


@functools.cache
def calibration() -> Calibration:
    points: dict[str, list[tuple[float, float]]] = {}
    versions: set[str] = set()
    for r in _rows("calibration.csv"):
        versions.add(r["version"])
        points.setdefault(r["group"], []).append((float(r["raw"]), float(r["calibrated"])))
    curves = {}
    for group, pts in points.items():
        pts.sort()
        curves[group] = (tuple(x for x, _ in pts), tuple(y for _, y in pts))
    return Calibration(",".join(sorted(versions)), curves)


@dataclass(frozen=True, slots=True)
class KoreanSurnames:
    hangul: dict[str, str]  # 김 -> gim (Revised Romanization)
    spellings: dict[str, frozenset[str]]  # kim -> {gim}; yu -> {ryu, yu, yeo}: every surname a spelling may stand for


@functools.cache
def korean_surnames() -> KoreanSurnames:
    """Korean surnames in Hangul with their Revised Romanization and common passport spellings."""
    hangul: dict[str, str] = {}
    spellings: dict[str, set[str]] = {}
    for r in _rows("korean_surnames.csv"):
        rr = r["rr"].casefold()
        hangul.setdefault(r["hangul"], rr)
        for s in [rr, *r["spellings"].split("|")]:
            s = s.strip().casefold()
            if s:
                spellings.setdefault(s, set()).add(rr)
    return KoreanSurnames(hangul, {k: frozenset(v) for k, v in spellings.items()})
