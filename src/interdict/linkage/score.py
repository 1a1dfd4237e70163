"""Score whether two names denote the same party, with reasons an analyst can read.

``score_pair`` returns a graded score in [0, 1]: links are made at ``DEFAULT_THRESHOLD``;
pairs between ``SUGGEST_THRESHOLD`` and it go to an analyst for review.

Companies: the distinctive part of the name (legal forms, generic words, business words and places
removed) carries most of the weight; business concepts, legal form and place agree or conflict on
top of it. Business words alone never make a match ("Hoang Anh Trading" vs "Minh Phat Trading").
Persons: tokens are aligned whatever their order; very common family and middle names (Nguyễn,
Văn, Thị, 王) weigh less than given names.

Tokens are compared exactly when both are Vietnamese syllables or short: "Hùng"/"Hải",
"Phát"/"Pháp" are different names, not typos. Longer tokens (English, pinyin words) get partial
credit from Jaro-Winkler ("micheal"/"michael"). Tokens equal once folded but written with
different diacritics on both sides ("Hùng"/"Hưng") are a likely different name: partial credit.

Persons outside those rules (no Vietnamese diacritics, and some part that is neither a Vietnamese
syllable nor pinyin: "William", "Schmidt", "Владимир") get a tolerant alignment instead
(``_score_person_international``): nicknames (the ``nicknames`` package: William/Bill), short forms and
diminutives (Stan/Stanley, Artie/Arthur), initials (J/John), same Metaphone code (rigour: Mohammed/
Muhammad), same consonants (a name from Arabic or Hebrew script, written without short vowels), one typing
error; a name part on one side only (a middle name, a title left inside) weighs little when the rest
agrees; a part written twice counts once; Jr/Sr on the two sides are father and son. Their raw score is
then calibrated (``data/calibration.csv``: the share of true matches at that score on the labelled
development set), so the one threshold serves them too. Names in other scripts are transliterated by
rigour when folded (``text.fold_token``). Companies also take numbers in any spelling (3 = three = 3rd)
and typo credit for words outside Vietnamese and pinyin syllables.

rigour's name comparison (``rigour.names.compare``, ``analyze_names`` with its symbol tagger) is not
used: it does not know Vietnamese syllable structure or the business-word concepts above, and its person
tagger takes about 20 s to build on first use in each process.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from nicknames import NickNamer
from rapidfuzz.distance import OSA, JaroWinkler
from rigour.text import metaphone

from interdict.linkage.names import CompanyName, PersonName, company, company_markers, person, person_weight
from interdict.linkage.tables import calibration, company_lexicon, korean_surnames
from interdict.linkage.text import (
    fold_tokens,
    has_hangul,
    has_kana,
    has_tone_marks,
    is_pinyin_word,
    is_vn_syllable,
    japanese_key,
    korean_key,
)

DEFAULT_THRESHOLD = 0.85
SUGGEST_THRESHOLD = 0.70

SCHEMAS = frozenset({"Person", "Company", "Organization", "LegalEntity", "Vessel"})
_COMPANY_SCHEMAS = frozenset({"Company", "Organization"})

# Partial credit for a token equal once folded but with different diacritics on both sides.
_DIACRITIC_CONFLICT = 0.6
# Each pair of conflicting tokens (both sides have a token the other lacks) multiplies the score.
_CONFLICT_FACTOR = 0.8
# Below this two tokens are not the same word ("zhang"/"wang"): unmatched, a conflict.
_MIN_TOKEN_SIMILARITY = 0.5
# One side written without diacritics: nothing to check them against (slightly below exact).
_UNMARKED_FACTOR = 0.98


@dataclass(frozen=True, slots=True)
class PairScore:
    score: float
    schema: str  # the schema the pair was compared as: Person, Company or Vessel
    features: dict[str, float] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()

    @property
    def match(self) -> bool:
        return self.score >= DEFAULT_THRESHOLD


@functools.lru_cache(maxsize=262144)
def token_similarity(a: str, b: str) -> float:
    """Similarity of two folded tokens in [0, 1]."""
    if a == b:
        return 1.0
    if len(a) < 3 or len(b) < 3 or not a.isalpha() or not b.isalpha():
        # An initial stands for a name: "J" ~ "John" (half credit).
        if (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b)):
            return 0.5
        return 0.0
    if is_vn_syllable(a) and is_vn_syllable(b):
        return 0.0
    if is_pinyin_word(a) and is_pinyin_word(b):
        # Chinese names: one letter makes another syllable, hence another name (Fanglin / Yanglin, Wang / Yang).
        return 0.0
    # Typos in other names: Jaro-Winkler (shared prefix) or edit distance with transpositions.
    jw = float(JaroWinkler.similarity(a, b))
    osa = float(OSA.normalized_similarity(a, b))
    return max(0.0, ((jw - 0.84) / 0.16) ** 1.5 if jw > 0.84 else 0.0, (osa - 0.4) / 0.6)


@functools.cache
def _nicknamer() -> NickNamer:
    return NickNamer()


@functools.lru_cache(maxsize=262144)
def _nickname_of(a: str, b: str) -> bool:
    """Whether one name is a nickname of the other or both share a full form (William/Bill, Bill/Will)."""
    nn = _nicknamer()
    if b in nn.nicknames_of(a) or a in nn.nicknames_of(b):
        return True
    return bool(nn.canonicals_of(a) & (nn.canonicals_of(b) | {b}))


@functools.lru_cache(maxsize=65536)
def _known_given_name(token: str) -> bool:
    """Whether the nicknames package lists a given name (as a full name or a nickname)."""
    nn = _nicknamer()
    return bool(nn.nicknames_of(token) or nn.canonicals_of(token))


_DIMINUTIVE_RE = re.compile("(?:ie|ey|y|o)$")
_VOWELS_RE = re.compile("[aeiouy]")
_DOUBLE_RE = re.compile(r"(.)\\1+")


def _short_form(short: str, full: str) -> bool:
    """A given name and its short form or diminutive: Stan/Stanley, Herb/Herbert, Artie/Arthur, Hughie/Hugh."""
    if len(short) >= len(full):
        return False
    if len(short) >= 3 and full.startswith(short):
        return True
    stem = _DIMINUTIVE_RE.sub("", short)
    return len(stem) >= 3 and stem != short and (full.startswith(stem) or stem == full)


def _skeleton(token: str) -> str:
    return _DOUBLE_RE.sub(r"\\1", _VOWELS_RE.sub("", token))


def _skeleton_match(a: str, b: str) -> bool:
    """A name from a script written without short vowels (Arabic, Hebrew) against its Latin spelling:
    "mhmd" ~ "muhammad". One side must have no vowel at all."""
    if _VOWELS_RE.search(a) and _VOWELS_RE.search(b):
        return False
    ka, kb = _skeleton(a), _skeleton(b)
    return len(ka) >= 3 and (ka == kb or (min(len(ka), len(kb)) >= 4 and OSA.distance(ka, kb) == 1))


@functools.lru_cache(maxsize=262144)
def _metaphone(token: str) -> str:
    return str(metaphone(token))


# What a feminine form adds to a man's name: Daniel/Daniela, Paul/Paula, Henri/Henriette, Aleksandr/Aleksandra.
_FEMININE_ENDINGS = ("a", "ina", "ette")


@functools.lru_cache(maxsize=262144)
def _gender_variants(a: str, b: str, added_a: bool = True) -> bool:
    """Two forms of a given name for a man and a woman, who are two persons: Maria/Mario, Carla/Carlo (-a/-o),
    Daniel/Daniela (an ending added to a name of at least 4 letters; -a only to a known given name), Peter/Petra, Alexander/Alexandra (-er/-ra).

    Not: a typo elsewhere in a name (Micheal/Michael), one woman's name in two languages (Sophie/Sophia,
    Emilie/Emilia, Augustine/Augustina), a silent final e (Clark/Clarke, Louis/Louise as the data sets pair them),
    Ann/Anna. ``added_a`` False: a final -a added is not read as one (a transliteration from Devanagari writes the
    inherent vowel: राहुल "rahula" is Rahul)."""
    if a == b:
        return False
    if len(a) > len(b):
        a, b = b, a
    if len(a) < 4 or not a.isalpha() or not b.isalpha():
        return False
    if len(a) == len(b):
        if a.endswith("ra"):
            a, b = b, a
        return (a[:-1] == b[:-1] and {a[-1], b[-1]} == {"a", "o"}) or (
            len(a) >= 5 and a.endswith("er") and b == a[:-2] + "ra"
        )
    if b == a + "a":
        # Only for a man's name the nicknames package knows: a dropped or added final a is a common typo (Kayla/Kayl).
        # Slavic names in -slav/-slava are a man's and a woman's (Jaroslav/Jaroslava).
        return added_a and a[-1] not in "aeiouy" and (_known_given_name(a) or a.endswith("slav"))
    return any(b == a + end for end in _FEMININE_ENDINGS[1:])


# Credit of a token pair in a name outside the Vietnamese and Chinese rules (international_similarity).
_SHORT_FORM = 0.85
_CONSONANTS = 0.85
_NICKNAME = 0.9
_INITIAL = 0.9
_SOUNDS_ALIKE = 0.9
_ONE_EDIT = 0.9


@functools.lru_cache(maxsize=262144)
def international_similarity(a: str, b: str) -> tuple[float, str]:
    """Similarity of two folded name tokens of a name outside the Vietnamese rules, and its kind.

    Kinds: ``same``, ``nickname`` (William/Bill, from the ``nicknames`` package), ``initial`` (J/John),
    ``sounds`` (same Metaphone code: Mohammed/Muhammad, Catherine/Katherine), ``spelling`` (typos:
    one edit, or Jaro-Winkler), ``""`` when none applies.
    """
    if a == b:
        return 1.0, "same"
    if (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b)):
        return _INITIAL, "initial"
    if len(a) < 2 or len(b) < 2:
        return 0.0, ""
    if not a.isalpha() or not b.isalpha():
        # A digit for a letter, as scanned documents have it ("G0ugh", "Warkwor5h").
        if a.isalnum() and b.isalnum() and min(len(a), len(b)) >= 4 and OSA.distance(a, b) == 1:
            return _ONE_EDIT, "spelling"
        return 0.0, ""
    if _nickname_of(a, b):
        return _NICKNAME, "nickname"
    if _short_form(a, b) or _short_form(b, a):
        return _SHORT_FORM, "short form"
    if _skeleton_match(a, b):
        return _CONSONANTS, "consonants"
    if min(len(a), len(b)) >= 4 and _metaphone(a) == _metaphone(b):
        return _SOUNDS_ALIKE, "sounds"
    edits = OSA.distance(a, b)
    if edits == 1 and min(len(a), len(b)) >= 4:
        return _ONE_EDIT, "spelling"
    jw = float(JaroWinkler.similarity(a, b))
    sim = max(token_similarity(a, b), (jw - 0.8) / 0.2 * 0.85 if jw > 0.8 else 0.0)
    if edits == 2 and min(len(a), len(b)) >= 7:
        sim = max(sim, 0.8)
    return sim, ("spelling" if sim > 0 else "")


def _merge(tokens: Sequence[str], marks: Sequence[str], targets: set[str]) -> tuple[list[str], list[str]]:
    """Join runs of tokens that the other side writes as one word: hua qiang -> huaqiang."""
    out: list[str] = []
    out_marks: list[str] = []
    i = 0
    n = len(tokens)
    while i < n:
        for j in range(n, i + 1, -1):
            joined = "".join(tokens[i:j])
            if joined in targets:
                out.append(joined)
                out_marks.append("".join(marks[i:j]))
                i = j
                break
        else:
            out.append(tokens[i])
            out_marks.append(marks[i])
            i += 1
    return out, out_marks


@dataclass(frozen=True, slots=True)
class _Alignment:
    similarity: float
    matched: tuple[tuple[str, str, float], ...]
    unmatched_a: tuple[str, ...]
    unmatched_b: tuple[str, ...]
    diacritic_conflicts: tuple[tuple[str, str], ...]


def _align(
    a: Sequence[str],
    a_marks: Sequence[str],
    b: Sequence[str],
    b_marks: Sequence[str],
    weight: Callable[[str], float],
    check_marks: bool,
    similarity: Callable[[str, str], float] = token_similarity,
) -> _Alignment:
    """Greedy best-first token alignment, weighted; order-independent."""
    if len(a) > 1 or len(b) > 1:
        a, a_marks = _merge(a, a_marks, set(b))
        b, b_marks = _merge(b, b_marks, set(a))
    cands: list[tuple[float, int, int]] = []
    for i, ta in enumerate(a):
        for j, tb in enumerate(b):
            s = similarity(ta, tb)
            if s >= _MIN_TOKEN_SIMILARITY:
                cands.append((s, i, j))
    cands.sort(key=lambda c: -c[0])
    used_a: set[int] = set()
    used_b: set[int] = set()
    matched: list[tuple[str, str, float]] = []
    conflicts: list[tuple[str, str]] = []
    num = 0.0
    for s, i, j in cands:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        if (
            s == 1.0
            and check_marks
            and a_marks[i] != b_marks[j]
            and has_tone_marks(a_marks[i], a[i])
            and has_tone_marks(b_marks[j], b[j])
        ):
            s = _DIACRITIC_CONFLICT
            conflicts.append((a_marks[i], b_marks[j]))
        matched.append((a[i], b[j], s))
        num += (weight(a[i]) + weight(b[j])) * s
    den = sum(map(weight, a)) + sum(map(weight, b))
    un_a = tuple(t for i, t in enumerate(a) if i not in used_a)
    un_b = tuple(t for j, t in enumerate(b) if j not in used_b)
    sim = num / den if den else 0.0
    sim *= _CONFLICT_FACTOR ** min(len(un_a), len(un_b))
    return _Alignment(sim, tuple(matched), un_a, un_b, tuple(conflicts))


def _score_person(n1: PersonName, n2: PersonName) -> PairScore:
    if not n1.tokens or not n2.tokens:
        return PairScore(0.0, "Person", {}, ("a name is empty",))
    if is_international(n1, n2) or _romanisation_key(n1, n2) is not None:
        return _score_person_international(n1, n2)
    check = n1.has_marks and n2.has_marks
    al = _align(n1.tokens, n1.marked, n2.tokens, n2.marked, person_weight, check)
    # A possible leading title ("Anh", "Chi") that finds no partner: compare without it.
    if n1.maybe_title is not None and n1.maybe_title in al.unmatched_a:
        alt = _align(n1.tokens[1:], n1.marked[1:], n2.tokens, n2.marked, person_weight, check)
        al = alt if alt.similarity > al.similarity else al
    if n2.maybe_title is not None and n2.maybe_title in al.unmatched_b:
        alt = _align(n1.tokens, n1.marked, n2.tokens[1:], n2.marked[1:], person_weight, check)
        al = alt if alt.similarity > al.similarity else al
    score = al.similarity
    reasons: list[str] = []
    if al.similarity == 1.0:
        in_order = [x for x, _, _ in al.matched] == [y for _, y, _ in al.matched]
        reasons.append("same name tokens" + ("" if in_order else " in another order"))
    else:
        reasons += _differences(al, "unmatched")
    if (n1.has_marks != n2.has_marks) and score > 0:
        score *= _UNMARKED_FACTOR
        reasons.append("one side written without diacritics")
    feats = {"tokens": round(al.similarity, 4), "diacritic_conflicts": float(len(al.diacritic_conflicts))}
    return PairScore(_clamp(score), "Person", feats, tuple(reasons))


# Generational suffixes: "Jr" and "Sr" are father and son, not one person.
_GENERATIONS = {"jr": "jr", "junior": "jr", "sr": "sr", "senior": "sr", "ii": "ii", "iii": "iii", "iv": "iv"}
# A name part found on one side only ("John Michael Smith" / "John Smith") when the rest agrees.
_EXTRA_WEIGHT = 0.3
# Titles and particles left inside a name ("Thomas, 1st Baron Clifford of Chudleigh"): almost no weight.
_MINOR_WEIGHT = 0.1
_MINOR_WORDS = frozenset({"of", "von", "van", "der", "de", "del", "la", "le", "bin", "ibn", "al", "el", "baron", "sir"})


def is_international(n1: PersonName, n2: PersonName) -> bool:
    """Whether a pair of person names falls outside the Vietnamese and Chinese rules.

    Vietnamese persons keep their strict rules (one different syllable is another person): a pair is
    international when neither side has a letter only Vietnamese writes (ư, ơ, ă, ễ...; "José", "Müller" do
    not) and some token is neither a Vietnamese syllable nor pinyin ("William", "Schmidt", "Vladimir").
    """
    if _has_vietnamese_letter(n1.original) or _has_vietnamese_letter(n2.original):
        return False
    return any(
        len(t) > 1 and t.isalpha() and not is_vn_syllable(t) and not is_pinyin_word(t) for t in n1.tokens + n2.tokens
    )


# Letters only Vietnamese writes (ă, ơ, ư, đ, and vowels with a hook above, a dot below or two marks): "José" and
# "Müller" are not Vietnamese names, "Nguyễn" is.
_VIETNAMESE_LETTERS = frozenset("ăằắẳẵặâầấẩẫậđêềếểễệôồốổỗộơờớởỡợưừứửữựảạẻẽẹỉịỏọủụỳỷỹỵĩũ")


def _has_vietnamese_letter(text: str) -> bool:
    return not text.isascii() and any(ch in _VIETNAMESE_LETTERS for ch in unicodedata.normalize("NFC", text.lower()))


def _intl_similarity(a: str, b: str) -> float:
    return 0.0 if _gender_variants(a, b) else international_similarity(a, b)[0]


def _intl_similarity_across_scripts(a: str, b: str) -> float:
    if _gender_variants(a, b, False):
        return 0.0
    sim = international_similarity(a, b)[0]
    if sim < 1.0:
        ca, cb = _cyrillic_latin(a), _cyrillic_latin(b)
        if (ca, cb) != (a, b):
            sim = max(sim, international_similarity(ca, cb)[0])
    return sim


# A Cyrillic transliteration against a Latin spelling: Ц is "ts" where Czech, Polish, Croatian write c (Цветкович =
# Cvetković), Х "kh" for h, КС "ks" for x, Ч "ch" / "tsh"; read alike when a pair crosses scripts.
_CYRILLIC_LATIN_STEPS = (
    (re.compile("tsh"), "ch"),
    (re.compile("ts"), "c"),
    (re.compile("ks"), "x"),
    (re.compile("kh"), "h"),
)


@functools.lru_cache(maxsize=65536)
def _cyrillic_latin(token: str) -> str:
    for pattern, repl in _CYRILLIC_LATIN_STEPS:
        token = pattern.sub(repl, token)
    return token


def company_token_similarity_across_scripts(a: str, b: str) -> float:
    sim = company_token_similarity(a, b)
    if sim < 1.0:
        ca, cb = _cyrillic_latin(a), _cyrillic_latin(b)
        if (ca, cb) != (a, b):
            sim = max(sim, company_token_similarity(ca, cb))
    return sim


_KIND_WORDS = {
    "nickname": "nickname",
    "short form": "short form",
    "initial": "initial",
    "sounds": "sounds alike",
    "consonants": "same consonants",
    "spelling": "similar spelling",
}


def _score_person_international(n1: PersonName, n2: PersonName) -> PairScore:
    """Name-part alignment tolerant of typos, nicknames, initials, missing middle names, order and script."""

    def parts(n: PersonName) -> tuple[list[str], set[str]]:
        seen: set[str] = set()
        out: list[str] = []
        gens: set[str] = set()
        for t in n.tokens:
            if t in _GENERATIONS:
                gens.add(_GENERATIONS[t])
            elif t not in seen:  # a part written twice counts once ("Ali Hassan Ali")
                seen.add(t)
                out.append(t)
        return out, gens

    t1, g1 = parts(n1)
    t2, g2 = parts(n2)
    if not t1 or not t2:
        return PairScore(0.0, "Person", {}, ("a name is empty",))
    keyed = _romanisation_key(n1, n2)
    if keyed is not None:
        t1, t2 = _romanised_alike(t1, t2, keyed)
    across = _other_script(n1.original) != _other_script(n2.original)
    similarity = _intl_similarity_across_scripts if across else _intl_similarity
    al = _align(t1, t1, t2, t2, person_weight, False, similarity if keyed is None else _romanised_similarity)

    def extra_weight(t: str) -> float:
        return _MINOR_WEIGHT if t in _MINOR_WORDS or not t.isalpha() else _EXTRA_WEIGHT

    num = sum((person_weight(x) + person_weight(y)) * sim for x, y, sim in al.matched)
    den = sum(person_weight(x) + person_weight(y) for x, y, _ in al.matched)
    one_sided = not (al.unmatched_a and al.unmatched_b)
    lenient = one_sided and len(al.matched) >= 2
    for t in al.unmatched_a + al.unmatched_b:
        den += person_weight(t) * (extra_weight(t) if lenient or t in _MINOR_WORDS else 1.0)
    score = num / den if den else 0.0
    score *= _CONFLICT_FACTOR ** min(len(al.unmatched_a), len(al.unmatched_b))
    reasons: list[str] = []
    if all(x == y for x, y, _ in al.matched) and not al.unmatched_a and not al.unmatched_b:
        in_order = [x for x, _, _ in al.matched] == [y for _, y, _ in al.matched]
        reasons.append("same name tokens" + ("" if in_order else " in another order"))
    for x, y, sim in al.matched:
        if x != y:
            kind = international_similarity(x, y)[1]
            reasons.append(f"{_KIND_WORDS.get(kind, 'similar')}: {x} ~ {y} ({sim:.2f})")
    for x in al.unmatched_a:
        reasons.extend(
            f"a man's and a woman's name: {x} / {y}" for y in al.unmatched_b if _gender_variants(x, y, not across)
        )
    if lenient and (al.unmatched_a or al.unmatched_b):
        reasons.append("name parts on one side only: " + ", ".join(al.unmatched_a + al.unmatched_b))
    elif al.unmatched_a or al.unmatched_b:
        reasons.append("unmatched: " + ", ".join(al.unmatched_a + al.unmatched_b))
    if g1 and g2 and g1 != g2:
        score *= 0.5
        reasons.append("different generations: " + ", ".join(sorted(g1)) + " / " + ", ".join(sorted(g2)))
    if across:
        reasons.append("compared across scripts after transliteration")
    if keyed is not None:
        reasons.append(f"{keyed[0]} romanisations compared alike")
    if across and score < 0.85 and (len(t1) == 1) != (len(t2) == 1):
        # A name of a script written without spaces (Thai, Khmer) is one word: compare it with the other side's
        # parts written together, in either order.
        one, many = (t1[0], t2) if len(t1) == 1 else (t2[0], t1)
        joined = max(international_similarity(one, "".join(p))[0] for p in (many, many[::-1]))
        if joined > score:
            score = joined
            reasons.append("compared as one word: " + one + " ~ " + "".join(many))
    feats = {"tokens": round(score, 4), "international": 1.0}
    return PairScore(_clamp(score), "Person", feats, tuple(reasons))


def _romanisation_key(n1: PersonName, n2: PersonName) -> tuple[str, Callable[[str], str]] | None:
    """Korean or Japanese names (one side in Hangul or Kana): their romanisations are read alike."""
    if has_hangul(n1.original) or has_hangul(n2.original):
        return "Korean", korean_key
    if has_kana(n1.original) or has_kana(n2.original):
        return "Japanese", japanese_key
    return None


def _romanised_similarity(a: str, b: str) -> float:
    """Korean and Japanese name parts: the Western diminutives do not apply (Fumio is not Fumitake)."""
    sim, kind = international_similarity(a, b)
    if kind == "short form" and not (a.startswith(b) or b.startswith(a)):
        return 0.0
    return sim


def _romanised_alike(
    t1: list[str], t2: list[str], keyed: tuple[str, Callable[[str], str]]
) -> tuple[list[str], list[str]]:
    """Name parts in one spelling per sound; a Korean surname's passport spelling read as the one on the other side
    (Kim = Gim, Lee = I, Park = Bak)."""
    lang, key = keyed
    if lang == "Korean":
        spellings = korean_surnames().spellings
        rr1, rr2 = set(t1), set(t2)

        def surname(t: str, other: set[str]) -> str:
            hit = spellings.get(t, frozenset()) & other
            return min(hit) if hit and t not in other else t

        t1, t2 = [surname(t, rr2) for t in t1], [surname(t, rr1) for t in t2]
    return list(dict.fromkeys(map(key, t1))), list(dict.fromkeys(map(key, t2)))


def _other_script(text: str) -> bool:
    """Whether a name has letters of a script other than Latin (Chinese characters aside)."""
    return any(ch.isalpha() and not ch.isascii() and "LATIN" not in unicodedata.name(ch, "") for ch in text)


def _differences(al: _Alignment, unmatched_label: str) -> list[str]:
    """Why two aligned names are not the same, in words: similar tokens, diacritics, tokens left over."""
    out = [f"similar: {x} ~ {y} ({s:.2f})" for x, y, s in al.matched if x != y]
    out += [f"diacritics differ: {x} ≠ {y}" for x, y in al.diacritic_conflicts]
    if al.unmatched_a or al.unmatched_b:
        out.append(f"{unmatched_label}: " + ", ".join(al.unmatched_a + al.unmatched_b))
    return out


def _share(x: frozenset[str], y: frozenset[str]) -> float:
    """Agreement of two sets: both empty 1, one empty 0.5, else Jaccard."""
    if not x and not y:
        return 1.0
    if not x or not y:
        return 0.5
    return len(x & y) / len(x | y)


def _legal_agreement(f1: str | None, f2: str | None) -> float:
    if f1 is None and f2 is None:
        return 1.0
    if f1 is None or f2 is None:
        return 0.6
    family = {"one_member_llc": "llc"}
    a, b = family.get(f1, f1), family.get(f2, f2)
    if a == b:
        return 1.0
    if "branch" in (a, b):
        return 0.3
    if a.startswith("other:") or b.startswith("other:"):
        return 0.6
    return 0.2


# Words an acronym may skip: "United Nations Office on Drugs and Crime" = UNODC.
_ACRONYM_SKIPS = frozenset(
    {"of", "on", "for", "the", "and", "in", "at", "to", "de", "la", "du", "des", "der", "und", "et"}
)


def _acronym(c1: CompanyName, c2: CompanyName) -> str | None:
    """Whether one name is the acronym of the other: the initials of its words, with or without the small words
    ("UNODC" = United Nations Office on Drugs and Crime, "IBM Corp" = International Business Machines Corporation).
    At least 3 letters, and words for each of them: the explanation, or None."""
    for short, full in ((c1, c2), (c2, c1)):
        if len(short.core_tokens) != 1 or len(full.core_tokens) < 3:
            continue
        acronym = short.core_tokens[0]
        if not (acronym.isascii() and acronym.isalpha() and 3 <= len(acronym) <= 10):
            continue
        words = [w for w in full.core_tokens if w.isalpha()]
        significant = [w for w in words if w not in _ACRONYM_SKIPS]
        if acronym in ("".join(w[0] for w in words), "".join(w[0] for w in significant)):
            return f"acronym: {acronym} = {' '.join(full.core_tokens)}"
    return None


def _score_company(c1: CompanyName, c2: CompanyName) -> PairScore:
    reasons: list[str] = []
    acronym = _acronym(c1, c2)
    if acronym is not None:
        legal = _legal_agreement(c1.legal_form, c2.legal_form)
        # Initials are weaker evidence than the words: 0.92 with the same (or no) legal form, below the link
        # threshold with different ones.
        score = 0.8 + 0.12 * legal
        feats = {"distinctive": 1.0, "acronym": 1.0, "legal_form": round(legal, 4)}
        return PairScore(_clamp(score), "Company", feats, (acronym,))
    # A token that is a place on the other side is a place here too ("Dongguan" vs 东莞市).
    d1 = [(t, m) for t, m in zip(c1.distinctive, c1.marked, strict=True) if t not in c2.places]
    d2 = [(t, m) for t, m in zip(c2.distinctive, c2.marked, strict=True) if t not in c1.places]
    places1 = c1.places | (set(c1.distinctive) & c2.places)
    places2 = c2.places | (set(c2.distinctive) & c1.places)
    if not d1 or not d2:
        dist = 0.0
        reasons.append("no distinctive name on " + ("both sides" if not d1 and not d2 else "one side"))
        al = None
    else:
        check = c1.has_marks and c2.has_marks
        al = _align(
            [t for t, _ in d1],
            [m for _, m in d1],
            [t for t, _ in d2],
            [m for _, m in d2],
            _one_weight,
            check,
            company_token_similarity_across_scripts
            if _other_script(c1.original) != _other_script(c2.original)
            else company_token_similarity,
        )
        dist = al.similarity
        if dist == 1.0:
            same_core = c1.core == c2.core
            reasons.append(
                "same core name after legal form removal"
                if same_core
                else "same distinctive name: " + " ".join(t for t, _ in d1)
            )
        else:
            reasons += _differences(al, "distinctive words not matched")
    concepts = _share(c1.concepts, c2.concepts)
    shared = c1.concepts & c2.concepts
    for concept in sorted(shared):
        t1 = [t for t, c in c1.terms if c == concept]
        t2 = [t for t, c in c2.terms if c == concept]
        if t1 and t2 and fold_tokens(t1[0]) != fold_tokens(t2[0]):
            reasons.append(f"translation: {t1[0]} = {t2[0]}")
        else:
            reasons.append(f"same business: {concept}")
    if c1.concepts and c2.concepts and not shared:
        reasons.append("different business: " + ", ".join(sorted(c1.concepts)) + " / " + ", ".join(sorted(c2.concepts)))
    legal = _legal_agreement(c1.legal_form, c2.legal_form)
    if c1.legal_form and c2.legal_form:
        reasons.append(
            f"same legal form: {c1.legal_form}"
            if legal == 1.0
            else f"legal forms differ: {c1.legal_form} / {c2.legal_form}"
        )
    place = _share(frozenset(places1), frozenset(places2))
    if places1 and places2:
        reasons.append(("same place: " if place > 0 else "different places: ") + ", ".join(sorted(places1 | places2)))
    score = 0.75 * dist + 0.12 * concepts + 0.06 * legal + 0.07 * place
    if c1.concepts and c2.concepts and not shared:
        score *= 0.85
    if dist < 1.0:
        # Without the distinctive name the rest is weak evidence: scale it by the name.
        score = 0.75 * dist + (score - 0.75 * dist) * dist
    if c1.has_marks != c2.has_marks and score > 0:
        score *= _UNMARKED_FACTOR
    feats = {
        "distinctive": round(dist, 4),
        "concepts": round(concepts, 4),
        "legal_form": round(legal, 4),
        "place": round(place, 4),
    }
    return PairScore(_clamp(score), "Company", feats, tuple(reasons))


_ORDINAL_RE = re.compile(r"(\d+)(?:st|nd|rd|th)")
_NUMBER_WORDS = {
    w: str(i)
    for i, words in enumerate(
        [
            (),
            ("one", "first"),
            ("two", "second"),
            ("three", "third"),
            ("four", "fourth"),
            ("five", "fifth"),
            ("six", "sixth"),
            ("seven", "seventh"),
            ("eight", "eighth"),
            ("nine", "ninth"),
            ("ten", "tenth"),
            ("eleven", "eleventh"),
            ("twelve", "twelfth"),
        ]
    )
    for w in words
}


def number_token(token: str) -> str:
    """A number written as a word or an ordinal, as digits: "three", "third", "3rd" -> "3"."""
    if (m := _ORDINAL_RE.fullmatch(token)) is not None:
        return m.group(1)
    return _NUMBER_WORDS.get(token, token)


@functools.lru_cache(maxsize=262144)
def company_token_similarity(a: str, b: str) -> float:
    """Distinctive words of company names: numbers in any spelling are equal ("Three" = "3rd"); words outside the
    Vietnamese and pinyin syllables get the typo tolerance of international names ("Whitejead" ~ "Whitehead")."""
    a, b = number_token(a), number_token(b)
    base = token_similarity(a, b)
    if base == 1.0 or (is_vn_syllable(a) and is_vn_syllable(b)) or (is_pinyin_word(a) and is_pinyin_word(b)):
        return base
    if min(len(a), len(b)) < 4 or not a.isalpha() or not b.isalpha():
        return base
    sim, kind = international_similarity(a, b)
    return max(base, sim) if kind in ("spelling", "sounds") else base


def _one_weight(token: str) -> float:
    return 1.0


def _score_vessel(name1: str, name2: str) -> PairScore:
    lex = company_lexicon()
    prefixes = sorted((k for k, e in lex.latin.items() if e.role == "vessel_prefix"), key=len, reverse=True)

    def toks(text: str) -> list[str]:
        t = fold_tokens(text)
        stripped = True
        while stripped:  # "MV", "M/V", "M/T", "Tàu"
            stripped = False
            for p in prefixes:
                if len(t) > len(p) and tuple(t[: len(p)]) == p:
                    t = t[len(p) :]
                    stripped = True
                    break
        return t

    t1, t2 = toks(name1), toks(name2)
    if not t1 or not t2:
        return PairScore(0.0, "Vessel", {}, ("a name is empty",))
    al = _align(t1, t1, t2, t2, _one_weight, False)
    reasons = ["same vessel name"] if al.similarity == 1.0 else []
    if al.unmatched_a or al.unmatched_b:
        reasons.append("not matched: " + ", ".join(al.unmatched_a + al.unmatched_b))
    return PairScore(_clamp(al.similarity), "Vessel", {"tokens": round(al.similarity, 4)}, tuple(reasons))


def _clamp(x: float) -> float:
    return min(1.0, max(0.0, x))


def score_pair(name1: str, name2: str, schema: str | None = None) -> PairScore:
    """Score two names of the given schema (Person, Company, Organization, LegalEntity, Vessel).

    None or LegalEntity: compared as companies if either name has a legal form, a generic company
    word or a business word, else as persons.
    """
    if schema is not None and schema not in SCHEMAS:
        raise ValueError(f"unknown schema {schema!r}: expected one of {', '.join(sorted(SCHEMAS))}")
    if schema == "Vessel":
        return _score_vessel(name1, name2)
    as_company = schema in _COMPANY_SCHEMAS or (
        schema != "Person" and (company_markers(name1) or company_markers(name2))
    )
    if as_company:
        return _calibrated(_score_company(company(name1), company(name2)), "company")
    result = _score_person(person(name1), person(name2))
    return _calibrated(result, "person_international") if result.features.get("international") else result


def _calibrated(result: PairScore, group: str) -> PairScore:
    """The raw score mapped to the share of true matches among pairs that score so on the labelled
    development set (``data/calibration.csv``, fitted by bench/fit_linkage_calibration.py), so that one
    threshold serves persons and companies. The raw score stays in the features."""
    cal = calibration().apply(group, result.score)
    if cal is None:
        return result
    feats = {**result.features, "raw": round(result.score, 4)}
    return PairScore(_clamp(cal), result.schema, feats, result.reasons)


def raw_score(result: PairScore) -> float:
    """The score before calibration."""
    return result.features.get("raw", result.score)
