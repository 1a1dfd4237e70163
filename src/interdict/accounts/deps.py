"""Who is calling: API token (Authorization: Bearer) or web session cookie. One place decides."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from interdict.accounts import service
from interdict.accounts.subject import Subject
from interdict.config import Settings
from interdict.core.deps import SessionDep, SettingsDep
from interdict.core.errors import Forbidden, Unauthenticated
from interdict.core.security import constant_time_equals

SESSION_COOKIE = "interdict_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def authenticate_request(
    request: Request, db: Session, settings: Settings, *, check_csrf_header: bool
) -> Subject | None:
    pepper = request.app.state.pepper
    ip = request.client.host if request.client else None
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        found = service.resolve_api_token(db, auth[7:].strip(), pepper=pepper)
        if found is None:
            raise Unauthenticated("the API token is invalid, expired or revoked")
        token, user, org = found
        return service.subject_for(
            user,
            org,
            channel="api",
            scopes=frozenset(token.scopes.split(",")),
            ip=ip,
            ancestors=service.org_ancestors(db, org),
        )
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    found_ws = service.resolve_web_session(db, cookie, pepper=pepper, idle_minutes=settings.session_idle_minutes)
    if found_ws is None:
        return None
    ws, user = found_ws
    request.state.csrf_token = ws.csrf_token
    request.state.web_session_id = ws.id
    if check_csrf_header and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not constant_time_equals(sent, ws.csrf_token):
            raise Forbidden("missing or wrong CSRF token (send the X-CSRF-Token header)")
    return service.subject_for_user(db, user, channel="web", ip=ip)


def api_subject(request: Request, db: SessionDep, settings: SettingsDep) -> Subject:
    subject = authenticate_request(request, db, settings, check_csrf_header=True)
    if subject is None:
        raise Unauthenticated("authentication required: send 'Authorization: Bearer <token>' or log in")
    request.state.subject = subject
    return subject


def require_scope(scope: str):  # type: ignore[no-untyped-def]
    def check(subject: Annotated[Subject, Depends(api_subject)]) -> Subject:
        if scope not in subject.scopes:
            raise Forbidden(f"this API token lacks the '{scope}' scope")
        return subject

    return check


SubjectDep = Annotated[Subject, Depends(api_subject)]
WriterDep = Annotated[Subject, Depends(require_scope("write"))]
AdminDep = Annotated[Subject, Depends(require_scope("admin"))]
