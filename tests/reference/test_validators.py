from __future__ import annotations

import pytest
from pydantic_core import PydanticCustomError

from interdict.reference import validators as v


@pytest.mark.parametrize(
    ("fn", "raw", "expected"),
    [
        (v.normalise_cas, "108-24-7", "108-24-7"),
        (v.normalise_cas, " 7722-64-7 ", "7722-64-7"),
        (v.normalise_container, "csqu 305438-3", "CSQU3054383"),
        (v.normalise_container, "CSQU3054383", "CSQU3054383"),
        (v.normalise_imo, "IMO 9074729", "9074729"),
        (v.normalise_hs_format, "2915.24", "291524"),
        (v.normalise_hs_format, "2933.39.90", "29333990"),
        (v.normalise_locode, "vn hph", "VNHPH"),
        (v.normalise_locode, "VNZZZ", "VNZZZ"),
        (v.normalise_country, "vnm", "VN"),
        (v.normalise_country, "kh", "KH"),
    ],
)
def test_accepts_and_normalises(fn, raw, expected) -> None:  # type: ignore[no-untyped-def]
    assert fn(raw) == expected


@pytest.mark.parametrize(
    ("fn", "raw", "message"),
    [
        (v.normalise_cas, "108-24-8", "wrong check digit (expected 7)"),
        (v.normalise_cas, "acetone", "is not a CAS RN"),
        (v.normalise_container, "CSQU3054384", "wrong check digit (expected 3)"),
        (v.normalise_container, "CSQX3054383", "category letter U/J/Z/R"),
        (v.normalise_container, "12345", "is not an ISO 6346 container number"),
        (v.normalise_imo, "9074728", "wrong check digit"),
        (v.normalise_imo, "IMO 12", "expected 7 digits"),
        (v.normalise_hs_format, "29.1", "is not an HS code"),
        (v.normalise_locode, "VN-HPH1", "is not a UN/LOCODE"),
        (v.normalise_locode, "XXHPH", "not an ISO 3166 country code"),
        (v.normalise_country, "Atlantis", "not an ISO 3166 country code"),
    ],
)
def test_rejects_with_the_reason(fn, raw, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PydanticCustomError) as exc:
        fn(raw)
    assert message in exc.value.message()
