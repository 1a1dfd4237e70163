"""Local time and local formats: times in the viewer's zone with the zone named, dates day first in Vietnamese,
numbers with the language's separators, date-time fields read in the user's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from interdict.accounts.schemas import MeChange, OrganisationCreate
from interdict.core import localtime
from interdict.web.templating import environment

AT = datetime(2026, 12, 7, 7, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lang", "zone", "shown"),
    [
        ("vi", "Asia/Ho_Chi_Minh", "07/12/2026 14:05 (GMT+7)"),
        ("en", "Asia/Ho_Chi_Minh", "7 Dec 2026, 14:05 GMT+7"),
        ("en", "UTC", "7 Dec 2026, 07:05 UTC"),
        ("vi", "Asia/Kolkata", "07/12/2026 12:35 (GMT+5:30)"),
        ("en", "America/Sao_Paulo", "7 Dec 2026, 04:05 GMT-3"),
    ],
)
def test_a_time_is_shown_in_the_viewers_zone_with_the_zone_named(lang: str, zone: str, shown: str) -> None:
    assert localtime.format_datetime(AT, lang, zone) == shown


def test_a_time_near_midnight_falls_on_the_local_day() -> None:
    late = datetime(2026, 12, 31, 20, 30, tzinfo=UTC)  # 03:30 on 1 January in Viet Nam
    assert localtime.format_datetime(late, "vi", "Asia/Ho_Chi_Minh") == "01/01/2027 03:30 (GMT+7)"
    assert localtime.format_day(late, "vi", "Asia/Ho_Chi_Minh") == "01/01/2027"
    assert localtime.format_day(late, "en", "UTC") == "31 Dec 2026"


def test_summer_time_is_followed() -> None:
    summer, winter = datetime(2026, 7, 1, 12, 0, tzinfo=UTC), datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    assert localtime.format_datetime(summer, "en", "Europe/Paris") == "1 Jul 2026, 14:00 GMT+2"
    assert localtime.format_datetime(winter, "en", "Europe/Paris") == "15 Jan 2026, 13:00 GMT+1"


def test_dates_are_day_first_in_vietnamese() -> None:
    assert localtime.format_day(date(2026, 3, 4), "vi") == "04/03/2026"
    assert localtime.format_day(date(2026, 3, 4), "en") == "4 Mar 2026"
    assert localtime.format_datetime(date(2026, 3, 4), "vi") == "04/03/2026"  # a date has no zone
    assert localtime.format_datetime(None, "vi") == localtime.format_day(None, "vi") == ""


def test_an_unknown_stored_zone_shows_utc_rather_than_failing() -> None:
    assert localtime.format_datetime(AT, "en", "Mars/Olympus") == "7 Dec 2026, 07:05 UTC"


@pytest.mark.parametrize(
    ("value", "vi", "en"),
    [
        (Decimal("21155"), "21.155", "21,155"),
        (Decimal("1234.5"), "1.234,5", "1,234.5"),
        (Decimal("1234.500"), "1.234,5", "1,234.5"),
        (Decimal("2E+1"), "20", "20"),
        (Decimal("0.0125"), "0,0125", "0.0125"),  # every significant decimal kept (purities, small seizures)
        (1500000, "1.500.000", "1,500,000"),
    ],
)
def test_numbers_follow_the_language(value: Decimal | int, vi: str, en: str) -> None:
    assert localtime.format_number(value, "vi") == vi
    assert localtime.format_number(value, "en") == en


def test_the_template_filters_use_the_viewers_language_and_zone() -> None:
    template = environment().from_string("{{ at|dt }} | {{ day|day }} | {{ q|qty }} | {{ at|local_input }}")
    values = {"at": AT, "day": date(2026, 12, 7), "q": Decimal("21155.5")}
    vi = template.render(lang="vi", time_zone="Asia/Ho_Chi_Minh", **values)
    assert vi == "07/12/2026 14:05 (GMT+7) | 07/12/2026 | 21.155,5 | 2026-12-07T14:05"
    en = template.render(lang="en", time_zone="UTC", **values)
    assert en == "7 Dec 2026, 07:05 UTC | 7 Dec 2026 | 21,155.5 | 2026-12-07T07:05"


def test_a_date_time_field_is_read_in_the_users_zone_and_stored_in_utc() -> None:
    assert localtime.local_input_to_utc("2026-12-07T14:05", "Asia/Ho_Chi_Minh") == "2026-12-07T07:05:00+00:00"
    assert localtime.local_input_to_utc("2026-07-01T14:00", "Europe/Paris") == "2026-07-01T12:00:00+00:00"
    assert localtime.local_input_to_utc("2026-12-07T14:05+00:00", "Asia/Ho_Chi_Minh") == "2026-12-07T14:05:00+00:00"
    assert localtime.local_input_to_utc("", "Asia/Ho_Chi_Minh") is None
    assert localtime.local_input_to_utc("tomorrow", "Asia/Ho_Chi_Minh") == "tomorrow"  # the schema refuses it
    # ... and shown back in the zone when edited
    assert localtime.to_local_input(AT, "Asia/Ho_Chi_Minh") == "2026-12-07T14:05"


def test_a_calendar_day_is_the_users_day() -> None:
    evening = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)  # a seizure recorded at 03:00 on 8 December in Viet Nam
    assert localtime.local_date(evening, "Asia/Ho_Chi_Minh") == date(2026, 12, 8)
    assert localtime.local_date(evening, "UTC") == date(2026, 12, 7)
    start, end = localtime.day_bounds(date(2026, 12, 7), "Asia/Ho_Chi_Minh")
    assert start == datetime(2026, 12, 6, 17, 0, tzinfo=UTC) and end == datetime(2026, 12, 7, 17, 0, tzinfo=UTC)


def test_default_zone_comes_from_the_country() -> None:
    assert localtime.default_zone("VN") == "Asia/Ho_Chi_Minh"
    assert localtime.default_zone("KH") == "Asia/Phnom_Penh"  # a country with one zone
    assert localtime.default_zone("US") == "UTC"  # several zones: the administrator chooses
    assert localtime.default_zone(None) == "UTC"


def test_zone_names_are_checked() -> None:
    assert OrganisationCreate(code="X1", name="Unit", kind="other", country="VN", time_zone="Asia/Bangkok").time_zone
    for bad in ("Asia/Saigonn", "GMT+7", "../etc/passwd", "x" * 80):
        with pytest.raises(ValidationError):
            MeChange(time_zone=bad)
    assert MeChange(time_zone="").time_zone is None  # empty: the organisation's


def test_the_zone_list_is_grouped_and_finds_places_by_name() -> None:
    choices = dict(localtime.zone_choices(AT))
    assert ("Asia/Ho_Chi_Minh", "Ho Chi Minh (GMT+7)") in choices["Asia"]
    assert all(localtime.is_zone(name) for items in choices.values() for name, _ in items)


def test_a_zone_is_named_by_its_place_and_offset() -> None:
    assert localtime.zone_title("Asia/Ho_Chi_Minh", AT) == "Ho Chi Minh (GMT+7)"
    assert localtime.zone_title("America/Argentina/Buenos_Aires", AT) == "Argentina / Buenos Aires (GMT-3)"
    assert localtime.zone_title("UTC", AT) == localtime.zone_title(None, AT) == "UTC"
