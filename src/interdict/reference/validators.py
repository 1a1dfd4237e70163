"""Format validators for identifiers officers type. Check digits come from python-stdnum.

Each ``normalise_*`` returns the canonical form or raises ``PydanticCustomError`` with a message
that names the reason, so API and web forms show e.g. "check digit does not match (expected 3)".
"""

from __future__ import annotations

import functools
import re

import pycountry
from pydantic_core import PydanticCustomError
from stdnum import casrn, imo, iso6346
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength, ValidationError

from interdict.core.errors import custom_error
from interdict.core.i18n import N_, Message
from interdict.reference.countries import resolve_country

_LOCODE_RE = re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$")
_HS_RE = re.compile(r"^\d{4}(\d{2}(\d{2}(\d{2})?)?)?$")


def _fail(kind: str, message: str) -> PydanticCustomError:
    """The error of a validator, keeping its catalogue message (shown in the reader's language)."""
    error: PydanticCustomError = custom_error(kind, message if isinstance(message, Message) else Message(message))
    return error


def _text(value: object, kind: str) -> str:
    """Validators take text; anything else (a number, a list, null) is a field error, never a crash."""
    if not isinstance(value, str):
        raise _fail(kind, N_("a value is required") if value is None else N_("must be text"))
    return value


def normalise_cas(value: object) -> str:
    value = _text(value, "cas")
    raw = value.strip()
    compact = casrn.compact(raw)
    if not re.fullmatch(r"\d{2,7}-?\d{2}-?\d", compact.replace(" ", "")):
        raise _fail("cas", N_("'%(raw)s' is not a CAS RN: expected digits in the form 1234567-12-1", raw=raw))
    try:
        return str(casrn.validate(compact))
    except InvalidChecksum:
        digits = compact.replace("-", "")
        expected = casrn.calc_check_digit(digits[:-1])
        raise _fail(
            "cas", N_("CAS RN '%(raw)s' has a wrong check digit (expected %(expected)s)", raw=raw, expected=expected)
        ) from None
    except ValidationError as exc:
        raise _fail(
            "cas", N_("CAS RN '%(raw)s' is not valid: %(reason)s", raw=raw, reason=getattr(exc, "message", str(exc)))
        ) from None


def normalise_container(value: object) -> str:
    value = _text(value, "container")
    raw = value.strip()
    compact = re.sub(r"[\s\-./]", "", raw).upper()
    if not re.fullmatch(r"[A-Z]{3}[UJZR]\d{7}", compact):
        raise _fail(
            "container",
            N_(
                "'%(raw)s' is not an ISO 6346 container number: expected 3-letter owner code, category letter U/J/Z/R and 7 digits, e.g. CSQU3054383",
                raw=raw,
            ),
        )
    try:
        return str(iso6346.validate(compact))
    except InvalidChecksum:
        expected = iso6346.calc_check_digit(compact[:-1])
        raise _fail(
            "container",
            N_("container '%(raw)s' has a wrong check digit (expected %(expected)s)", raw=raw, expected=expected),
        ) from None
    except ValidationError as exc:
        raise _fail(
            "container",
            N_("container '%(raw)s' is not valid: %(reason)s", raw=raw, reason=getattr(exc, "message", str(exc))),
        ) from None


def normalise_imo(value: object) -> str:
    value = _text(value, "imo")
    raw = value.strip()
    compact = imo.compact(raw)
    try:
        return str(imo.validate(compact))
    except InvalidChecksum:
        raise _fail("imo", N_("IMO number '%(raw)s' has a wrong check digit", raw=raw)) from None
    except (InvalidFormat, InvalidLength, InvalidComponent):
        raise _fail(
            "imo", N_("'%(raw)s' is not an IMO ship number: expected 7 digits, e.g. IMO 9074729", raw=raw)
        ) from None
    except ValidationError as exc:
        raise _fail(
            "imo",
            N_("IMO number '%(raw)s' is not valid: %(reason)s", raw=raw, reason=getattr(exc, "message", str(exc))),
        ) from None


def normalise_hs_format(value: object) -> str:
    value = _text(value, "hs_code")
    """Digits only (4, 6, 8 or 10). Whether the code exists in HS 2022 is checked against the data."""
    raw = value.strip()
    digits = re.sub(r"[\s.]", "", raw)
    if not _HS_RE.match(digits):
        raise _fail("hs_code", N_("'%(raw)s' is not an HS code: expected 4, 6, 8 or 10 digits, e.g. 2915.24", raw=raw))
    return digits


@functools.lru_cache(maxsize=8192)
def _normalise_locode(value: str) -> str:
    raw = value.strip()
    code = raw.replace(" ", "").upper()
    if not _LOCODE_RE.match(code):
        raise _fail(
            "locode",
            N_("'%(raw)s' is not a UN/LOCODE: expected 2-letter country and 3 characters, e.g. VNHPH", raw=raw),
        )
    if pycountry.countries.get(alpha_2=code[:2]) is None:
        raise _fail(
            "locode",
            N_(
                "UN/LOCODE '%(raw)s' starts with '%(value)s', which is not an ISO 3166 country code",
                raw=raw,
                value=code[:2],
            ),
        )
    return code


@functools.lru_cache(maxsize=1024)
def _normalise_country(value: str) -> str:
    """A country code, or a country's name in English or Vietnamese (as picked from the list: "Trung Quốc (CN)")."""
    raw = value.strip()
    code = resolve_country(raw)
    if code is None:
        raise _fail(
            "country",
            N_(
                "'%(raw)s' is not an ISO 3166 country code (e.g. VN, CN, KH) or a country's name: pick one from the list",
                raw=raw,
            ),
        )
    return code


def normalise_locode(value: object) -> str:
    return _normalise_locode(_text(value, "locode"))


def normalise_country(value: object) -> str:
    return _normalise_country(_text(value, "country"))
