"""From alert rows to what a reader is shown (API and pages): persons only where the reader may see them,
linked incidents and responses only as far as the reader may read them, tracking for the issuing unit; the members
of a sharing group that hides them are never named to a reader outside the group owner's tree."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from interdict.accounts.models import Organisation, User
from interdict.accounts.subject import Subject
from interdict.alerts import service as svc
from interdict.alerts.models import AlertAddressee, AlertResponse, RapidAlert
from interdict.alerts.schemas import (
    AddresseeRead,
    AlertRead,
    AlertSummary,
    PersonRead,
    ResponseRead,
    RoutePointRead,
)
from interdict.incidents.models import Incident
from interdict.incidents.present import substance_ref
from interdict.incidents.schemas import OrgRef, SharingGroupRef, SubstanceRef, UserRef
from interdict.reference.catalogue import get_index
from interdict.sharing import groups as sharing_groups
from interdict.sharing.models import SharingGroup
from interdict.sharing.service import readable_clause


def _users(session: Session, ids: set[uuid.UUID | None]) -> dict[uuid.UUID, UserRef]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {
        u.id: UserRef(id=u.id, username=u.username, full_name=u.full_name)
        for u in session.scalars(select(User).where(User.id.in_(wanted)))
    }


def _orgs(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, Organisation]:
    if not ids:
        return {}
    return {o.id: o for o in session.scalars(select(Organisation).where(Organisation.id.in_(ids)))}


def _org_ref(o: Organisation) -> OrgRef:
    return OrgRef(id=o.id, code=o.code, name=o.name, name_local=o.name_local)


def _readable_references(session: Session, subject: Subject, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """References of those of ``ids`` the subject may read (the incidents' own rule)."""
    if not ids:
        return {}
    stmt = select(Incident.id, Incident.reference).where(Incident.id.in_(ids), readable_clause(Incident, subject))
    return {row[0]: row[1] for row in session.execute(stmt)}


def is_overdue(alert: RapidAlert, row: AlertAddressee, delays: svc.Delays, now: datetime) -> bool:
    """Not acknowledged though reminded or escalated, or past the time a reminder (else an escalation) is due."""
    if alert.status != "issued" or row.acknowledged_at is not None or row.source == "escalation":
        return False
    if row.reminded_at is not None or row.escalated_at is not None:
        return True
    due = delays.remind_at(alert) or delays.escalate_at(alert)
    return due is not None and now >= due


def to_read(session: Session, subject: Subject, alert: RapidAlert, *, delays: svc.Delays, now: datetime) -> AlertRead:
    """The alert as ``subject`` (who read it through ``svc.get_alert``) may see it."""
    index = get_index(session)
    nominal = svc.can_see_persons(session, alert, subject)
    issuer = alert.owner_org_id == subject.org_id
    rows = list(alert.addressees)
    responses = svc.responses_for(session, subject, alert)
    orgs = _orgs(session, {alert.owner_org_id, *(r.org_id for r in rows), *(r.org_id for r in responses)})
    users = _users(
        session,
        {
            alert.created_by_id,
            alert.closed_by_id,
            *(r.first_read_by_id for r in rows),
            *(r.acknowledged_by_id for r in rows),
            *(r.user_id for r in responses),
        },
    )
    groups = {
        g.id: g
        for g in session.scalars(
            select(SharingGroup).where(
                SharingGroup.id.in_({r.group_id for r in rows if r.group_id} | {alert.sharing_group_id} - {None})
            )
        )
    }

    # Groups whose members the reader may not learn (sharing.groups.sees_members): their members' rows are shown as
    # one row for the group, with no names, no people and no count; their responses as "a member of" the group.
    hiding = {g.id: g for g in groups.values() if not sharing_groups.sees_members(session, subject, g)}

    def hidden_group(row: AlertAddressee) -> SharingGroup | None:
        return hiding.get(row.group_id) if row.group_id and row.org_id != subject.org_id else None

    hidden_orgs = {row.org_id: g for row in rows if (g := hidden_group(row)) is not None}

    def row_read(row: AlertAddressee) -> AddresseeRead:
        org = orgs[row.org_id]
        group = groups.get(row.group_id) if row.group_id else None
        return AddresseeRead(
            org=_org_ref(org),
            label=f"{org.code} — {org.name}",
            source=row.source,
            group=group.code if group else None,
            delivered_at=row.delivered_at,
            first_read_at=row.first_read_at,
            first_read_by=users.get(row.first_read_by_id) if row.first_read_by_id else None,
            acknowledged_at=row.acknowledged_at,
            acknowledged_by=users.get(row.acknowledged_by_id) if row.acknowledged_by_id else None,
            responded_at=row.responded_at,
            reminded_at=row.reminded_at,
            escalated_at=row.escalated_at,
            overdue=is_overdue(alert, row, delays, now),
        )

    def group_read(group: SharingGroup, members: list[AlertAddressee]) -> AddresseeRead:
        """The members of a hiding group as one addressee: acknowledged once one of them acknowledged."""

        def first(values: list[datetime | None]) -> datetime | None:
            return min((v for v in values if v is not None), default=None)

        acknowledged = first([r.acknowledged_at for r in members])
        return AddresseeRead(
            org=None,
            label=f"members of {group.code}",
            source="group",
            group=group.code,
            members_hidden=True,
            delivered_at=first([r.delivered_at for r in members]),
            first_read_at=first([r.first_read_at for r in members]),
            first_read_by=None,
            acknowledged_at=acknowledged,
            acknowledged_by=None,
            responded_at=first([r.responded_at for r in members]),
            reminded_at=None,
            escalated_at=None,
            overdue=acknowledged is None and any(is_overdue(alert, r, delays, now) for r in members),
        )

    def tracking() -> list[AddresseeRead]:
        out: list[AddresseeRead] = []
        folded: set[uuid.UUID] = set()
        for row in rows:
            group = hidden_group(row)
            if group is None:
                out.append(row_read(row))
            elif group.id not in folded:
                folded.add(group.id)
                out.append(group_read(group, [r for r in rows if hidden_group(r) is group]))
        return out

    def response_read(r: AlertResponse) -> ResponseRead:
        group = hidden_orgs.get(r.org_id)
        if group is not None:
            return ResponseRead(
                id=r.id,
                org=None,
                user=None,
                label=f"a member of {group.code}",
                group=group.code,
                text=r.text,
                created_at=r.created_at,
            )
        org = orgs[r.org_id]
        return ResponseRead(
            id=r.id,
            org=_org_ref(org),
            user=users[r.user_id],
            label=f"{org.code} — {org.name}",
            text=r.text,
            created_at=r.created_at,
            incident=refs.get(r.incident_id) if r.incident_id else None,
        )

    mine = next((r for r in rows if r.org_id == subject.org_id), None)
    linked = [link.incident_id for link in alert.incident_links]
    response_incidents = [r.incident_id for r in responses if r.incident_id]
    refs = _readable_references(session, subject, {*linked, *response_incidents})
    substances: list[SubstanceRef] = []
    for sid in alert.substance_ids:
        ref = substance_ref(index, uuid.UUID(sid))
        if ref is not None:
            substances.append(ref)
    group = groups.get(alert.sharing_group_id) if alert.sharing_group_id else None
    persons = [PersonRead(**p) for p in alert.persons] if nominal else []
    can_write = subject.can_write
    return AlertRead(
        id=alert.id,
        reference=alert.reference,
        status=alert.status,
        urgency=alert.urgency,
        subject=alert.subject,
        body=alert.body,
        owner_org=_org_ref(orgs[alert.owner_org_id]),
        created_by=users[alert.created_by_id],
        created_at=alert.created_at,
        updated_at=alert.updated_at,
        version=alert.version,
        distribution=alert.distribution,
        sharing_group=SharingGroupRef(id=group.id, code=group.code, name=group.name) if group else None,
        tlp=alert.tlp,
        share_nominal=alert.share_nominal,
        vessel_name=alert.vessel_name,
        vessel_imo=alert.vessel_imo,
        voyage=alert.voyage,
        bl_awb=alert.bl_awb,
        expected_arrival=alert.expected_arrival,
        containers=list(alert.containers),
        companies=list(alert.companies),
        persons=persons,
        persons_withheld=len(alert.persons) - len(persons),
        route=[RoutePointRead(country=p["country"], locode=p.get("locode")) for p in alert.route],
        substances=substances,
        incidents=[refs[i] for i in linked if i in refs],
        closed_at=alert.closed_at,
        closed_by=users.get(alert.closed_by_id) if alert.closed_by_id else None,
        close_note=alert.close_note,
        my_unit=row_read(mine) if mine else None,
        tracking=tracking() if issuer else None,
        responses=[response_read(r) for r in responses],
        can_acknowledge=alert.status == "issued" and mine is not None and mine.acknowledged_at is None,
        can_respond=alert.status == "issued" and can_write and (mine is not None or issuer),
        can_close=alert.status == "issued" and can_write and issuer,
    )


def to_summaries(session: Session, subject: Subject, alerts: list[RapidAlert]) -> list[AlertSummary]:
    rows = svc.my_rows(session, subject, [a.id for a in alerts])
    orgs = _orgs(session, {a.owner_org_id for a in alerts})
    return [
        AlertSummary(
            id=a.id,
            reference=a.reference,
            status=a.status,
            urgency=a.urgency,
            subject=a.subject,
            owner_org_code=orgs[a.owner_org_id].code,
            created_at=a.created_at,
            expected_arrival=a.expected_arrival,
            tlp=a.tlp,
            addressed_to_my_unit=a.id in rows,
            acknowledged_by_my_unit=(rows[a.id].acknowledged_at is not None) if a.id in rows else None,
        )
        for a in alerts
    ]
