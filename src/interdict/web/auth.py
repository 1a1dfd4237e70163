"""Log in, log out, language switch."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from interdict.accounts import mfa, service, throttle
from interdict.accounts.deps import SESSION_COOKIE, authenticate_request
from interdict.accounts.models import User, WebSession
from interdict.audit import service as audit
from interdict.core import security
from interdict.core.deps import SessionDep, SettingsDep
from interdict.core.fields import Line, Verbatim
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


def secure_cookies(request: Request, settings: SettingsDep) -> bool:
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


@router.get("/login")
def login_page(request: Request, db: SessionDep, settings: SettingsDep, next: str | None = None) -> Response:
    if authenticate_request(request, db, settings, check_csrf_header=False) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", login_context(settings, next))


def login_context(
    settings: SettingsDep, next: str | None, username: str = "", error: str | None = None
) -> dict[str, object]:
    return {
        "next": safe_next(next),
        "username": username,
        "error": error,
        "oidc_label": settings.oidc_label if settings.oidc_enabled else None,
    }


LOGIN_FAILED = "wrong username or password, or too many attempts: wait a few minutes and try again"
PENDING_COOKIE = "interdict_login"


def _limits(settings: SettingsDep) -> throttle.Limits:
    return throttle.Limits(
        settings.login_account_failures,
        settings.login_address_failures,
        settings.login_window_minutes,
        settings.login_lockout_minutes,
    )


def _set_cookie(response: Response, request: Request, settings: SettingsDep, name: str, token: str, age: int) -> None:
    response.set_cookie(
        name, token, httponly=True, secure=secure_cookies(request, settings), samesite="lax", max_age=age, path="/"
    )


def record_for_user(request: Request, db: SessionDep, user: User, action: str, **fields: Any) -> None:
    """An audit entry about ``user`` written before they are logged in (no subject yet): from the web."""
    audit.record(
        db,
        None,
        action,
        actor_username=user.username,
        actor_user_id=user.id,
        actor_org_id=user.org_id,
        channel="web",
        ip=request.client.host if request.client else None,
        **fields,
    )


def _full_login(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    user: User,
    target: str,
    response: Response | None = None,
    *,
    how: str = "",
) -> Response:
    ip = request.client.host if request.client else None
    record_for_user(
        request, db, user, "auth.login", summary=how or ("with two-factor authentication" if mfa.enabled(user) else "")
    )
    token, _ws = service.start_web_session(
        db,
        user,
        pepper=request.app.state.pepper,
        absolute_hours=settings.session_absolute_hours,
        ip=ip,
        user_agent=request.headers.get("user-agent"),
    )
    response = response or RedirectResponse(safe_next(target), status_code=303)
    _set_cookie(response, request, settings, SESSION_COOKIE, token, settings.session_absolute_hours * 3600)
    response.delete_cookie(PENDING_COOKIE, path="/")
    if user.locale in LANGUAGES and LANG_COOKIE not in request.cookies:
        response.set_cookie(LANG_COOKIE, user.locale, samesite="lax", max_age=365 * 86400, path="/")
    return response


def _failed(request: Request, db: SessionDep, settings: SettingsDep, username: str, why: str) -> None:
    ip = request.client.host if request.client else None
    known = service.get_user_by_username(db, username) if username.strip() else None
    locked = throttle.failed(db, username, ip, _limits(settings))
    audit.record(
        db,
        None,
        "auth.login_failed",
        actor_username=username.strip().lower()[:64] or None,
        actor_user_id=known.id if known else None,
        actor_org_id=known.org_id if known else None,
        channel="web",
        ip=ip,
        summary=why + ("; now locked for a while" if locked else ""),
    )


@router.post("/login")
def login(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    username: Annotated[Line, Form(max_length=64)] = "",
    password: Annotated[Verbatim, Form(max_length=256)] = "",
    next: Annotated[Line, Form(max_length=500)] = "/",
) -> Response:
    ip = request.client.host if request.client else None
    failed_page = render(request, "login.html", login_context(settings, next, username, LOGIN_FAILED), status_code=401)
    if throttle.blocked(db, username, ip):
        security.verify_password(None, password)  # the same work as a real check: timing tells nothing
        _failed(request, db, settings, username, "refused: too many failed attempts")
        return failed_page
    user = service.authenticate(db, username, password)
    if user is None:
        # One message whatever was wrong, so the page does not reveal which usernames exist.
        _failed(request, db, settings, username, "wrong username or password")
        return failed_page
    throttle.succeeded(db, username)
    return after_first_factor(request, db, settings, user, next)


def after_first_factor(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    user: User,
    next: str,
    *,
    how: str = "",
    mfa_done: bool = False,
) -> Response:
    """The password (or identity provider) was right: log in, or go on to the two-factor step (or set-up)."""
    ip = request.client.host if request.client else None
    stage = "full" if mfa_done else "mfa" if mfa.enabled(user) else ("enrol" if mfa.required(db, user) else "full")
    if stage == "full":
        return _full_login(request, db, settings, user, next, how=how)
    token, _ws = service.start_web_session(
        db, user, pepper=request.app.state.pepper, absolute_hours=0, ip=ip, user_agent=None, stage=stage
    )
    target = "/login/2fa" if stage == "mfa" else "/login/2fa/setup"
    response = RedirectResponse(f"{target}?next={quote(safe_next(next))}", status_code=303)
    _set_cookie(response, request, settings, PENDING_COOKIE, token, 300)
    return response


def _pending(request: Request, db: SessionDep, settings: SettingsDep, stage: str) -> tuple[WebSession, User] | None:
    token = request.cookies.get(PENDING_COOKIE)
    if not token:
        return None
    return service.resolve_web_session(db, token, pepper=request.app.state.pepper, idle_minutes=5, stage=stage)


def _restart() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(PENDING_COOKIE, path="/")
    return response


@router.get("/login/2fa")
def second_step_page(request: Request, db: SessionDep, settings: SettingsDep, next: str | None = None) -> Response:
    if _pending(request, db, settings, "mfa") is None:
        return _restart()
    return render(request, "login_2fa.html", {"next": safe_next(next), "error": None})


@router.post("/login/2fa")
def second_step(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    code: Annotated[Line, Form(max_length=40)] = "",
    next: Annotated[Line, Form(max_length=500)] = "/",
) -> Response:
    found = _pending(request, db, settings, "mfa")
    if found is None:
        return _restart()
    ws, user = found
    ip = request.client.host if request.client else None
    ok = not throttle.blocked(db, user.username, ip) and (
        mfa.verify_code(user, code, pepper=request.app.state.pepper)
        or mfa.use_recovery_code(db, user, code, pepper=request.app.state.pepper)
    )
    if not ok:
        _failed(request, db, settings, user.username, "wrong or reused two-factor code")
        return render(request, "login_2fa.html", {"next": safe_next(next), "error": "wrong code"}, status_code=401)
    db.delete(ws)
    return _full_login(request, db, settings, user, next)


@router.get("/login/2fa/setup")
def enrol_page(request: Request, db: SessionDep, settings: SettingsDep, next: str | None = None) -> Response:
    found = _pending(request, db, settings, "enrol")
    if found is None:
        return _restart()
    _ws, user = found
    pepper = request.app.state.pepper
    if mfa.secret(user, pepper=pepper) is None or user.totp_enabled_at is not None:
        mfa.start_enrolment(user, pepper=pepper)
    return render(request, "login_2fa_setup.html", enrol_context(user, pepper, safe_next(next), None))


def enrol_context(
    user: User, pepper: str, next_url: str, error: str | None, action: str = "/login/2fa/setup"
) -> dict[str, object]:
    """The two-factor set-up page (at login, or from the account's security page)."""
    return {
        "next": next_url,
        "error": error,
        "secret": mfa.secret(user, pepper=pepper),
        "qr": Markup(mfa.qr_svg(mfa.provisioning_uri(user, pepper=pepper))),  # noqa: S704 (segno's own SVG, no user input)
        "action": action,
    }


@router.post("/login/2fa/setup")
def enrol(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    code: Annotated[Line, Form(max_length=40)] = "",
    next: Annotated[Line, Form(max_length=500)] = "/",
) -> Response:
    found = _pending(request, db, settings, "enrol")
    if found is None or not found[1].totp_secret:
        return _restart()
    ws, user = found
    codes = mfa.confirm_enrolment(db, user, code, pepper=request.app.state.pepper)
    if codes is None:
        _failed(request, db, settings, user.username, "wrong two-factor code at enrolment")
        return render(
            request,
            "login_2fa_setup.html",
            enrol_context(user, request.app.state.pepper, safe_next(next), "wrong code"),
            status_code=401,
        )
    record_for_user(request, db, user, "auth.2fa_enabled")
    db.delete(ws)
    page = render(request, "recovery_codes.html", {"codes": codes, "next": safe_next(next)})
    return _full_login(request, db, settings, user, next, response=page)


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
