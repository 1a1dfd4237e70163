"""Text normalisation shared by search, reference resolution and (later) linkage."""

from __future__ import annotations

import functools
import re
import unicodedata

_SPECIAL_FOLD = str.maketrans({"đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss"})
_CJK_RE = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af])")
_NON_WORD_RE = re.compile(r"[\W_]+")
_SPACE_RE = re.compile(r"\s+")
# Combining marks (diacritics) of the Latin, Greek and Cyrillic scripts, as NFKD leaves them.
_COMBINING_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


# Names, words and codes recur from record to record, so their folding is cached; a narrative or a description is
# seen once, and caching it would only keep it in memory (65,536 narratives of a few KB each, in every server process).
_CACHED_LENGTH = 100


def fold(text: str) -> str:
    """Lower-case, strip diacritics (Vietnamese đ -> d), NFKC-normalise; keeps CJK characters."""
    return _fold_cached(text) if len(text) <= _CACHED_LENGTH else _fold(text)


def _fold(text: str) -> str:
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", text).translate(_SPECIAL_FOLD)
    stripped = _COMBINING_RE.sub("", unicodedata.normalize("NFKD", text))
    return unicodedata.normalize("NFKC", stripped).casefold()


_fold_cached = functools.lru_cache(maxsize=65536)(_fold)


def tokens(text: str) -> list[str]:
    """Folded word tokens; each CJK character is its own token (no word segmentation needed)."""
    return list(_tokens(text))


def _tokens(text: str) -> tuple[str, ...]:
    return _tokens_cached(text) if len(text) <= _CACHED_LENGTH else _split(text)


def _split(text: str) -> tuple[str, ...]:
    folded = _fold(text)
    if not folded.isascii():
        folded = _CJK_RE.sub(r" \1 ", folded)
    return tuple(filter(None, _NON_WORD_RE.split(folded)))


_tokens_cached = functools.lru_cache(maxsize=65536)(_split)


def search_document(*parts: str | None) -> str:
    """A whitespace-joined folded token string, the form stored for full-text search."""
    out: list[str] = []
    for part in parts:
        if part:
            out.extend(_tokens(part))
    return " ".join(out)


def compact(text: str) -> str:
    """Folded, with everything but letters and digits removed: 'P-2-P' -> 'p2p'."""
    return "".join(ch for ch in fold(text) if ch.isalnum())


def squash_spaces(text: str) -> str:
    return _SPACE_RE.sub(" ", text).strip()


# Bidirectional formatting characters: embeddings and overrides (U+202A–U+202E), isolates (U+2066–U+2069) and the
# implicit marks LRM, RLM and ALM (U+200E, U+200F, U+061C). An override turns "invoice\u202efdp.exe" into what reads
# as "invoiceexe.pdf", and a name into another one. Interdict's names and text need none of them: Vietnamese, Chinese
# and Latin text is left-to-right, and Arabic or Hebrew letters carry their own direction (the marks only nudge where
# neutral characters such as brackets fall in mixed text, a cosmetic loss), so they are removed from input.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# A character class, not str.translate: on the names of a bulk import the regular expression is about ten times faster.
_BIDI_RE = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def strip_bidi(text: str) -> str:
    """``text`` without bidirectional formatting characters (:data:`BIDI_CONTROLS`)."""
    return text if text.isascii() else _BIDI_RE.sub("", text)


def strip_bidi_deep(value: object, keep: frozenset[str] = frozenset()) -> object:
    """:func:`strip_bidi` on every string inside ``value`` (dicts, lists, tuples), except dict entries named in
    ``keep`` (secrets such as passwords, compared as typed). ASCII strings, most of any input, cost one test."""
    if isinstance(value, str):
        return value if value.isascii() else _BIDI_RE.sub("", value)
    if isinstance(value, dict):
        return {
            k: v if k in keep or (type(v) is str and v.isascii()) else strip_bidi_deep(v, keep)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(v if type(v) is str and v.isascii() else strip_bidi_deep(v, keep) for v in value)
    return value
