"""Local time and local formats: every time is stored in UTC and shown in the viewer's time zone, and dates and
numbers follow the viewer's language ("07/12/2026 14:05 (GMT+7)" and "21.155" in Vietnamese, "7 Dec 2026, 14:05
GMT+7" and "21,155" in English).

A user's effective zone is their own choice, else their organisation's; an organisation's zone defaults from its
country (Viet Nam: Asia/Ho_Chi_Minh; a country with one zone: that zone; otherwise UTC)."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_decimal

DEFAULT_ZONE = "UTC"
COUNTRY_ZONES = {"VN": "Asia/Ho_Chi_Minh"}

# Babel patterns per language: day first with slashes in Vietnamese, "7 Dec 2026" in English.
_DATETIME_PATTERNS = {"vi": "dd/MM/yyyy HH:mm", "en": "d MMM y, HH:mm"}
_DATE_PATTERNS = {"vi": "dd/MM/yyyy", "en": "d MMM y"}


@functools.cache
def all_zones() -> tuple[str, ...]:
    """Every IANA zone name this machine knows (the tzdata package), sorted, without the legacy aliases."""
    names = {z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC"}
    legacy = ("Etc/", "SystemV/", "US/", "Canada/", "Mexico/", "Brazil/", "Chile/", "posix", "right")
    return tuple(sorted(z for z in names if not z.startswith(legacy)))


def zone_choices(now: datetime | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """The zones grouped by region for a select, each labelled by its place and its offset now:
    ("Asia", [("Asia/Ho_Chi_Minh", "Ho Chi Minh (GMT+7)"), ...]). The place comes first so that typing its name
    in the select finds it."""
    at = _aware(now) if now is not None else datetime.now(UTC)
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in all_zones():
        region, _, place = name.partition("/")
        groups.setdefault(region if place else "UTC", []).append((name, zone_title(name, at)))
    return [(region, sorted(items, key=lambda i: i[1])) for region, items in sorted(groups.items())]


def zone_title(name: str | None, now: datetime | None = None) -> str:
    """A zone as a person reads it: its place and its offset now, "Ho Chi Minh (GMT+7)"; "UTC" for UTC."""
    tz = zone(name)
    label = gmt_label(_aware(now) if now is not None else datetime.now(UTC), tz)
    if not name or tz is UTC or name == "UTC":
        return "UTC"
    place = name.partition("/")[2] or name
    return f"{place.replace('/', ' / ').replace('_', ' ')} ({label})"


def is_zone(name: str | None) -> bool:
    if not name or name != name.strip() or len(name) > 64:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def check_zone(name: str) -> str:
    """A validator: the name of an IANA time zone, as written (e.g. "Asia/Ho_Chi_Minh")."""
    name = name.strip()
    if not is_zone(name):
        raise ValueError("not a known time zone (an IANA name such as Asia/Ho_Chi_Minh)")
    return name


def default_zone(country: str | None) -> str:
    """An organisation's zone when none is chosen: its country's (one zone), else UTC."""
    code = (country or "").upper()
    if code in COUNTRY_ZONES:
        return COUNTRY_ZONES[code]
    zones = _country_zones().get(code, ())
    return zones[0] if len(zones) == 1 else DEFAULT_ZONE


@functools.cache
def _country_zones() -> dict[str, tuple[str, ...]]:
    """Country code → its zones, from the tzdata package's zone table."""
    from importlib import resources

    out: dict[str, list[str]] = {}
    try:
        text = (resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) >= 3:
            out.setdefault(parts[0], []).append(parts[2])
    return {k: tuple(v) for k, v in out.items()}


def zone(name: str | None) -> tzinfo:
    """The zone object for a name; UTC for None or an unknown name (a stored value is never a reason to fail)."""
    if name and is_zone(name):
        return zoneinfo.ZoneInfo(name)
    return UTC


def gmt_label(value: datetime, tz: tzinfo) -> str:
    """The zone as a person reads it: "GMT+7", "GMT+5:30", "GMT-3", "UTC"."""
    offset = value.astimezone(tz).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"GMT{sign}{hours}" + (f":{mins:02d}" if mins else "")


def _lang(lang: str) -> str:
    return "vi" if lang == "vi" else "en"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def format_datetime(value: datetime | date | None, lang: str = "en", tz_name: str | None = None) -> str:
    """A time in the viewer's zone and language with the zone shown briefly; a date (no time) as a date."""
    if value is None:
        return ""
    if not isinstance(value, datetime):
        return format_day(value, lang)
    tz = zone(tz_name)
    value = _aware(value)
    text = babel_format_datetime(value, _DATETIME_PATTERNS[_lang(lang)], tzinfo=tz, locale=_lang(lang))
    label = gmt_label(value, tz)
    return f"{text} ({label})" if _lang(lang) == "vi" else f"{text} {label}"


def format_day(value: date | datetime | None, lang: str = "en", tz_name: str | None = None) -> str:
    """A date: dd/mm/yyyy in Vietnamese, "7 Dec 2026" in English (a time is first put in the zone)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _aware(value).astimezone(zone(tz_name)).date()
    return babel_format_date(value, _DATE_PATTERNS[_lang(lang)], locale=_lang(lang))


def format_number(value: Decimal | float | int | None, lang: str = "en") -> str:
    """A quantity or count with the language's separators, every significant decimal kept:
    21.155 and 1.234,5 in Vietnamese, 21,155 and 1,234.5 in English."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        value = value.normalize()
        if value == value.to_integral_value():
            value = value.quantize(Decimal(1))
    return format_decimal(value, locale=_lang(lang), decimal_quantization=False)


def local_date(value: datetime, tz_name: str | None) -> date:
    """The calendar day on which a time falls where the user is."""
    return _aware(value).astimezone(zone(tz_name)).date()


def local_today(tz_name: str | None) -> date:
    """Today's date where the user is."""
    from interdict.core.clock import utcnow

    return local_date(utcnow(), tz_name)


def to_utc(local: datetime, tz_name: str | None) -> datetime:
    """A wall-clock time read in the user's zone (e.g. a datetime-local field), as the UTC time to store."""
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    return local.replace(tzinfo=zone(tz_name)).astimezone(UTC)


def local_input_to_utc(text: str | None, tz_name: str | None) -> str | None:
    """A date-time field's value ("2026-12-07T14:05", typed in the user's zone) as a UTC ISO time for the schema;
    empty: None; anything unreadable is passed on unchanged for the schema to refuse."""
    if not text or not text.strip():
        return None
    try:
        local = datetime.fromisoformat(text.strip())
    except ValueError:
        return text
    return to_utc(local, tz_name).isoformat()


def to_local_input(value: datetime | None, tz_name: str | None) -> str:
    """A stored time as a datetime-local field's value in the user's zone ("2026-12-07T14:05")."""
    if value is None:
        return ""
    return _aware(value).astimezone(zone(tz_name)).strftime("%Y-%m-%dT%H:%M")


def day_bounds(day: date, tz_name: str | None) -> tuple[datetime, datetime]:
    """The UTC instants at which a local calendar day begins and the next begins (for date filters on times)."""
    tz = zone(tz_name)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = start + timedelta(days=1)
    return start.astimezone(UTC), datetime(end.year, end.month, end.day, tzinfo=tz).astimezone(UTC)
