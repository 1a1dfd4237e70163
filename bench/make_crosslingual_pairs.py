"""Generate the labelled cross-lingual name pairs used to measure linkage quality (seeded).

    python bench/make_crosslingual_pairs.py [--data DIR] [--seed N] [--out FILE]

Vietnamese given names come from the vietnamese-names list (MIT, see DIR/vietnamese-names/LICENSE;
its ``*_no_accents`` files are the same names as people type them without diacritics). Everything
else here is hand-written by the Interdict team: family names, Chinese characters with their
readings, business words and translation templates. The companies are invented: any resemblance
to a real company is accidental. The committed set is tests/linkage/data/crosslingual_pairs.csv
(default seed); tune on another seed (e.g. ``--seed 1 --out dev_pairs.csv``) and keep the committed
set held out.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "linkage-eval"
DEFAULT_OUT = ROOT / "tests" / "linkage" / "data" / "crosslingual_pairs.csv"
DEFAULT_SEED = 20260517

VN_FAMILY = [
    ("Nguyễn", "Nguyen"),
    ("Trần", "Tran"),
    ("Lê", "Le"),
    ("Phạm", "Pham"),
    ("Hoàng", "Hoang"),
    ("Huỳnh", "Huynh"),
    ("Phan", "Phan"),
    ("Vũ", "Vu"),
    ("Võ", "Vo"),
    ("Đặng", "Dang"),
    ("Bùi", "Bui"),
    ("Đỗ", "Do"),
    ("Hồ", "Ho"),
    ("Ngô", "Ngo"),
    ("Dương", "Duong"),
    ("Lý", "Ly"),
]
# Common family names are drawn more often, as in Vietnam (Nguyễn first by far).
VN_FAMILY_WEIGHTS = [38, 11, 9, 7, 5, 5, 4, 4, 3, 2, 2, 2, 2, 1, 1, 1]

# (Vietnamese, English) business words: as a Vietnamese company writes them and as its English
# name usually translates them. Several English renderings where usage varies.
BUSINESS = [
    ("Thương Mại", ["Trading", "Trade", "Commercial"]),
    ("Xuất Nhập Khẩu", ["Import Export", "Import and Export", "Imex"]),
    ("Hóa Chất", ["Chemical", "Chemicals"]),
    ("Dịch Vụ", ["Services", "Service"]),
    ("Vận Tải", ["Transport", "Logistics"]),
    ("Giao Nhận", ["Forwarding", "Logistics"]),
    ("Sản Xuất", ["Manufacturing", "Production"]),
    ("Đầu Tư", ["Investment"]),
    ("Công Nghệ", ["Technology", "Tech"]),
    ("Dược Phẩm", ["Pharmaceutical", "Pharma"]),
    ("Thực Phẩm", ["Food", "Foods"]),
    ("Xây Dựng", ["Construction"]),
    ("Nhựa", ["Plastic", "Plastics"]),
    ("Điện Tử", ["Electronics"]),
    ("Thiết Bị", ["Equipment"]),
    ("Nông Nghiệp", ["Agriculture", "Agricultural"]),
]
BUSINESS_PAIRS = [  # two business words together, as in "Thương mại và Dịch vụ"
    (0, 7),
    (0, 3),
    (1, 0),
    (2, 0),
    (4, 3),
    (6, 0),
]
VN_ABBREV = {"Thương Mại": "TM", "Xuất Nhập Khẩu": "XNK", "Dịch Vụ": "DV", "Sản Xuất": "SX", "Xây Dựng": "XD"}

# (Vietnamese legal form prefix, English renderings)
VN_LEGAL = [
    ("CÔNG TY TNHH", ["Co., Ltd", "Company Limited", "Co. Ltd.", "Limited"]),
    ("CÔNG TY TNHH MỘT THÀNH VIÊN", ["One Member Co., Ltd", "Co., Ltd", "Company Limited"]),
    ("CÔNG TY CỔ PHẦN", ["JSC", "Joint Stock Company", "Corporation"]),
]
VN_LEGAL_SHORT = {
    "CÔNG TY TNHH": ["CTY TNHH", "Cty TNHH"],
    "CÔNG TY TNHH MỘT THÀNH VIÊN": ["CTY TNHH MTV", "Công ty TNHH MTV"],
    "CÔNG TY CỔ PHẦN": ["CTCP", "Công ty CP"],
}

# Chinese: characters used in company and person names, with the reading a Chinese exporter would
# write in its English name (hand-written, not from pypinyin).
ZH_CHARS = {
    "华": "hua", "强": "qiang", "鑫": "xin", "源": "yuan", "恒": "heng", "泰": "tai", "宏": "hong",
    "达": "da", "盛": "sheng", "兴": "xing", "隆": "long", "金": "jin", "龙": "long", "凯": "kai",
    "瑞": "rui", "丰": "feng", "昌": "chang", "德": "de", "新": "xin", "明": "ming", "永": "yong",
    "远": "yuan", "海": "hai", "宝": "bao", "富": "fu", "利": "li", "通": "tong", "安": "an",
    "嘉": "jia", "祥": "xiang", "顺": "shun", "诚": "cheng",
}  # fmt: skip
ZH_CITIES = [("深圳", "Shenzhen"), ("广州", "Guangzhou"), ("东莞", "Dongguan"), ("佛山", "Foshan"), ("厦门", "Xiamen"),
             ("宁波", "Ningbo"), ("青岛", "Qingdao"), ("南宁", "Nanning"), ("昆明", "Kunming"), ("杭州", "Hangzhou")]  # fmt: skip
ZH_BUSINESS = [("贸易", "Trading", "maoyi"), ("化工", "Chemical", "huagong"), ("进出口", "Import and Export", "jinchukou"),
               ("物流", "Logistics", "wuliu"), ("科技", "Technology", "keji"), ("电子", "Electronics", "dianzi"),
               ("医药", "Pharmaceutical", "yiyao"), ("食品", "Food", "shipin"), ("塑料", "Plastic", "suliao"),
               ("国际贸易", "International Trading", "guoji maoyi")]  # fmt: skip
ZH_LEGAL = [("有限公司", ["Co., Ltd", "Co.,Ltd.", "Company Limited", "Limited"], "Youxian Gongsi"),
            ("有限责任公司", ["Co., Ltd", "Company Limited"], "Youxian Zeren Gongsi"),
            ("股份有限公司", ["Co., Ltd", "Joint Stock Co., Ltd"], "Gufen Youxian Gongsi")]  # fmt: skip
ZH_FAMILY = [("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"), ("黄", "Huang"),
             ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"), ("徐", "Xu"), ("孙", "Sun"), ("马", "Ma"), ("朱", "Zhu")]  # fmt: skip
ZH_GIVEN = {"伟": "wei", "芳": "fang", "娜": "na", "敏": "min", "静": "jing", "丽": "li", "强": "qiang", "磊": "lei",
            "军": "jun", "洋": "yang", "勇": "yong", "艳": "yan", "杰": "jie", "涛": "tao", "明": "ming", "超": "chao",
            "秀": "xiu", "霞": "xia", "平": "ping", "刚": "gang", "华": "hua", "建": "jian", "国": "guo", "文": "wen"}  # fmt: skip

TITLES = [("Ông", "Mr"), ("Bà", "Mrs"), ("Anh", "Mr"), ("Chị", "Ms")]


def strip_marks(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def load_given(data: Path) -> list[tuple[str, str]]:
    """(marked, unmarked) given names, two syllables, from the boy and girl lists."""
    out: list[tuple[str, str]] = []
    for kind in ("boy", "girl"):
        marked = (data / "vietnamese-names" / f"{kind}.txt").read_text(encoding="utf-8").splitlines()
        plain = (data / "vietnamese-names" / f"{kind}_no_accents.txt").read_text(encoding="utf-8").splitlines()
        for m, p in zip(marked, plain, strict=True):
            m, p = m.strip(), p.strip()
            if len(m.split()) == 2 and len(p.split()) == 2:
                out.append((m, p))
    return sorted(set(out))


class Gen:
    def __init__(self, rng: random.Random, given: list[tuple[str, str]]) -> None:
        self.rng = rng
        self.given = given
        # Syllables differing by one letter once folded (An/Anh, Phát/Phúc is two): near-miss names.
        syll: dict[str, str] = {}
        for m, p in given:
            for ms, ps in zip(m.split(), p.split(), strict=True):
                syll.setdefault(ps.lower(), ms)
        self.syll = syll
        self.one_letter: dict[str, list[str]] = {}
        keys = sorted(syll)
        for a in keys:
            for b in keys:
                if a < b and _one_edit(a, b):
                    self.one_letter.setdefault(a, []).append(b)
                    self.one_letter.setdefault(b, []).append(a)

    def family(self) -> tuple[str, str]:
        return self.rng.choices(VN_FAMILY, weights=VN_FAMILY_WEIGHTS)[0]

    def given_name(self) -> tuple[str, str]:
        return self.rng.choice(self.given)

    def business(self) -> list[tuple[str, str]]:
        if self.rng.random() < 0.25:
            i, j = self.rng.choice(BUSINESS_PAIRS)
            picks = [BUSINESS[i], BUSINESS[j]]
        else:
            picks = [self.rng.choice(BUSINESS)]
        return [(vi, self.rng.choice(en)) for vi, en in picks]

    def case(self, text: str) -> str:
        r = self.rng.random()
        return text.upper() if r < 0.4 else (text.title() if r < 0.8 else text)

    # --- companies ---------------------------------------------------------------------------

    def vn_company(self, name: tuple[str, str], biz: list[tuple[str, str]], legal: int) -> str:
        vi_biz = " VÀ ".join(vi for vi, _ in biz)
        return self.case(f"{VN_LEGAL[legal][0]} {vi_biz} {name[0]}")

    def en_company(self, name: tuple[str, str], biz: list[tuple[str, str]], legal: int, drop_biz: bool = False) -> str:
        en_biz = " and ".join(en for _, en in biz)
        form = self.rng.choice(VN_LEGAL[legal][1])
        core = name[1] if drop_biz else f"{name[1]} {en_biz}"
        if self.rng.random() < 0.2:
            core = name[1].replace(" ", "") + ("" if drop_biz else f" {en_biz}")
        return self.case(f"{core} {form}")

    def zh_company(self) -> tuple[str, str, str, str, int]:
        chars = self.rng.sample(sorted(ZH_CHARS), 2)
        word = "".join(chars)
        city = self.rng.choice(ZH_CITIES)
        biz = self.rng.randrange(len(ZH_BUSINESS))
        legal = self.rng.randrange(len(ZH_LEGAL))
        return word, city[0], city[1], ZH_BUSINESS[biz][0], biz * 10 + legal

    def zh_names(self, word: str, city: tuple[str, str], code: int) -> tuple[str, str, str]:
        biz, legal = ZH_BUSINESS[code // 10], ZH_LEGAL[code % 10]
        py = [ZH_CHARS[c] for c in word]
        city_prefix = self.rng.random() < 0.8
        zh = (f"{city[0]}市" if city_prefix else "") + word + biz[0] + legal[0]
        joined = "".join(py).capitalize() if self.rng.random() < 0.7 else " ".join(p.capitalize() for p in py)
        en_city = f"{city[1]} " if self.rng.random() < 0.7 else ""
        en = self.case(f"{en_city}{joined} {biz[1]} {self.rng.choice(legal[1])}")
        pinyin = f"{city[1]} {joined} {biz[2].title()} {legal[2]}"
        return zh, en, pinyin

    # --- persons -----------------------------------------------------------------------------

    def vn_person(self) -> tuple[tuple[str, str], tuple[str, str]]:
        return self.family(), self.given_name()


def _one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    s, t = (a, b) if len(a) < len(b) else (b, a)
    return any(t[:i] + t[i + 1 :] == s for i in range(len(t)))


def build(data: Path, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    g = Gen(rng, load_given(data))
    rows: list[dict[str, str]] = []

    def add(n1: str, n2: str, schema: str, label: int, kind: str) -> None:
        if rng.random() < 0.5:
            n1, n2 = n2, n1
        # A third of the pairs without a schema: the scorer has to guess.
        rows.append({"name1": n1, "name2": n2, "schema": "" if rng.random() < 0.33 else schema,
                     "label": str(label), "kind": kind})  # fmt: skip

    def times(n: int, fn: Callable[[], None]) -> None:
        for _ in range(n):
            fn()

    # ---- true company pairs
    def vi_diacritics() -> None:
        name, biz, legal = g.given_name(), g.business(), rng.randrange(3)
        vn = g.vn_company(name, biz, legal)
        add(vn, g.case(strip_marks(vn)), "Company", 1, "company_vi_diacritics")

    def vi_en() -> None:
        name, biz, legal = g.given_name(), g.business(), rng.randrange(3)
        add(g.vn_company(name, biz, legal), g.en_company(name, biz, legal, drop_biz=rng.random() < 0.15),
            "Company", 1, "company_vi_en")  # fmt: skip

    def vi_abbrev() -> None:
        name = g.given_name()
        vi, _ = rng.choice([b for b in BUSINESS if b[0] in VN_ABBREV])
        legal = rng.randrange(3)
        long = f"{VN_LEGAL[legal][0]} {vi} {name[0]}"
        short = f"{rng.choice(VN_LEGAL_SHORT[VN_LEGAL[legal][0]])} {VN_ABBREV[vi]} {name[0]}"
        if rng.random() < 0.5:
            short = strip_marks(short)
        add(g.case(long), g.case(short), "Company", 1, "company_vi_abbrev")

    def zh_en() -> None:
        word, c0, c1, _, code = g.zh_company()
        zh, en, _ = g.zh_names(word, (c0, c1), code)
        add(zh, en, "Company", 1, "company_zh_en")

    def zh_pinyin() -> None:
        word, c0, c1, _, code = g.zh_company()
        zh, _, py = g.zh_names(word, (c0, c1), code)
        add(zh, py, "Company", 1, "company_zh_pinyin")

    # ---- false company pairs
    def shared_business() -> None:
        biz, legal = g.business(), rng.randrange(3)
        a, b = g.given_name(), g.given_name()
        while a[1].lower() == b[1].lower():
            b = g.given_name()
        first = g.vn_company(a, biz, legal) if rng.random() < 0.5 else g.en_company(a, biz, legal)
        add(first, g.en_company(b, biz, legal), "Company", 0, "company_shared_business")

    def shared_token() -> None:
        a = g.given_name()
        b = g.given_name()
        while b[0].split()[0] == a[0].split()[0] or a[1].split()[1].lower() == b[1].split()[1].lower():
            b = g.given_name()
        # Same first syllable, different second: "Hoàng Anh" vs "Hoàng Long".
        b = (f"{a[0].split()[0]} {b[0].split()[1]}", f"{a[1].split()[0]} {b[1].split()[1]}")
        biz, legal = g.business(), rng.randrange(3)
        add(g.vn_company(a, biz, legal), g.en_company(b, biz, legal), "Company", 0, "company_shared_token")

    def one_letter() -> None:
        while True:
            a = g.given_name()
            last = a[1].split()[1].lower()
            if last in g.one_letter:
                break
        other = rng.choice(g.one_letter[last])
        b_marked = f"{a[0].split()[0]} {g.syll[other]}"
        b = (b_marked, strip_marks(b_marked))
        biz, legal = g.business(), rng.randrange(3)
        first = g.vn_company(a, biz, legal)
        second = g.vn_company(b, biz, legal) if rng.random() < 0.5 else g.en_company(b, biz, legal)
        add(first, second, "Company", 0, "company_one_letter")

    def diff_business() -> None:
        name, legal = g.given_name(), rng.randrange(3)
        i, j = rng.sample(range(len(BUSINESS)), 2)
        while {i, j} == {4, 5}:  # vận tải and giao nhận are both logistics
            i, j = rng.sample(range(len(BUSINESS)), 2)
        b1 = [(BUSINESS[i][0], BUSINESS[i][1][0])]
        b2 = [(BUSINESS[j][0], BUSINESS[j][1][0])]
        add(g.vn_company(name, b1, legal), g.en_company(name, b2, legal), "Company", 0, "company_diff_business")

    def zh_false() -> None:
        word, c0, c1, _, code = g.zh_company()
        other = word[0] + rng.choice([c for c in sorted(ZH_CHARS) if ZH_CHARS[c] != ZH_CHARS[word[1]]])
        zh, _, _ = g.zh_names(word, (c0, c1), code)
        _, en, _ = g.zh_names(other, (c0, c1), code)
        add(zh, en, "Company", 0, "company_zh_false")

    # ---- true person pairs
    def person_diacritics() -> None:
        fam, given = g.vn_person()
        full = f"{fam[0]} {given[0]}"
        add(full, g.case(f"{fam[1]} {given[1]}"), "Person", 1, "person_vi_diacritics")

    def person_order() -> None:
        fam, given = g.vn_person()
        mid, last = given[1].split()
        western = rng.choice([f"{last} {mid} {fam[1]}", f"{mid} {last} {fam[1]}", f"{last} {fam[1]} {mid}"])
        add(f"{fam[0]} {given[0]}", g.case(western), "Person", 1, "person_vi_order")

    def person_title() -> None:
        fam, given = g.vn_person()
        vi_title, en_title = rng.choice(TITLES)
        first = f"{vi_title} {fam[0]} {given[0]}"
        second = g.case(f"{en_title} {fam[1]} {given[1]}") if rng.random() < 0.5 else f"{fam[1]} {given[1]}"
        add(first, second, "Person", 1, "person_vi_title")

    def person_zh() -> None:
        fam = rng.choice(ZH_FAMILY)
        n = rng.choice([1, 2])
        chars = rng.sample(sorted(ZH_GIVEN), n)
        given_py = "".join(ZH_GIVEN[c] for c in chars).capitalize()
        en = rng.choice([f"{fam[1]} {given_py}", f"{given_py} {fam[1]}", f"{fam[1].upper()} {given_py}"])
        add(fam[0] + "".join(chars), en, "Person", 1, "person_zh")

    # ---- false person pairs
    def same_family() -> None:
        fam, given = g.vn_person()
        other = g.given_name()
        while other[1].split()[1].lower() == given[1].split()[1].lower():
            other = g.given_name()
        # Same family and middle name, different given name: Nguyễn Văn Hùng vs Nguyễn Văn Hải.
        o = (f"{given[0].split()[0]} {other[0].split()[1]}", f"{given[1].split()[0]} {other[1].split()[1]}")
        second = f"{fam[0]} {o[0]}" if rng.random() < 0.5 else g.case(f"{fam[1]} {o[1]}")
        add(f"{fam[0]} {given[0]}", second, "Person", 0, "person_same_family")

    def same_given() -> None:
        fam, given = g.vn_person()
        other = g.family()
        while other == fam:
            other = g.family()
        add(f"{fam[0]} {given[0]}", g.case(f"{other[1]} {given[1]}"), "Person", 0, "person_same_given")

    def person_one_letter() -> None:
        while True:
            fam, given = g.vn_person()
            last = given[1].split()[1].lower()
            if last in g.one_letter:
                break
        other = g.syll[rng.choice(g.one_letter[last])]
        second = f"{fam[0]} {given[0].split()[0]} {other}"
        add(f"{fam[0]} {given[0]}", second if rng.random() < 0.5 else strip_marks(second), "Person", 0,
            "person_one_letter")  # fmt: skip

    def person_zh_false() -> None:
        fam = rng.choice(ZH_FAMILY)
        c1, c2 = rng.sample(sorted(ZH_GIVEN), 2)
        while ZH_GIVEN[c1] == ZH_GIVEN[c2]:
            c1, c2 = rng.sample(sorted(ZH_GIVEN), 2)
        add(fam[0] + c1, f"{fam[1]} {ZH_GIVEN[c2].capitalize()}", "Person", 0, "person_zh_false")

    plan: list[tuple[int, Callable[[], None]]] = [
        (50, vi_diacritics), (90, vi_en), (30, vi_abbrev), (60, zh_en), (30, zh_pinyin),
        (70, shared_business), (50, shared_token), (40, one_letter), (30, diff_business), (40, zh_false),
        (40, person_diacritics), (40, person_order), (20, person_title), (40, person_zh),
        (50, same_family), (40, same_given), (30, person_one_letter), (30, person_zh_false),
    ]  # fmt: skip
    for n, fn in plan:
        times(n, fn)
    rng.shuffle(rows)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the linkage-eval data directory")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    rows = build(args.data, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["name1", "name2", "schema", "label", "kind"], lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(f"{len(rows)} pairs ({sum(r['label'] == '1' for r in rows)} true) -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
