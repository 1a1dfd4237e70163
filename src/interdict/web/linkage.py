"""Web pages of the linkage engine: judgements on suggestions (from the incident page) and the entity page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from interdict.core.deps import SessionDep
from interdict.linkage import api as linkage_api
from interdict.linkage import service as linkage
from interdict.web.auth import safe_next
from interdict.web.deps import CheckedForm, WebSubject
from interdict.web.templating import render

router = APIRouter()


@router.post("/entity-links/{link_id}/{verdict}")
def judge(link_id: str, verdict: str, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    status = {"confirm": "confirmed", "reject": "rejected"}.get(verdict, "")
    linkage.judge(db, subject, link_id, status)
    target = form.get("next")
    return RedirectResponse(safe_next(target if isinstance(target, str) else None), status_code=303)


@router.get("/entities/{entity_id}")
def entity_page(entity_id: str, request: Request, db: SessionDep, subject: WebSubject) -> Response:
    view = linkage.entity_view(db, subject, entity_id)
    if view.entity.nominal:
        linkage_api.audit_person_reads(db, subject, {a.incident.id: 1 for a in view.appearances})
    return render(
        request,
        "entities/detail.html",
        {"v": view, "kind_label": linkage.KIND_LABELS, "role_label": linkage.ROLE_LABELS},
    )
