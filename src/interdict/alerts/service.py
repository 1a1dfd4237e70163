"""Rapid alerts: issue, read, acknowledge, respond, close; the access predicate; notifications.

THE rule for reading an alert is :func:`readable_clause`, used by every read (detail, list, counts, the
response thread, the API, the pages, notification rendering, the incident form prefill): the sharing rules
of ``sharing.readable_clause`` (owner unit; distribution; TLP; AMBER+STRICT only inside the owner's tree),
OR the reader's organisation (or one above it) is an addressee, still under the AMBER+STRICT rule.
Addressing is sharing: an addressed unit reads the alert whatever its distribution. Persons to look for
are nominal data (``sharing.can_see_nominal``), and showing them is audited. Services never commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from interdict.accounts.models import Organisation, User
from interdict.accounts.subject import Subject
from interdict.alerts.models import AlertAddressee, AlertCounter, AlertIncident, AlertResponse, RapidAlert
from interdict.alerts.schemas import AlertCreate, Closing
from interdict.audit import service as audit
from interdict.core import localtime, outbox
from interdict.core.clock import utcnow
from interdict.core.db import new_id
from interdict.core.errors import Conflict, ErrorCollector, FieldError, Forbidden, InvalidInput, NotFound
from interdict.core.i18n import N_, Message
from interdict.core.pagination import PageParams
from interdict.incidents.models import Incident
from interdict.notifications import service as notifications
from interdict.notifications.models import Notification
from interdict.reference.catalogue import get_index
from interdict.sharing import groups as sharing_groups
from interdict.sharing import service as sharing
from interdict.sharing.models import SharingGroup, SharingGroupMember

REF_TYPE = "rapid_alert"
URGENCY_LABELS = {"routine": "ROUTINE", "urgent": "URGENT", "immediate": "IMMEDIATE"}


@dataclass(frozen=True)
class Delays:
    """Minutes after issue before reminding / escalating, per urgency (an urgency left out: never)."""

    remind: dict[str, int]
    escalate: dict[str, int]

    @classmethod
    def from_settings(cls, settings: Any) -> Delays:
        return cls(dict(settings.alert_remind_minutes), dict(settings.alert_escalate_minutes))

    def remind_at(self, alert: RapidAlert) -> datetime | None:
        minutes = self.remind.get(alert.urgency)
        return alert.created_at + timedelta(minutes=minutes) if minutes else None

    def escalate_at(self, alert: RapidAlert) -> datetime | None:
        minutes = self.escalate.get(alert.urgency)
        return alert.created_at + timedelta(minutes=minutes) if minutes else None


# --- the access predicate ----------------------------------------------------------------------


def _my_orgs(subject: Subject) -> tuple[uuid.UUID, ...]:
    return subject.ancestor_ids or (subject.org_id,)


def readable_clause(subject: Subject) -> ColumnElement[bool]:
    """True for the alerts ``subject`` may read. The only rule for reading alerts (see the module doc)."""
    sharing.decided("alert-readable")
    addressed = RapidAlert.id.in_(select(AlertAddressee.alert_id).where(AlertAddressee.org_id.in_(_my_orgs(subject))))
    same_tree = select(Organisation.id).where(Organisation.root_id == subject.root_org_id)
    tlp_ok = or_(RapidAlert.tlp != "AMBER+STRICT", RapidAlert.owner_org_id.in_(same_tree))
    return or_(sharing.readable_clause(RapidAlert, subject), and_(addressed, tlp_ok))


def _by_ref(alert_ref: uuid.UUID | str) -> ColumnElement[bool]:
    if isinstance(alert_ref, uuid.UUID):
        return RapidAlert.id == alert_ref
    try:
        return RapidAlert.id == uuid.UUID(alert_ref)
    except ValueError:
        return RapidAlert.reference == alert_ref.strip().upper()


def get_alert(session: Session, subject: Subject, alert_ref: uuid.UUID | str) -> RapidAlert:
    """The alert (by id or reference) if the subject may read it; NotFound otherwise, never Forbidden."""
    alert = session.scalar(select(RapidAlert).where(_by_ref(alert_ref), readable_clause(subject)))
    if alert is None:
        raise NotFound(N_("rapid alert not found"))
    return alert


def can_see_persons(session: Session, alert: RapidAlert, subject: Subject) -> bool:
    """For an alert already read through :func:`get_alert`: the incident rule (owner's tree, or shared nominally)."""
    return sharing.can_see_nominal(session, alert, subject)


def record_person_read(session: Session, subject: Subject, alert: RapidAlert, shown: int, *, where: str = "") -> None:
    """Every display of an alert's persons is audited (``where`` names the surface when not the alert itself)."""
    if shown:
        audit.record(
            session,
            subject,
            "alert.read_nominal",
            object_type="rapid_alert",
            object_id=alert.id,
            object_label=alert.reference,
            summary=f"{shown} natural person(s) shown" + (f" in {where}" if where else ""),
        )


def record_person_reads(session: Session, subject: Subject, shown: dict[uuid.UUID, int], *, where: str = "") -> None:
    """:func:`record_person_read` for several alerts (``shown``: alert id -> persons shown of it)."""
    for alert_id, n in shown.items():
        alert = session.get(RapidAlert, alert_id)
        if alert is not None:
            record_person_read(session, subject, alert, n, where=where)


# --- issuing -----------------------------------------------------------------------------------


def _take_number(session: Session, year: int) -> int:
    """The next alert number of ``year``; the counter row stays locked until the transaction ends.

    One ``UPDATE … RETURNING`` (PostgreSQL, SQLite 3.35+): on SQLite a read before the transaction's first
    write runs outside it, so a read-then-update could hand one number to two alerts."""
    for _attempt in range(3):
        taken = session.scalar(
            update(AlertCounter)
            .where(AlertCounter.year == year)
            .values(next_value=AlertCounter.next_value + 1)
            .returning(AlertCounter.next_value)
            .execution_options(synchronize_session=False)
        )
        if taken is not None:
            return int(taken) - 1
        try:
            with session.begin_nested():
                session.add(AlertCounter(year=year, next_value=2))
            return 1
        except IntegrityError:
            continue
    raise Conflict(N_("could not allocate an alert reference; try again"))


@dataclass
class _Addressee:
    org: Organisation
    source: str
    group_id: uuid.UUID | None = None


def _in_tree(session: Session, org: Organisation, subject: Subject) -> bool:
    return (org.root_id or org.id) == subject.root_org_id


def _resolve_addressees(
    session: Session, subject: Subject, data: AlertCreate, errs: ErrorCollector
) -> list[_Addressee]:
    strict = data.tlp == "AMBER+STRICT"
    out: dict[uuid.UUID, _Addressee] = {}
    codes = [c.upper() for c in data.addressees]
    found = {
        o.code.upper(): o
        for o in session.scalars(select(Organisation).where(func.upper(Organisation.code).in_(set(codes))))
    }
    for i, code in enumerate(codes):
        org = found.get(code)
        if org is None:
            errs.add(
                ("addressees", i), N_("no organisation with code '%(value)s'", value=data.addressees[i]), "unknown_org"
            )
        elif org.id == subject.org_id:
            errs.add(("addressees", i), N_("your own unit issues the alert: address other units"), "own_unit")
        elif strict and not _in_tree(session, org, subject):
            errs.add(
                ("addressees", i),
                N_("TLP:AMBER+STRICT keeps the alert inside your organisation; %(code)s is outside it", code=org.code),
                "tlp",
            )
        else:
            out.setdefault(org.id, _Addressee(org, "organisation"))
    if data.groups:
        mine = sharing_groups.my_groups(session, subject)
        for i, code in enumerate(data.groups):
            group_id = mine.get(code)
            if group_id is None:
                errs.add(("groups", i), N_("you belong to no sharing group '%(code)s'", code=code), "unknown_group")
                continue
            members = list(
                session.scalars(
                    select(Organisation)
                    .join(SharingGroupMember, SharingGroupMember.org_id == Organisation.id)
                    .where(SharingGroupMember.group_id == group_id)
                    .order_by(Organisation.code)
                )
            )
            if strict and any(not _in_tree(session, m, subject) for m in members):
                errs.add(
                    ("groups", i),
                    N_(
                        "TLP:AMBER+STRICT keeps the alert inside your organisation; group '%(code)s' reaches beyond it",
                        code=code,
                    ),
                    "tlp",
                )
                continue
            for member in members:
                if member.id != subject.org_id:
                    out.setdefault(member.id, _Addressee(member, "group", group_id))
    if not out and not errs.errors:
        errs.add(("addressees",), N_("address the alert to at least one unit or sharing group"), "required")
    return list(out.values())


def _resolve_incidents(session: Session, subject: Subject, refs: list[str], errs: ErrorCollector) -> list[uuid.UUID]:
    from interdict.incidents.service import get_incident

    out: list[uuid.UUID] = []
    for i, ref in enumerate(refs):
        try:
            incident = get_incident(session, subject, ref)
        except NotFound:
            errs.add(("incidents", i), N_("no incident '%(ref)s' that you can read", ref=ref), "unknown_incident")
            continue
        if incident.id not in out:
            out.append(incident.id)
    return out


def _resolve_substances(session: Session, names: list[str], errs: ErrorCollector) -> list[str]:
    index = get_index(session)
    out: list[str] = []
    for i, text in enumerate(names):
        found, candidates = index.resolve_substance(text)
        if found is None:
            hint = "; ".join(c.name for c in candidates[:3] if c.name)
            errs.add(
                ("substances", i),
                f"unknown substance '{text}'" + (f"; did you mean: {hint}?" if hint else ": not in the catalogue"),
                "unknown_substance",
            )
        elif str(found.id) not in out:
            out.append(str(found.id))
    return out


def users_of(session: Session, org_id: uuid.UUID) -> list[uuid.UUID]:
    """The active users whose unit is ``org_id`` (not those of units below it)."""
    return list(session.scalars(select(User.id).where(User.org_id == org_id, User.is_active.is_(True))))


def check_alert(
    session: Session, subject: Subject, data: AlertCreate
) -> tuple[list[_Addressee], list[uuid.UUID], list[str], uuid.UUID | None]:
    """The checks against what is recorded (addressees, incidents, substances, sharing group): every problem at once
    as InvalidInput; reads only. Returns the addressees, incident ids, substance ids and sharing group id."""
    errs = ErrorCollector()
    addressees = _resolve_addressees(session, subject, data, errs)
    incident_ids = _resolve_incidents(session, subject, data.incidents, errs)
    substance_ids = _resolve_substances(session, data.substances, errs)
    group_id: uuid.UUID | None = None
    try:
        group_id = sharing_groups.resolve_group(session, subject, data.distribution, data.sharing_group)
    except InvalidInput as exc:
        errs.errors.extend(exc.errors)
    errs.raise_if_any()
    return addressees, incident_ids, substance_ids, group_id


def issue_alert(session: Session, subject: Subject, data: AlertCreate, *, now: datetime | None = None) -> RapidAlert:
    """Issue an alert and tell every addressed unit's users. Every problem is reported at once, naming its field;
    nothing is written unless all is well."""
    sharing.require_writer(subject, "your role cannot issue rapid alerts")
    now = now or utcnow()
    addressees, incident_ids, substance_ids, group_id = check_alert(session, subject, data)

    alert = RapidAlert(
        id=new_id(),
        reference=f"RA-{now.year}-{_take_number(session, now.year):06d}",
        status="issued",
        urgency=data.urgency,
        subject=data.subject,
        body=data.body,
        owner_org_id=subject.org_id,
        created_by_id=subject.user_id,
        created_at=now,
        updated_at=now,
        version=1,
        distribution=data.distribution,
        sharing_group_id=group_id,
        tlp=data.tlp,
        share_nominal=data.share_nominal,
        vessel_name=data.vessel_name,
        vessel_imo=data.vessel_imo,
        voyage=data.voyage,
        bl_awb=data.bl_awb,
        expected_arrival=data.expected_arrival,
        containers=list(dict.fromkeys(data.containers)),
        companies=list(dict.fromkeys(data.companies)),
        persons=[p.model_dump() for p in data.persons],
        route=[p.model_dump() for p in data.route],
        substance_ids=substance_ids,
    )
    alert.addressees = [
        AlertAddressee(org_id=a.org.id, seq=i, source=a.source, group_id=a.group_id, added_at=now, escalated_to=[])
        for i, a in enumerate(addressees)
    ]
    alert.incident_links = [AlertIncident(incident_id=i) for i in incident_ids]
    shown_groups = {
        g.id
        for g in session.scalars(
            select(SharingGroup).where(SharingGroup.id.in_({a.group_id for a in addressees if a.group_id}))
        )
        if sharing_groups.sees_members(session, subject, g)
    }
    session.add(alert)
    session.flush()
    outbox.emit(session, "alert.issued", alert.id, {"reference": alert.reference})  # watch lists read it
    for row in alert.addressees:
        told = notifications.notify(
            session,
            user_ids=users_of(session, row.org_id),
            kind="rapid_alert.issued",
            ref_type=REF_TYPE,
            ref_id=alert.id,
            event_key=f"alert:{alert.id}:issued",
            urgency=alert.urgency,
            reason={"addressed_to": next(a.org.code for a in addressees if a.org.id == row.org_id)},
        )
        if told:
            row.delivered_at = now
    audit.record(
        session,
        subject,
        "alert.issue",
        object_type="rapid_alert",
        object_id=alert.id,
        object_label=alert.reference,
        summary=alert.subject,
        after={
            "urgency": alert.urgency,
            "tlp": alert.tlp,
            "distribution": alert.distribution,
            "share_nominal": alert.share_nominal,
            # Members of a group that hides them from the issuer are not named (the issuer's auditors read this).
            "addressees": [a.org.code for a in addressees if a.group_id is None or a.group_id in shown_groups],
            "groups": list(data.groups),
            "incidents": len(incident_ids),
        },
    )
    return alert


# --- reading, acknowledging, responding, closing -------------------------------------------------


def my_row(session: Session, subject: Subject, alert: RapidAlert) -> AlertAddressee | None:
    return session.scalar(
        select(AlertAddressee).where(AlertAddressee.alert_id == alert.id, AlertAddressee.org_id == subject.org_id)
    )


def record_read(session: Session, subject: Subject, alert: RapidAlert, *, now: datetime | None = None) -> None:
    """The first read of an addressed unit (who and when), for the issuer's tracking view."""
    row = my_row(session, subject, alert)
    if row is not None and row.first_read_at is None:
        row.first_read_at = now or utcnow()
        row.first_read_by_id = subject.user_id


def _require_open(alert: RapidAlert) -> None:
    if alert.status != "issued":
        raise Conflict(N_("rapid alert %(reference)s is %(status)s", reference=alert.reference, status=alert.status))


def acknowledge(
    session: Session, subject: Subject, alert_ref: uuid.UUID | str, *, now: datetime | None = None
) -> AlertAddressee:
    """Acknowledge for the subject's unit (any of its users, once per unit; acknowledging again changes nothing)."""
    alert = get_alert(session, subject, alert_ref)
    sharing.decided("alert-addressee")
    row = my_row(session, subject, alert)
    if row is None:
        raise Forbidden(N_("your unit is not an addressee of this alert"))
    if row.acknowledged_at is not None:
        return row
    _require_open(alert)
    now = now or utcnow()
    if row.first_read_at is None:
        row.first_read_at, row.first_read_by_id = now, subject.user_id
    row.acknowledged_at, row.acknowledged_by_id = now, subject.user_id
    audit.record(
        session,
        subject,
        "alert.acknowledge",
        object_type="rapid_alert",
        object_id=alert.id,
        object_label=alert.reference,
        summary=f"for {subject.org_code}",
    )
    return row


def respond(
    session: Session, subject: Subject, alert_ref: uuid.UUID | str, text: str, *, now: datetime | None = None
) -> AlertResponse:
    """Add to the thread: an addressed unit's answer (marks it responded and acknowledged, tells the issuer),
    or the issuing unit's message to every addressee."""
    alert = get_alert(session, subject, alert_ref)
    sharing.require_writer(subject, "your role cannot respond to alerts")
    row = my_row(session, subject, alert)
    issuer = alert.owner_org_id == subject.org_id
    if row is None and not issuer:
        raise Forbidden(N_("only the issuing unit and the addressed units write in an alert's thread"))
    _require_open(alert)
    now = now or utcnow()
    response = AlertResponse(
        id=new_id(), alert_id=alert.id, org_id=subject.org_id, user_id=subject.user_id, text=text, created_at=now
    )
    session.add(response)
    if row is not None:
        row.responded_at = row.responded_at or now
        if row.first_read_at is None:
            row.first_read_at, row.first_read_by_id = now, subject.user_id
        if row.acknowledged_at is None:
            row.acknowledged_at, row.acknowledged_by_id = now, subject.user_id
    session.flush()
    if issuer:
        recipients = [uid for a in alert.addressees for uid in users_of(session, a.org_id)]
    else:
        creator = session.get(User, alert.created_by_id)
        active = creator is not None and creator.is_active
        recipients = [alert.created_by_id] if active else users_of(session, alert.owner_org_id)
    notifications.notify(
        session,
        user_ids=[u for u in recipients if u != subject.user_id],
        kind="rapid_alert.response",
        ref_type=REF_TYPE,
        ref_id=alert.id,
        # One item per alert and recipient, counting the responses (notifications.kinds); urgent only when the
        # alert itself was immediate: an answer is news for the issuer, not a call to act.
        event_key=f"alert:{alert.id}:responses",
        urgency="urgent" if alert.urgency == "immediate" else "routine",
        reason={"from": subject.org_code},
    )
    audit.record(
        session,
        subject,
        "alert.respond",
        object_type="rapid_alert",
        object_id=alert.id,
        object_label=alert.reference,
        summary=text[:200],
    )
    return response


def close_alert(
    session: Session,
    subject: Subject,
    alert_ref: uuid.UUID | str,
    status: Closing,
    note: str | None = None,
    *,
    now: datetime | None = None,
) -> RapidAlert:
    """Close (done) or cancel (withdrawn) an alert: the issuing unit only; addressees are told."""
    alert = get_alert(session, subject, alert_ref)
    sharing.require_editable(alert, subject)
    _require_open(alert)
    now = now or utcnow()
    alert.status, alert.closed_at, alert.closed_by_id, alert.close_note = status, now, subject.user_id, note
    alert.updated_at = now
    alert.version += 1
    session.flush()
    notifications.notify(
        session,
        user_ids=[uid for a in alert.addressees for uid in users_of(session, a.org_id)],
        kind=f"rapid_alert.{status}",
        ref_type=REF_TYPE,
        ref_id=alert.id,
        event_key=f"alert:{alert.id}:{status}",
        urgency="routine",
    )
    audit.record(
        session,
        subject,
        "alert.cancel" if status == "cancelled" else "alert.close",
        object_type="rapid_alert",
        object_id=alert.id,
        object_label=alert.reference,
        summary=note or "",
        after={"status": status},
    )
    return alert


def responses_for(session: Session, subject: Subject, alert: RapidAlert) -> list[AlertResponse]:
    """The thread as ``subject`` (who read ``alert`` through :func:`get_alert`) sees it: the issuing unit sees
    every message; an addressed unit the issuer's messages and its own unit's; other readers the issuer's."""
    stmt = select(AlertResponse).where(AlertResponse.alert_id == alert.id)
    if alert.owner_org_id != subject.org_id:
        stmt = stmt.where(AlertResponse.org_id.in_({alert.owner_org_id, subject.org_id}))
    return list(session.scalars(stmt.order_by(AlertResponse.created_at, AlertResponse.id)))


def link_response_incident(
    session: Session, subject: Subject, response_id: uuid.UUID | str, incident: Incident
) -> AlertResponse:
    """Link an incident the subject's unit recorded to its unit's response ("create incident from this response")."""
    try:
        rid = response_id if isinstance(response_id, uuid.UUID) else uuid.UUID(str(response_id))
    except ValueError:
        raise InvalidInput(FieldError(("alert_response",), N_("not a response id"))) from None
    response = session.scalar(
        select(AlertResponse)
        .join(RapidAlert, RapidAlert.id == AlertResponse.alert_id)
        .where(AlertResponse.id == rid, readable_clause(subject))
    )
    if response is None or response.org_id != subject.org_id:
        raise InvalidInput(FieldError(("alert_response",), N_("no response of your unit with this id"), "unknown"))
    sharing.require_editable(incident, subject)
    if response.incident_id is not None and response.incident_id != incident.id:
        raise Conflict(N_("this response already has an incident"))
    response.incident_id = incident.id
    alert = session.get(RapidAlert, response.alert_id)
    audit.record(
        session,
        subject,
        "alert.response_incident",
        object_type="rapid_alert",
        object_id=response.alert_id,
        object_label=alert.reference if alert else None,
        summary=incident.reference,
    )
    return response


# --- lists and counts --------------------------------------------------------------------------


@dataclass
class Filters:
    urgency: list[str] | None = None
    status: list[str] | None = None
    addressed_to_me: bool = False
    issued_by_me: bool = False
    unacknowledged: bool = False


def _filtered(subject: Subject, f: Filters) -> Any:
    stmt = select(RapidAlert).where(readable_clause(subject))
    mine = select(AlertAddressee.id).where(
        AlertAddressee.alert_id == RapidAlert.id, AlertAddressee.org_id == subject.org_id
    )
    if f.urgency:
        stmt = stmt.where(RapidAlert.urgency.in_(f.urgency))
    if f.status:
        stmt = stmt.where(RapidAlert.status.in_(f.status))
    if f.addressed_to_me:
        stmt = stmt.where(exists(mine))
    if f.issued_by_me:
        stmt = stmt.where(RapidAlert.owner_org_id == subject.org_id)
    if f.unacknowledged:
        stmt = stmt.where(RapidAlert.status == "issued", exists(mine.where(AlertAddressee.acknowledged_at.is_(None))))
    return stmt


def list_alerts(session: Session, subject: Subject, filters: Filters, page: PageParams) -> tuple[list[RapidAlert], int]:
    stmt = _filtered(subject, filters)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = session.scalars(
        stmt.order_by(RapidAlert.created_at.desc(), RapidAlert.id.desc()).offset(page.offset).limit(page.page_size)
    )
    return list(items), int(total)


def count_alerts(session: Session, subject: Subject, filters: Filters) -> int:
    stmt = _filtered(subject, filters)
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def my_rows(session: Session, subject: Subject, alert_ids: list[uuid.UUID]) -> dict[uuid.UUID, AlertAddressee]:
    if not alert_ids:
        return {}
    rows = session.scalars(
        select(AlertAddressee).where(AlertAddressee.alert_id.in_(alert_ids), AlertAddressee.org_id == subject.org_id)
    )
    return {r.alert_id: r for r in rows}


# --- the incident form, prefilled from an alert --------------------------------------------------


def incident_prefill(session: Session, subject: Subject, alert_ref: str) -> tuple[RapidAlert, dict[str, Any]]:
    """New-incident form values from an alert the subject may read (persons only if it may see them; audited)."""
    alert = get_alert(session, subject, alert_ref)
    route = list(alert.route)
    data: dict[str, Any] = {
        "country": subject.country,
        "distribution": "organisation",
        "tlp": "AMBER" if alert.tlp in ("CLEAR", "GREEN") else alert.tlp,
        "vessel_name": alert.vessel_name,
        "vessel_imo": alert.vessel_imo,
        "voyage": alert.voyage,
        "bl_awb": alert.bl_awb,
        "containers": [{"number": c} for c in alert.containers],
        "substances": [{"substance": s} for s in alert.substance_ids],
        "parties": [{"kind": "company", "name": c} for c in alert.companies],
        "narrative": f"Recorded following rapid alert {alert.reference}: {alert.subject}",
    }
    if route:
        first, last = route[0], route[-1]
        if len(route) > 1:
            data["departure_country"], data["departure_locode"] = first["country"], first.get("locode")
            data["transits"] = [{"country": p["country"], "locode": p.get("locode")} for p in route[1:-1]]
        data["destination_country"], data["destination_locode"] = last["country"], last.get("locode")
        if last.get("locode") and last["country"] == subject.country:
            data["locode"] = last["locode"]
    if alert.persons and can_see_persons(session, alert, subject):
        data["parties"] += [
            {
                "kind": "person",
                "role": "person_involved",
                "name": p["name"],
                "country": p.get("nationality"),
                "id_document": p.get("id_document"),
            }
            for p in alert.persons
        ]
        record_person_read(session, subject, alert, len(alert.persons))
    return alert, data


# --- notifications: rendered as the recipient --------------------------------------------------

# The title of a notification about an alert, by kind (the urgency in capitals, as alerts are headed).
_TITLES = {
    "rapid_alert.issued": N_("%(reference)s [%(urgency)s] %(subject)s"),
    "rapid_alert.reminder": N_("Reminder, not yet acknowledged: %(reference)s [%(urgency)s] %(subject)s"),
    "rapid_alert.escalated": N_("Escalated, not acknowledged: %(reference)s [%(urgency)s] %(subject)s"),
    "rapid_alert.response": N_("New response: %(reference)s [%(urgency)s] %(subject)s"),
    "rapid_alert.closed": N_("Closed: %(reference)s [%(urgency)s] %(subject)s"),
    "rapid_alert.cancelled": N_("Cancelled: %(reference)s [%(urgency)s] %(subject)s"),
}
_URGENCY_TITLES = {"routine": N_("ROUTINE"), "urgent": N_("URGENT"), "immediate": N_("IMMEDIATE")}


def render_notification(
    session: Session, subject: Subject, notification: Notification
) -> notifications.Rendered | None:
    """What a notification about an alert says to its recipient, read through :func:`readable_clause` as the
    recipient (None when it may not read the alert). Never shows persons: they are shown, and their reading
    audited, on the alert itself."""
    alert = session.scalar(select(RapidAlert).where(RapidAlert.id == notification.ref_id, readable_clause(subject)))
    if alert is None:
        return None
    index = get_index(session)
    owner = session.get(Organisation, alert.owner_org_id)
    unit = notification.reason.get("unit") if notification.kind == "rapid_alert.escalated" else None
    template = _TITLES.get(notification.kind, _TITLES["rapid_alert.issued"])
    urgency = _URGENCY_TITLES.get(alert.urgency, alert.urgency)
    title: str = Message(template.msgid, reference=alert.reference, urgency=urgency, subject=alert.subject)
    if unit:
        title = N_("%(title)s (%(unit)s)", title=title, unit=unit)
    facts: list[tuple[str, str]] = [(N_("Issued by"), owner.code if owner else ""), ("TLP", alert.tlp)]
    if alert.vessel_name or alert.vessel_imo:
        facts.append(
            (
                N_("Vessel"),
                " ".join(x for x in (alert.vessel_name, alert.vessel_imo and f"IMO {alert.vessel_imo}") if x),
            )
        )
    if alert.voyage:
        facts.append((N_("Voyage"), alert.voyage))
    if alert.containers:
        facts.append((N_("Containers"), ", ".join(alert.containers)))
    if alert.companies:
        facts.append((N_("Companies"), "; ".join(alert.companies)))
    if alert.route:
        facts.append((N_("Route"), " → ".join(p.get("locode") or p["country"] for p in alert.route)))
    if alert.expected_arrival:
        facts.append(
            (
                N_("Expected arrival"),
                localtime.format_datetime(alert.expected_arrival, subject.locale, subject.time_zone),
            )
        )
    names = [index.substances[uuid.UUID(s)].name for s in alert.substance_ids if uuid.UUID(s) in index.substances]
    if names:
        facts.append((N_("Substances"), ", ".join(names)))
    if alert.persons and can_see_persons(session, alert, subject):
        facts.append((N_("Persons"), N_("%(num)s (shown in the alert)", num=len(alert.persons))))
    text = (alert.body or "")[:280]
    return notifications.Rendered(title=title, text=text, url=f"/alerts/{alert.reference}", facts=facts)


# --- escalation --------------------------------------------------------------------------------


@dataclass
class TickResult:
    reminded: list[tuple[str, str]]
    escalated: list[tuple[str, str]]


def escalation_targets(
    session: Session, org: Organisation, *, allow_parent: bool
) -> tuple[list[uuid.UUID], Organisation | None]:
    """Whom an unacknowledged alert escalates to: the unit's head, else its administrators, else (unless
    ``allow_parent`` is false) the parent organisation's head, else the parent's administrators."""

    def head_and_admins(o: Organisation) -> list[uuid.UUID]:
        if o.head_user_id is not None:
            head = session.get(User, o.head_user_id)
            if head is not None and head.is_active:
                return [head.id]
        return list(
            session.scalars(select(User.id).where(User.org_id == o.id, User.role == "admin", User.is_active.is_(True)))
        )

    found = head_and_admins(org)
    if found:
        return found, org
    if allow_parent and org.parent_id is not None:
        parent = session.get(Organisation, org.parent_id)
        if parent is not None:
            found = head_and_admins(parent)
            if found:
                return found, parent
    return [], None


def tick(session: Session, now: datetime, delays: Delays) -> TickResult:
    """Remind the units that have not acknowledged an open alert, then escalate to their head, each once,
    after the configured delays (``now`` is injected: tests move the clock instead of sleeping)."""
    sharing.decided("system:alerts-escalation")
    result = TickResult([], [])
    urgencies = set(delays.remind) | set(delays.escalate)
    if not urgencies:
        return result
    stmt = (
        select(AlertAddressee, RapidAlert)
        .join(RapidAlert, RapidAlert.id == AlertAddressee.alert_id)
        .where(
            RapidAlert.status == "issued",
            RapidAlert.urgency.in_(urgencies),
            AlertAddressee.source != "escalation",
            AlertAddressee.acknowledged_at.is_(None),
            or_(AlertAddressee.reminded_at.is_(None), AlertAddressee.escalated_at.is_(None)),
        )
        .order_by(RapidAlert.created_at, AlertAddressee.seq)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=AlertAddressee)
    for row, alert in session.execute(stmt).tuples().all():
        org = session.get(Organisation, row.org_id)
        if org is None:
            continue
        remind_at, escalate_at = delays.remind_at(alert), delays.escalate_at(alert)
        if row.reminded_at is None and remind_at is not None and now >= remind_at:
            notifications.notify(
                session,
                user_ids=users_of(session, org.id),
                kind="rapid_alert.reminder",
                ref_type=REF_TYPE,
                ref_id=alert.id,
                event_key=f"alert:{alert.id}:remind:{org.id}",
                urgency=alert.urgency,
                reason={"addressed_to": org.code},
            )
            row.reminded_at = now
            result.reminded.append((alert.reference, org.code))
        if row.escalated_at is None and escalate_at is not None and now >= escalate_at:
            # TLP:RED goes to named recipients only: it never climbs to the parent organisation.
            targets, via = escalation_targets(session, org, allow_parent=alert.tlp != "RED")
            if via is not None and via.id != org.id:
                # Told because a group member did not acknowledge: it stands for that member (hidden with it).
                _add_escalation_addressee(session, alert, via, now, group_id=row.group_id)
            notifications.notify(
                session,
                user_ids=targets,
                kind="rapid_alert.escalated",
                ref_type=REF_TYPE,
                ref_id=alert.id,
                event_key=f"alert:{alert.id}:escalate:{org.id}",
                urgency=alert.urgency,
                reason={"unit": org.code},
            )
            row.escalated_at = now
            row.escalated_to = [str(t) for t in targets]
            result.escalated.append((alert.reference, org.code))
            audit.record(
                session,
                None,
                "alert.escalate",
                object_type="rapid_alert",
                object_id=alert.id,
                object_label=alert.reference,
                summary=f"{org.code} did not acknowledge; told {len(targets)} user(s)"
                + (f" of {via.code}" if via is not None else ""),
                channel="system",
                # The unacknowledging unit's auditors read it (an entry of no organisation is read by every
                # auditor, and would tell them who an alert was addressed to).
                actor_org_id=org.id,
            )
    session.flush()
    return result


def _add_escalation_addressee(
    session: Session, alert: RapidAlert, org: Organisation, now: datetime, *, group_id: uuid.UUID | None
) -> None:
    """The parent organisation is told: it becomes an addressee (so its head can read the alert), under the group
    the unacknowledging unit was addressed through (if its members are hidden, so is the parent)."""
    exists_row = session.scalar(
        select(AlertAddressee.id).where(AlertAddressee.alert_id == alert.id, AlertAddressee.org_id == org.id)
    )
    if exists_row is None:
        seq = session.scalar(select(func.max(AlertAddressee.seq)).where(AlertAddressee.alert_id == alert.id)) or 0
        session.add(
            AlertAddressee(
                alert_id=alert.id,
                org_id=org.id,
                seq=seq + 1,
                source="escalation",
                group_id=group_id,
                added_at=now,
                delivered_at=now,
                escalated_to=[],
            )
        )
        session.flush()
