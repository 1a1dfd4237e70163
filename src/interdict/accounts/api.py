"""Accounts API: who am I, API tokens, organisations and users (admins)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from interdict.accounts import service
from interdict.accounts.deps import AdminDep, SubjectDep, TokenManagerDep
from interdict.accounts.models import ApiToken, Organisation, User
from interdict.accounts.schemas import (
    Me,
    OrganisationChange,
    OrganisationCreate,
    OrganisationRead,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserCreate,
    UserRead,
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
        after={"name": org.name, "kind": org.kind, "country": org.country},
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


@router.get("/me", response_model=Me)
def me(subject: SubjectDep) -> Me:
    own_account(subject)
    return Me(
        id=subject.user_id,
        username=subject.username,
        full_name=subject.full_name,
        role=subject.role,
        org_code=subject.org_code,
        org_name=subject.org_name,
        country=subject.country,
        locale=subject.locale,
    )


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
    """Name a unit's head: urgent rapid alerts the unit leaves unacknowledged escalate to this user.
    Administrators of the unit's agency."""
    require_admin(subject, "only administrators can change units")
    org = service.get_org_by_code(db, code)
    if not service.in_tree(org, subject):
        raise NotFound(N_("organisation not found"))
    before = service.set_head(db, org, body.head_username)
    audit_head(db, subject, org, before)
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
