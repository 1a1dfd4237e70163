"""Who is calling: API token (Authorization: Bearer) or web session cookie. One place decides."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from interdict.accounts import service
from interdict.accounts.subject import Subject
from interdict.config import Settings
from interdict.core.deps import SessionDep, SettingsDep
from interdict.core.errors import Forbidden, PasswordChangeRequired, Unauthenticated
from interdict.core.i18n import N_
from interdict.core.security import constant_time_equals

SESSION_COOKIE = "interdict_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def authenticate_request(
    request: Request, db: Session, settings: Settings, *, check_csrf_header: bool, password_change: bool = False
) -> Subject | None:
    """The caller, or None without credentials. A web session whose user must change an administrator-set password
    is refused (:class:`PasswordChangeRequired`) except where ``password_change`` allows it (the change-password
    page and logging out); API tokens are not concerned."""
    pepper = request.app.state.pepper
    ip = request.client.host if request.client else None
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        found = service.resolve_api_token(db, auth[7:].strip(), pepper=pepper)
        if found is None:
            raise Unauthenticated(N_("the API token is invalid, expired or revoked"))
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
    if user.must_change_password and not password_change:
        raise PasswordChangeRequired()
    request.state.csrf_token = ws.csrf_token
    request.state.web_session_id = ws.id
    if check_csrf_header and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not constant_time_equals(sent, ws.csrf_token):
            raise Forbidden(N_("missing or wrong CSRF token (send the X-CSRF-Token header)"))
    return service.subject_for_user(db, user, channel="web", ip=ip)


def _api_caller(request: Request, db: Session, settings: Settings) -> Subject:
    subject = authenticate_request(request, db, settings, check_csrf_header=True)
    if subject is None:
        raise Unauthenticated(N_("authentication required: send 'Authorization: Bearer <token>' or log in"))
    request.state.subject = subject
    return subject


def _require(subject: Subject, scope: str) -> Subject:
    if scope not in subject.scopes:
        raise Forbidden(N_("this API token lacks the '%(scope)s' scope", scope=scope))
    return subject


def api_subject(request: Request, db: SessionDep, settings: SettingsDep) -> Subject:
    """The caller, with the scope the request's method needs: ``read`` for GET and HEAD, ``write`` for anything
    that changes state (every other method). Every API route depends on this (or on a dependency built on it),
    so no route can forget the check; ``admin`` routes add theirs (:data:`AdminDep`)."""
    subject = _api_caller(request, db, settings)
    return _require(subject, "read" if request.method in SAFE_METHODS else "write")


def api_reader(request: Request, db: SessionDep, settings: SettingsDep) -> Subject:
    """For a POST that changes nothing (a search whose filter is too large for a query string): ``read`` scope
    suffices. Only such routes may use it (tests/web/test_routes.py lists them)."""
    return _require(_api_caller(request, db, settings), "read")


def require_scope(scope: str):  # type: ignore[no-untyped-def]
    def check(subject: Annotated[Subject, Depends(api_subject)]) -> Subject:
        return _require(subject, scope)

    return check


def token_manager(subject: Annotated[Subject, Depends(api_subject)]) -> Subject:
    """API tokens are managed from a web session (the API used with the session cookie) or with an admin-scoped
    token: a stolen read or write token cannot mint itself successors, list or revoke the others."""
    if subject.channel != "web" and "admin" not in subject.scopes:
        raise Forbidden(N_("API tokens are managed from a web session or with an admin-scoped token"))
    return subject


SubjectDep = Annotated[Subject, Depends(api_subject)]
ReaderDep = Annotated[Subject, Depends(api_reader)]
WriterDep = Annotated[Subject, Depends(require_scope("write"))]
AdminDep = Annotated[Subject, Depends(require_scope("admin"))]
TokenManagerDep = Annotated[Subject, Depends(token_manager)]
