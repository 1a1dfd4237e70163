"""Typed domain errors, rendered by one handler (API: JSON problem; web: the same message)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from interdict.core.i18n import N_, Message


@dataclass
class FieldError:
    """One problem with one input field. ``loc`` is the path, e.g. ("substances", 0, "cas")."""

    loc: tuple[str | int, ...]
    msg: str
    type: str = "invalid"

    def __post_init__(self) -> None:
        # Shown in the reader's language: a plain string is looked up in the catalogue as it is.
        if not isinstance(self.msg, Message):
            self.msg = Message(self.msg)

    @property
    def path(self) -> str:
        out = ""
        for part in self.loc:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out

    def as_dict(self) -> dict[str, object]:
        return {"loc": list(self.loc), "field": self.path, "msg": self.msg, "type": self.type}


class DomainError(Exception):
    status_code = 400
    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message if isinstance(message, Message) else Message(message)


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class PasswordChangeRequired(Forbidden):
    """An administrator set the user's password: until they choose their own, a web session reaches nothing but
    the change-password page (and logging out)."""

    code = "password_change_required"

    def __init__(self) -> None:
        super().__init__("you must change the password an administrator set before you go on (sign in on the web)")


class Unauthenticated(DomainError):
    status_code = 401
    code = "unauthenticated"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Unavailable(DomainError):
    """The database cannot be reached (restarting, network cut) or is busy: try again shortly."""

    status_code = 503
    code = "unavailable"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "too_large"


class NotAcceptable(DomainError):
    """The client does not accept what the route answers (e.g. a Server-Sent Events stream)."""

    status_code = 406
    code = "not_acceptable"


class InvalidInput(DomainError):
    status_code = 422
    code = "invalid_input"

    def __init__(self, errors: list[FieldError] | FieldError, message: str | None = None) -> None:
        self.errors = [errors] if isinstance(errors, FieldError) else list(errors)
        summary = "; ".join(f"{e.path}: {e.msg}" for e in self.errors) if self.errors else ""
        DomainError.__init__(self, message or summary or "invalid input")


class ErrorCollector:
    """Collects field errors during validation and raises them all at once."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        self.warnings: list[FieldError] = []

    def add(self, loc: tuple[str | int, ...], msg: str, type_: str = "invalid") -> None:
        self.errors.append(FieldError(loc, msg, type_))

    def warn(self, loc: tuple[str | int, ...], msg: str, type_: str = "warning") -> None:
        self.warnings.append(FieldError(loc, msg, type_))

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)


# Parts of a pydantic error location that name a validator or a union member, not a field: left out of the
# paths users see ("filter-condition"/"filter-group" tag the two kinds of filter node).
_INTERNAL_LOC = ("function-", "literal[", "filter-")


def clean_loc(loc: tuple[object, ...], *, source: bool = False) -> tuple[str | int, ...]:
    """A pydantic error location as users see it: field names and list positions only. ``source``: the location
    starts with where FastAPI read the value ("body", "query", ...), which is left out too (only there: a
    notice's own field "body" stays)."""
    parts = loc[1:] if source and loc and loc[0] in ("body", "query", "path", "header", "cookie") else loc
    return tuple(
        p for p in parts if isinstance(p, str | int) and not (isinstance(p, str) and p.startswith(_INTERNAL_LOC))
    )


# pydantic's own messages, by error type, as catalogue messages (ctx values as %(name)s parameters). A type not
# listed falls back to a generic message; "value_error" is the text of the validator that raised it.
PYDANTIC_MESSAGES: dict[str, Message] = {
    "missing": N_("this field is required"),
    "extra_forbidden": N_("unknown field"),
    "string_type": N_("enter text"),
    "string_too_short": N_("enter at least %(min_length)s characters"),
    "string_too_long": N_("enter at most %(max_length)s characters"),
    "string_pattern_mismatch": N_("the format is not valid"),
    "too_short": N_("give at least %(min_length)s items"),
    "too_long": N_("give at most %(max_length)s items"),
    "int_type": N_("enter a whole number"),
    "int_parsing": N_("enter a whole number"),
    "int_from_float": N_("enter a whole number"),
    "float_type": N_("enter a number"),
    "float_parsing": N_("enter a number"),
    "decimal_type": N_("enter a number"),
    "decimal_parsing": N_("enter a number"),
    "decimal_max_digits": N_("enter at most %(max_digits)s digits"),
    "decimal_max_places": N_("enter at most %(decimal_places)s decimal places"),
    "decimal_whole_digits": N_("enter at most %(whole_digits)s digits before the decimal point"),
    "finite_number": N_("enter a number"),
    "greater_than": N_("enter a number greater than %(gt)s"),
    "greater_than_equal": N_("enter a number of at least %(ge)s"),
    "less_than": N_("enter a number less than %(lt)s"),
    "less_than_equal": N_("enter a number of at most %(le)s"),
    "bool_type": N_("choose yes or no"),
    "bool_parsing": N_("choose yes or no"),
    "date_type": N_("enter a date as YYYY-MM-DD"),
    "date_parsing": N_("enter a date as YYYY-MM-DD"),
    "date_from_datetime_parsing": N_("enter a date as YYYY-MM-DD"),
    "date_from_datetime_inexact": N_("enter a date as YYYY-MM-DD"),
    "datetime_type": N_("enter a date and time"),
    "datetime_parsing": N_("enter a date and time"),
    "datetime_from_date_parsing": N_("enter a date and time"),
    "time_parsing": N_("enter a time as HH:MM"),
    "time_type": N_("enter a time as HH:MM"),
    "literal_error": N_("choose one of the offered values"),
    "enum": N_("choose one of the offered values"),
    "uuid_type": N_("choose a record from the list"),
    "uuid_parsing": N_("choose a record from the list"),
    "url_type": N_("enter a web address"),
    "url_parsing": N_("enter a web address"),
    "url_scheme": N_("enter a web address starting with http:// or https://"),
    "json_invalid": N_("this is not valid JSON"),
    "json_type": N_("this is not valid JSON"),
    "list_type": N_("give a list of values"),
    "dict_type": N_("give a group of fields"),
    "model_type": N_("give a group of fields"),
    "model_attributes_type": N_("give a group of fields"),
    "union_tag_invalid": N_("choose one of the offered values"),
    "union_tag_not_found": N_("this field is required"),
}
_FALLBACK = N_("this value is not valid")
_PYDANTIC_WORDING = re.compile(r"^[A-Z][a-z]+ should |^Unable to |^Invalid ")
_FIELD = N_("%(field)s: %(problem)s").msgid


def field_label(loc: tuple[str | int, ...]) -> str | None:
    """The English label (a catalogue msgid) of the field at ``loc``, if the field has one."""
    from interdict.incidents.vocab import LABELS

    for part in reversed(loc):
        if isinstance(part, str):
            return LABELS.get(part)
    return None


def custom_error(kind: str, message: Message) -> Any:
    """A validator's own error (pydantic's ``PydanticCustomError``) that keeps its catalogue message: raise it from
    a validator instead of ``PydanticCustomError(kind, text)`` so the reader gets it in their language."""
    from pydantic_core import PydanticCustomError

    text = str.__str__(message).replace("{", "{{").replace("}", "}}")
    return PydanticCustomError(kind, text, {"message": message})


def pydantic_message(error: Any, loc: tuple[str | int, ...] = ()) -> Message:
    """One pydantic error as a catalogue message, with the field's label when it has one: what every web form
    shows (in the reader's language) and the API returns (in English). A validator's own message (a
    ``ValueError`` or :func:`custom_error`) is kept as it is."""
    kind = str(error["type"])
    ctx = error.get("ctx") or {}
    own = ctx.get("message")
    if isinstance(own, Message):
        return own
    cause = ctx.get("error")
    if isinstance(cause, BaseException) and cause.args and isinstance(cause.args[0], Message):
        return cause.args[0]
    if kind not in PYDANTIC_MESSAGES:
        msg = str(error["msg"])
        for prefix in ("Value error, ", "Assertion failed, "):
            if msg.startswith(prefix):
                msg = msg[len(prefix) :]
        # Another of pydantic's own messages ("Input should be ...", "List should have ...") says it generically.
        return _FALLBACK if _PYDANTIC_WORDING.match(msg) else Message(msg)
    template = PYDANTIC_MESSAGES[kind]
    params = {k: v if isinstance(v, int | float | str) else str(v) for k, v in ctx.items()}
    try:
        problem = Message(template.msgid, **params) if params else template
    except (KeyError, TypeError, ValueError):
        problem = template
    if kind in ("missing", "extra_forbidden"):
        return problem
    label = field_label(loc)
    return Message(_FIELD, field=Message(label), problem=problem) if label else problem


def from_validation_error(exc: object, prefix: tuple[str | int, ...] = ()) -> InvalidInput:
    """Turn a pydantic ``ValidationError`` into an :class:`InvalidInput` with the same field paths."""
    from pydantic import ValidationError

    assert isinstance(exc, ValidationError)
    out: list[FieldError] = []
    for e in exc.errors(include_url=False):
        loc = clean_loc(tuple(e["loc"]))
        out.append(FieldError((*prefix, *loc), pydantic_message(e, loc), str(e["type"])))
    return InvalidInput(out)
