from __future__ import annotations

import pytest
from rigour.names import extract_org_types

from interdict.linkage.normalise import (
    address,
    company,
    container,
    email,
    fold,
    imo,
    is_placeholder,
    person,
    phone_e164,
)

# --- fold --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("CÔNG TY TNHH Hoàng-Anh", "cong ty tnhh hoang anh"),
        ("Đặng  Văn   Đức", "dang van duc"),
        ("ÐỨC (Icelandic eth typed for Đ)", "duc icelandic eth typed for d"),
        ("ＡＢＣ　Co.,Ltd", "abc co ltd"),  # full-width, as Chinese input methods type it
        ("深圳市华强贸易有限公司", "深圳市华强贸易有限公司"),
        ("ABC贸易", "abc 贸易"),
    ],
)
def test_fold_strips_diacritics_punctuation_and_case(raw: str, folded: str) -> None:
    assert fold(raw) == folded


# --- legal forms -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "form", "distinctive"),
    [
        ("CÔNG TY TNHH HOÀNG ANH", "llc", ("hoang", "anh")),
        ("cong ty tnhh hoang anh", "llc", ("hoang", "anh")),
        ("CTY TNHH MTV HOÀNG ANH", "one_member_llc", ("hoang", "anh")),
        ("Công ty TNHH Một Thành Viên Hoàng Anh", "one_member_llc", ("hoang", "anh")),
        ("CÔNG TY TNHH MTV HOÀNG ANH", "one_member_llc", ("hoang", "anh")),
        ("CÔNG TY CỔ PHẦN HOÀNG ANH", "jsc", ("hoang", "anh")),
        ("CTCP Hoàng Anh", "jsc", ("hoang", "anh")),
        ("DNTN Hoàng Anh", "sole_proprietorship", ("hoang", "anh")),
        ("Hoang Anh Co., Ltd", "llc", ("hoang", "anh")),
        ("Hoang Anh Co. Ltd", "llc", ("hoang", "anh")),
        ("HOANG ANH COMPANY LIMITED", "llc", ("hoang", "anh")),
        ("Hoang Anh Limited", "llc", ("hoang", "anh")),
        ("Hoang Anh Ltd", "llc", ("hoang", "anh")),
        ("Hoang Anh LLC", "llc", ("hoang", "anh")),
        ("Hoang Anh JSC", "jsc", ("hoang", "anh")),
        ("Hoang Anh Corp", "corporation", ("hoang", "anh")),
        ("Hoang Anh Inc.", "corporation", ("hoang", "anh")),
        ("华强有限公司", "llc", ("hua", "qiang")),
        ("华强有限责任公司", "llc", ("hua", "qiang")),
        ("华强股份有限公司", "jsc", ("hua", "qiang")),
        ("华强有限公司深圳分公司", "branch", ("hua", "qiang")),
        ("Chi nhánh Công ty TNHH Hoàng Anh", "branch", ("hoang", "anh")),
    ],
)
def test_every_legal_form_is_recognised_and_removed(name: str, form: str, distinctive: tuple[str, ...]) -> None:
    c = company(name)
    assert c.legal_form == form
    assert c.distinctive == distinctive


def test_unspaced_chinese_name_yields_place_business_word_and_pinyin_keys() -> None:
    c = company("深圳市华强贸易有限公司")
    assert c.legal_form == "llc"
    assert c.places == {"shenzhen"}  # a place key, weighted lower than the distinctive name
    assert c.concepts == {"trading"}
    assert c.distinctive == ("hua", "qiang")  # per syllable
    assert c.pinyin_words == ("huaqiang",)  # per word
    assert c.core == "深圳 华强 贸易"


def test_unlisted_chinese_city_prefix_is_read_as_a_place() -> None:
    c = company("汕头市华强贸易有限公司")  # 汕头 is not in places.csv
    assert c.places == {"shantou"}
    assert c.distinctive == ("hua", "qiang")


def test_market_is_not_mistaken_for_a_city() -> None:
    assert company("华强市场有限公司").places == frozenset()


def test_core_keeps_business_words_and_drops_generic_words() -> None:
    c = company("CÔNG TY TNHH THƯƠNG MẠI VÀ DỊCH VỤ HOÀNG ANH")
    assert c.core == "thuong mai dich vu hoang anh"
    assert c.core_tokens == ("thuong", "mai", "dich", "vu", "hoang", "anh")
    assert c.concepts == {"trading", "service"}
    assert c.original == "CÔNG TY TNHH THƯƠNG MẠI VÀ DỊCH VỤ HOÀNG ANH"


@pytest.mark.parametrize(
    ("vi", "en", "zh", "concept"),
    [
        ("thương mại", "trading", "贸易", "trading"),
        ("xuất nhập khẩu", "import export", "进出口", "import_export"),
        ("XNK", "import and export", "进出口", "import_export"),
        ("hóa chất", "chemicals", "化工", "chemical"),
        ("dịch vụ", "services", "服务", "service"),
        ("vận tải", "logistics", "物流", "logistics"),
        ("giao nhận", "forwarding", "货运", "logistics"),
        ("sản xuất", "manufacturing", "制造", "manufacturing"),
        ("đầu tư", "investment", "投资", "investment"),
        ("phát triển", "development", "发展", "development"),
        ("công nghệ", "technology", "科技", "technology"),
        ("quốc tế", "international", "国际", "international"),
        ("dược phẩm", "pharmaceutical", "医药", "pharmaceutical"),
        ("thực phẩm", "food", "食品", "food"),
        ("xây dựng", "construction", "建筑", "construction"),
        ("kỹ thuật", "engineering", "工程", "engineering"),
        ("tập đoàn", "group", "集团", "group"),
        ("nhựa", "plastics", "塑料", "plastic"),
        ("điện tử", "electronics", "电子", "electronics"),
        ("công nghiệp", "industrial", "工业", "industrial"),
        ("vật tư", "materials", "物资", "materials"),
        ("thiết bị", "equipment", "设备", "equipment"),
        ("nông nghiệp", "agriculture", "农业", "agriculture"),
    ],
)
def test_business_words_share_a_concept_across_languages(vi: str, en: str, zh: str, concept: str) -> None:
    assert company(f"Công ty TNHH {vi} Minh Phát").concepts == {concept}
    assert company(f"Minh Phat {en} Co., Ltd").concepts == {concept}
    assert company(f"华强{zh}有限公司").concepts == {concept}
    assert company(f"Công ty TNHH {vi} Minh Phát").distinctive == ("minh", "phat")


def test_vietnamese_business_phrases_are_matched_on_folded_text() -> None:
    assert company("cong ty tnhh xuat nhap khau minh phat").concepts == {"import_export"}
    assert company("CONG TY TNHH XUAT NHAP KHAU MINH PHAT").distinctive == ("minh", "phat")


def test_rigour_alone_misses_vietnamese_and_unspaced_chinese_legal_forms() -> None:
    # The gap the project's tables fill: rigour 2.6.1 finds nothing in these.
    assert extract_org_types("CÔNG TY TNHH THƯƠNG MẠI HOÀNG ANH") == []
    assert extract_org_types("CÔNG TY CỔ PHẦN HOÀNG ANH") == []
    assert extract_org_types("深圳市华强贸易有限公司") == []
    assert company("CÔNG TY TNHH THƯƠNG MẠI HOÀNG ANH").legal_form == "llc"
    assert company("CÔNG TY CỔ PHẦN HOÀNG ANH").legal_form == "jsc"


def test_foreign_legal_form_not_in_the_tables_comes_from_rigour() -> None:
    c = company("Alpha Chemie S.p.A.")
    assert c.legal_form == "other:spa"
    assert c.distinctive == ("alpha", "chemie")
    # At the start too, as Indonesian names write it.
    c = company("PT Alpha Chemie")
    assert c.legal_form == "other:pt"
    assert c.distinctive == ("alpha", "chemie")


def test_legal_forms_of_many_countries_are_in_the_tables() -> None:
    assert company("Alpha Chemie OOO").legal_form == "llc"
    assert company('ООО "Альфа"').legal_form == "llc"
    assert company("Alpha Chemie Gesellschaft mit beschränkter Haftung").legal_form == "llc"
    assert company("Alpha Chemie Aktiengesellschaft").legal_form == "jsc"
    assert company("Alpha 주식회사").legal_form == "llc"
    assert company("Alpha Chemie Besloten Vennootschap").distinctive == ("alpha", "chemie")


# --- persons -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Nguyễn Văn Hùng", "NGUYEN VAN HUNG", "Hung Nguyen Van", "Nguyen Van Hung"])
def test_person_key_is_order_and_diacritic_independent(name: str) -> None:
    assert person(name).key == "hung nguyen van"


@pytest.mark.parametrize("name", ["张伟", "Zhang Wei", "Wei Zhang", "ZHANG Wei", "张伟先生"])
def test_chinese_person_name_reads_as_pinyin(name: str) -> None:
    assert person(name).key == "wei zhang"


@pytest.mark.parametrize(
    ("name", "tokens"),
    [
        ("Mr. Nguyen Van Hung", ("nguyen", "van", "hung")),
        ("Ông Nguyễn Văn Hùng", ("nguyen", "van", "hung")),
        ("Bà Lê Thị Hoa", ("le", "thi", "hoa")),
        ("Chị Lê Thị Hoa", ("le", "thi", "hoa")),
        ("Chị Phương", ("phuong",)),
        # Titles only as leading tokens: "Anh" is also a given name (Tuấn Anh, Anh Tuấn).
        ("Nguyễn Tuấn Anh", ("nguyen", "tuan", "anh")),
        ("Anh Tuấn", ("anh", "tuan")),
        # Without diacritics "Chi", "Ong" may be names: kept (the scorer may ignore them).
        ("Chi Phuong Do", ("chi", "phuong", "do")),
        ("Ong Wei Ming", ("ong", "wei", "ming")),
    ],
)
def test_titles_are_dropped_only_as_leading_titles(name: str, tokens: tuple[str, ...]) -> None:
    assert person(name).tokens == tokens


# --- identifiers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0903 123 456", "+84903123456"),
        ("+84 903 123 456", "+84903123456"),
        ("(+84) 903.123.456", "+84903123456"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("024 3825 1234", "+842438251234"),  # Hà Nội landline
        ("123", None),
        ("0000 000 000", None),
        ("not a phone", None),
        ("", None),
    ],
)
def test_phone_numbers_to_e164_only_when_valid(raw: str, e164: str | None) -> None:
    assert phone_e164(raw) == e164


def test_phone_default_region_applies_to_national_numbers() -> None:
    assert phone_e164("138 0013 8000", default_region="CN") == "+8613800138000"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Nguyen.Hung@Example.COM ", "nguyen.hung@example.com"),
        ("mailto:sales@hoanganh.vn", "sales@hoanganh.vn"),
        ("<sales@hoanganh.com.vn>", "sales@hoanganh.com.vn"),
        ("sales@hoanganh", None),
        ("sales.hoanganh.vn", None),
        ("a@@b.vn", None),
        ("a..b@c.vn", None),
        ("", None),
    ],
)
def test_email_trimmed_lowercased_and_checked(raw: str, expected: str | None) -> None:
    assert email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12 Lê Lợi, P. Bến Nghé, Q.1, TP.HCM", "12 le loi phuong ben nghe quan 1 thanh pho ho chi minh"),
        (
            "12 Le Loi, Phuong Ben Nghe, Quan 1, Thanh pho Ho Chi Minh",
            "12 le loi phuong ben nghe quan 1 thanh pho ho chi minh",
        ),
        (
            "12 Lê Lợi, Ben Nghe Ward, District 1, Ho Chi Minh City",
            "12 le loi ben nghe phuong quan 1 thanh pho ho chi minh",
        ),
        ("12 Le Loi, P.Ben Nghe, Q1, HCMC", "12 le loi phuong ben nghe quan 1 thanh pho ho chi minh"),
        ("Số 5 Đ. Trần Phú, TX. Từ Sơn", "so 5 duong tran phu thi xa tu son"),
        ("H. Thủy Nguyên, TP Hải Phòng", "huyen thuy nguyen thanh pho hai phong"),
        ("KCN Đình Vũ, Hai Phong City", "khu cong nghiep dinh vu thanh pho hai phong"),
        ("25 Tran Phu Street", "25 tran phu duong"),
        ("25 Tran Phu Rd., Dist. 5", "25 tran phu duong quan 5"),
        ("Sài Gòn", "ho chi minh"),
        ("Hanoi", "ha noi"),
        # A lone letter without a dot is not an abbreviation: lot P stays lot P.
        ("Lô P KCN Tân Tạo", "lo p khu cong nghiep tan tao"),
    ],
)
def test_address_abbreviations_are_canonicalised(raw: str, expected: str) -> None:
    assert address(raw) == expected


def test_container_numbers_check_digit() -> None:
    assert container("CSQU3054383") == "CSQU3054383"
    assert container("csqu 305438-3") == "CSQU3054383"
    assert container("CSQU3054384") is None  # wrong check digit
    assert container("CSQU305438") is None
    assert container("") is None


def test_imo_numbers_check_digit() -> None:
    assert imo("9321483") == "9321483"
    assert imo("IMO 9321483") == "9321483"
    assert imo("IMO9321483") == "9321483"
    assert imo("imo 9321483") == "9321483"
    assert imo("9321484") is None
    assert imo("IMO 12") is None


@pytest.mark.parametrize(
    "value",
    ["N/A", "n/a", "NA", "TO ORDER", "TO THE ORDER OF VIETCOMBANK", "To order of shipper", "unknown", "UNKNOWN",
     "không rõ", "KHONG RO", "-", "--", "?", "none", "None", "same as consignee", "SAME AS CONSIGNEE", "不详", "", "  "],
)  # fmt: skip
def test_placeholders(value: str) -> None:
    assert is_placeholder(value)


@pytest.mark.parametrize("value", ["Hoang Anh Trading Co., Ltd", "Nguyễn Văn Hùng", "Order Express Logistics", "Nana"])
def test_real_values_are_not_placeholders(value: str) -> None:
    assert not is_placeholder(value)
