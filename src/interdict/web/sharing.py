"""Sharing groups page: the groups of the user's organisation; administrators create groups and set members."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from interdict.accounts.subject import Subject
from interdict.core.deps import SessionDep
from interdict.core.errors import InvalidInput, from_validation_error
from interdict.sharing import groups
from interdict.sharing.schemas import SharingGroupCreate
from interdict.web.deps import CheckedForm, WebSubject
from interdict.web.forms import errors_by_field
from interdict.web.templating import render

router = APIRouter(include_in_schema=False)


def _codes(value: object) -> list[str]:
    return [c.strip() for c in str(value or "").replace(";", ",").replace("\n", ",").split(",") if c.strip()]


def _context(db: SessionDep, subject: Subject) -> dict[str, Any]:
    return {"groups": [groups.to_read(db, subject, g) for g in groups.visible_groups(db, subject)], "errors": {}}


@router.get("/sharing-groups")
def groups_page(request: Request, db: SessionDep, subject: WebSubject, flash: str | None = None) -> Response:
    return render(request, "sharing/groups.html", {**_context(db, subject), "flash": flash})


@router.post("/sharing-groups")
def create_group(request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    values = {k: str(form.get(k) or "") for k in ("code", "name", "description", "members")}
    try:
        body = SharingGroupCreate.model_validate(
            {
                "code": values["code"],
                "name": values["name"],
                "description": values["description"] or None,
                "hide_members": form.get("hide_members") == "on",
                "members": _codes(values["members"]),
            }
        )
        groups.create_group(db, subject, body)
    except (ValidationError, InvalidInput) as exc:
        err = from_validation_error(exc) if isinstance(exc, ValidationError) else exc
        ctx = _context(db, subject)
        return render(
            request,
            "sharing/groups.html",
            {**ctx, "errors": errors_by_field(err.errors), "values": values},
            status_code=422,
        )
    return RedirectResponse("/sharing-groups?flash=created", status_code=303)


@router.post("/sharing-groups/{group_id}/members")
def set_members(group_id: uuid.UUID, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    group = groups.get_group(db, subject, group_id)
    groups.set_members(db, subject, group, _codes(form.get("members")))
    return RedirectResponse("/sharing-groups?flash=members", status_code=303)
