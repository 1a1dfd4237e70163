"""Input field types shared by every domain.

**Text without control characters.** Every free-text field of every input (API bodies, web forms, imports) is one
of these types: ``Line`` / ``OptLine`` (single line: runs of spaces, tabs and line breaks become one space) and
``Text`` / ``OptText`` (multi-line: tab, line feed and carriage return are kept). All four refuse the other C0 and
C1 control characters, DEL, lone surrogates and the non-characters U+FFFE/U+FFFF, naming the field (``Verbatim``,
for passwords, only refuses them): no legitimate
input contains them, no database keeps lone surrogates, and XML 1.0 forbids most of them, so a single one in a
title would make every DOCX or XLSX export of the record fail. The ``Opt`` forms read a blank value as absent.

**Patch fields.** ``Keep[T]`` is a field of a partial update that may be left out (unchanged) but not set to
null: a null answers 422 naming the field, instead of being taken as "unchanged" by one service and written as
NULL by another. Fields whose null has a meaning (clear a date, no lane) stay ``T | None``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from interdict.core.i18n import N_

# C0 controls but TAB, LF, CR; DEL and the C1 controls; UTF-16 surrogates (lone ones reach Python from JSON's
# "\ud800" escapes); the two non-characters XML forbids.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def control_character(value: str) -> str | None:
    """The first character of ``value`` that text may not contain, as ``U+000B``; None if there is none."""
    m = _FORBIDDEN.search(value)
    return f"U+{ord(m.group()):04X}" if m else None


def check_text(value: str) -> str:
    bad = control_character(value)
    if bad is not None:
        raise PydanticCustomError(
            "control_character",
            N_(
                "contains a control character or an invalid one ({code}); text may hold tabs and line breaks, no other "
                "control characters"
            ),
            {"code": bad},
        )
    return value


def xml_safe(value: str) -> str:
    """``value`` with the characters XML 1.0 cannot hold removed, for writers of DOCX and XLSX files: text stored
    before input refused them must not make an export fail."""
    return _XML_FORBIDDEN.sub("", value) if _XML_FORBIDDEN.search(value) else value


def _line(v: Any) -> Any:
    return " ".join(check_text(v).split()) if isinstance(v, str) else v


def _text(v: Any) -> Any:
    return check_text(v).strip() if isinstance(v, str) else v


def _verbatim(v: Any) -> Any:
    return check_text(v) if isinstance(v, str) else v


def _opt_line(v: Any) -> Any:
    return (_line(v) or None) if isinstance(v, str) else v


def _opt_text(v: Any) -> Any:
    return (check_text(v).strip() or None) if isinstance(v, str) else v


TEXT_VALIDATORS = (_line, _text, _opt_line, _opt_text, _verbatim)

Line = Annotated[str, BeforeValidator(_line)]
"""One line of text: surrounding whitespace removed, inner runs of whitespace one space; no control characters."""
Text = Annotated[str, BeforeValidator(_text)]
"""Multi-line text: tabs and line breaks kept, surrounding whitespace removed; no control characters."""
Verbatim = Annotated[str, BeforeValidator(_verbatim)]
"""Exactly as typed (passwords), but without control characters."""
OptLine = Annotated[str | None, BeforeValidator(_opt_line)]
"""A single line that may be absent: blank is None."""
OptText = Annotated[str | None, BeforeValidator(_opt_text)]
"""Multi-line text that may be absent: blank is None, surrounding whitespace removed."""


def _not_null(v: Any) -> Any:
    if v is None:
        raise PydanticCustomError("null", N_("may be left out to keep the current value, but not null"))
    return v


T = TypeVar("T")
if TYPE_CHECKING:  # left out, the field's value is None (the default is not validated)
    Keep = Annotated[T | None, BeforeValidator(_not_null)]
else:  # validated: never null, and the schema does not offer null
    Keep = Annotated[T, BeforeValidator(_not_null)]
"""A field of a partial update: left out, it is unchanged (None); null is refused."""
