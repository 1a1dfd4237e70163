"""Properties of text folding and of the filter language that search, watch rules and profiles rely on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Integer, column

from interdict.core.errors import InvalidInput
from interdict.core.filters import Condition, FieldSpec, Group, Registry
from interdict.core.text import compact, fold, search_document, tokens

VIETNAMESE = "ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"


def test_vietnamese_and_chinese_folding() -> None:
    assert fold("CÔNG TY TNHH XNK HOÀNG PHÁT") == "cong ty tnhh xnk hoang phat"
    assert fold("Đà Nẵng") == "da nang"
    assert tokens("醋酸酐 (acetic)") == ["醋", "酸", "酐", "acetic"]
    assert compact("P-2-P") == compact("p2p") == "p2p"


@given(st.text(alphabet=VIETNAMESE + VIETNAMESE.upper() + "abcdefghijklmnopqrstuvwxyz ", max_size=40))
def test_folding_is_idempotent_and_ascii_for_vietnamese(text: str) -> None:
    folded = fold(text)
    assert fold(folded) == folded
    assert folded.isascii()
    assert search_document(text) == search_document(folded)


@given(st.text(max_size=60))
def test_tokens_never_contain_separators_or_quotes(text: str) -> None:
    for t in tokens(text):
        assert t and not any(ch.isspace() for ch in t)
        assert "'" not in t and '"' not in t and ":" not in t and "&" not in t


def _registry() -> Registry:
    n = column("n", Integer)

    def build(op: str, v: object) -> object:
        if op == "in":
            return n.in_(v)  # type: ignore[arg-type]
        return n == v if op == "eq" else n >= v

    def parse(v: object) -> int:
        return int(v)  # type: ignore[call-overload]

    return Registry({"n": FieldSpec(build, frozenset({"eq", "in", "gte"}), parse)})  # type: ignore[arg-type]


def test_filter_errors_name_the_node() -> None:
    tree = Group.model_validate(
        {
            "all": [
                {"field": "n", "op": "eq", "value": 1},
                {"any": [{"field": "m", "op": "eq", "value": 1}, {"field": "n", "op": "contains", "value": 2}]},
            ]
        }
    )
    with pytest.raises(InvalidInput) as exc:
        _registry().compile(tree)
    assert [e.path for e in exc.value.errors] == ["filter.all[1].any[0].field", "filter.all[1].any[1].op"]


@given(st.lists(st.integers(min_value=-5, max_value=5), min_size=1, max_size=4))
def test_in_accepts_lists_and_comma_strings(values: list[int]) -> None:
    reg = _registry()
    a = reg.compile(Condition(field="n", op="in", value=values))
    b = reg.compile(Condition(field="n", op="in", value=",".join(map(str, values))))
    assert str(a.compile(compile_kwargs={"literal_binds": True})) == str(
        b.compile(compile_kwargs={"literal_binds": True})
    )


def test_indexing_many_narratives_keeps_none_of_them_in_memory() -> None:
    """A server indexes every narrative it is sent; it must not keep them in a cache (memory grows with traffic)."""
    import gc
    import tracemalloc

    def narrative(i: int) -> str:
        return (
            f"Hồ sơ {i}: tại cảng Hải Phòng, cán bộ hải quan phát hiện {i % 97} thùng hóa chất khai báo là "
            f"dung môi công nghiệp, thực tế là tiền chất P-2-P; công ty Thành Đạt {i} khai báo sai mã HS 2914. "
        ) * 4

    search_document(narrative(0), "Công ty Thành Đạt")  # warm up the caches of short names
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for i in range(1, 2001):
        assert "tien" in search_document(narrative(i), "Công ty Thành Đạt").split()
    gc.collect()
    kept = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    assert kept < 256 * 1024, f"{kept} bytes kept after indexing 2,000 narratives"
