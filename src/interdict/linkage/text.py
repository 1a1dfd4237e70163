"""Low-level text helpers for linkage: folding, tokens, Han -> pinyin, Vietnamese syllables."""

from __future__ import annotations

import functools
import re
import unicodedata

from pypinyin import lazy_pinyin
from rigour.text import ascii_text

from interdict.core.text import fold as _fold_word

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"


def _mark_ranges() -> str:
    """Every combining mark of the Basic Multilingual Plane as a character-class body: the vowel signs of
    Devanagari and Thai, Arabic and Hebrew points belong to the word they are written in."""
    out: list[str] = []
    start = prev = -2
    for cp in range(0x300, 0x10000):
        if unicodedata.category(chr(cp)).startswith("M"):
            if cp != prev + 1:
                if start >= 0:
                    out.append(f"\\u{start:04x}-\\u{prev:04x}")
                start = cp
            prev = cp
    out.append(f"\\u{start:04x}-\\u{prev:04x}")
    return "".join(out)


# A run of Chinese characters, or a run of other letters/digits (with their combining marks):
# "abc贸易" -> "abc", "贸易"; "राहुल" stays one word.
_MARKS = _mark_ranges()
_TOKEN_MARKS_RE = re.compile(f"[{_CJK}]+|[^\\W_{_CJK}](?:[^\\W_{_CJK}]|[{_MARKS}])*")
_PLAIN_TOKEN_RE = re.compile(f"[{_CJK}]+|[^\\W_{_CJK}]+")
_HAS_MARK_RE = re.compile(f"[{_MARKS}]")


def _tokens(text: str) -> list[str]:
    """The plain pattern unless the text has a combining mark (rare once NFKC has composed Latin letters)."""
    return (_TOKEN_MARKS_RE if _HAS_MARK_RE.search(text) else _PLAIN_TOKEN_RE).findall(text)


# What a transliteration writes inside a word: "gimjeong-eun", "smw'l".
_TRANSLIT_JOINERS = re.compile("[-'\u02bc\u02bb?]")
_HAN_RE = re.compile(f"[{_CJK}]")

# One Vietnamese syllable without diacritics (onset, nucleus, coda). Used to decide that two
# different short tokens are different names rather than a typo: "hoang" vs "hoan", "phat" vs
# "phap" are distinct Vietnamese words, while "micheal" vs "michael" is a typo.
_VN_SYLLABLE_RE = re.compile(
    r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?"
    r"(?:uyen|uyet|uye|uya|uyu|uoi|uou|oai|oay|oao|oeo|ieu|yeu|ai|ao|au|ay|eo|eu|ia|iu|oa|oe|oi|oo|ua|uay|"
    r"uai|ue|ui|uo|uu|uy|ye|ie|a|e|i|o|u|y)"
    r"(?:ch|ng|nh|c|m|n|p|t)?"
)


def is_han(token: str) -> bool:
    return bool(token) and _HAN_RE.match(token) is not None


@functools.lru_cache(maxsize=262144)
def is_vn_syllable(token: str) -> bool:
    return _VN_SYLLABLE_RE.fullmatch(token) is not None


# Vietnamese text often carries the Icelandic eth (Ð, U+00D0) where Đ (U+0110) is meant: the two
# look the same. Read it as Đ.
ETH = str.maketrans({"Ð": "Đ", "ð": "đ"})


def marked_tokens(text: str) -> list[str]:
    """NFKC + casefold tokens with diacritics kept: "Nguyễn Văn-Hùng" -> nguyễn, văn, hùng."""
    return _tokens(unicodedata.normalize("NFKC", text).translate(ETH).casefold())


def has_tone_marks(marked: str, folded: str) -> bool:
    """Whether a token carries diacritics other than đ (which many type even without accents).

    A token of another script ("владимир", read "vladimir") has none: it was transliterated, not marked.
    """
    return marked.replace("đ", "d") != folded and _is_latin(marked)


@functools.lru_cache(maxsize=262144)
def _is_latin(token: str) -> bool:
    return all(ch.isascii() or not ch.isalpha() or "LATIN" in unicodedata.name(ch, "") for ch in token)


@functools.lru_cache(maxsize=262144)
def fold_token(token: str) -> tuple[str, ...]:
    """Fold one marked token (diacritics off, đ -> d); usually one token, rarely none or several.

    A token of another script than Latin or Chinese characters (Cyrillic, Greek, Arabic, Hebrew, Georgian,
    Armenian, Devanagari, Thai, Hangul, Kana, Ethiopic...) is transliterated to Latin letters by rigour
    (``ascii_text``, ICU-based tables): "Владимир" -> "vladimir", so it meets its Latin spelling.
    """
    folded = _fold_word(token)
    if not folded.isascii() and not is_han(folded):
        folded = _fold_word(_TRANSLIT_JOINERS.sub("", ascii_text(folded)))
    return tuple(_tokens(folded))


def token_pairs(text: str) -> list[tuple[str, str]]:
    """(marked, folded) token pairs, aligned: ("hùng", "hung")."""
    out: list[tuple[str, str]] = []
    for marked in marked_tokens(text):
        for folded in fold_token(marked):
            out.append((marked, folded))
    return out


def fold_tokens(text: str) -> list[str]:
    return [f for _, f in token_pairs(text)]


def fold(text: str) -> str:
    """NFKC, casefold, diacritics removed (Vietnamese đ -> d), punctuation -> space, spaces collapsed.

    Chinese characters are kept (as separate runs): "Cty TNHH Hoàng-Anh" -> "cty tnhh hoang anh".
    """
    return " ".join(fold_tokens(text))


@functools.lru_cache(maxsize=65536)
def pinyin_syllables(han: str) -> tuple[str, ...]:
    """Toneless pinyin syllables of a Chinese run, ü written u: 华强 -> ("hua", "qiang")."""
    out: list[str] = []
    for syl in lazy_pinyin(han, v_to_u=True):
        out.extend(fold_token(syl.casefold()))
    return tuple(out)


@functools.cache
def pinyin_syllable_set() -> frozenset[str]:
    """Every toneless pinyin syllable pypinyin gives for the CJK Unified Ideographs (about 400)."""
    from pypinyin import Style, lazy_pinyin

    chars = "".join(chr(c) for c in range(0x4E00, 0x9FA6))
    return frozenset(s for s in lazy_pinyin(chars, style=Style.NORMAL, errors="ignore") if s.isalpha())


@functools.lru_cache(maxsize=262144)
def is_pinyin_word(token: str) -> bool:
    """Whether a folded token is one or more pinyin syllables run together ("fanglin", "huaqiang")."""
    if not token.isascii() or not token.isalpha() or len(token) > 24:
        return False
    syllables = pinyin_syllable_set()
    ok = [True] + [False] * len(token)
    for end in range(1, len(token) + 1):
        ok[end] = any(ok[start] and token[start:end] in syllables for start in range(max(0, end - 6), end))
    return ok[-1]
