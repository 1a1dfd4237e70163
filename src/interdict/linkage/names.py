"""Company and person names -> comparable forms (Vietnamese, English, Chinese characters or pinyin).

Company: legal forms ("CÔNG TY TNHH", "Co., Ltd", "有限公司"), generic words ("công ty", "cty")
and connectors are taken out; business words become language-neutral concept ids
("thương mại" = "trading" = 贸易 -> ``trading``); places become place ids ("深圳市" = "Shenzhen");
what is left is the distinctive part of the name, the part that identifies the company. Chinese
characters are read as toneless pinyin, per syllable (hua, qiang) and per word (huaqiang).

rigour (``rigour.names``) knows many legal forms of the world, but not Vietnamese ones written
with diacritics ("CÔNG TY TNHH", "CÔNG TY CỔ PHẦN"), nor Chinese ones inside unspaced text
(深圳市华强贸易有限公司), nor Vietnamese honorifics ("Ông", "Bà"): the project's tables cover
those (tests/linkage/test_normalise.py shows the gap). rigour is used only as a fallback for
foreign legal forms at the end of a name that the tables do not list ("GmbH", "S.A.", "OOO").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from rigour.names import extract_org_types

from interdict.linkage.tables import Entry, company_lexicon, korean_surnames, name_weights, person_titles
from interdict.linkage.text import (
    fold_token,
    hangul_syllables,
    has_tone_marks,
    is_han,
    is_hangul_word,
    pinyin_syllables,
    token_pairs,
)

# An administrative prefix of a Chinese name not in places.csv: 2-3 characters + 省/市/县/自治区,
# at the start ("东莞市..."); 市场 (market) is not a city.
_HAN_ADMIN_RE = re.compile("([\u4e00-\u9fff]{2,3}?)(?:自治区|省|市(?!场)|县)")
_HAN_ADMIN_SUFFIX = frozenset("省市县区")


@dataclass(frozen=True, slots=True)
class CompanyName:
    original: str
    folded: str
    legal_form: str | None  # canonical code (llc, jsc, one_member_llc, branch, ...); branch wins
    legal_forms: tuple[str, ...]  # every legal form found, in order
    core: str  # folded name without legal forms, generic words and connectors
    core_tokens: tuple[str, ...]
    distinctive: tuple[str, ...]  # folded tokens that are not business words/places; Han as pinyin syllables
    marked: tuple[str, ...]  # the distinctive tokens with their diacritics ("hoàng"), aligned
    pinyin: tuple[str, ...]  # pinyin syllables of every Chinese character of the core
    pinyin_words: tuple[str, ...]  # pinyin of each Chinese word of the core: 华强 -> huaqiang
    concepts: frozenset[str]
    places: frozenset[str]
    terms: tuple[tuple[str, str], ...]  # (term as found, concept id) for explanations
    generic: bool  # a generic company word was found ("công ty", "company", 公司)

    @property
    def has_marks(self) -> bool:
        """Whether the name was written with Vietnamese diacritics (so their absence means something)."""
        return any(has_tone_marks(m, f) for m, f in zip(self.marked, self.distinctive, strict=True))


@dataclass(frozen=True, slots=True)
class PersonName:
    original: str
    folded: str
    tokens: tuple[str, ...]  # folded, titles dropped; Chinese characters as pinyin syllables
    marked: tuple[str, ...]  # the same tokens with diacritics, aligned
    key: str  # order-independent: sorted tokens joined by a space
    maybe_title: str | None  # first token, kept, that may be a title ("anh", "chi")
    has_marks: bool


def _latin_entry(folded: list[str], i: int) -> tuple[Entry, int] | None:
    lex = company_lexicon()
    n = len(folded)
    for length in range(min(lex.latin_max, n - i), 0, -1):
        seq = folded[i : i + length]
        if any(is_han(t) for t in seq):
            continue
        entry = lex.latin.get(tuple(seq))
        if entry is not None:
            return entry, length
        if length > 1 and length <= 3:
            # A place or business word written in separate pinyin syllables: "Shen Zhen", "Mao Yi".
            entry = lex.latin.get(("".join(seq),))
            if entry is not None and entry.role in ("place", "concept"):
                return entry, length
    # English plural or singular of a listed word: "logistic", "chemical", "foodstuff".
    tok = folded[i]
    if len(tok) > 4 and tok.isascii() and tok.isalpha():
        other = tok[:-1] if tok.endswith("s") else tok + "s"
        entry = lex.latin.get((other,))
        if entry is not None and entry.role == "concept":
            return entry, 1
    return None


def _han_entry(run: str, j: int) -> tuple[Entry, int] | None:
    lex = company_lexicon()
    for length in range(min(lex.han_max, len(run) - j), 0, -1):
        entry = lex.han.get(run[j : j + length])
        if entry is not None:
            return entry, length
    return None


class _CompanyBuilder:
    def __init__(self) -> None:
        self.legal: list[str] = []
        self.core: list[str] = []
        self.distinctive: list[str] = []
        self.marked: list[str] = []
        self.pinyin: list[str] = []
        self.pinyin_words: list[str] = []
        self.concepts: set[str] = set()
        self.places: set[str] = set()
        self.terms: list[tuple[str, str]] = []
        self.generic = False

    def entry(self, entry: Entry, found: str, core_tokens: list[str]) -> None:
        if entry.role == "legal":
            self.legal.append(entry.value)
        elif entry.role == "concept":
            self.concepts.add(entry.value)
            self.terms.append((found, entry.value))
            self.core.extend(core_tokens)
        elif entry.role == "place":
            self.places.add(entry.value)
            self.core.extend(core_tokens)
        elif entry.role == "generic":
            self.generic = True
        # connectors and vessel prefixes: dropped

    def han_word(self, word: str) -> None:
        syllables = pinyin_syllables(word)
        self.core.append(word)
        self.pinyin.extend(syllables)
        self.pinyin_words.append("".join(syllables))
        self.distinctive.extend(syllables)
        self.marked.extend(syllables)

    def han_run(self, run: str) -> None:
        j = 0
        buf = ""
        at_start = True  # only a prefix can be an administrative place
        while j < len(run):
            hit = _han_entry(run, j)
            if hit is None and at_start and (m := _HAN_ADMIN_RE.match(run, j)) is not None:
                place = "".join(pinyin_syllables(m.group(1)))
                self.entry(Entry("place", place, m.group(1)), m.group(1), [m.group(1)])
                j = m.end()
                continue
            if hit is None:
                buf += run[j]
                j += 1
                at_start = False
                continue
            entry, length = hit
            if buf:
                self.han_word(buf)
                buf = ""
            found = run[j : j + length]
            self.entry(entry, found, [found])
            if entry.role == "concept":
                self.pinyin.extend(pinyin_syllables(found))
            j += length
            if entry.role == "place":
                while j < len(run) and run[j] in _HAN_ADMIN_SUFFIX:
                    j += 1
            else:
                at_start = False
        if buf:
            self.han_word(buf)


# Russian short legal forms, which are also syllables in Latin letters (Ao, Pao, Zao): taken as legal forms only at
# the start or the end of a name — written in Cyrillic, or in Latin letters when rigour finds them there. The joint
# stock companies (АО, and the older ЗАО closed, ОАО open, ПАО public, НАО non-public) are all ``jsc`` as JSC, CJSC,
# OJSC, PJSC are in legal_forms.csv; ИП is a sole proprietor.
_CYRILLIC_SHORT_FORMS = {
    "ао": "jsc",
    "зао": "jsc",
    "оао": "jsc",
    "пао": "jsc",
    "нао": "jsc",
    "ип": "sole_proprietorship",
}
_RIGOUR_SHORT_FORMS = {"other:ao": "jsc", "other:zao": "jsc", "other:oao": "jsc", "other:pao": "jsc"}


def _cyrillic_short_form(pairs: list[tuple[str, str]], b: _CompanyBuilder) -> list[tuple[str, str]]:
    """Take a Russian short legal form written in Cyrillic off the start or the end of a name: ПАО Газпром."""
    if len(pairs) < 2:
        return pairs
    for idx in (0, len(pairs) - 1):
        form = _CYRILLIC_SHORT_FORMS.get(pairs[idx][0])
        if form is not None:
            b.legal.append(form)
            return pairs[1:] if idx == 0 else pairs[:-1]
    return pairs


def _rigour_legal_form(original: str, b: _CompanyBuilder) -> str | None:
    """A foreign legal form at the end of the name that the tables lack (GmbH, S.A., OOO)."""
    found = extract_org_types(original)
    if not found:
        return None
    text, compare = found[-1]
    toks = [f for _, f in token_pairs(text)]
    n = len(toks)
    if n and len(b.distinctive) > n and b.distinctive[-n:] == toks and b.core[-n:] == toks:
        del b.distinctive[-n:], b.marked[-n:], b.core[-n:]
        return "other:" + "".join(fold_token(compare))
    # Or at the start, as Russian and Indonesian write it: АО "Ромашка", PT Maju Jaya.
    text, compare = found[0]
    toks = [f for _, f in token_pairs(text)]
    n = len(toks)
    if n and len(b.distinctive) > n and b.distinctive[:n] == toks and b.core[:n] == toks:
        del b.distinctive[:n], b.marked[:n], b.core[:n]
        return "other:" + "".join(fold_token(compare))
    return None


@functools.lru_cache(maxsize=65536)
def company(text: str) -> CompanyName:
    """Normalise a company name once; cached (the same names recur across shipments)."""
    b = _CompanyBuilder()
    pairs = _cyrillic_short_form(token_pairs(text), b)
    folded = [f for _, f in pairs]
    i = 0
    while i < len(pairs):
        marked, tok = pairs[i]
        if is_han(tok):
            b.han_run(tok)
            i += 1
            continue
        hit = _latin_entry(folded, i)
        if hit is None:
            b.distinctive.append(tok)
            b.marked.append(marked)
            b.core.append(tok)
            i += 1
            continue
        entry, length = hit
        seq = folded[i : i + length]
        b.entry(entry, " ".join(pairs[k][0] for k in range(i, i + length)), seq)
        i += length
    if not b.legal:
        form = _rigour_legal_form(text, b)
        if form is not None:
            b.legal.append(_RIGOUR_SHORT_FORMS.get(form, form))
    legal_form = next((f for f in ("branch", "one_member_llc") if f in b.legal), b.legal[0] if b.legal else None)
    return CompanyName(
        original=text,
        folded=" ".join(folded),
        legal_form=legal_form,
        legal_forms=tuple(b.legal),
        core=" ".join(b.core),
        core_tokens=tuple(b.core),
        distinctive=tuple(b.distinctive),
        marked=tuple(b.marked),
        pinyin=tuple(b.pinyin),
        pinyin_words=tuple(b.pinyin_words),
        concepts=frozenset(b.concepts),
        places=frozenset(b.places),
        terms=tuple(b.terms),
        generic=b.generic,
    )


def company_markers(text: str) -> bool:
    """Whether a name carries a legal form, a generic company word or a business word."""
    c = company(text)
    # Legal forms found only by rigour do not count: many are also name syllables ("YANG Na" has
    # "NA", National Association; "Wei Ming Ong" has "ONG", French for NGO).
    forms = [f for f in c.legal_forms if not f.startswith("other:")]
    return bool(forms or c.concepts or c.generic)


def _strip_trailing_han_title(run: str) -> str:
    for title, info in person_titles().items():
        if info.position == "trailing" and run.endswith(title) and len(run) > len(title):
            return run[: -len(title)]
    return run


def _korean_parts(pairs: list[tuple[str, str]]) -> list[str] | None:
    """A Korean name in Hangul as its surname and given-name syllables, romanised apart: 김정은 -> gim, jeong, eun.

    The syllable boundaries are what other romanisations keep ("Kim Jong Un", "Kim Jong-un"); read as one word
    ("gimjeongeun") they are lost. Only for a name shaped like a Korean one: Hangul words of 2 to 5 syllables in all,
    the first starting with a surname of ``korean_surnames.csv`` (a foreign name written in Hangul stays one word).
    """
    words = list(dict.fromkeys(m for m, _ in pairs))
    if not words or not all(is_hangul_word(w) for w in words):
        return None
    total = sum(len(w) for w in words)
    if not 2 <= total <= 5 or len(words) > 3:
        return None
    table = korean_surnames().hangul
    first = words[0]
    cut = 2 if len(first) >= 3 and first[:2] in table else 1 if first[:1] in table else 0
    if not cut:
        return None
    out = [table[first[:cut]]]
    if len(first) > cut:
        out.extend(hangul_syllables(first[cut:]))
    for w in words[1:]:
        out.extend(hangul_syllables(w))
    return out


@functools.lru_cache(maxsize=65536)
def person(text: str) -> PersonName:
    """Normalise a person name: titles dropped, Chinese characters read as pinyin syllables."""
    pairs = token_pairs(text)
    titles = person_titles()
    maybe_title: str | None = None
    # Leading titles: "Ông", "Mr", "Chị". A folded form that is also a name ("anh", "chi", "ong")
    # is kept, and only marked as a possible title: "Anh Tuấn", "Chi Phuong Do" are names; the
    # scorer ignores it when the other side has no such token ("Anh Nguyễn Văn Hùng").
    while len(pairs) > 1:
        marked, folded = pairs[0]
        title = titles.get(folded)
        if title is None or title.position != "leading":
            break
        remaining = len(pairs) - 1
        exact_marked = marked == title.marked and not title.marked.isascii()
        if exact_marked or not title.ambiguous:
            pairs = pairs[1:]
        else:
            if remaining >= 2:
                maybe_title = folded
            break
    tokens: list[str] = []
    marks: list[str] = []
    korean = _korean_parts(pairs)
    if korean is not None:
        tokens, marks, pairs = list(korean), list(korean), []
    for marked, folded in pairs:
        if is_han(folded):
            syllables = pinyin_syllables(_strip_trailing_han_title(folded))
            tokens.extend(syllables)
            marks.extend(syllables)
        else:
            tokens.append(folded)
            marks.append(marked)
    return PersonName(
        original=text,
        folded=" ".join(f for _, f in token_pairs(text)),
        tokens=tuple(tokens),
        marked=tuple(marks),
        key=" ".join(sorted(tokens)),
        maybe_title=maybe_title,
        has_marks=any(has_tone_marks(m, t) for m, t in zip(marks, tokens, strict=True)),
    )


def person_weight(token: str) -> float:
    return name_weights().get(token, 1.0)
