"""Between HTML forms and the incident schema: repeatable lines are named ``<list>-<n>-<field>``."""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import FormData

from interdict.core.errors import FieldError

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


def form_lines(data: dict[str, Any], name: str, minimum: int = 1) -> list[dict[str, Any]]:
    lines = list(data.get(name) or [])
    while len(lines) < minimum:
        lines.append({})
    return lines
