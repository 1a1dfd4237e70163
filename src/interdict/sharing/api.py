"""Sharing groups API. Members see their groups; administrators of the owning organisation manage them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from interdict.accounts.deps import AdminDep, SubjectDep
from interdict.core.deps import SessionDep
from interdict.sharing import groups
from interdict.sharing.schemas import SharingGroupCreate, SharingGroupMembers, SharingGroupRead

router = APIRouter(prefix="/api/v1/sharing-groups", tags=["sharing"])


@router.get("", response_model=list[SharingGroupRead])
def list_groups(db: SessionDep, subject: SubjectDep) -> list[SharingGroupRead]:
    """The sharing groups your organisation belongs to (the ones you can share records with)."""
    return [groups.to_read(db, subject, g) for g in groups.visible_groups(db, subject)]


@router.post("", response_model=SharingGroupRead, status_code=201)
def create_group(body: SharingGroupCreate, db: SessionDep, subject: AdminDep) -> SharingGroupRead:
    """Administrators create a group owned by their unit; the owner is always a member."""
    return groups.to_read(db, subject, groups.create_group(db, subject, body))


@router.get("/{group_id}", response_model=SharingGroupRead)
def get_group(group_id: uuid.UUID, db: SessionDep, subject: SubjectDep) -> SharingGroupRead:
    return groups.to_read(db, subject, groups.get_group(db, subject, group_id))


@router.put("/{group_id}/members", response_model=SharingGroupRead)
def set_members(group_id: uuid.UUID, body: SharingGroupMembers, db: SessionDep, subject: AdminDep) -> SharingGroupRead:
    group = groups.get_group(db, subject, group_id)
    return groups.to_read(db, subject, groups.set_members(db, subject, group, body.members))
