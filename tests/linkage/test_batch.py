"""Batch deduplication (Splink on DuckDB, re-scored with score_pair) on a small realistic register."""

from __future__ import annotations

import itertools
import unicodedata

import pytest

pytest.importorskip("splink")

from interdict.linkage.batch import PREPARED_SCHEMA, BatchResult, EntityRecord, deduplicate, prepare
from interdict.linkage.score import DEFAULT_THRESHOLD, SUGGEST_THRESHOLD, score_pair


def strip_marks(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


# (distinctive name, Vietnamese business words, English business words, abbreviation or None)
VN_COMPANIES = [
    ("Hoàng Anh", "Thương Mại", "Trading", "TM"),
    ("Minh Phát", "Xuất Nhập Khẩu", "Import Export", "XNK"),
    ("Thành Đạt", "Dịch Vụ", "Services", "DV"),
    ("Phương Nam", "Hóa Chất", "Chemicals", None),
    ("Bình Minh", "Vận Tải", "Transport", None),
    ("Hải Âu", "Sản Xuất", "Manufacturing", "SX"),
    ("Kim Long", "Dược Phẩm", "Pharmaceutical", None),
    ("Tân Việt", "Thực Phẩm", "Food", None),
    ("Đại Dương", "Xây Dựng", "Construction", "XD"),
    ("Quang Huy", "Nhựa", "Plastics", None),
    ("Hồng Phúc", "Điện Tử", "Electronics", None),
    ("Trường Thịnh", "Thiết Bị", "Equipment", None),
    ("Ngọc Lan", "Nông Nghiệp", "Agriculture", None),
    ("Việt Hưng", "Công Nghệ", "Technology", None),
    ("Thiên Phú", "Đầu Tư", "Investment", None),
    ("An Khang", "Thương Mại", "Trading", "TM"),
    ("Gia Bảo", "Dịch Vụ", "Services", "DV"),
    ("Sao Mai", "Giao Nhận", "Forwarding", None),
    ("Phú Quý", "Xuất Nhập Khẩu", "Import and Export", "XNK"),
    ("Đức Thắng", "Thương Mại", "Trade", "TM"),
]
# Another company whose name differs by one letter or one syllable, same business: never the same.
VN_NEAR_MISSES = {
    "Hoàng Anh": "Hoàng An",
    "Minh Phát": "Minh Phúc",
    "Thành Đạt": "Thành Đạo",
    "Bình Minh": "Bình Minh Long",
    "Kim Long": "Kim Loan",
    "Quang Huy": "Quang Hùng",
    "Gia Bảo": "Gia Bình",
    "Đức Thắng": "Đức Thịnh",
}

# (Chinese name, English name, pinyin name)
ZH_COMPANIES = [
    ("深圳市华强贸易有限公司", "Shenzhen Huaqiang Trading Co., Ltd", "Shenzhen Hua Qiang Maoyi Youxian Gongsi"),
    ("广州市鑫源化工有限公司", "Guangzhou Xinyuan Chemical Co., Ltd.", "Guangzhou Xinyuan Huagong Youxian Gongsi"),
    ("东莞市恒泰物流有限公司", "DONGGUAN HENGTAI LOGISTICS CO., LTD", "Dongguan Heng Tai Wuliu Youxian Gongsi"),
    ("宁波市宏达电子有限公司", "Ningbo Hongda Electronics Company Limited", "Ningbo Hongda Dianzi Youxian Gongsi"),
    ("昆明市瑞丰医药有限公司", "Kunming Ruifeng Pharmaceutical Co., Ltd", "Kunming Rui Feng Yiyao Youxian Gongsi"),
    ("厦门市金龙食品有限公司", "Xiamen Jinlong Food Co., Ltd", "Xiamen Jinlong Shipin Youxian Gongsi"),
]
ZH_NEAR_MISSES = [
    "深圳市华兴贸易有限公司",  # Huaxing, not Huaqiang
    "Guangzhou Xinyuan Plastic Co., Ltd",  # same name, another business: a suggestion at most
]

# (family, middle, given) with diacritics
VN_PERSONS = [
    ("Nguyễn", "Văn", "Hùng"),
    ("Trần", "Thị", "Mai"),
    ("Lê", "Minh", "Tuấn"),
    ("Phạm", "Ngọc", "Lan"),
    ("Hoàng", "Đức", "Anh"),
    ("Võ", "Thanh", "Tâm"),
    ("Đặng", "Quang", "Vinh"),
    ("Bùi", "Thị", "Hằng"),
    ("Đỗ", "Hữu", "Phước"),
    ("Ngô", "Bảo", "Châu"),
    ("Dương", "Minh", "Khôi"),
    ("Huỳnh", "Thị", "Thu Trang"),
    ("Phan", "Công", "Danh"),
    ("Vũ", "Xuân", "Trường"),
]
VN_PERSON_NEAR_MISSES = [
    "Nguyễn Văn Hải",
    "Trần Thị Mai Anh",
    "Phạm Ngọc Lâm",
    "Võ Thanh Tú",
]
# Names that differ only in their diacritics (Hưng is not Hùng): never a link, but "NGUYEN VAN HUNG"
# written without diacritics links to both, so connected components may put them in one cluster.
VN_PERSON_DIACRITIC_MISSES = ["Nguyễn Văn Hưng", "Lê Minh Tuân"]
ZH_PERSONS = [("王伟", "WANG Wei", "Wei Wang"), ("李娜", "LI Na", "Na Li"), ("张磊", "Zhang Lei", "ZHANG LEI")]
ZH_PERSON_NEAR_MISSES = ["王磊", "Wang Wen"]

VESSELS = [("MV OCEAN STAR", "Ocean Star", "OCEAN STAR"), ("HẢI PHÒNG 08", "Hai Phong 08", "MV HAI PHONG 08")]


Register = tuple[list[EntityRecord], list[list[str]], list[tuple[str, list[str]]], list[tuple[str, list[str]]]]


def build_register() -> Register:
    """Records, true groups (ids of one entity), near misses (id, ids it must not join), and
    diacritic-only near misses (id, ids it must not be linked to)."""
    records: list[EntityRecord] = []
    groups: list[list[str]] = []
    misses: list[tuple[str, list[str]]] = []
    no_links: list[tuple[str, list[str]]] = []

    def add(kind: str, names: list[str], country: str | None = "VN") -> list[str]:
        ids = []
        for name in names:
            rid = f"r{len(records):04d}"
            records.append(EntityRecord(id=rid, kind=kind, name=name, country=country))
            ids.append(rid)
        return ids

    by_name: dict[str, list[str]] = {}
    for name, vi, en, abbr in VN_COMPANIES:
        names = [
            f"CÔNG TY TNHH {vi.upper()} {name.upper()}",
            f"Cong ty TNHH {strip_marks(vi)} {strip_marks(name)}",
            f"{strip_marks(name)} {en} Co., Ltd",
            f"{strip_marks(name).replace(' ', '').upper()} {en.upper()} COMPANY LIMITED",
        ]
        if abbr:
            names.append(f"CTY TNHH {abbr} {name}")
        ids = add("company", names)
        groups.append(ids)
        by_name[name] = ids
    for name, other in VN_NEAR_MISSES.items():
        vi = next(v for n, v, _, _ in VN_COMPANIES if n == name)
        ids = add("company", [f"CÔNG TY TNHH {vi} {other}", f"Công ty TNHH {vi} {other}".upper()])
        groups.append(ids)
        misses.extend((i, by_name[name]) for i in ids)

    zh_ids = []
    for zh, en, py in ZH_COMPANIES:
        ids = add("company", [zh, en, py], "CN")
        groups.append(ids)
        zh_ids.append(ids)
    misses.append((add("company", [ZH_NEAR_MISSES[0]], "CN")[0], zh_ids[0]))
    misses.append((add("company", [ZH_NEAR_MISSES[1]], "CN")[0], zh_ids[1]))

    person_ids: dict[str, list[str]] = {}
    for family, middle, given in VN_PERSONS:
        full = f"{family} {middle} {given}"
        plain = strip_marks(full)
        ids = add(
            "person",
            [
                full,
                plain.upper(),
                f"{given} {family} {middle}",  # order of a foreign document
                f"Ông {full}" if middle != "Thị" else f"Bà {full}",
                f"{strip_marks(given)} {strip_marks(family)} {strip_marks(middle)}",
            ],
        )
        groups.append(ids)
        person_ids[full] = ids
    for miss in VN_PERSON_NEAR_MISSES:
        family, middle = miss.split()[:2]
        target = next(k for k in person_ids if k.startswith(f"{family} {middle}"))
        misses.append((add("person", [miss])[0], person_ids[target]))
    for miss in VN_PERSON_DIACRITIC_MISSES:
        family, middle = miss.split()[:2]
        target = next(k for k in person_ids if k.startswith(f"{family} {middle}"))
        marked = [person_ids[target][k] for k in (0, 2, 3)]  # the spellings with diacritics
        no_links.append((add("person", [miss])[0], marked))
    for zh, a, b in ZH_PERSONS:
        groups.append(add("person", [zh, a, b], "CN"))
    misses.append((add("person", [ZH_PERSON_NEAR_MISSES[0]], "CN")[0], groups[-3]))
    misses.append((add("person", [ZH_PERSON_NEAR_MISSES[1]], "CN")[0], groups[-3]))

    for names in VESSELS:
        groups.append(add("vessel", list(names), None))

    # Same names under other kinds: a person called Hoàng Anh, a vessel HOANG ANH, a company
    # named after Nguyễn Văn Hùng. Never paired with the company / person of that name.
    add("person", ["Hoàng Anh", "HOANG ANH"])
    add("vessel", ["HOANG ANH", "MV Hoàng Anh"])
    add("company", ["Công ty TNHH Nguyễn Văn Hùng"])
    return records, groups, misses, no_links


@pytest.fixture(scope="module")
def register() -> Register:
    return build_register()


@pytest.fixture(scope="module")
def result(register: Register) -> BatchResult:
    records, _, _, _ = register
    return deduplicate(records, workers=1)


def test_register_is_realistic(register: Register) -> None:
    records, groups, misses, _ = register
    assert len(records) >= 200
    assert len(groups) >= 50 and len(misses) >= 20


def test_true_duplicates_cluster_together(register: Register, result: BatchResult) -> None:
    records, groups, _, _ = register
    cm = result.cluster_map()
    names = {r.id: r.name for r in records}
    split = [[names[i] for i in g] for g in groups if len({cm[i] for i in g}) > 1]
    assert split == []


def test_near_misses_stay_apart(register: Register, result: BatchResult) -> None:
    records, _, misses, _ = register
    cm = result.cluster_map()
    names = {r.id: r.name for r in records}
    joined = [(names[i], names[g[0]]) for i, g in misses if cm[i] == cm[g[0]]]
    assert joined == []


def test_diacritic_near_misses_are_not_links(register: Register, result: BatchResult) -> None:
    records, _, _, no_links = register
    linked = {(p["id_l"], p["id_r"]) for p in result.links().to_pylist()}
    names = {r.id: r.name for r in records}
    bad = [(names[i], names[j]) for i, g in no_links for j in g if (min(i, j), max(i, j)) in linked]
    assert bad == []


def test_kinds_never_pair(register: Register, result: BatchResult) -> None:
    records, _, _, _ = register
    kind = {r.id: r.kind for r in records}
    pairs = result.pairs.to_pylist()
    assert pairs
    assert all(kind[p["id_l"]] == kind[p["id_r"]] == p["kind"] for p in pairs)
    cm = result.cluster_map()
    members: dict[str, set[str]] = {}
    for rid, cid in cm.items():
        members.setdefault(cid, set()).add(kind[rid])
    assert all(len(k) == 1 for k in members.values())


def test_pairs_carry_authoritative_scores(register: Register, result: BatchResult) -> None:
    records, _, _, _ = register
    by_id = {r.id: r for r in records}
    schema = {"company": "Company", "person": "Person", "vessel": "Vessel"}
    pairs = result.pairs.to_pylist()
    assert result.pairs.column_names == ["id_l", "id_r", "kind", "match_probability", "score"]
    for p in pairs:
        assert p["id_l"] < p["id_r"]
        assert SUGGEST_THRESHOLD <= p["score"] <= 1.0
        assert 0.0 <= p["match_probability"] <= 1.0
        a, b = by_id[p["id_l"]], by_id[p["id_r"]]
        # What rebuild stores is what an analyst sees for the same pair.
        assert p["score"] == score_pair(a.name, b.name, schema[a.kind]).score
    links = result.links().to_pylist()
    assert links and all(p["score"] >= DEFAULT_THRESHOLD for p in links)
    # A same-name company with another business is a suggestion, not a link.
    suggestions = [p for p in pairs if p["score"] < DEFAULT_THRESHOLD]
    assert suggestions
    # Every link joins one cluster.
    cm = result.cluster_map()
    assert all(cm[p["id_l"]] == cm[p["id_r"]] for p in links)


def test_counts_and_timings(result: BatchResult, register: Register) -> None:
    records, _, _, _ = register
    assert result.counts["records"] == len(records)
    assert result.clusters.num_rows == len(records)
    assert 0 < result.counts["comparisons"] < len(records) * (len(records) - 1) // 2
    assert result.counts["pairs"] == result.pairs.num_rows
    assert set(result.timings) >= {"prepare", "train", "block", "predict", "rescore", "cluster"}
    assert result.model["comparisons"]


def test_prepare_keys() -> None:
    table = prepare(
        [
            EntityRecord("1", "company", "CÔNG TY TNHH THƯƠNG MẠI HOÀNG ANH", "vn"),
            EntityRecord("2", "company", "HoangAnh Trading Co., Ltd", None),
            EntityRecord("3", "person", "Nguyễn Văn Hùng", None),
            EntityRecord("4", "person", "Anh Hung Nguyen Van", None),
            EntityRecord("5", "company", "深圳市华强贸易有限公司", "CN"),
            EntityRecord("6", "company", "Co., Ltd", None),
        ]
    )
    assert table.schema == PREPARED_SCHEMA
    rows = table.to_pylist()
    assert rows[0]["country"] == "VN" and rows[1]["country"] is None
    assert rows[0]["name_letters"] == rows[1]["name_letters"]
    assert rows[0]["concepts_key"] == rows[1]["concepts_key"] == "trading"
    assert rows[0]["legal_form"] == rows[1]["legal_form"] == "llc"
    assert rows[2]["name_letters"] == rows[3]["name_alt"]
    assert rows[4]["name_joined"] == "huaqiang"
    assert rows[5]["name_letters"] is None  # nothing distinctive: never blocked


def test_empty_and_single() -> None:
    empty = deduplicate([])
    assert empty.pairs.num_rows == 0 and empty.clusters.num_rows == 0
    assert empty.counts["records"] == 0 and empty.counts["comparisons"] == 0
    one = deduplicate([EntityRecord("a", "person", "Nguyễn Văn Hùng", None)])
    assert one.cluster_map() == {"a": "a"}
    assert prepare([]).num_rows == 0


def test_progress_and_em() -> None:
    # The fixture above uses the fixed m values (too few records for EM); EM runs here all the same.
    records, groups, _, _ = build_register()
    messages: list[str] = []
    res = deduplicate(records[:120], progress=messages.append, train=True, workers=1)
    assert [m.split(":")[0] for m in messages] == ["prepare", "train", "block", "predict", "rescore", "cluster"]
    cm = res.cluster_map()
    for g in groups:
        ids = [i for i in g if i in cm]
        assert all(cm[a] == cm[b] for a, b in itertools.pairwise(ids))
