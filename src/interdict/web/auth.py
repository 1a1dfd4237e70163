"""Log in, log out, language switch."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
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
from interdict.web.deps import CheckedForm, PendingPasswordForm, PendingPasswordSubject, WebSubject
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
    """The Secure flag: when configured, else when the request came over HTTPS (the scheme a trusted proxy
    reports counts; an untrusted client's X-Forwarded-Proto was removed before: core/proxy.py)."""
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    return request.url.scheme == "https"


def client_ip(request: Request) -> str | None:
    """The client's address: the direct peer, or what a trusted proxy reports (core/proxy.py)."""
    return request.client.host if request.client else None


# --- login CSRF: the login form carries a token that only a page served to this browser knows ----------------
# Before a session exists there is no session token to compare with, so the login form's token is paired with a
# signed, HttpOnly, SameSite=Strict cookie (double submit): a login posted from another site has no cookie and
# cannot read the token, so nobody can log a victim's browser into an account the attacker controls.

LOGIN_CSRF_COOKIE = "interdict_login_csrf"
LOGIN_CSRF_PATH = "/login"
LOGIN_CSRF_MAX_AGE = 4 * 3600  # seconds a login page may stay open before its form must be reloaded


def _login_csrf_signature(token: str, issued: int, pepper: str) -> str:
    return hmac.new(f"login-csrf:{pepper}".encode(), f"{token}.{issued}".encode(), hashlib.sha256).hexdigest()


def login_csrf_token(request: Request) -> str | None:
    """The token of this browser's login-CSRF cookie, if the cookie is present, signed by us and not too old."""
    parts = (request.cookies.get(LOGIN_CSRF_COOKIE) or "").split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    token, issued, signature = parts[0], int(parts[1]), parts[2]
    expected = _login_csrf_signature(token, issued, request.app.state.pepper)
    if not security.constant_time_equals(signature, expected) or not 0 <= time.time() - issued < LOGIN_CSRF_MAX_AGE:
        return None
    return token


def _issue_login_csrf(request: Request, settings: SettingsDep, response: Response, token: str) -> None:
    issued = int(time.time())
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        f"{token}.{issued}.{_login_csrf_signature(token, issued, request.app.state.pepper)}",
        max_age=LOGIN_CSRF_MAX_AGE,
        path=LOGIN_CSRF_PATH,
        httponly=True,
        secure=secure_cookies(request, settings),
        samesite="strict",
    )


def login_csrf_ok(request: Request, sent: str) -> bool:
    expected = login_csrf_token(request)
    return bool(expected and sent and security.constant_time_equals(sent, expected))


def login_page_response(
    request: Request,
    settings: SettingsDep,
    next: str | None,
    username: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    """The login page with its CSRF token (this browser's, or a new one) and the matching cookie."""
    token = login_csrf_token(request) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {**login_context(settings, next, username, error), "csrf_token": token},
        status_code=status_code,
    )
    _issue_login_csrf(request, settings, response, token)
    return response


@router.get("/login")
def login_page(request: Request, db: SessionDep, settings: SettingsDep, next: str | None = None) -> Response:
    if authenticate_request(request, db, settings, check_csrf_header=False) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return login_page_response(request, settings, next)


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
FORGED = "csrf"  # the login page says the form expired or did not come from this site
PENDING_COOKIE = "interdict_login"


def login_limits(settings: SettingsDep) -> throttle.Limits:
    return throttle.Limits(
        account_failures=settings.login_account_failures,
        address_failures=settings.login_address_failures,
        window_minutes=settings.login_window_minutes,
        lockout_minutes=settings.login_lockout_minutes,
        second_factor_failures=settings.login_second_factor_failures,
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
        ip=client_ip(request),
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
    ip = client_ip(request)
    service.record_login(user)
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
    """A wrong password (or a refusal while locked): counted for the account name and the address, audited."""
    ip = client_ip(request)
    known = service.get_user_by_username(db, username) if username.strip() else None
    locked = throttle.failed(db, username, ip, login_limits(settings))
    record_failure(request, db, settings, username, known, why, locked, "failed sign-ins")


def _second_factor_failed(request: Request, db: SessionDep, settings: SettingsDep, user: User, why: str) -> None:
    """A wrong two-factor or recovery code: counted on the account's own second-factor counter (a right password
    never resets it) and for the address, audited; at the limit the account is locked."""
    locked = throttle.second_factor_failed(db, user.username, client_ip(request), login_limits(settings))
    record_failure(request, db, settings, user.username, user, why, locked, "wrong two-factor codes")


def record_failure(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    username: str,
    known: User | None,
    why: str,
    locked: list[throttle.Kind],
    cause: str,
) -> None:
    """``auth.login_failed`` with the precise reason, and ``auth.locked`` for each lock it caused."""
    ip = client_ip(request)
    actor: dict[str, Any] = {
        "actor_username": username.strip().lower()[:64] or None,
        "actor_user_id": known.id if known else None,
        "actor_org_id": known.org_id if known else None,
        "channel": "web",
        "ip": ip,
    }
    audit.record(db, None, "auth.login_failed", summary=why + ("; now locked for a while" if locked else ""), **actor)
    minutes = settings.login_lockout_minutes
    for kind in locked:
        what = f"client address {ip}" if kind == "address" else "account"
        audit.record(
            db,
            None,
            "auth.locked",
            object_type="user" if kind == "account" and known else None,
            object_id=known.id if kind == "account" and known else None,
            object_label=username.strip().lower()[:64] if kind == "account" else ip,
            summary=f"{what} locked for {minutes} minutes after too many {cause}",
            **actor,
        )


@router.post("/login")
def login(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    username: Annotated[Line, Form(max_length=64)] = "",
    password: Annotated[Verbatim, Form(max_length=256)] = "",
    next: Annotated[Line, Form(max_length=500)] = "/",
    csrf_token: Annotated[Line, Form(max_length=100)] = "",
) -> Response:
    ip = client_ip(request)
    if not login_csrf_ok(request, csrf_token):
        # A login posted from another site (login CSRF), or a page left open too long: nothing is checked or
        # counted; the page comes back with a fresh token. Audited as the account named, if there is one (its
        # organisation's auditors see it).
        known = service.get_user_by_username(db, username) if username.strip() else None
        why = "refused: the login form did not come from this browser's login page (missing or wrong CSRF token)"
        record_failure(request, db, settings, username, known, why, [], "")
        return login_page_response(request, settings, next, username, FORGED, status_code=403)
    failed_page = login_page_response(request, settings, next, username, LOGIN_FAILED, status_code=401)
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
    ip = client_ip(request)
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
    """The half-login (password checked) of this browser at ``stage``; its CSRF token goes into the step's form."""
    token = request.cookies.get(PENDING_COOKIE)
    if not token:
        return None
    found = service.resolve_web_session(db, token, pepper=request.app.state.pepper, idle_minutes=5, stage=stage)
    if found is not None:
        request.state.csrf_token = found[0].csrf_token
    return found


def _step_csrf_ok(ws: WebSession, sent: str) -> bool:
    return bool(sent) and security.constant_time_equals(sent, ws.csrf_token)


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
    csrf_token: Annotated[Line, Form(max_length=100)] = "",
) -> Response:
    found = _pending(request, db, settings, "mfa")
    if found is None:
        return _restart()
    ws, user = found
    page = {"next": safe_next(next), "error": "wrong code"}
    if not _step_csrf_ok(ws, csrf_token):
        return render(request, "login_2fa.html", {**page, "error": FORGED}, status_code=403)
    pepper = request.app.state.pepper
    if throttle.blocked(db, user.username, client_ip(request)):
        # Locked: not even the right code is looked at, and the answer is the one for a wrong code.
        record_failure(
            request, db, settings, user.username, user, "refused: locked after too many failed attempts", [], ""
        )
        return render(request, "login_2fa.html", page, status_code=401)
    if not (mfa.verify_code(user, code, pepper=pepper) or mfa.use_recovery_code(db, user, code, pepper=pepper)):
        _second_factor_failed(request, db, settings, user, "wrong or reused two-factor code")
        return render(request, "login_2fa.html", page, status_code=401)
    throttle.second_factor_succeeded(db, user.username)
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
    """The two-factor set-up page (at login, or from the account's security page, where the password is asked
    again: a stolen session alone cannot bind the attacker's authenticator to the account)."""
    return {
        "next": next_url,
        "error": error,
        "ask_password": action != "/login/2fa/setup",
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
    csrf_token: Annotated[Line, Form(max_length=100)] = "",
) -> Response:
    found = _pending(request, db, settings, "enrol")
    if found is None or not found[1].totp_secret:
        return _restart()
    ws, user = found
    pepper = request.app.state.pepper
    if not _step_csrf_ok(ws, csrf_token):
        return render(
            request, "login_2fa_setup.html", enrol_context(user, pepper, safe_next(next), FORGED), status_code=403
        )
    blocked = throttle.blocked(db, user.username, client_ip(request))
    codes = None if blocked else mfa.confirm_enrolment(db, user, code, pepper=pepper)
    if codes is None:
        if blocked:
            why = "refused at enrolment: locked after too many failed attempts"
            record_failure(request, db, settings, user.username, user, why, [], "")
        else:
            _second_factor_failed(request, db, settings, user, "wrong two-factor code at enrolment")
        return render(
            request,
            "login_2fa_setup.html",
            enrol_context(user, pepper, safe_next(next), "wrong code"),
            status_code=401,
        )
    throttle.second_factor_succeeded(db, user.username)
    record_for_user(request, db, user, "auth.2fa_enabled")
    db.delete(ws)
    page = render(request, "recovery_codes.html", {"codes": codes, "next": safe_next(next), "regenerated": False})
    return _full_login(request, db, settings, user, next, response=page)


@router.post("/logout")
def logout(request: Request, db: SessionDep, subject: PendingPasswordSubject, form: PendingPasswordForm) -> Response:
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
    """A display preference of this browser only (no data): allowed before login so the login page can be read in
    Vietnamese. Signed-in users switch with the form below, which also remembers the choice in their account."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, samesite="lax", max_age=365 * 86400, path="/", httponly=True)
    return response


@router.post("/lang/{lang}")
def remember_language(
    lang: str, db: SessionDep, subject: WebSubject, form: CheckedForm, next: str | None = None
) -> Response:
    """The signed-in user's language: kept in the account (every browser, later sessions, e-mails and notifications
    sent to them) and in this browser."""
    own_account(subject)
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in LANGUAGES:
        service.set_locale(db, subject.user_id, lang)
        response.set_cookie(LANG_COOKIE, lang, samesite="lax", max_age=365 * 86400, path="/", httponly=True)
    return response
