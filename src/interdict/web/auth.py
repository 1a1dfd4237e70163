"""Log in, log out, language switch."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from interdict.accounts import service
from interdict.accounts.deps import SESSION_COOKIE, authenticate_request
from interdict.audit import service as audit
from interdict.core.deps import SessionDep, SettingsDep
from interdict.sharing.service import own_account
from interdict.web.deps import CheckedForm, WebSubject
from interdict.web.i18n import LANGUAGES
from interdict.web.templating import LANG_COOKIE, render

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only local paths: never redirect a user off-site after login."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _secure(request: Request, settings: SettingsDep) -> bool:
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


@router.get("/login")
def login_page(request: Request, db: SessionDep, settings: SettingsDep, next: str | None = None) -> Response:
    if authenticate_request(request, db, settings, check_csrf_header=False) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "error": None, "username": ""})


@router.post("/login")
def login(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    user = service.authenticate(db, username, password)
    ip = request.client.host if request.client else None
    if user is None:
        known = service.get_user_by_username(db, username) if username.strip() else None
        audit.record(
            db,
            None,
            "auth.login_failed",
            actor_username=username.strip().lower()[:64] or None,
            actor_user_id=known.id if known else None,
            actor_org_id=known.org_id if known else None,
            channel="web",
            ip=ip,
            summary="wrong username or password",
        )
        # One message whatever was wrong, so the page does not reveal which usernames exist.
        return render(
            request,
            "login.html",
            {"next": safe_next(next), "username": username, "error": "wrong username or password"},
            status_code=401,
        )
    audit.record(
        db,
        None,
        "auth.login",
        actor_username=user.username,
        actor_user_id=user.id,
        actor_org_id=user.org_id,
        channel="web",
        ip=ip,
    )
    token, _ws = service.start_web_session(
        db,
        user,
        pepper=request.app.state.pepper,
        absolute_hours=settings.session_absolute_hours,
        ip=ip,
        user_agent=request.headers.get("user-agent"),
    )
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        secure=_secure(request, settings),
        samesite="lax",
        max_age=settings.session_absolute_hours * 3600,
        path="/",
    )
    if user.locale in LANGUAGES and LANG_COOKIE not in request.cookies:
        response.set_cookie(LANG_COOKIE, user.locale, samesite="lax", max_age=365 * 86400, path="/")
    return response


@router.post("/logout")
def logout(request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    own_account(subject)
    audit.record(db, subject, "auth.logout")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        service.end_web_session(db, cookie, pepper=request.app.state.pepper)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{lang}")
def set_language(lang: str, request: Request, next: str | None = None) -> Response:
    """A display preference only (no data): allowed before login so the login page can be read in Vietnamese."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, samesite="lax", max_age=365 * 86400, path="/", httponly=True)
    return response
