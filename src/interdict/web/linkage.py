"""Web pages of the linkage engine: judgements on suggestions (from the incident page), the entity page and the
network graph (drawn by static/graph.js from /api/v1/graph)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from interdict.core.deps import SessionDep
from interdict.incidents import service as incidents_service
from interdict.incidents.models import Incident
from interdict.incidents.vocab import INCIDENT_TYPES
from interdict.linkage import graph
from interdict.linkage import service as linkage
from interdict.sharing.service import any_participant
from interdict.web.auth import safe_next
from interdict.web.deps import CheckedForm, WebSubject
from interdict.web.templating import render

router = APIRouter()


def _(message: str) -> str:
    """Marks ``message`` for extraction (scripts/i18n-update); the template translates it at render time."""
    return message


# The entity kinds the graph page filters on, in the order shown.
GRAPH_KINDS = (
    ("company", _("Companies")),
    ("person", _("Persons")),
    ("phone", _("Phones")),
    ("email", _("E-mail addresses")),
    ("tax_id", _("Tax ids")),
    ("id_document", _("Identity documents")),
    ("address", _("Addresses")),
    ("container", _("Containers")),
    ("vessel", _("Vessels")),
    ("bill_of_lading", _("Bills of lading / air waybills")),
    ("parcel", _("Parcels")),
    ("vehicle", _("Vehicles")),
)


@router.post("/entity-links/{link_id}/{verdict}")
def judge(link_id: str, verdict: str, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    status = {"confirm": "confirmed", "reject": "rejected"}.get(verdict, "")
    linkage.judge(db, subject, link_id, status)
    target = form.get("next")
    return RedirectResponse(safe_next(target if isinstance(target, str) else None), status_code=303)


@router.get("/entities/{entity_id}")
def entity_page(entity_id: str, request: Request, db: SessionDep, subject: WebSubject) -> Response:
    view = linkage.entity_view(db, subject, entity_id)
    return render(
        request,
        "entities/detail.html",
        {"v": view, "kind_label": linkage.KIND_LABELS, "role_label": linkage.ROLE_LABELS},
    )


@router.get("/graph")
def graph_page(
    request: Request,
    db: SessionDep,
    subject: WebSubject,
    start: Annotated[str | None, Query(max_length=100)] = None,
    depth: Annotated[int, Query(ge=1, le=graph.MAX_DEPTH)] = 2,
) -> Response:
    """The network around an incident or an entity (404 for one the user may not read); without a start, a form
    asking for one."""
    origin = None
    title = ""
    if start:
        origin = graph.resolve_start(db, subject, start)
        title = origin.reference if isinstance(origin, Incident) else graph.visible_label(db, subject, origin.id)
        if not isinstance(origin, Incident) and origin.kind == "person":  # a person's name in the title
            shown = linkage.readable_mentions(db, subject, origin.id)
            incidents_service.record_nominal_reads(db, subject, dict.fromkeys(shown, 1))
    else:
        any_participant(subject, "network graph form")
    return render(
        request,
        "entities/graph.html",
        {
            "start": str(origin.id) if origin is not None else None,
            "start_title": title,
            "depth": depth,
            "kinds": GRAPH_KINDS,
            "type_codes": INCIDENT_TYPES,
        },
    )
