"""My account: API tokens (created here, shown once) and administration of users and units."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from interdict.accounts import mfa, service
from interdict.accounts.api import audit_head, audit_org, audit_token, audit_user
from interdict.accounts.models import User
from interdict.accounts.schemas import OrganisationCreate, TokenCreate, UserCreate
from interdict.audit import service as audit
from interdict.core.deps import SessionDep
from interdict.core.errors import Forbidden, InvalidInput, NotFound, from_validation_error
from interdict.sharing.service import own_account, require_admin
from interdict.web.auth import enrol_context
from interdict.web.deps import CheckedForm, WebSubject
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
        raise Forbidden("only administrators can create admin-scoped tokens")
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
    return {"orgs": orgs, "users": users, "org_by_id": {o.id: o for o in orgs}, "errors": {}, "values": {}}


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
            raise Forbidden("you can add users only to your own agency's units")
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
    values = {k: str(form.get(k) or "") for k in ("code", "name", "name_local", "kind", "country", "parent_code")}
    ctx = _admin_context(db, subject)
    try:
        body = OrganisationCreate.model_validate({**values, "name_local": values["name_local"] or None})
        parent = service.get_org_by_code(db, body.parent_code) if body.parent_code else None
        if not service.in_tree(parent, subject):
            raise Forbidden("you can add units only under an organisation of your own agency")
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


def _me(db: SessionDep, subject: WebSubject) -> User:
    own_account(subject)
    user = db.get(User, subject.user_id)
    assert user is not None
    return user


def _security_page(request: Request, db: SessionDep, user: User, **extra: object) -> Response:
    ctx: dict[str, object] = {
        "user": user,
        "mfa_enabled": mfa.enabled(user),
        "mfa_required": mfa.required(db, user),
        "errors": {},
        "flash": request.query_params.get("flash"),
        **extra,
    }
    return render(request, "account/security.html", ctx, status_code=422 if extra.get("errors") else 200)


@router.get("/account/security")
def security_page(request: Request, db: SessionDep, subject: WebSubject) -> Response:
    return _security_page(request, db, _me(db, subject))


@router.post("/account/password")
def change_password(request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    user = _me(db, subject)
    current, new = str(form.get("current_password") or ""), str(form.get("new_password") or "")
    if not service.service_password_matches(user, current):
        return _security_page(request, db, user, errors={"current_password": ["the current password is wrong"]})
    try:
        ws = getattr(request.state, "web_session_id", None)
        service.set_password(db, user, new, keep_session_id=ws)
    except InvalidInput as exc:
        return _security_page(request, db, user, errors={"new_password": [e.msg for e in exc.errors]})
    audit.record(db, subject, "auth.password_changed", summary="other sessions ended")
    return RedirectResponse("/account/security?flash=password", status_code=303)


@router.post("/account/logout-everywhere")
def logout_everywhere(request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    user = _me(db, subject)
    n = service.end_all_web_sessions(db, user.id)
    audit.record(db, subject, "auth.logout_everywhere", summary=f"{n} session(s) ended")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie("interdict_session", path="/")
    return response


@router.get("/account/2fa/setup")
def mfa_setup_page(request: Request, db: SessionDep, subject: WebSubject) -> Response:
    user = _me(db, subject)
    if mfa.enabled(user):
        return RedirectResponse("/account/security", status_code=303)
    pepper = request.app.state.pepper
    if mfa.secret(user, pepper=pepper) is None:
        mfa.start_enrolment(user, pepper=pepper)
    return render(
        request, "login_2fa_setup.html", enrol_context(user, pepper, "/account/security", None, "/account/2fa/setup")
    )


@router.post("/account/2fa/setup")
def mfa_setup(request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    user = _me(db, subject)
    if mfa.enabled(user) or not user.totp_secret:
        return RedirectResponse("/account/security", status_code=303)
    codes = mfa.confirm_enrolment(db, user, str(form.get("code") or ""), pepper=request.app.state.pepper)
    if codes is None:
        return render(
            request,
            "login_2fa_setup.html",
            enrol_context(user, request.app.state.pepper, "/account/security", "wrong code", "/account/2fa/setup"),
            status_code=422,
        )
    audit.record(db, subject, "auth.2fa_enabled")
    return render(request, "recovery_codes.html", {"codes": codes, "next": "/account/security"})


@router.post("/account/2fa/disable")
def mfa_disable(request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    user = _me(db, subject)
    if mfa.required(db, user):
        raise Forbidden("your organisation requires two-factor authentication: it cannot be turned off")
    if not service.service_password_matches(user, str(form.get("password") or "")):
        return _security_page(request, db, user, errors={"password": ["the password is wrong"]})
    mfa.disable(db, user)
    audit.record(db, subject, "auth.2fa_disabled")
    return RedirectResponse("/account/security?flash=2fa_off", status_code=303)


@router.post("/admin/users/{user_id}/reset-2fa")
def admin_reset_mfa(user_id: uuid.UUID, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    require_admin(subject, "administration is for administrators")
    user = db.get(User, user_id)
    tree = {o.id for o in service.tree_organisations(db, subject)}
    if user is None or user.org_id not in tree:
        raise NotFound("user not found")
    mfa.disable(db, user)
    service.end_all_web_sessions(db, user.id)
    audit.record(db, subject, "auth.2fa_reset", object_type="user", object_id=user.id, object_label=user.username)
    return RedirectResponse("/admin?flash=2fa_reset", status_code=303)


@router.post("/admin/organisations/{code}/require-2fa")
def admin_require_mfa(code: str, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    require_admin(subject, "administration is for administrators")
    org = service.get_org_by_code(db, code)
    if not service.in_tree(org, subject):
        raise NotFound("organisation not found")
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


@router.post("/admin/organisations/{code}/head")
def admin_set_head(code: str, request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    """The unit's head: urgent rapid alerts the unit leaves unacknowledged escalate to this user."""
    require_admin(subject, "administration is for administrators")
    org = service.get_org_by_code(db, code)
    if not service.in_tree(org, subject):
        raise NotFound("organisation not found")
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
