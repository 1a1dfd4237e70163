"""Why two entities may be the same, in the reader's language.

The scorer (:mod:`interdict.linkage.score`) writes its reasons as English sentences, stored with each link. They are
shown through :func:`reason_message`, which reads them back into catalogue messages; the codes inside them (business
concepts such as ``import_export``, legal forms such as ``one_member_llc``, places such as ``haiphong``) are shown by
the terms of the linkage tables in the reader's language, never as codes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Self

from interdict.core.i18n import N_, Message
from interdict.linkage.tables import _rows


class TermLabel(Message):
    """A code of the linkage tables (concept, legal form, place), shown by its term in the reader's language."""

    table: str

    def __new__(cls, table: str, code: str) -> Self:
        obj = super().__new__(cls, _terms(table).get((code, "en")) or code.replace("_", " "))
        obj.table = table
        obj.msgid = code
        obj.params = {}
        return obj

    def in_lang(self, lang: str | None) -> str:
        terms = _terms(self.table)
        return terms.get((self.msgid, lang or "en")) or terms.get((self.msgid, "en")) or self.msgid.replace("_", " ")

    def __reduce__(self) -> tuple[object, ...]:
        return (TermLabel, (self.table, self.msgid))


_TABLES = {
    "concept": ("business_terms.csv", "concept"),
    "legal": ("legal_forms.csv", "form"),
    "place": ("places.csv", "place"),
}
# English descriptions of the legal forms (the tables hold the forms as written in each language).
_LEGAL_EN = {
    "one_member_llc": "one-member limited liability company",
    "llc": "limited liability company",
    "jsc": "joint-stock company",
    "branch": "branch",
    "corporation": "corporation",
    "partnership": "partnership",
    "sole_proprietorship": "sole proprietorship",
}


@functools.cache
def _terms(table: str) -> dict[tuple[str, str], str]:
    """(code, lang) -> the first term of the code in that language."""
    name, column = _TABLES[table]
    out: dict[tuple[str, str], str] = {}
    for r in _rows(name):
        out.setdefault((r[column], r["lang"]), r["term"])
    if table == "legal":
        out.update({(code, "en"): text for code, text in _LEGAL_EN.items()})
    return out


def _codes(table: str, text: str) -> Message:
    """'a, b' of codes -> their terms, comma-separated, in the reader's language."""
    codes = [c.strip() for c in text.split(",") if c.strip()]
    return _Joined([TermLabel(table, c) for c in codes])


class _Joined(Message):
    """Several messages shown comma-separated."""

    items: list[Message]

    def __new__(cls, items: list[Message]) -> Self:
        obj = super().__new__(cls, ", ".join(str(i) for i in items))
        obj.items = items
        obj.msgid = str(obj)
        obj.params = {}
        return obj

    def in_lang(self, lang: str | None) -> str:
        return ", ".join(i.in_lang(lang) for i in self.items)

    def __reduce__(self) -> tuple[object, ...]:
        return (_Joined, (self.items,))


_FIXED = {
    "same name tokens": N_("same name tokens"),
    "same name tokens in another order": N_("same name tokens in another order"),
    "one side written without diacritics": N_("one side written without diacritics"),
    "no distinctive name on both sides": N_("no distinctive name on both sides"),
    "no distinctive name on one side": N_("no distinctive name on one side"),
    "same core name after legal form removal": N_("same core name after legal form removal"),
    "same vessel name": N_("same vessel name"),
    "compared across scripts after transliteration": N_("compared across scripts after transliteration"),
    "Korean romanisations compared alike": N_("Korean romanisations compared alike"),
    "Japanese romanisations compared alike": N_("Japanese romanisations compared alike"),
}

# How two parts of international person names met (linkage.score._KIND_WORDS), as written in a stored reason.
_PART_KINDS: dict[str, Callable[[re.Match[str]], Message]] = {
    "nickname": lambda m: N_("nickname: %(a)s ~ %(b)s (%(score)s)", a=m[2], b=m[3], score=m[4]),
    "short form": lambda m: N_("short form: %(a)s ~ %(b)s (%(score)s)", a=m[2], b=m[3], score=m[4]),
    "initial": lambda m: N_("initial: %(a)s ~ %(b)s (%(score)s)", a=m[2], b=m[3], score=m[4]),
    "sounds alike": lambda m: N_("sounds alike: %(a)s ~ %(b)s (%(score)s)", a=m[2], b=m[3], score=m[4]),
    "same consonants": lambda m: N_("same consonants: %(a)s ~ %(b)s (%(score)s)", a=m[2], b=m[3], score=m[4]),
    "similar spelling": lambda m: N_("similar spelling: %(a)s ~ %(b)s (%(score)s)", a=m[2], b=m[3], score=m[4]),
}

_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Message]]] = [
    (
        re.compile(r"^similar: (.+) ~ (.+) \((\d\.\d\d)\)$"),
        lambda m: N_("similar: %(a)s ~ %(b)s (%(score)s)", a=m[1], b=m[2], score=m[3]),
    ),
    (
        re.compile(r"^(" + "|".join(map(re.escape, _PART_KINDS)) + r"): (.+) ~ (.+) \((\d\.\d\d)\)$"),
        lambda m: _PART_KINDS[m[1]](m),
    ),
    (
        re.compile(r"^a man's and a woman's name: (.+) / (.+)$"),
        lambda m: N_("a man's and a woman's name: %(a)s / %(b)s", a=m[1], b=m[2]),
    ),
    (
        re.compile(r"^name parts on one side only: (.+)$"),
        lambda m: N_("name parts on one side only: %(words)s", words=m[1]),
    ),
    (
        re.compile(r"^different generations: (.+) / (.+)$"),
        lambda m: N_("different generations: %(a)s / %(b)s", a=m[1], b=m[2]),
    ),
    (
        re.compile(r"^compared as one word: (.+) ~ (.+)$"),
        lambda m: N_("compared as one word: %(a)s ~ %(b)s", a=m[1], b=m[2]),
    ),
    (re.compile(r"^acronym: (\S+) = (.+)$"), lambda m: N_("acronym: %(acronym)s = %(name)s", acronym=m[1], name=m[2])),
    (re.compile(r"^diacritics differ: (.+) ≠ (.+)$"), lambda m: N_("diacritics differ: %(a)s ≠ %(b)s", a=m[1], b=m[2])),
    (re.compile(r"^unmatched: (.+)$"), lambda m: N_("unmatched: %(words)s", words=m[1])),
    (
        re.compile(r"^distinctive words not matched: (.+)$"),
        lambda m: N_("distinctive words not matched: %(words)s", words=m[1]),
    ),
    (re.compile(r"^not matched: (.+)$"), lambda m: N_("not matched: %(words)s", words=m[1])),
    (re.compile(r"^same distinctive name: (.+)$"), lambda m: N_("same distinctive name: %(name)s", name=m[1])),
    (re.compile(r"^translation: (.+) = (.+)$"), lambda m: N_("translation: %(a)s = %(b)s", a=m[1], b=m[2])),
    (
        re.compile(r"^same business: (\w+)$"),
        lambda m: N_("same business: %(business)s", business=TermLabel("concept", m[1])),
    ),
    (
        re.compile(r"^different business: ([\w, ]+) / ([\w, ]+)$"),
        lambda m: N_("different business: %(a)s / %(b)s", a=_codes("concept", m[1]), b=_codes("concept", m[2])),
    ),
    (
        re.compile(r"^same legal form: (\w+)$"),
        lambda m: N_("same legal form: %(form)s", form=TermLabel("legal", m[1])),
    ),
    (
        re.compile(r"^legal forms differ: (\w+) / (\w+)$"),
        lambda m: N_("legal forms differ: %(a)s / %(b)s", a=TermLabel("legal", m[1]), b=TermLabel("legal", m[2])),
    ),
    (re.compile(r"^same place: ([\w, ]+)$"), lambda m: N_("same place: %(places)s", places=_codes("place", m[1]))),
    (
        re.compile(r"^different places: ([\w, ]+)$"),
        lambda m: N_("different places: %(places)s", places=_codes("place", m[1])),
    ),
]


def reason_message(text: object) -> object:
    """One stored reason as a message in the reader's language (a reason of another shape is shown as stored)."""
    if not isinstance(text, str) or isinstance(text, Message):
        return text
    if text in _FIXED:
        return _FIXED[text]
    for pattern, make in _PATTERNS:
        m = pattern.match(text)
        if m:
            return make(m)
    return text
