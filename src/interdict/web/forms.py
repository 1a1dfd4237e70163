"""Between HTML forms and the incident schema: repeatable lines are named ``<list>-<n>-<field>``."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any, Optional, TypeVar

from pydantic import BaseModel, ValidationError, create_model
from starlette.datastructures import FormData

from interdict.core.errors import FieldError, InvalidInput, clean_loc, from_validation_error

LINE_LISTS = {
    "substances": (
        "substance",
        "other_description",
        "declared_as",
        "quantity",
        "unit",
        "purity_percent",
        "form",
        "lab_confirmation",
    ),
    "parties": ("role", "kind", "name", "address", "country", "tax_id", "id_document", "phone", "email"),
    "containers": ("number", "seal_numbers"),
    "transits": ("country", "locode"),
}
SCALARS = (
    "incident_type",
    "case_reference",
    "incident_date",
    "reported_date",
    "country",
    "locode",
    "place_type",
    "place_name",
    "mode_of_transport",
    "origin_country",
    "departure_country",
    "departure_locode",
    "destination_country",
    "destination_locode",
    "bl_awb",
    "vessel_name",
    "vessel_imo",
    "voyage",
    "vehicle_plate",
    "parcel_tracking",
    "goods_description",
    "declared_hs_code",
    "detection_method",
    "narrative",
    "distribution",
    "sharing_group",
    "tlp",
)
# Fields whose default value alone does not make a line worth keeping.
_DEFAULTS_ONLY = {"lab_confirmation", "kind", "role"}
_LINE_RE = re.compile(r"^(substances|parties|containers|transits)-(\d+)-(\w+)$")


def incident_from_form(form: FormData) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key in SCALARS:
        value = form.get(key)
        data[key] = value.strip() if isinstance(value, str) and value.strip() else None
    lines: dict[str, dict[int, dict[str, str]]] = {k: {} for k in LINE_LISTS}
    for key, value in form.multi_items():
        m = _LINE_RE.match(key)
        if m and isinstance(value, str) and m.group(3) in LINE_LISTS[m.group(1)]:
            lines[m.group(1)].setdefault(int(m.group(2)), {})[m.group(3)] = value.strip()
    for name, by_index in lines.items():
        kept = []
        for _, values in sorted(by_index.items()):
            if any(v for k, v in values.items() if k not in _DEFAULTS_ONLY):
                kept.append({k: (v or None) for k, v in values.items()})
        data[name] = kept
    data["modus"] = [v for v in form.getlist("modus") if isinstance(v, str) and v]
    for k in ("distribution", "tlp"):
        if data[k] is None:
            data.pop(k)
    data["share_nominal"] = form.get("share_nominal") == "on"
    return data


def field_name(loc: tuple[str | int, ...]) -> str:
    """The form field an error belongs to: ('substances', 0, 'quantity') -> 'substances-0-quantity'."""
    if len(loc) >= 2 and loc[0] in LINE_LISTS and isinstance(loc[1], int):
        rest = [str(p) for p in loc[2:3]]
        return "-".join([str(loc[0]), str(loc[1]), *rest])
    if loc and loc[0] == "modus":
        return "modus"
    return str(loc[0]) if loc else "_form"


def errors_by_field(errors: list[FieldError]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in errors:
        out.setdefault(field_name(e.loc), []).append(e.msg)
    return out


# The field to go to for a problem of a whole line, and the visible box of a field kept in a hidden input.
_LINE_FIRST = {"substances": "substance-label", "parties": "name", "containers": "number", "transits": "country"}
_LINE_KEY_RE = re.compile(r"^(substances|parties|containers|transits)-(\d+)(?:-(\w+))?$")


def incident_error_ids(errors: dict[str, list[str]]) -> dict[str, str]:
    """For the error summary: the id of the element each problem links to, where it is not the field's name."""
    out: dict[str, str] = {}
    for name in errors:
        m = _LINE_KEY_RE.match(name)
        if m and m.group(3) is None:
            out[name] = f"{m.group(1)}-{m.group(2)}-{_LINE_FIRST[m.group(1)]}"
        elif m and m.group(1) == "substances" and m.group(3) == "substance":
            out[name] = f"{name}-label"
    return out


def form_lines(data: dict[str, Any], name: str, minimum: int = 1) -> list[dict[str, Any]]:
    lines = list(data.get(name) or [])
    while len(lines) < minimum:
        lines.append({})
    return lines


# --- one pass: the format errors and the service's checks together ----------------------------------------------

M = TypeVar("M", bound=BaseModel)
_ROUNDS = 8  # each round drops what the previous one found wrong; nested problems take a few


def validate_all(model: type[M], data: dict[str, Any], checks: Callable[[M], object]) -> M:
    """``data`` validated as ``model``; if it is not well-formed, raise one InvalidInput with every problem: the
    format errors and what ``checks`` (the service's checks, which read but never write: unknown substance, unknown
    addressee, a port in another country...) find in the parts that are well-formed, so one submit reports all.
    Called before the service, which runs its checks again on the valid input."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = list(from_validation_error(exc).errors)
    salvaged = _salvage(model, data)
    if salvaged is not None:
        partial, positions = salvaged
        try:
            checks(partial)
        except InvalidInput as more:
            taken = {e.loc for e in errors}
            for e in more.errors:
                loc = _original_loc(e.loc, positions)
                if loc not in taken:
                    errors.append(FieldError(loc, e.msg, e.type))
    raise InvalidInput(errors)


def _original_loc(loc: tuple[str | int, ...], positions: dict[str, list[int]]) -> tuple[str | int, ...]:
    """A location in the salvaged input as a location in the form (lines dropped as malformed shift the others)."""
    if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int) and loc[0] in positions:
        kept = positions[loc[0]]
        if loc[1] < len(kept):
            return (loc[0], kept[loc[1]], *loc[2:])
    return loc


def _salvage(model: type[M], data: dict[str, Any]) -> tuple[M, dict[str, list[int]]] | None:
    """The well-formed part of ``data`` as a ``model`` whose required fields may be missing (None), with, for each
    list, the form positions of the lines kept; None if nothing sensible remains (a problem of the whole form)."""
    work = copy.deepcopy(data)
    positions = {k: list(range(len(v))) for k, v in work.items() if isinstance(v, list)}
    lenient: type[M] = create_model(  # type: ignore[call-overload]
        f"Partial{model.__name__}",
        __base__=model,
        **{
            name: (Optional[f.rebuild_annotation()], None)  # noqa: UP045 (an annotation object, not a type hint)
            for name, f in model.model_fields.items()
            if f.is_required()
        },
    )
    for _round in range(_ROUNDS):
        try:
            return lenient.model_validate(work), positions
        except ValidationError as exc:
            problems = [clean_loc(tuple(e["loc"])) for e in exc.errors(include_url=False)]
        except Exception:  # a whole-model check that cannot cope with a missing field
            return None
        drop_lines: dict[str, set[int]] = {}
        for loc in problems:
            if not loc or not isinstance(loc[0], str) or loc[0] not in work:
                return None
            value = work[loc[0]]
            if len(loc) >= 2 and isinstance(loc[1], int) and isinstance(value, list) and loc[1] < len(value):
                line = value[loc[1]]
                if len(loc) >= 3 and isinstance(line, dict) and loc[2] in line:
                    line.pop(loc[2])  # the bad field of a line: the rest of the line is still checked
                else:
                    drop_lines.setdefault(loc[0], set()).add(loc[1])
            else:
                work.pop(loc[0])
                positions.pop(loc[0], None)
        for name, drop in drop_lines.items():
            if name in work:
                work[name] = [x for i, x in enumerate(work[name]) if i not in drop]
                positions[name] = [p for i, p in enumerate(positions[name]) if i not in drop]
    return None
