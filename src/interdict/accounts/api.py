"""Accounts API: who am I, API tokens, organisations and users (admins)."""

from __future__ import annotations

import uuid
from dataclasses import replace

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from interdict.accounts import admin, service
from interdict.accounts.deps import AdminDep, SubjectDep, TokenManagerDep
from interdict.accounts.models import ApiToken, Organisation, User
from interdict.accounts.schemas import (
    Me,
    MeChange,
    OrganisationChange,
    OrganisationCreate,
    OrganisationRead,
    PasswordReset,
    PasswordResetDone,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from interdict.accounts.subject import Subject
from interdict.audit import service as audit
from interdict.core.deps import SessionDep
from interdict.core.errors import Forbidden, NotFound
from interdict.core.i18n import N_
from interdict.sharing.service import any_participant, own_account, require_admin

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def audit_org(db: Session, subject: Subject, org: Organisation) -> None:
    audit.record(
        db,
        subject,
        "organisation.create",
        object_type="organisation",
        object_id=org.id,
        object_label=org.code,
        after={"name": org.name, "kind": org.kind, "country": org.country, "time_zone": org.time_zone},
    )


def audit_token(db: Session, subject: Subject, row: ApiToken) -> None:
    audit.record(
        db,
        subject,
        "token.create",
        object_type="api_token",
        object_id=row.id,
        object_label=row.name,
        after={"scopes": row.scopes, "expires_at": row.expires_at},
    )


def audit_user(db: Session, subject: Subject, user: User, org_code: str) -> None:
    audit.record(
        db,
        subject,
        "user.create",
        object_type="user",
        object_id=user.id,
        object_label=user.username,
        after={"role": user.role, "organisation": org_code, "full_name": user.full_name},
    )


def audit_time_zone(db: Session, subject: Subject, target: Organisation | User, before: str | None) -> None:
    """A changed time zone, the user's own or an organisation's, in the audit trail."""
    is_org = isinstance(target, Organisation)
    audit.record(
        db,
        subject,
        "organisation.time_zone" if is_org else "user.time_zone",
        object_type="organisation" if is_org else "user",
        object_id=target.id,
        object_label=target.code if isinstance(target, Organisation) else target.username,
        before={"time_zone": before},
        after={"time_zone": target.time_zone},
    )


def _me(db: Session, subject: Subject) -> Me:
    user = db.get(User, subject.user_id)
    return Me(
        id=subject.user_id,
        username=subject.username,
        full_name=subject.full_name,
        role=subject.role,
        org_code=subject.org_code,
        org_name=subject.org_name,
        country=subject.country,
        locale=subject.locale,
        time_zone=subject.time_zone,
        own_time_zone=user.time_zone if user is not None else None,
    )


@router.get("/me", response_model=Me)
def me(db: SessionDep, subject: SubjectDep) -> Me:
    own_account(subject)
    return _me(db, subject)


@router.patch("/me", response_model=Me)
def change_me(body: MeChange, db: SessionDep, subject: SubjectDep) -> Me:
    """Choose the time zone in which you see times (null: your organisation's)."""
    own_account(subject)
    user = db.get(User, subject.user_id)
    if user is None:
        raise NotFound(N_("no such user"))
    before = service.set_time_zone(user, body.time_zone)
    if before != user.time_zone:
        audit_time_zone(db, subject, user, before)
    org = db.get(Organisation, user.org_id)
    assert org is not None
    return _me(db, replace(subject, time_zone=user.time_zone or org.time_zone))


@router.get("/tokens", response_model=list[TokenRead])
def list_tokens(db: SessionDep, subject: TokenManagerDep) -> list[TokenRead]:
    own_account(subject)
    return [TokenRead.model_validate(t) for t in service.list_api_tokens(db, subject.user_id)]


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def create_token(body: TokenCreate, request: Request, db: SessionDep, subject: TokenManagerDep) -> TokenCreated:
    """Create an API token for yourself, from a web session or with an admin-scoped token. The token is in this
    response only; it is stored hashed."""
    own_account(subject)
    if not set(body.scopes) <= subject.scopes:
        raise Forbidden(N_("a token cannot have scopes its creator lacks"))
    if "admin" in body.scopes and subject.role != "admin":
        raise Forbidden(N_("only administrators can create admin-scoped tokens"))
    user = db.get(User, subject.user_id)
    assert user is not None
    token, row = service.create_api_token(db, user, body, pepper=request.app.state.pepper)
    audit_token(db, subject, row)
    return TokenCreated(token=token, **TokenRead.model_validate(row).model_dump())


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: uuid.UUID, db: SessionDep, subject: TokenManagerDep) -> Response:
    own_account(subject)
    service.revoke_api_token(db, subject.user_id, token_id)
    audit.record(db, subject, "token.revoke", object_type="api_token", object_id=token_id)
    return Response(status_code=204)


@router.get("/organisations", response_model=list[OrganisationRead])
def list_organisations(db: SessionDep, subject: SubjectDep) -> list[OrganisationRead]:
    """Organisations are a directory every participant can read (who to contact, who to share with)."""
    any_participant(subject, "organisation directory")
    return [OrganisationRead.model_validate(o) for o in service.list_organisations(db)]


def _tree_ids(db: SessionDep, subject: SubjectDep) -> list[uuid.UUID]:
    return [o.id for o in service.tree_organisations(db, subject)]


@router.post("/organisations", response_model=OrganisationRead, status_code=201)
def create_organisation(body: OrganisationCreate, db: SessionDep, subject: AdminDep) -> OrganisationRead:
    """Administrators add units to their own agency's tree."""
    require_admin(subject, "only administrators can add organisations")
    parent = service.get_org_by_code(db, body.parent_code) if body.parent_code else None
    if not service.in_tree(parent, subject):
        raise Forbidden(N_("you can add units only under an organisation of your own agency"))
    org = service.create_organisation(db, body)
    audit_org(db, subject, org)
    return OrganisationRead.model_validate(org)


def audit_head(db: Session, subject: Subject, org: Organisation, before: uuid.UUID | None) -> None:
    audit.record(
        db,
        subject,
        "organisation.head",
        object_type="organisation",
        object_id=org.id,
        object_label=org.code,
        before={"head_user_id": before},
        after={"head_user_id": org.head_user_id},
    )


@router.patch("/organisations/{code}", response_model=OrganisationRead)
def change_organisation(code: str, body: OrganisationChange, db: SessionDep, subject: AdminDep) -> OrganisationRead:
    """Name a unit's head (urgent rapid alerts the unit leaves unacknowledged escalate to this user) or set its
    time zone. Fields left out stay as they are. Administrators of the unit's agency."""
    require_admin(subject, "only administrators can change units")
    org = service.get_org_by_code(db, code)
    if not service.in_tree(org, subject):
        raise NotFound(N_("organisation not found"))
    given = body.model_fields_set
    if "head_username" in given or not given:
        before = service.set_head(db, org, body.head_username)
        audit_head(db, subject, org, before)
    if "time_zone" in given:
        zone_before = service.set_time_zone(org, body.time_zone)
        if zone_before != org.time_zone:
            audit_time_zone(db, subject, org, zone_before)
    return OrganisationRead.model_validate(org)


@router.get("/users", response_model=list[UserRead])
def list_users(db: SessionDep, subject: AdminDep) -> list[UserRead]:
    require_admin(subject, "only administrators can list users")
    return [UserRead.model_validate(u) for u in service.list_users(db, org_ids=_tree_ids(db, subject))]


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(body: UserCreate, db: SessionDep, subject: AdminDep) -> UserRead:
    require_admin(subject, "only administrators can add users")
    org = service.get_org_by_code(db, body.org_code)
    if org is None:
        raise NotFound(N_("no organisation with code '%(org_code)s'", org_code=body.org_code))
    if not service.in_tree(org, subject):
        raise Forbidden(N_("you can add users only to your own agency's units"))
    user = service.create_user(db, body)
    audit_user(db, subject, user, org.code)
    return UserRead.model_validate(user)


@router.get("/users/{user_id}", response_model=UserRead)
def get_user(user_id: uuid.UUID, db: SessionDep, subject: AdminDep) -> UserRead:
    """A user of your agency (administrators): details, role, whether active, last login."""
    return UserRead.model_validate(admin.managed_user(db, subject, user_id))


@router.patch("/users/{user_id}", response_model=UserRead)
def update_user(user_id: uuid.UUID, body: UserUpdate, db: SessionDep, subject: AdminDep) -> UserRead:
    """Change a user's name, e-mail address, unit, language or role (only the fields sent). The agency's last
    active administrator keeps the role (409). Audited with the values before and after."""
    return UserRead.model_validate(admin.update_user(db, subject, admin.managed_user(db, subject, user_id), body))


@router.post("/users/{user_id}/deactivate", response_model=UserRead)
def deactivate_user(user_id: uuid.UUID, db: SessionDep, subject: AdminDep) -> UserRead:
    """The user can no longer sign in: their web sessions end and their API tokens are revoked at once. The
    agency's last active administrator cannot be deactivated (409)."""
    return UserRead.model_validate(admin.deactivate_user(db, subject, admin.managed_user(db, subject, user_id)))


@router.post("/users/{user_id}/reactivate", response_model=UserRead)
def reactivate_user(user_id: uuid.UUID, db: SessionDep, subject: AdminDep) -> UserRead:
    """The user can sign in again (tokens revoked at deactivation stay revoked)."""
    return UserRead.model_validate(admin.reactivate_user(db, subject, admin.managed_user(db, subject, user_id)))


@router.post("/users/{user_id}/reset-password", response_model=PasswordResetDone)
def reset_password(
    user_id: uuid.UUID, db: SessionDep, subject: AdminDep, body: PasswordReset | None = None
) -> PasswordResetDone:
    """Set a temporary password (the one sent, which must meet the password policy, or a generated one returned
    in this response only). The user must change it at their next sign-in; their sessions end and their API
    tokens are revoked."""
    user = admin.managed_user(db, subject, user_id)
    generated = admin.reset_password(db, subject, user, body.password if body else None)
    return PasswordResetDone(user=UserRead.model_validate(user), temporary_password=generated)
