"""Watch pages: the user's and the unit's watch rules (made from a search, or written in the filter language),
and the unit's watch lists with their entries and where the watched values appeared."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from interdict.core.deps import SessionDep
from interdict.core.errors import FieldError, InvalidInput, from_validation_error
from interdict.core.filters import Condition, Group
from interdict.core.i18n import N_
from interdict.incidents.vocab import LABELS
from interdict.reference.catalogue import get_index
from interdict.watch import service
from interdict.watch.schemas import ENTRY_KIND_LABELS, EntryCreate, RuleCreate, RuleUpdate, WatchListCreate
from interdict.web.deps import CheckedForm, WebSubject
from interdict.web.forms import errors_by_field
from interdict.web.i18n import gettext
from interdict.web.incidents import LIST_PARAMS, search_filter
from interdict.web.templating import render, request_lang

router = APIRouter(include_in_schema=False)


_ = N_
URGENCY_LABELS = (_("Routine"), _("Urgent"), _("Immediate"))

FIELD_LABELS = {
    "type": _("Incident type"),
    "status": _("Status"),
    "country": _("Country"),
    "place_type": _("Place type"),
    "mode": _("Mode of transport"),
    "detection_method": _("Detection method"),
    "tlp": _("TLP"),
    "distribution": _("Distribution"),
    "date": _("Date"),
    "reported_date": _("Reported"),
    "reference": _("Reference"),
    "vessel_imo": _("Vessel IMO"),
    "bl_awb": _("B/L or AWB"),
    "is_demo": _("Demo data"),
    "substance": _("Substance"),
    "substance_class": _("Substance class"),
    "route_country": _("Country on the route"),
    "port": _("Port"),
    "container": _("Container"),
    "company": _("Company or person"),
    "modus": _("Modus operandi"),
    "owner_org": _("Reporting unit"),
    "hs_code": _("HS code"),
    "text": _("Text"),
}
OPS = {
    "eq": _("="),
    "ne": _("≠"),
    "in": _("∈"),
    "not_in": _("∉"),
    "gte": _("≥"),
    "lte": _("≤"),
    "between": _("between"),
    "contains": _("contains"),
    "match": _("contains"),
    "exists": _("is given"),
}


# Fields whose values are codes of a closed vocabulary, shown by their label.
_CODE_FIELDS = frozenset({"type", "status", "place_type", "mode", "detection_method", "distribution"})
_COUNTRY_FIELDS = frozenset({"country", "route_country", "origin_country", "departure_country", "destination_country"})
# Substance groups a rule may name besides the classes and control lists of the reference data.
_GROUP_LABELS = {"nps": _("New psychoactive substances (NPS)"), "precursor": _("Precursors")}


def _value_in_words(field: str, value: object, lang: str, index: Any) -> str:
    """One value of a condition as a person reads it: labels, names and countries, never a code or an id."""
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, bool):
        return gettext(lang, "Yes") if value else gettext(lang, "No")
    if field in _CODE_FIELDS:
        return gettext(lang, LABELS.get(text, text))
    if index is None:
        return text
    if field in _COUNTRY_FIELDS:
        return str(index.country_name(text, lang) or text)
    if field in ("substance", "substance_class"):
        try:
            found = index.substances.get(uuid.UUID(text))
        except ValueError:
            found = None
        if found is not None:
            return str(found.name)
        if text in index.class_labels:
            en, vi = index.class_labels[text]
            return str(vi if lang == "vi" else en)
        if text in index.control_lists:
            cl = index.control_lists[text]
            return str(cl.label_vi if lang == "vi" else cl.label_en)
        if text in _GROUP_LABELS:
            return gettext(lang, _GROUP_LABELS[text])
    if field == "modus":
        term = index.taxonomy.get("modus", {}).get(text)
        if term is not None:
            return str(term.label_vi if lang == "vi" else term.label_en)
    return text


def describe(node: dict[str, Any], lang: str, index: Any = None) -> str:
    """A filter tree in words, e.g. "Substance = acetic anhydride and Country on the route = China"."""

    def _(m: str) -> str:
        return gettext(lang, m)

    if "all" in node:
        parts = [describe(n, lang, index) for n in node["all"]]
        return f" {_('and')} ".join(f"({p})" if " " + _("or") + " " in p else p for p in parts)
    if "any" in node:
        return f" {_('or')} ".join(describe(n, lang, index) for n in node["any"])
    if "not" in node:
        return f"{_('not')} ({describe(node['not'], lang, index)})"
    value = node.get("value")
    field = str(node.get("field", ""))
    values = value if isinstance(value, list) else [value]
    shown = ", ".join(_value_in_words(field, v, lang, index) for v in values)
    label = _(FIELD_LABELS.get(node.get("field", ""), node.get("field", "")))
    return f"{label} {_(OPS.get(node.get('op', 'eq'), node.get('op', 'eq')))} {shown}"


def _context(db: SessionDep, subject: WebSubject, lang: str) -> dict[str, Any]:
    rules = service.rules_read(db, subject, service.list_rules(db, subject))
    return {
        "rules": [(r, describe(r.filter, lang, get_index(db))) for r in rules],
        "lists": service.list_lists(db, subject),
        "errors": {},
        "values": {},
    }


@router.get("/watch")
def watch_page(request: Request, db: SessionDep, subject: WebSubject, flash: str | None = None) -> Response:
    ctx = _context(db, subject, request_lang(request, subject))
    return render(request, "watch/index.html", {**ctx, "flash": flash})


def _invalid(request: Request, db: SessionDep, subject: WebSubject, exc: Exception, values: dict[str, str]) -> Response:
    err = from_validation_error(exc) if isinstance(exc, ValidationError) else exc
    assert isinstance(err, InvalidInput)
    ctx = _context(db, subject, request_lang(request, subject))
    return render(
        request, "watch/index.html", {**ctx, "errors": errors_by_field(err.errors), "values": values}, status_code=422
    )


@router.post("/watch/rules")
def create_rule(request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    """A rule from the incident list's search form (hidden fields) or from a filter written in JSON."""
    values = {k: str(form.get(k) or "") for k in ("name", "scope", "urgency", "filter", *LIST_PARAMS)}
    try:
        if values["filter"].strip():
            try:
                tree: Any = json.loads(values["filter"])
            except json.JSONDecodeError as exc:
                raise InvalidInput(FieldError(("filter",), N_("is not valid JSON: %(msg)s", msg=exc.msg))) from None
        else:
            node = search_filter(values)
            q = values.get("q", "").strip()
            parts: list[Condition | Group] = ([node] if node is not None else []) + (
                [Condition(field="text", op="match", value=q)] if q else []
            )
            if not parts:
                raise InvalidInput(FieldError(("filter",), N_("choose at least one search condition to watch")))
            tree = Group.model_validate({"all": parts}).model_dump(by_alias=True, exclude_none=True, mode="json")
        body = RuleCreate.model_validate(
            {
                "name": values["name"],
                "scope": values["scope"] or "user",
                "urgency": values["urgency"] or "routine",
                "filter": tree,
            }
        )
        service.create_rule(db, subject, body)
    except ValueError as exc:  # includes pydantic's ValidationError
        if isinstance(exc, ValidationError):
            return _invalid(request, db, subject, exc, values)
        return _invalid(
            request, db, subject, InvalidInput(FieldError(("filter",), N_("dates are written YYYY-MM-DD"))), values
        )
    except InvalidInput as exc:
        return _invalid(request, db, subject, exc, values)
    return RedirectResponse("/watch?flash=rule", status_code=303)


@router.post("/watch/rules/{rule_id}/toggle")
def toggle_rule(rule_id: uuid.UUID, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    rule = service.get_rule(db, subject, rule_id)
    service.update_rule(db, subject, rule_id, RuleUpdate(active=not rule.active))
    return RedirectResponse("/watch", status_code=303)


@router.post("/watch/rules/{rule_id}/delete")
def delete_rule(rule_id: uuid.UUID, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    service.delete_rule(db, subject, rule_id)
    return RedirectResponse("/watch?flash=deleted", status_code=303)


@router.post("/watch/lists")
def create_list(request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    values = {k: str(form.get(k) or "") for k in ("list_name", "description", "list_urgency")}
    try:
        body = WatchListCreate.model_validate(
            {
                "name": values["list_name"],
                "description": values["description"] or None,
                "urgency": values["list_urgency"] or "urgent",
            }
        )
        wl = service.create_list(db, subject, body)
    except ValidationError as exc:
        err = from_validation_error(exc)
        renamed = [FieldError(("list_name",) if e.loc[:1] == ("name",) else e.loc, e.msg) for e in err.errors]
        return _invalid(request, db, subject, InvalidInput(renamed), values)
    return RedirectResponse(f"/watch/lists/{wl.id}", status_code=303)


def _list_page(request: Request, db: SessionDep, subject: WebSubject, list_id: uuid.UUID, **extra: Any) -> Response:
    wl = service.get_list(db, subject, list_id)
    read = service.list_read(db, subject, wl)
    service.record_person_reads(db, subject, [read])
    return render(
        request,
        "watch/list.html",
        {"wl": read, "kinds": ENTRY_KIND_LABELS, "errors": {}, "values": {}, **extra},
        status_code=422 if extra.get("errors") else 200,
    )


@router.get("/watch/lists/{list_id}")
def list_page(list_id: uuid.UUID, request: Request, db: SessionDep, subject: WebSubject) -> Response:
    return _list_page(request, db, subject, list_id)


@router.post("/watch/lists/{list_id}/entries")
def add_entry(list_id: uuid.UUID, request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    values = {k: str(form.get(k) or "") for k in ("kind", "value", "reason", "expires_on")}
    try:
        body = EntryCreate.model_validate({**values, "expires_on": values["expires_on"] or None})
        service.add_entry(db, subject, list_id, body)
    except (ValidationError, InvalidInput) as exc:
        err = from_validation_error(exc) if isinstance(exc, ValidationError) else exc
        db.rollback()
        return _list_page(request, db, subject, list_id, errors=errors_by_field(err.errors), values=values)
    return RedirectResponse(f"/watch/lists/{list_id}", status_code=303)


@router.post("/watch/lists/{list_id}/entries/{entry_id}/delete")
def remove_entry(
    list_id: uuid.UUID, entry_id: uuid.UUID, db: SessionDep, subject: WebSubject, form: CheckedForm
) -> Response:
    service.remove_entry(db, subject, list_id, entry_id)
    return RedirectResponse(f"/watch/lists/{list_id}", status_code=303)


@router.post("/watch/lists/{list_id}/delete")
def delete_list(list_id: uuid.UUID, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    service.delete_list(db, subject, list_id)
    return RedirectResponse("/watch?flash=list-deleted", status_code=303)
