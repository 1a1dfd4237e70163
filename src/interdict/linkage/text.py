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


_UNSPACED_RE = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]")


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
        unspaced = _UNSPACED_RE.search(folded) is not None
        folded = _fold_word(_TRANSLIT_JOINERS.sub("", ascii_text(folded)))
        if unspaced:
            # Thai, Lao, Khmer, Myanmar write a name without spaces: the transliteration's spaces are syllables,
            # not words ("นะทะนเรนเนลล" -> "na tha nrennell"), so the word stays one token.
            return ("".join(_tokens(folded)),) if folded.strip() else ()
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


# Korean: the Revised Romanization of Korean (Ministry of Culture and Tourism, notice 2000-8), per syllable:
# initial consonant, vowel, final consonant as pronounced at the end of a syllable.
_RR_INITIALS = ("g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h")
_RR_VOWELS = (
    "a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo",
    "u", "wo", "we", "wi", "yu", "eu", "ui", "i",
)  # fmt: skip
_RR_FINALS = (
    "", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l",
    "m", "p", "p", "t", "t", "ng", "t", "t", "k", "t", "p", "t",
)  # fmt: skip


def is_hangul_word(token: str) -> bool:
    """Whether a token is written in Hangul syllables only ("김정은")."""
    return bool(token) and all("\uac00" <= ch <= "\ud7a3" for ch in token)


def hangul_syllables(token: str) -> tuple[str, ...]:
    """Revised Romanization of each Hangul syllable, kept apart: 김정은 -> ("gim", "jeong", "eun")."""
    out: list[str] = []
    for ch in token:
        code = ord(ch) - 0xAC00
        if not 0 <= code < 11172:
            continue
        out.append(_RR_INITIALS[code // 588] + _RR_VOWELS[(code % 588) // 28] + _RR_FINALS[code % 28])
    return tuple(out)


def has_hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def has_kana(text: str) -> bool:
    return any("\u30a0" <= ch <= "\u30ff" or "\u3040" <= ch <= "\u309f" or "\uff66" <= ch <= "\uff9f" for ch in text)


# Spellings of one Korean sound in the romanisations people use (Revised, McCune-Reischauer without breves,
# passport spellings): ㅓ eo/o/u, ㅡ eu/u, ㅜ u/oo; g/k, d/t, b/p, j/ch; r/l; a silent h after a vowel (Ahn, Oh).
_KO_STEPS = (
    (re.compile("sh"), "s"),
    (re.compile("ch"), "j"),
    (re.compile("(kk|gg)"), "g"),
    (re.compile("(tt|dd)"), "d"),
    (re.compile("(pp|bb)"), "b"),
    (re.compile("(ss)"), "s"),
    (re.compile("(jj)"), "j"),
    (re.compile("k"), "g"),
    (re.compile("t"), "d"),
    (re.compile("p"), "b"),
    (re.compile("l"), "r"),
    (re.compile("ee|ui"), "i"),
    (re.compile("(eo|eu|oo|ou|u)"), "o"),
    (re.compile("ae"), "e"),
    (re.compile("([aeio])h(?![aeiouwy])"), r"\1"),
)
# Japanese: Hepburn, Kunrei-shiki and the spellings of long vowels (Satou/Sato/Satoh, Yuuko/Yuko, Ōno/Ohno/Oono).
_JA_STEPS = (
    (re.compile("sh|sy"), "s"),
    (re.compile("ch|ty"), "t"),
    (re.compile("ts"), "t"),
    (re.compile("zy|j"), "z"),
    (re.compile("f"), "h"),
    (re.compile("v"), "b"),
    (re.compile("l"), "r"),
    (re.compile("m(?=[bp])"), "n"),
    (re.compile("([aeiou])h(?![aeiouy])"), r"\1"),
    (re.compile("ou|oo"), "o"),
    (re.compile("ei"), "e"),
    (re.compile("([aeiu])\\1"), r"\1"),
    (re.compile("([bdgkmnprstz])\\1"), r"\1"),
)


@functools.lru_cache(maxsize=65536)
def korean_key(token: str) -> str:
    """One spelling for the romanisations of a Korean name part: "jeong", "jung", "chung" -> "jong"."""
    for pattern, repl in _KO_STEPS:
        token = pattern.sub(repl, token)
    return token


@functools.lru_cache(maxsize=65536)
def japanese_key(token: str) -> str:
    """One spelling for the romanisations of a Japanese name part: "satou", "satoh", "sato" -> "sato"."""
    for pattern, repl in _JA_STEPS:
        token = pattern.sub(repl, token)
    return token
