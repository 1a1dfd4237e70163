"""Sign-in through the agency's OpenID Connect provider (when configured): /login/oidc and its callback."""

from __future__ import annotations

import threading

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from interdict.accounts import oidc
from interdict.audit import service as audit
from interdict.config import Settings
from interdict.core.deps import SessionDep, SettingsDep
from interdict.web.auth import (
    after_first_factor,
    client_ip,
    login_page_response,
    record_for_user,
    safe_next,
    secure_cookies,
)

router = APIRouter(include_in_schema=False)

STATE_COOKIE = "interdict_oidc"
STATE_PATH = "/login/oidc"
OIDC_FAILED = "oidc"  # the login page shows one general message for every refusal
_provider_lock = threading.Lock()


def provider(request: Request, settings: Settings) -> oidc.Provider:
    """The configured provider (one per app, so its discovery document and keys are cached)."""
    if not settings.oidc_enabled:
        raise HTTPException(404, "OpenID Connect sign-in is not configured")
    with _provider_lock:
        found: oidc.Provider | None = getattr(request.app.state, "oidc_provider", None)
        if found is None:
            found = oidc.Provider(settings)
            request.app.state.oidc_provider = found
        return found


def _redirect_uri(request: Request, settings: Settings) -> str:
    return settings.oidc_redirect_uri or str(request.url_for("oidc_callback"))


def _refused(request: Request, db: SessionDep, settings: Settings, why: str, status: int = 401) -> Response:
    audit.record(
        db,
        None,
        "auth.login_failed",
        channel="web",
        ip=client_ip(request),
        summary=f"OpenID Connect: {why}"[:1000],
    )
    response = login_page_response(request, settings, "/", error=OIDC_FAILED, status_code=status)
    response.delete_cookie(STATE_COOKIE, path=STATE_PATH)
    return response


@router.get("/login/oidc")
def oidc_start(request: Request, db: SessionDep, settings: SettingsDep, next: str | None = None) -> Response:
    idp = provider(request, settings)
    try:
        url, pending = idp.begin(_redirect_uri(request, settings), safe_next(next))
    except oidc.OidcError as exc:
        return _refused(request, db, settings, str(exc), status=502)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        STATE_COOKIE,
        oidc.pack(pending, request.app.state.pepper),
        max_age=oidc.STATE_MAX_AGE,
        path=STATE_PATH,
        httponly=True,
        secure=secure_cookies(request, settings),
        samesite="lax",  # sent on the provider's top-level redirect back, never on cross-site subrequests
    )
    return response


@router.get("/login/oidc/callback", name="oidc_callback")
def oidc_callback(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    idp = provider(request, settings)
    try:
        pending = oidc.unpack(request.cookies.get(STATE_COOKIE), request.app.state.pepper)
        if error:
            raise oidc.OidcError(f"provider said {error[:100]}: {(error_description or '')[:300]}")
        claims = idp.finish(pending, state=state, code=code, redirect_uri=_redirect_uri(request, settings))
        user, bound = oidc.account_for(db, settings, claims)
    except oidc.OidcError as exc:
        return _refused(request, db, settings, str(exc))
    if bound:
        record_for_user(
            request,
            db,
            user,
            "auth.oidc_linked",
            object_type="user",
            object_id=user.id,
            object_label=user.username,
            summary=f"provider identity {claims['sub']} at {idp.issuer} bound to the account",
        )
    how = f"OpenID Connect ({idp.issuer})"
    record_for_user(request, db, user, "auth.oidc_verified", summary=how)
    response = after_first_factor(
        request, db, settings, user, pending.next, how=how, mfa_done=settings.oidc_trust_provider_mfa
    )
    response.delete_cookie(STATE_COOKIE, path=STATE_PATH)
    return response
