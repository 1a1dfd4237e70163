"""Typed domain errors, rendered by one handler (API: JSON problem; web: the same message)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FieldError:
    """One problem with one input field. ``loc`` is the path, e.g. ("substances", 0, "cas")."""

    loc: tuple[str | int, ...]
    msg: str
    type: str = "invalid"

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
        self.message = message


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


def from_validation_error(exc: object, prefix: tuple[str | int, ...] = ()) -> InvalidInput:
    """Turn a pydantic ``ValidationError`` into an :class:`InvalidInput` with the same field paths."""
    from pydantic import ValidationError

    assert isinstance(exc, ValidationError)
    out: list[FieldError] = []
    for e in exc.errors(include_url=False):
        loc = clean_loc(tuple(e["loc"]))
        msg = str(e["msg"])
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if e["type"] == "missing":
            msg = "this field is required"
        elif e["type"] == "extra_forbidden":
            msg = "unknown field"
        out.append(FieldError((*prefix, *loc), msg, str(e["type"])))
    return InvalidInput(out)
