"""Identifiers and contact details -> canonical forms: phones, e-mails, addresses, containers, IMO.

Each returns None (or an empty string for addresses) when there is nothing usable, so a wrong or
placeholder value never links two records.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers
from stdnum import imo as _imo
from stdnum import iso6346

from interdict.linkage.tables import address_abbreviations, placeholders
from interdict.linkage.text import ETH, fold, fold_token

_EMAIL_RE = re.compile(
    r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$"
)
_MAILTO_RE = re.compile(r"^mailto:", re.IGNORECASE)
# An address token with the dot that followed it, or letters glued to a number ("Q1", "P.12").
_ADDRESS_TOKEN_RE = re.compile(r"([^\W_]+)(\.?)")
_CONTAINER_SEP_RE = re.compile(r"[\s\-./]")
_LETTERS_DIGITS_RE = re.compile(r"^([a-z]{1,2})(\d+)$")


def phone_e164(raw: str | None, default_region: str = "VN") -> str | None:
    """A valid phone number in E.164 ("0903 123 456" -> "+84903123456"), else None."""
    if not raw or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw.strip(), default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email(raw: str | None) -> str | None:
    """Trimmed, lower-cased e-mail address if it looks like one (one @, a dotted domain), else None."""
    if not raw:
        return None
    value = _MAILTO_RE.sub("", raw.strip().strip("<>").strip()).lower()
    if len(value) > 254 or _EMAIL_RE.match(value) is None:
        return None
    local = value.split("@", 1)[0]
    if local.startswith(".") or local.endswith(".") or ".." in value:
        return None
    return value


def _address_tokens(raw: str) -> list[tuple[str, bool]]:
    """Folded tokens, each with whether it is abbreviated: a dot follows it, or a number is glued on."""
    out: list[tuple[str, bool]] = []
    for m in _ADDRESS_TOKEN_RE.finditer(unicodedata.normalize("NFKC", raw).translate(ETH).casefold()):
        for tok in fold_token(m.group(1)):
            glued = _LETTERS_DIGITS_RE.match(tok)
            if glued is not None:
                out.append((glued.group(1), True))
                out.append((glued.group(2), False))
            else:
                out.append((tok, bool(m.group(2))))
    return out


@functools.lru_cache(maxsize=65536)
def address(raw: str) -> str:
    """Folded address with Vietnamese/English abbreviations spelt out in one canonical form.

    "12 Lê Lợi, P. Bến Nghé, Q.1, TP.HCM" -> "12 le loi phuong ben nghe quan 1 thanh pho ho chi minh".
    Single letters (P, Q, H, X, Đ) count as abbreviations only when a dot follows them or a number
    is glued on ("Q1"), so a block letter or an initial is left alone.
    """
    table, longest = address_abbreviations()
    toks = _address_tokens(raw)
    out: list[str] = []
    i = 0
    while i < len(toks):
        for length in range(min(longest, len(toks) - i), 0, -1):
            key = tuple(t for t, _ in toks[i : i + length])
            abbr = table.get(key)
            if abbr is None:
                continue
            if abbr.needs_dot and not toks[i + length - 1][1]:
                continue
            out.extend(abbr.expansion)
            i += length
            break
        else:
            out.append(toks[i][0])
            i += 1
    # "TP. Hồ Chí Minh City" / "thanh pho HCMC": one "thanh pho".
    text = " ".join(out)
    while "thanh pho thanh pho" in text:
        text = text.replace("thanh pho thanh pho", "thanh pho")
    return text


def container(raw: str | None) -> str | None:
    """ISO 6346 container number, compact upper case ("csqu 305438-3" -> "CSQU3054383"), else None."""
    if not raw:
        return None
    try:
        value: str = iso6346.validate(_CONTAINER_SEP_RE.sub("", raw).upper())
    except Exception:  # stdnum raises its ValidationError subclasses
        return None
    return value


def imo(raw: str | None) -> str | None:
    """IMO ship number, 7 digits ("IMO 9321483" -> "9321483"), else None (wrong check digit...)."""
    if not raw:
        return None
    try:
        value: str = _imo.validate(raw.upper())
    except Exception:
        return None
    return value


def is_placeholder(value: str | None) -> bool:
    """Whether a value stands for "no value" ("N/A", "TO ORDER", "không rõ", "-"); never link on it."""
    if value is None:
        return True
    folded = fold(value)
    if not folded:
        return True
    exact, prefixes = placeholders()
    if folded in exact:
        return True
    return any(folded == p or folded.startswith(p + " ") for p in prefixes)
