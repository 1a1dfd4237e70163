"""My account: API tokens (created here, shown once) and administration of users and units."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from interdict.accounts import admin, mfa, service, throttle
from interdict.accounts.api import audit_head, audit_org, audit_time_zone, audit_token, audit_user
from interdict.accounts.models import Organisation, User
from interdict.accounts.schemas import (
    MeChange,
    OrganisationChange,
    OrganisationCreate,
    TokenCreate,
    UserCreate,
    UserUpdate,
)
from interdict.audit import service as audit
from interdict.core import localtime, security
from interdict.core.deps import SessionDep, SettingsDep
from interdict.core.errors import Conflict, Forbidden, InvalidInput, NotFound, from_validation_error
from interdict.core.i18n import N_
from interdict.sharing.service import own_account, require_admin
from interdict.web.auth import enrol_context, login_limits
from interdict.web.deps import CheckedForm, PendingPasswordForm, PendingPasswordSubject, WebSubject
from interdict.web.errors import PASSWORD_CHANGE_PAGE
from interdict.web.forms import errors_by_field
from interdict.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/account/tokens")
def tokens_page(request: Request, db: SessionDep, subject: WebSubject) -> Response:
    own_account(subject)
    return render(
        request,
        "account/tokens.html",
        {"tokens": service.list_api_tokens(db, subject.user_id), "new_token": None, "errors": {}},
    )


@router.post("/account/tokens")
def create_token(request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    own_account(subject)
    scopes = [s for s in form.getlist("scopes") if isinstance(s, str)]
    days = form.get("expires_in_days")
    try:
        body = TokenCreate(
            name=str(form.get("name") or ""),
            scopes=scopes or ["read"],
            expires_in_days=int(days) if isinstance(days, str) and days.isdigit() else 90,
        )
    except ValidationError as exc:
        err = from_validation_error(exc)
        return render(
            request,
            "account/tokens.html",
            {
                "tokens": service.list_api_tokens(db, subject.user_id),
                "new_token": None,
                "errors": errors_by_field(err.errors),
            },
            status_code=422,
        )
    if "admin" in body.scopes and subject.role != "admin":
        raise Forbidden(N_("only administrators can create admin-scoped tokens"))
    user = db.get(User, subject.user_id)
    assert user is not None
    token, _row = service.create_api_token(db, user, body, pepper=request.app.state.pepper)
    audit_token(db, subject, _row)
    return render(
        request,
        "account/tokens.html",
        {"tokens": service.list_api_tokens(db, subject.user_id), "new_token": token, "errors": {}},
    )


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(token_id: uuid.UUID, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    own_account(subject)
    service.revoke_api_token(db, subject.user_id, token_id)
    audit.record(db, subject, "token.revoke", object_type="api_token", object_id=token_id)
    return RedirectResponse("/account/tokens", status_code=303)


def _admin_context(db: SessionDep, subject: WebSubject) -> dict[str, object]:
    orgs = service.tree_organisations(db, subject)
    users = service.list_users(db, org_ids=[o.id for o in orgs])
    return {
        "orgs": orgs,
        "users": users,
        "org_by_id": {o.id: o for o in orgs},
        "locked": throttle.locked_accounts(db, [u.username for u in users]),
        "zone_choices": localtime.zone_choices(),
        "zone_org": None,
        "errors": {},
        "values": {},
    }


@router.get("/admin")
def admin_page(request: Request, db: SessionDep, subject: WebSubject) -> Response:
    require_admin(subject, "administration is for administrators")
    return render(request, "admin/index.html", _admin_context(db, subject))


@router.post("/admin/users")
def admin_create_user(request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    require_admin(subject, "administration is for administrators")
    values = {
        k: str(form.get(k) or "") for k in ("username", "full_name", "email", "role", "org_code", "password", "locale")
    }
    ctx = _admin_context(db, subject)
    try:
        body = UserCreate.model_validate(
            {**values, "email": values["email"] or None, "locale": values["locale"] or "en"}
        )
        org = service.get_org_by_code(db, body.org_code)
        if not service.in_tree(org, subject):
            raise Forbidden(N_("you can add users only to your own agency's units"))
        audit_user(db, subject, service.create_user(db, body), body.org_code)
    except ValidationError as exc:
        return render(
            request,
            "admin/index.html",
            {**ctx, "errors": errors_by_field(from_validation_error(exc).errors), "values": values},
            status_code=422,
        )
    except InvalidInput as exc:
        return render(
            request,
            "admin/index.html",
            {**ctx, "errors": errors_by_field(exc.errors), "values": values},
            status_code=422,
        )
    return RedirectResponse("/admin?flash=user_created", status_code=303)


@router.post("/admin/organisations")
def admin_create_org(request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    require_admin(subject, "administration is for administrators")
    fields = ("code", "name", "name_local", "kind", "country", "parent_code", "time_zone")
    values = {k: str(form.get(k) or "") for k in fields}
    ctx = _admin_context(db, subject)
    try:
        body = OrganisationCreate.model_validate(
            {**values, "name_local": values["name_local"] or None, "time_zone": values["time_zone"] or None}
        )
        parent = service.get_org_by_code(db, body.parent_code) if body.parent_code else None
        if not service.in_tree(parent, subject):
            raise Forbidden(N_("you can add units only under an organisation of your own agency"))
        audit_org(db, subject, service.create_organisation(db, body))
    except ValidationError as exc:
        return render(
            request,
            "admin/index.html",
            {**ctx, "errors": errors_by_field(from_validation_error(exc).errors), "org_values": values},
            status_code=422,
        )
    except InvalidInput as exc:
        return render(
            request,
            "admin/index.html",
            {**ctx, "errors": errors_by_field(exc.errors), "org_values": values},
            status_code=422,
        )
    return RedirectResponse("/admin?flash=unit_created", status_code=303)


# --- my security: password, two-factor authentication, sessions ---------------------------------


def _me(db: SessionDep, subject: PendingPasswordSubject) -> User:
    own_account(subject)
    user = db.get(User, subject.user_id)
    assert user is not None
    return user


def _security_page(request: Request, db: SessionDep, user: User, **extra: object) -> Response:
    org = db.get(Organisation, user.org_id)
    ctx: dict[str, object] = {
        "user": user,
        "zone_choices": localtime.zone_choices(),
        "org_time_zone": org.time_zone if org is not None else localtime.DEFAULT_ZONE,
        "mfa_enabled": mfa.enabled(user),
        "mfa_required": mfa.required(db, user),
        "active_tokens": len(service.active_api_tokens(db, user.id)),
        "errors": {},
        "reauth_failed": None,  # the field whose password was wrong (the page says so, translated)
        "flash": request.query_params.get("flash"),
        **extra,
    }
    failed = extra.get("errors") or extra.get("reauth_failed")
    return render(request, "account/security.html", ctx, status_code=422 if failed else 200)


def reauthenticated(
    db: SessionDep, settings: SettingsDep, subject: WebSubject, user: User, password: str, purpose: str
) -> bool:
    """Whether ``password`` is the user's: asked again before a password or two-factor change, so a stolen or
    unattended session alone cannot take the account over. Throttled like the login (a wrong password counts
    toward the account's lockout; while locked even the right one is refused, after the same work) and
    audited either way (``auth.reauthenticated`` / ``auth.reauth_failed``)."""
    if throttle.blocked(db, user.username, subject.ip):
        security.verify_password(None, password)  # the same work as a real check
        ok, why = False, "refused: locked after too many failed attempts"
    else:
        ok, why = service.service_password_matches(user, password), "wrong password"
    if ok:
        throttle.succeeded(db, user.username)
        audit.record(db, subject, "auth.reauthenticated", summary=f"password confirmed to {purpose}")
        return True
    locked = throttle.failed(db, user.username, subject.ip, login_limits(settings)) if why == "wrong password" else []
    audit.record(
        db,
        subject,
        "auth.reauth_failed",
        summary=f"{why} when asked again to {purpose}" + ("; now locked for a while" if locked else ""),
    )
    for kind in locked:
        audit.record(
            db,
            subject,
            "auth.locked",
            object_type="user" if kind == "account" else None,
            object_id=user.id if kind == "account" else None,
            object_label=user.username if kind == "account" else subject.ip,
            summary=f"{'account' if kind == 'account' else f'client address {subject.ip}'} locked for "
            f"{settings.login_lockout_minutes} minutes after too many wrong passwords",
        )
    return False


@router.get("/account/security")
def security_page(request: Request, db: SessionDep, subject: WebSubject) -> Response:
    return _security_page(request, db, _me(db, subject))


@router.post("/account/time-zone")
def change_time_zone(request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    """The user's own time zone (empty: their organisation's)."""
    user = _me(db, subject)
    try:
        body = MeChange(time_zone=str(form.get("time_zone") or "") or None)
    except ValidationError as exc:
        return _security_page(request, db, user, errors=errors_by_field(from_validation_error(exc).errors))
    before = service.set_time_zone(user, body.time_zone)
    if before != user.time_zone:
        audit_time_zone(db, subject, user, before)
    return RedirectResponse("/account/security?flash=time_zone#time-zone", status_code=303)


@router.post("/account/password")
def change_password(
    request: Request, db: SessionDep, settings: SettingsDep, subject: WebSubject, form: CheckedForm
) -> Response:
    """A new password ends the user's other sessions and revokes all their API tokens (the page says so)."""
    user = _me(db, subject)
    current, new = str(form.get("current_password") or ""), str(form.get("new_password") or "")
    if not reauthenticated(db, settings, subject, user, current, "change the password"):
        return _security_page(request, db, user, reauth_failed="current_password")
    try:
        ws = getattr(request.state, "web_session_id", None)
        revoked = service.set_password(db, user, new, keep_session_id=ws)
    except InvalidInput as exc:
        return _security_page(request, db, user, errors={"new_password": [e.msg for e in exc.errors]})
    for token in revoked:
        audit.record(
            db,
            subject,
            "token.revoke",
            object_type="api_token",
            object_id=token.id,
            object_label=token.name,
            summary="revoked by a password change",
        )
    audit.record(
        db, subject, "auth.password_changed", summary=f"other sessions ended; {len(revoked)} API token(s) revoked"
    )
    return RedirectResponse("/account/security?flash=password", status_code=303)


@router.get(PASSWORD_CHANGE_PAGE)
def new_password_page(request: Request, db: SessionDep, subject: PendingPasswordSubject) -> Response:
    """Where a user whose password an administrator set is sent after signing in: nothing else opens until they
    choose their own."""
    user = _me(db, subject)
    if not user.must_change_password:
        return RedirectResponse("/account/security", status_code=303)
    return render(request, "account/password_new.html", {"errors": {}, "reauth_failed": None, "same_password": False})


@router.post(PASSWORD_CHANGE_PAGE)
def new_password(
    request: Request, db: SessionDep, settings: SettingsDep, subject: PendingPasswordSubject, form: PendingPasswordForm
) -> Response:
    user = _me(db, subject)
    if not user.must_change_password:
        return RedirectResponse("/account/security", status_code=303)
    current, new = str(form.get("current_password") or ""), str(form.get("new_password") or "")

    def again(**extra: object) -> Response:
        ctx: dict[str, object] = {"errors": {}, "reauth_failed": None, "same_password": False, **extra}
        return render(request, "account/password_new.html", ctx, status_code=422)

    if not reauthenticated(db, settings, subject, user, current, "replace the password an administrator set"):
        return again(reauth_failed="current_password")
    if new == current:
        return again(same_password=True)
    try:
        service.set_password(db, user, new, keep_session_id=getattr(request.state, "web_session_id", None))
    except InvalidInput as exc:
        return again(errors={"new_password": [e.msg for e in exc.errors]})
    audit.record(db, subject, "auth.password_changed", summary="replaced the password an administrator set")
    return RedirectResponse("/dashboard", status_code=303)


@router.post("/account/logout-everywhere")
def logout_everywhere(request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    user = _me(db, subject)
    n = service.end_all_web_sessions(db, user.id)
    audit.record(db, subject, "auth.logout_everywhere", summary=f"{n} session(s) ended")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie("interdict_session", path="/")
    return response


def _setup_page(request: Request, user: User, error: str | None, status_code: int = 200) -> Response:
    context = enrol_context(user, request.app.state.pepper, "/account/security", error, "/account/2fa/setup")
    return render(request, "login_2fa_setup.html", context, status_code=status_code)


@router.get("/account/2fa/setup")
def mfa_setup_page(request: Request, db: SessionDep, subject: WebSubject) -> Response:
    user = _me(db, subject)
    if mfa.enabled(user):
        return RedirectResponse("/account/security", status_code=303)
    pepper = request.app.state.pepper
    if mfa.secret(user, pepper=pepper) is None:
        mfa.start_enrolment(user, pepper=pepper)
    return _setup_page(request, user, None)


@router.post("/account/2fa/setup")
def mfa_setup(
    request: Request, db: SessionDep, settings: SettingsDep, subject: WebSubject, form: CheckedForm
) -> Response:
    """Turn two-factor authentication on: the password again, and a code from the new authenticator."""
    user = _me(db, subject)
    if mfa.enabled(user) or not user.totp_secret:
        return RedirectResponse("/account/security", status_code=303)
    password = str(form.get("password") or "")
    if not reauthenticated(db, settings, subject, user, password, "turn on two-factor authentication"):
        return _setup_page(request, user, "password", status_code=422)
    codes = mfa.confirm_enrolment(db, user, str(form.get("code") or ""), pepper=request.app.state.pepper)
    if codes is None:
        return _setup_page(request, user, "wrong code", status_code=422)
    throttle.second_factor_succeeded(db, user.username)
    audit.record(db, subject, "auth.2fa_enabled")
    return render(request, "recovery_codes.html", {"codes": codes, "next": "/account/security", "regenerated": False})


@router.post("/account/2fa/disable")
def mfa_disable(
    request: Request, db: SessionDep, settings: SettingsDep, subject: WebSubject, form: CheckedForm
) -> Response:
    user = _me(db, subject)
    if mfa.required(db, user):
        raise Forbidden(N_("your organisation requires two-factor authentication: it cannot be turned off"))
    password = str(form.get("password") or "")
    if not reauthenticated(db, settings, subject, user, password, "turn off two-factor authentication"):
        return _security_page(request, db, user, reauth_failed="password")
    mfa.disable(db, user)
    audit.record(db, subject, "auth.2fa_disabled")
    return RedirectResponse("/account/security?flash=2fa_off", status_code=303)


@router.post("/account/2fa/recovery-codes")
def mfa_new_recovery_codes(
    request: Request, db: SessionDep, settings: SettingsDep, subject: WebSubject, form: CheckedForm
) -> Response:
    """New recovery codes (the old ones stop working), after the password again."""
    user = _me(db, subject)
    if not mfa.enabled(user):
        return RedirectResponse("/account/security", status_code=303)
    password = str(form.get("recovery_password") or "")
    if not reauthenticated(db, settings, subject, user, password, "make new recovery codes"):
        return _security_page(request, db, user, reauth_failed="recovery_password")
    codes = mfa.new_recovery_codes(db, user, pepper=request.app.state.pepper)
    audit.record(db, subject, "auth.recovery_codes_regenerated", summary="the earlier recovery codes no longer work")
    return render(request, "recovery_codes.html", {"codes": codes, "next": "/account/security", "regenerated": True})


@router.post("/admin/users/{user_id}/reset-2fa")
def admin_reset_mfa(user_id: uuid.UUID, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    require_admin(subject, "administration is for administrators")
    user = db.get(User, user_id)
    tree = {o.id for o in service.tree_organisations(db, subject)}
    if user is None or user.org_id not in tree:
        raise NotFound(N_("user not found"))
    mfa.disable(db, user)
    service.end_all_web_sessions(db, user.id)
    throttle.unlock(db, user.username)  # the second-factor failures were against the old set-up
    audit.record(db, subject, "auth.2fa_reset", object_type="user", object_id=user.id, object_label=user.username)
    return RedirectResponse("/admin?flash=2fa_reset", status_code=303)


@router.post("/admin/users/{user_id}/unlock")
def admin_unlock(user_id: uuid.UUID, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    """End an account's lockout (wrong passwords or two-factor codes) before it ends by itself."""
    require_admin(subject, "administration is for administrators")
    user = db.get(User, user_id)
    tree = {o.id for o in service.tree_organisations(db, subject)}
    if user is None or user.org_id not in tree:
        raise NotFound(N_("user not found"))
    was_locked = throttle.unlock(db, user.username)
    audit.record(
        db,
        subject,
        "auth.unlocked",
        object_type="user",
        object_id=user.id,
        object_label=user.username,
        summary="lockout ended by an administrator" if was_locked else "failure counters cleared (was not locked)",
    )
    return RedirectResponse("/admin?flash=unlocked", status_code=303)


@router.post("/admin/organisations/{code}/require-2fa")
def admin_require_mfa(code: str, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    require_admin(subject, "administration is for administrators")
    org = service.get_org_by_code(db, code)
    if not service.in_tree(org, subject):
        raise NotFound(N_("organisation not found"))
    org.require_2fa = form.get("require") == "on"
    audit.record(
        db,
        subject,
        "organisation.require_2fa",
        object_type="organisation",
        object_id=org.id,
        object_label=org.code,
        after={"require_2fa": org.require_2fa},
    )
    return RedirectResponse("/admin?flash=unit_changed", status_code=303)


@router.post("/admin/organisations/time-zone")
def admin_set_time_zone(request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    """The zone in which a unit's users see times (empty: its country's); each user may choose their own."""
    require_admin(subject, "administration is for administrators")
    code = str(form.get("org_code") or "")
    org = service.get_org_by_code(db, code) if code else None
    if not service.in_tree(org, subject):
        raise NotFound(N_("organisation not found"))
    try:
        body = OrganisationChange(time_zone=str(form.get("time_zone") or "") or None)
    except ValidationError as exc:
        errors = [e.msg for e in from_validation_error(exc).errors]
        return render(
            request,
            "admin/index.html",
            {**_admin_context(db, subject), "errors": {"zone_time_zone": errors}, "zone_org": org.code},
            status_code=422,
        )
    before = service.set_time_zone(org, body.time_zone)
    if before != org.time_zone:
        audit_time_zone(db, subject, org, before)
    return RedirectResponse("/admin?flash=unit_changed", status_code=303)


@router.post("/admin/organisations/{code}/head")
def admin_set_head(code: str, request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    """The unit's head: urgent rapid alerts the unit leaves unacknowledged escalate to this user."""
    require_admin(subject, "administration is for administrators")
    org = service.get_org_by_code(db, code)
    if not service.in_tree(org, subject):
        raise NotFound(N_("organisation not found"))
    head = form.get("head_username")
    try:
        before = service.set_head(db, org, head if isinstance(head, str) else None)
    except InvalidInput as exc:
        return render(
            request,
            "admin/index.html",
            {**_admin_context(db, subject), "errors": {f"head-{org.code}": [e.msg for e in exc.errors]}},
            status_code=422,
        )
    audit_head(db, subject, org, before)
    return RedirectResponse("/admin?flash=unit_changed", status_code=303)


# --- administration of one user: details, role, deactivate / reactivate, password reset -----------------------


def _user_page(
    request: Request, db: SessionDep, subject: WebSubject, user: User, status_code: int = 200, **extra: object
) -> Response:
    orgs = service.tree_organisations(db, subject)
    ctx: dict[str, object] = {
        "user": user,
        "orgs": orgs,
        "unit": next((o for o in orgs if o.id == user.org_id), None),
        "locked": throttle.locked_accounts(db, [user.username]).get(user.username),
        "errors": {},
        "values": {},
        "problem": None,  # "last_admin": the agency's last active administrator (the page says so, translated)
        "temporary_password": None,
        **extra,
    }
    return render(request, "admin/user.html", ctx, status_code=status_code)


@router.get("/admin/users/{user_id}")
def admin_user_page(user_id: uuid.UUID, request: Request, db: SessionDep, subject: WebSubject) -> Response:
    return _user_page(request, db, subject, admin.managed_user(db, subject, user_id))


@router.post("/admin/users/{user_id}")
def admin_update_user(
    user_id: uuid.UUID, request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm
) -> Response:
    user = admin.managed_user(db, subject, user_id)
    values = {k: str(form.get(k) or "") for k in ("full_name", "email", "org_code", "locale", "role")}
    try:
        admin.update_user(db, subject, user, UserUpdate.model_validate(values))
    except ValidationError as exc:
        errors = errors_by_field(from_validation_error(exc).errors)
        return _user_page(request, db, subject, user, 422, errors=errors, values=values)
    except InvalidInput as exc:
        return _user_page(request, db, subject, user, 422, errors=errors_by_field(exc.errors), values=values)
    except Conflict:
        return _user_page(request, db, subject, user, 409, problem="last_admin", values=values)
    if user.id == subject.user_id and user.role != "admin":  # no longer an administrator: this page is closed now
        return RedirectResponse("/dashboard", status_code=303)
    return RedirectResponse(f"/admin/users/{user.id}?flash=saved", status_code=303)


@router.post("/admin/users/{user_id}/deactivate")
def admin_deactivate_user(
    user_id: uuid.UUID, request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm
) -> Response:
    user = admin.managed_user(db, subject, user_id)
    try:
        admin.deactivate_user(db, subject, user)
    except Conflict:
        return _user_page(request, db, subject, user, 409, problem="last_admin")
    if user.id == subject.user_id:  # their own session has just ended
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(f"/admin/users/{user.id}?flash=deactivated", status_code=303)


@router.post("/admin/users/{user_id}/reactivate")
def admin_reactivate_user(user_id: uuid.UUID, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    user = admin.reactivate_user(db, subject, admin.managed_user(db, subject, user_id))
    return RedirectResponse(f"/admin/users/{user.id}?flash=reactivated", status_code=303)


@router.get("/admin/users/{user_id}/reset-password")
def admin_reset_password_again(user_id: uuid.UUID, db: SessionDep, subject: WebSubject) -> Response:
    """The address of the reset's answer, opened again (a bookmark, a new tab): the user's page. Never a new reset,
    and the temporary password is not shown again."""
    user = admin.managed_user(db, subject, user_id)
    return RedirectResponse(f"/admin/users/{user.id}", status_code=303)


@router.post("/admin/users/{user_id}/reset-password")
def admin_reset_password(
    user_id: uuid.UUID, request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm
) -> Response:
    """A temporary password, chosen or generated; a generated one is shown on this answer only (never stored in
    clear, never in the address). The user must change it at their next login."""
    user = admin.managed_user(db, subject, user_id)
    chosen = str(form.get("password") or "")
    try:
        generated = admin.reset_password(db, subject, user, chosen or None)
    except InvalidInput as exc:
        return _user_page(request, db, subject, user, 422, errors={"password": [e.msg for e in exc.errors]})
    if user.id == subject.user_id:
        return RedirectResponse("/login", status_code=303)
    response = _user_page(request, db, subject, user, temporary_password=generated, reset_done=True)
    response.headers["Cache-Control"] = "no-store"
    return response
