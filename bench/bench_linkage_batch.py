"""Batch deduplication of the entity register (``interdict.linkage.batch.deduplicate``) at scale.

    python bench/bench_linkage_batch.py [-n 1000000] [--seed N] [--data DIR] [--workers N]
                                        [--memory-limit 8GB] [--workdir DIR] [--no-train]

Generates ``-n`` synthetic entity records (seeded) with known true clusters, runs
``deduplicate`` and prints wall time per phase, peak RSS (this process and its worker processes),
the number of comparisons, and pairwise precision / recall / F1 of the clusters against the truth.
Target: 1,000,000 records in < 10 minutes on 2 cores. Exits 0 when the target (scaled linearly for
smaller ``-n``) is met.

The data: Vietnamese given names from the vietnamese-names list (MIT; ``--data``, default
``../shared/data/linkage-eval``), family names, business words, legal forms, Chinese characters and
cities from ``make_crosslingual_pairs.py`` (hand-written by the Interdict team), a few more lists
below. Companies (Vietnamese, Chinese), persons (Vietnamese, Chinese) and vessels. Every entity
has a unique name at the level the scorer compares names (folded distinctive tokens and business
concepts; folded sorted person tokens): homonyms cannot be told apart by a name-only linker, and
would measure nothing but the generator. Distinct entities still share most of their parts: same
given name with another business, another family name, one syllable different — near misses.

An entity has 1 to 6 records (mean ~2): the same name as different sources write it — with or
without diacritics, upper case, short legal forms and abbreviations (CTY TNHH TM), an English
translation (the name run together sometimes, the business words sometimes dropped), Chinese
characters / English / pinyin, person names in another order or with a title, vessel names with
or without "MV", a typo in a long non-Vietnamese word.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import loadavg, machine, wait_idle
from interdict.linkage.batch import EntityRecord, deduplicate
from interdict.linkage.score import score_pair
from make_crosslingual_pairs import (
    BUSINESS,
    DEFAULT_DATA,
    TITLES,
    VN_ABBREV,
    VN_FAMILY,
    VN_FAMILY_WEIGHTS,
    VN_LEGAL,
    VN_LEGAL_SHORT,
    ZH_BUSINESS,
    ZH_CHARS,
    ZH_CITIES,
    ZH_FAMILY,
    ZH_GIVEN,
    ZH_LEGAL,
    load_given,
    strip_marks,
)

DEFAULT_SEED = 20261122
TARGET_S_PER_MILLION = 600.0

# Vietnamese middle names (a person may have one between the family and the two-syllable given name).
VN_MIDDLE = ["Văn", "Thị", "Đức", "Minh", "Ngọc", "Hữu", "Quang", "Thanh", "Xuân", "Hoàng", "Công", "Đình",
             "Kim", "Bảo", "Gia", "Mạnh", "Trọng", "Thu", "Phương"]  # fmt: skip
# Syllables Vietnamese companies add to a name ("Hoàng Anh Phát").
VN_COMPANY_EXTRA = ["Phát", "Thịnh", "Lợi", "Hưng", "Thành", "Long", "Việt", "Tín", "Nguyên", "Phú", "Quý", "Khang",
                    "Đạt", "Tiến", "Vượng", "Mỹ", "Sơn", "Hà", "Nam", "Bắc", "Đông", "Tây", "Á", "Âu"]  # fmt: skip
# More Chinese characters for names, with their readings (hand-written).
ZH_MORE = {"林": "lin", "春": "chun", "光": "guang", "辉": "hui", "成": "cheng", "东": "dong", "南": "nan",
           "中": "zhong", "天": "tian", "星": "xing", "晨": "chen", "伦": "lun", "正": "zheng", "和": "he",
           "平": "ping", "益": "yi", "佳": "jia", "航": "hang", "峰": "feng", "江": "jiang", "森": "sen",
           "万": "wan", "博": "bo", "信": "xin", "创": "chuang", "捷": "jie", "联": "lian", "奥": "ao"}  # fmt: skip
VESSEL_WORDS = ["Ocean", "Pacific", "Star", "Glory", "Fortune", "Harmony", "Pioneer", "Victory", "Dragon", "Phoenix",
                "Pearl", "Horizon", "Unity", "Spirit", "Express", "Bright", "Golden", "Royal", "Eastern", "Majestic",
                "Hải Phòng", "Sài Gòn", "Đà Nẵng", "Tân Cảng", "Vĩnh Thuận", "Biển Đông", "Trường Sa", "Hạ Long",
                "Thái Bình", "Quảng Ninh", "Bình Minh", "Thành Công"]  # fmt: skip


class Gen:
    def __init__(self, rng: random.Random, given: list[tuple[str, str]]) -> None:
        self.rng = rng
        self.given = given
        self.zh_chars = {**ZH_CHARS, **ZH_MORE}
        self.zh_char_keys = sorted(self.zh_chars)
        self.zh_given = {**ZH_GIVEN, **{k: v for k, v in ZH_MORE.items() if k not in ZH_GIVEN}}
        self.zh_given_keys = sorted(self.zh_given)
        self.seen: set[tuple[str, ...]] = set()
        self.next_id = 0

    # --- helpers --------------------------------------------------------------------------

    def case(self, text: str) -> str:
        r = self.rng.random()
        return text.upper() if r < 0.4 else (text.title() if r < 0.8 else text)

    def typo(self, word: str) -> str:
        """One typo in a word (transposition, dropped or doubled letter)."""
        if len(word) < 5:
            return word
        i = self.rng.randrange(1, len(word) - 2)
        r = self.rng.random()
        if r < 0.4:
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        if r < 0.7:
            return word[:i] + word[i + 1 :]
        return word[:i] + word[i] + word[i:]

    def unique(self, key: tuple[str, ...]) -> bool:
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    def size(self) -> int:
        return self.rng.choices([1, 2, 3, 4, 5, 6], weights=[45, 27, 14, 8, 4, 2])[0]

    # --- companies ------------------------------------------------------------------------

    def vn_company(self, n: int) -> list[str] | None:
        rng = self.rng
        r = rng.random()
        m, p = rng.choice(self.given)
        if r < 0.3:
            x = rng.choice(VN_COMPANY_EXTRA)
            m, p = f"{m} {x}", f"{p} {strip_marks(x)}"
        elif r < 0.5:
            f = rng.choices(VN_FAMILY, weights=VN_FAMILY_WEIGHTS)[0]
            m, p = f"{f[0]} {m}", f"{f[1]} {p}"
        elif r < 0.85:
            x, y = rng.sample(VN_COMPANY_EXTRA, 2)
            m, p = f"{m} {x} {y}", f"{p} {strip_marks(x)} {strip_marks(y)}"
        # One company per distinctive name: an English name often drops the business words, and
        # then says nothing more than the name itself.
        if not self.unique(("c", *sorted(p.lower().split()))):
            return None
        biz_idx = sorted(rng.sample(range(len(BUSINESS)), 2 if rng.random() < 0.2 else 1))
        legal = rng.randrange(len(VN_LEGAL))
        biz = [BUSINESS[i] for i in biz_idx]
        vi_biz = " Và ".join(vi for vi, _ in biz)
        en_biz = [rng.choice(en) for _, en in biz]
        canonical = f"{VN_LEGAL[legal][0]} {vi_biz} {m}"
        out = [self.case(canonical)]
        for _ in range(n - 1):
            v = rng.random()
            if v < 0.3:
                out.append(self.case(strip_marks(canonical)))
            elif v < 0.45 and len(biz) == 1 and biz[0][0] in VN_ABBREV:
                short = f"{rng.choice(VN_LEGAL_SHORT[VN_LEGAL[legal][0]])} {VN_ABBREV[biz[0][0]]} {m}"
                out.append(self.case(short if rng.random() < 0.5 else strip_marks(short)))
            else:
                core = p.replace(" ", "") if rng.random() < 0.2 else p
                words = "" if rng.random() < 0.1 else " " + " and ".join(en_biz)
                out.append(self.case(f"{core}{words} {rng.choice(VN_LEGAL[legal][1])}"))
        return out

    def zh_company(self, n: int) -> list[str] | None:
        rng = self.rng
        chars = [rng.choice(self.zh_char_keys) for _ in range(2 if rng.random() < 0.3 else 3)]
        word = "".join(chars)
        py = [self.zh_chars[c] for c in chars]
        biz = rng.randrange(len(ZH_BUSINESS))
        # One company per set of syllables, Vietnamese ones included (Hải Long = 隆海 to the scorer).
        if not self.unique(("c", *sorted(py))):
            return None
        city = rng.choice(ZH_CITIES)
        legal = rng.choice(ZH_LEGAL)
        b = ZH_BUSINESS[biz]
        out = [(f"{city[0]}市" if rng.random() < 0.7 else "") + word + b[0] + legal[0]]
        for _ in range(n - 1):
            joined = "".join(py).capitalize() if rng.random() < 0.7 else " ".join(s.capitalize() for s in py)
            if rng.random() < 0.1:
                joined = self.typo(joined)
            en_city = f"{city[1]} " if rng.random() < 0.6 else ""
            if rng.random() < 0.8:
                out.append(self.case(f"{en_city}{joined} {b[1]} {rng.choice(legal[1])}"))
            else:
                out.append(f"{city[1]} {joined} {b[2].title()} {legal[2]}")
        return out

    # --- persons --------------------------------------------------------------------------

    def vn_person(self, n: int) -> list[str] | None:
        rng = self.rng
        f = rng.choices(VN_FAMILY, weights=VN_FAMILY_WEIGHTS)[0]
        gm, gp = rng.choice(self.given)
        parts_m, parts_p = [f[0]], [f[1]]
        if rng.random() < 0.4:
            mid = rng.choice(VN_MIDDLE)
            parts_m.append(mid)
            parts_p.append(strip_marks(mid))
        parts_m += gm.split()
        parts_p += gp.split()
        if not self.unique(("p", *sorted(t.lower() for t in parts_p))):
            return None
        out = [" ".join(parts_m)]
        for _ in range(n - 1):
            v = rng.random()
            use = parts_m if rng.random() < 0.5 else parts_p
            if v < 0.35:
                out.append(self.case(" ".join(parts_p)))
            elif v < 0.6:  # given name first, family last (as on some foreign documents)
                out.append(self.case(" ".join(use[1:] + use[:1])))
            elif v < 0.75:
                title = rng.choice(TITLES)
                out.append(f"{title[0] if use is parts_m else title[1]} {' '.join(use)}")
            else:
                out.append(self.case(" ".join(use)))
        return out

    def zh_person(self, n: int) -> list[str] | None:
        rng = self.rng
        fam = rng.choice(ZH_FAMILY)
        given = [rng.choice(self.zh_given_keys) for _ in range(1 if rng.random() < 0.15 else 2)]
        py = [self.zh_given[c] for c in given]
        if not self.unique(("q", *sorted([fam[1].lower(), *py]))):
            return None
        out = [fam[0] + "".join(given)]
        gp = "".join(py).capitalize()
        for _ in range(n - 1):
            v = rng.random()
            if v < 0.4:
                out.append(f"{fam[1].upper()} {gp}")
            elif v < 0.7:
                out.append(f"{fam[1]} {gp}")
            elif v < 0.85:
                out.append(f"{gp} {fam[1]}")
            else:
                out.append(fam[0] + "".join(given))
        return out

    # --- vessels --------------------------------------------------------------------------

    def vessel(self, n: int) -> list[str] | None:
        rng = self.rng
        words = rng.sample(VESSEL_WORDS, 2 if rng.random() < 0.6 else 1)
        number = str(rng.randrange(1, 1000)) if rng.random() < 0.7 else ""
        base = " ".join([*words, number]).strip()
        if not self.unique(("v", *sorted(strip_marks(base).lower().split()))):
            return None
        out = [base.upper()]
        for _ in range(n - 1):
            v = rng.random()
            if v < 0.3:
                out.append("MV " + strip_marks(base).upper())
            elif v < 0.5:
                out.append("M/V " + self.case(base))
            elif v < 0.6 and any(w in VESSEL_WORDS[:20] for w in words):
                # A typo in an English word (one in a Vietnamese syllable makes another name).
                w = [self.typo(x) if x in VESSEL_WORDS[:20] else x for x in words]
                out.append(self.case(" ".join([*w, number]).strip()))
            else:
                out.append(self.case(strip_marks(base)))
        return out


def generate(n: int, seed: int, data: Path) -> Iterator[tuple[EntityRecord, int, str]]:
    """(record, true cluster number, category: vn_company, zh_company, vn_person, zh_person, vessel)."""
    rng = random.Random(seed)
    g = Gen(rng, load_given(data))
    kinds = [
        ("company", g.vn_company, 40),
        ("company", g.zh_company, 5),
        ("person", g.vn_person, 42),
        ("person", g.zh_person, 3),
        ("vessel", g.vessel, 10),
    ]
    weights = [w for *_, w in kinds]
    made = 0
    entity = 0
    countries = {"company": ["VN", "VN", "VN", "CN", None], "person": ["VN", "VN", None], "vessel": ["VN", "PA", None]}
    while made < n:
        kind, fn, _ = rng.choices(kinds, weights=weights)[0]
        size = min(g.size(), n - made)
        names = None
        for _ in range(200):
            names = fn(size)
            if names is not None:
                break
        if names is None:
            raise RuntimeError("name space exhausted: lower -n or add words")
        country = rng.choice(countries[kind])
        if fn is g.zh_company or fn is g.zh_person:
            country = "CN" if rng.random() < 0.7 else None
        for name in names:
            # Sources disagree on the country sometimes, or leave it out.
            c = country if rng.random() < 0.85 else None
            yield EntityRecord(id=f"e{made:08d}", kind=kind, name=name, country=c), entity, fn.__name__
            made += 1
        entity += 1


def pairwise_prf(truth: dict[str, int], clusters: dict[str, str]) -> tuple[float, float, float, int, int, int]:
    """Pairwise precision, recall, F1 of predicted clusters against true clusters."""

    def pairs(c: Counter[object]) -> int:
        return sum(v * (v - 1) // 2 for v in c.values())

    pred = Counter(clusters.values())
    true = Counter(truth.values())
    both = Counter((clusters[i], t) for i, t in truth.items())
    tp, pp, tt = pairs(both), pairs(pred), pairs(true)
    p = tp / pp if pp else 1.0
    r = tp / tt if tt else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f, tp, pp, tt


def _tree_rss_mib(root: int) -> float:
    """Resident memory of a process and all its descendants (from /proc), MiB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            status = (d / "status").read_text()
        except OSError:
            continue
        pid = int(d.name)
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        children.setdefault(int(fields.get("PPid", "0").strip()), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total / 1024


class RssSampler(threading.Thread):
    """Peak resident memory of this process tree (the worker processes of the forkserver included)."""

    def __init__(self, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            self.peak = max(self.peak, _tree_rss_mib(os.getpid()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=1_000_000, help="number of entity records (default 1,000,000)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="dir with vietnamese-names/")
    ap.add_argument("--workers", type=int, default=None, help="processes and DuckDB threads (default: cores)")
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory limit, e.g. 8GB")
    ap.add_argument("--workdir", type=Path, default=None, help="DuckDB work/spill dir (default: a temp dir)")
    ap.add_argument("--no-train", action="store_true", help="skip EM (fixed m values)")
    ap.add_argument("--wait-idle", type=float, default=None, metavar="LOAD",
                    help="wait (up to 15 min) until the 1-minute load average is below LOAD")  # fmt: skip
    args = ap.parse_args(argv)
    print(f"machine: {machine()}")
    print(f"command: {' '.join(sys.argv)}")

    t = time.perf_counter()
    records: list[EntityRecord] = []
    truth: dict[str, int] = {}
    category: dict[str, str] = {}
    for rec, cluster, cat in generate(args.n, args.seed, args.data):
        records.append(rec)
        truth[rec.id] = cluster
        category[rec.id] = cat
    gen_s = time.perf_counter() - t
    print(f"generated {len(records):,} records of {len(set(truth.values())):,} entities in {gen_s:.1f}s "
          f"(seed {args.seed})")  # fmt: skip
    for rec in records[:8]:
        print(f"  {rec.id} {rec.kind:8} {rec.country or '-':3} {rec.name}")

    wait_idle(args.wait_idle)
    print(f"start:   {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC; load average (1/5/15 min) {loadavg()}")
    baseline = _tree_rss_mib(os.getpid())  # the generated records, truth and the interpreter
    sampler = RssSampler()
    sampler.start()
    t = time.perf_counter()
    result = deduplicate(
        records,
        workdir=args.workdir,
        workers=args.workers,
        memory_limit=args.memory_limit,
        train=False if args.no_train else None,
        progress=lambda msg: print(f"  [{time.perf_counter() - t:7.1f}s] {msg}", flush=True),
    )
    total = time.perf_counter() - t
    sampler.stop.set()
    sampler.join()
    print(f"end:     {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC; load average (1/5/15 min) {loadavg()}")
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print("\nphase         seconds")
    for phase, sec in result.timings.items():
        print(f"  {phase:10} {sec:9.1f}")
    print(f"  {'total':10} {total:9.1f}")
    print("\ncounts")
    for k, v in result.counts.items():
        print(f"  {k:12} {v:>12,}")
    print(f"\npeak RSS: this process {me:,.0f} MiB (getrusage); this process + workers {sampler.peak:,.0f} MiB "
          f"(sum, sampled every {sampler.interval}s); {baseline:,.0f} MiB before deduplicate started")  # fmt: skip

    cm = result.cluster_map()
    p, r, f, tp, pp, tt = pairwise_prf(truth, cm)
    print(f"\nclusters vs truth (pairwise): precision {p:.4f}  recall {r:.4f}  F1 {f:.4f}")
    print(f"  true pairs {tt:,}; predicted pairs {pp:,}; correct {tp:,}")
    print("  per category (pairs of two records of the category):")
    for cat in sorted(set(category.values())):
        ids = [i for i, c in category.items() if c == cat]
        cp, cr, cf, *_ = pairwise_prf({i: truth[i] for i in ids}, {i: cm[i] for i in ids})
        print(f"    {cat:11} {len(ids):>9,} records  precision {cp:.4f}  recall {cr:.4f}  F1 {cf:.4f}")
    # Where the missed true pairs are lost: in score_pair itself, or in blocking and Splink's filter.
    groups: dict[int, list[EntityRecord]] = {}
    for rec in records:
        groups.setdefault(truth[rec.id], []).append(rec)
    true_pairs = [(a, b) for g in groups.values() for i, a in enumerate(g) for b in g[i + 1 :]]
    sample = random.Random(args.seed).sample(true_pairs, min(50_000, len(true_pairs)))
    links = result.links()
    linked = set(zip(links.column("id_l").to_pylist(), links.column("id_r").to_pylist(), strict=True))
    schema = {"company": "Company", "person": "Person", "vessel": "Vessel"}
    scorer = [(a, b) for a, b in sample if score_pair(a.name, b.name, schema[a.kind]).score >= result.threshold]
    found = sum(1 for a, b in scorer if (min(a.id, b.id), max(a.id, b.id)) in linked)
    print(f"  {len(sample):,} sampled true pairs: score_pair links {len(scorer) / max(1, len(sample)):.2%} of them "
          f"when asked directly; the batch links {found / max(1, len(scorer)):.2%} of those (the rest is lost in "
          f"blocking or Splink's filter)")  # fmt: skip
    sizes = Counter(cm.values())
    big = sizes.most_common(1)[0][0] if sizes else ""
    names = [rec.name for rec in records if cm[rec.id] == big][:8]
    print(f"  largest clusters: {', '.join(str(v) for _, v in sizes.most_common(5))} records; the largest: "
          f"{' | '.join(names)} ...")  # fmt: skip

    target = TARGET_S_PER_MILLION * len(records) / 1_000_000
    ok = total < target
    print(f"\ntarget: < {target:.0f}s for {len(records):,} records -> {'met' if ok else 'NOT met'} ({total:.0f}s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
