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


@functools.lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower-case, strip diacritics (Vietnamese đ -> d), NFKC-normalise; keeps CJK characters."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", text).translate(_SPECIAL_FOLD)
    stripped = _COMBINING_RE.sub("", unicodedata.normalize("NFKD", text))
    return unicodedata.normalize("NFKC", stripped).casefold()


def tokens(text: str) -> list[str]:
    """Folded word tokens; each CJK character is its own token (no word segmentation needed)."""
    return list(_tokens(text))


@functools.lru_cache(maxsize=65536)
def _tokens(text: str) -> tuple[str, ...]:
    folded = fold(text)
    if not folded.isascii():
        folded = _CJK_RE.sub(r" \1 ", folded)
    return tuple(filter(None, _NON_WORD_RE.split(folded)))


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
