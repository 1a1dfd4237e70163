"""Sharing groups: create, list, change members. Never commits."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from interdict.accounts.models import Organisation
from interdict.accounts.subject import Subject
from interdict.audit import service as audit
from interdict.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from interdict.core.i18n import N_
from interdict.sharing.models import SharingGroup, SharingGroupMember
from interdict.sharing.schemas import MemberRead, SharingGroupCreate, SharingGroupRead
from interdict.sharing.service import decided, org_root, require_admin


def member_of(subject: Subject) -> list[uuid.UUID]:
    return list(subject.ancestor_ids or (subject.org_id,))


def visible_groups(session: Session, subject: Subject) -> list[SharingGroup]:
    """Groups the subject's organisation belongs to (directly or through an organisation above it)."""
    decided("sharing-group-member")
    mine = select(SharingGroupMember.group_id).where(SharingGroupMember.org_id.in_(member_of(subject)))
    return list(session.scalars(select(SharingGroup).where(SharingGroup.id.in_(mine)).order_by(SharingGroup.code)))


CHOOSE_GROUP = "choose the sharing group to share with (distribution 'group')"


def my_groups(session: Session, subject: Subject) -> dict[str, uuid.UUID]:
    """The groups the subject may distribute records to, by code and by id (as text)."""
    out: dict[str, uuid.UUID] = {}
    for g in visible_groups(session, subject):
        out[g.code] = out[str(g.id)] = g.id
    return out


def pick_group(
    distribution: str,
    code: str | None,
    mine: dict[str, uuid.UUID],
    *,
    current: uuid.UUID | None = None,
    loc: tuple[str | int, ...] = ("sharing_group",),
) -> uuid.UUID | None:
    """The sharing group of a record: only with distribution 'group', and only one of ``mine``
    (:func:`my_groups`). Unknown groups and groups the subject is not in get the same message (no probing
    for names). ``current`` stays accepted (the owner can still edit a record shared with a group it left)."""
    if distribution != "group":
        return None
    if not code:
        raise InvalidInput(FieldError(loc, CHOOSE_GROUP, "required"))
    if current is not None and code == str(current):
        return current
    found = mine.get(code)
    if found is None:
        raise InvalidInput(FieldError(loc, N_("you belong to no sharing group '%(code)s'", code=code), "unknown_group"))
    return found


def resolve_group(
    session: Session, subject: Subject, distribution: str, code: str | None, *, current: uuid.UUID | None = None
) -> uuid.UUID | None:
    if distribution != "group":
        return None
    return pick_group(distribution, code, my_groups(session, subject), current=current)


def sees_members(session: Session, subject: Subject, group: SharingGroup) -> bool:
    """THE rule for who learns a group's membership: everyone while the group shows its members; with
    ``hide_members``, only the owner's organisation tree (which manages it). Everything that could reveal a hidden
    member (the member list, rapid-alert tracking, responses, audit entries) asks this."""
    return not group.hide_members or org_root(session, group.owner_org_id) == subject.root_org_id


def _manages(session: Session, subject: Subject, group: SharingGroup) -> bool:
    return subject.is_admin and org_root(session, group.owner_org_id) == subject.root_org_id


def _orgs_by_code(session: Session, codes: list[str], loc: str) -> list[Organisation]:
    found = {o.code: o for o in session.scalars(select(Organisation).where(Organisation.code.in_(set(codes))))}
    missing = [c for c in codes if c not in found]
    if missing:
        raise InvalidInput(
            [
                FieldError((loc, codes.index(c)), N_("no organisation with code '%(c)s'", c=c), "unknown_org")
                for c in missing
            ]
        )
    return [found[c] for c in dict.fromkeys(codes)]


def create_group(session: Session, subject: Subject, data: SharingGroupCreate) -> SharingGroup:
    require_admin(subject, "only administrators can create sharing groups")
    if session.scalar(select(SharingGroup.id).where(SharingGroup.code == data.code)) is not None:
        raise Conflict(N_("sharing group code '%(code)s' already exists", code=data.code))
    members = _orgs_by_code(session, data.members, "members")
    group = SharingGroup(
        code=data.code,
        name=data.name,
        description=data.description,
        owner_org_id=subject.org_id,
        hide_members=data.hide_members,
        created_by_id=subject.user_id,
    )
    session.add(group)
    session.flush()
    ids = {subject.org_id} | {o.id for o in members}
    session.add_all(SharingGroupMember(group_id=group.id, org_id=i) for i in ids)
    session.flush()
    audit.record(
        session,
        subject,
        "sharing_group.create",
        object_type="sharing_group",
        object_id=group.id,
        object_label=group.code,
        after={"name": group.name, "members": sorted(o.code for o in members), "hide_members": group.hide_members},
    )
    return group


def get_group(session: Session, subject: Subject, group_id: uuid.UUID) -> SharingGroup:
    for group in visible_groups(session, subject):
        if group.id == group_id:
            return group
    raise NotFound(N_("sharing group not found"))


def set_members(session: Session, subject: Subject, group: SharingGroup, codes: list[str]) -> SharingGroup:
    """Replace the member list. Records shared with the group follow at once (membership is read per query)."""
    if not _manages(session, subject, group):
        raise Forbidden(N_("only administrators of the owning organisation can change the members"))
    members = _orgs_by_code(session, codes, "members")
    before = sorted(m.org_id for m in group.members)
    wanted = {group.owner_org_id} | {o.id for o in members}
    for m in list(group.members):
        if m.org_id not in wanted:
            group.members.remove(m)
    have = {m.org_id for m in group.members}
    for org_id in wanted - have:
        group.members.append(SharingGroupMember(group_id=group.id, org_id=org_id))
    session.flush()
    codes_by_id = {
        o.id: o.code for o in session.scalars(select(Organisation).where(Organisation.id.in_(set(before) | wanted)))
    }
    audit.record(
        session,
        subject,
        "sharing_group.members",
        object_type="sharing_group",
        object_id=group.id,
        object_label=group.code,
        before={"members": sorted(codes_by_id.get(i, str(i)) for i in before)},
        after={"members": sorted(codes_by_id.get(i, str(i)) for i in wanted)},
    )
    return group


def to_read(session: Session, subject: Subject, group: SharingGroup) -> SharingGroupRead:
    orgs = {
        o.id: o
        for o in session.scalars(
            select(Organisation).where(Organisation.id.in_({m.org_id for m in group.members} | {group.owner_org_id}))
        )
    }
    show = sees_members(session, subject, group)
    members = (
        sorted(
            (
                MemberRead(
                    code=orgs[m.org_id].code,
                    name=orgs[m.org_id].name,
                    country=orgs[m.org_id].country,
                    name_local=orgs[m.org_id].name_local,
                )
                for m in group.members
            ),
            key=lambda m: m.code,
        )
        if show
        else None
    )
    return SharingGroupRead(
        id=group.id,
        code=group.code,
        name=group.name,
        description=group.description,
        owner_org_code=orgs[group.owner_org_id].code,
        hide_members=group.hide_members,
        created_at=group.created_at,
        can_manage=_manages(session, subject, group),
        members=members,
    )
