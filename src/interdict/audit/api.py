"""Audit trail API, for auditors and administrators (entries of actors in their organisation tree, and entries
naming their organisation tree among the organisations concerned)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from interdict.accounts.deps import SubjectDep
from interdict.audit import service
from interdict.audit.schemas import AuditEntryRead
from interdict.core.deps import SessionDep

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", response_model=list[AuditEntryRead])
def list_entries(
    db: SessionDep,
    subject: SubjectDep,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=40, description="Prefix, e.g. 'incident.' or 'auth.login'.")] = None,
    object: Annotated[str | None, Query(max_length=200, description="Object id or label (e.g. a reference).")] = None,
    channel: Annotated[str | None, Query(max_length=10)] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    before_seq: Annotated[int | None, Query(ge=1, description="Keyset pagination: entries older than this.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AuditEntryRead]:
    """Newest first. Auditors and administrators only."""
    f = service.AuditFilter(actor, action, object, channel, date_from, date_to, before_seq)
    return [AuditEntryRead.model_validate(e) for e in service.page(db, subject, f, size=limit)]
