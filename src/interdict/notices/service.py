"""Warning notices: draft, approve, issue, acknowledge, report, close; search, dashboard, overdue.

Services never commit (the caller's unit of work does). Every read goes through :func:`readable_clause` (the
one predicate for notices: it builds on ``sharing.readable_clause``); every change of the notice itself through
``sharing.require_editable`` (the issuing unit's officers); the recipients' steps through
:func:`_require_recipient`. Everything time-dependent takes an explicit ``now``.
"""

from __future__ import annotations

import string
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, BinaryIO

from pydantic import ValidationError
from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from interdict.accounts.models import Organisation, User
from interdict.accounts.subject import Subject
from interdict.audit import service as audit
from interdict.core import localtime
from interdict.core.clock import utcnow
from interdict.core.db import new_id
from interdict.core.errors import (
    Conflict,
    ErrorCollector,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    from_validation_error,
)
from interdict.core.i18n import N_, Message
from interdict.core.pagination import PageParams, Slice
from interdict.core.text import search_document, strip_bidi, tokens
from interdict.entities.models import Entity
from interdict.incidents import attachments as files
from interdict.incidents import service as incidents
from interdict.incidents.models import Incident
from interdict.notices import schemas
from interdict.notices.models import (
    ISSUED,
    NoticeAttachment,
    NoticeEntity,
    NoticeIncident,
    NoticeRecipient,
    NoticeReportIncident,
    NoticeSettings,
    WarningNotice,
)
from interdict.notices.schemas import NoticeBase, NoticeCreate, NoticePatch, ReportBody
from interdict.notifications import service as notifications
from interdict.notifications.models import Notification
from interdict.sharing import groups
from interdict.sharing.service import (
    decided,
    readable,
    require_editable,
    require_writer,
)
from interdict.sharing.service import (
    readable_clause as shared_clause,
)

DEFAULT_PATTERN = "{seq}/{year}/{org_code}"
PATTERN_FIELDS = frozenset({"seq", "year", "org_code"})
SUPERVISOR_ROLES = ("analyst", "admin")
REF_TYPE = "warning_notice"


# --- who may read -------------------------------------------------------------------------------


def readable_clause(subject: Subject) -> ColumnElement[bool]:
    """THE predicate for every read of a notice (detail, list, search, counts, dashboard, export, API, pages).

    The issuing unit reads its notices in every state. Once issued, a notice is also read by the units it is
    addressed to, and by whoever its distribution reaches under the sharing rules (sharing.readable_clause:
    organisation tree, country, group, everyone; TLP AMBER+STRICT only inside the issuer's tree). Before it is
    issued (draft, submitted, approved) nobody outside the issuing unit reads it."""
    addressed = exists(
        select(NoticeRecipient.id).where(
            NoticeRecipient.notice_id == WarningNotice.id, NoticeRecipient.org_id == subject.org_id
        )
    )
    return or_(
        WarningNotice.owner_org_id == subject.org_id,
        and_(WarningNotice.status.in_(ISSUED), or_(addressed, shared_clause(WarningNotice, subject))),
    )


def readable_notices(stmt: Select[Any], subject: Subject) -> Select[Any]:
    return stmt.where(readable_clause(subject))


def is_issuer(notice: WarningNotice, subject: Subject) -> bool:
    """Whether the subject belongs to the issuing unit (which sees every recipient's status and report)."""
    return notice.owner_org_id == subject.org_id


def visible_recipients(notice: WarningNotice, subject: Subject) -> list[NoticeRecipient]:
    """The recipients whose status and report the subject sees: all of them for the issuing unit, its own
    unit only for a recipient, none for other readers."""
    if is_issuer(notice, subject):
        return list(notice.recipients)
    return [r for r in notice.recipients if r.org_id == subject.org_id]


FULL_LOAD = (
    selectinload(WarningNotice.recipients).selectinload(NoticeRecipient.report_incidents),
    selectinload(WarningNotice.incident_links),
    selectinload(WarningNotice.entity_links),
)


def _uuid(value: uuid.UUID | str) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def get_notice(session: Session, subject: Subject, notice_id: uuid.UUID | str) -> WarningNotice:
    """The notice if it exists and the subject may read it; NotFound otherwise (never Forbidden)."""
    key = _uuid(notice_id)
    clause = readable_clause(subject)
    if key is None:
        raise NotFound(N_("warning notice not found"))
    notice = session.scalar(select(WarningNotice).where(WarningNotice.id == key, clause).options(*FULL_LOAD))
    if notice is None:
        raise NotFound(N_("warning notice not found"))
    return notice


# --- deadlines ----------------------------------------------------------------------------------


def deadline_passed(deadline: date | None, now: datetime) -> bool:
    """The report deadline is a date; it has passed once that day is over (in UTC)."""
    return deadline is not None and now.date() > deadline


def is_overdue(notice: WarningNotice, recipient: NoticeRecipient, now: datetime) -> bool:
    """Overdue: issued, the deadline passed, and no results report filed."""
    return notice.status in ISSUED and recipient.reported_at is None and deadline_passed(notice.report_deadline, now)


# --- numbering ----------------------------------------------------------------------------------


def check_pattern(pattern: str) -> None:
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None}
    except ValueError:
        raise InvalidInput(
            FieldError(("number_pattern",), N_("unbalanced braces: write {seq}, {year}, {org_code}"))
        ) from None
    unknown = names - PATTERN_FIELDS
    if unknown:
        raise InvalidInput(
            FieldError(
                ("number_pattern",),
                N_("unknown placeholder {%(value)s}: use {seq}, {year} and {org_code}", value=sorted(unknown)[0]),
            )
        )
    if "seq" not in names:
        raise InvalidInput(FieldError(("number_pattern",), N_("the pattern must contain {seq} (the running number)")))


def settings_for(session: Session, org_id: uuid.UUID) -> NoticeSettings | None:
    return session.get(NoticeSettings, org_id)


def _number_taken(session: Session, org_id: uuid.UUID, number: str, *, exclude: uuid.UUID | None = None) -> bool:
    stmt = select(WarningNotice.id).where(WarningNotice.owner_org_id == org_id, WarningNotice.number == number)
    if exclude is not None:
        stmt = stmt.where(WarningNotice.id != exclude)
    return session.scalar(stmt.limit(1)) is not None


def next_number(session: Session, org_id: uuid.UUID, org_code: str, year: int) -> str:
    """The next free number of the organisation's pattern for the year (numbers typed by hand are skipped)."""
    row = settings_for(session, org_id)
    pattern = row.number_pattern if row else DEFAULT_PATTERN
    issued_this_year = (
        session.scalar(
            select(func.count())
            .select_from(WarningNotice)
            .where(
                WarningNotice.owner_org_id == org_id,
                WarningNotice.notice_date >= date(year, 1, 1),
                WarningNotice.notice_date <= date(year, 12, 31),
            )
        )
        or 0
    )
    seq = issued_this_year + 1
    for _ in range(1000):
        number = pattern.format(seq=seq, year=year, org_code=org_code)
        if not _number_taken(session, org_id, number):
            return number
        seq += 1
    raise Conflict(N_("could not find a free notice number; type one"))


def numbering(session: Session, subject: Subject, year: int) -> tuple[str, str | None, str]:
    """(pattern, place, next number) of the subject's organisation."""
    require_writer(subject, "your role cannot draft warning notices")
    row = settings_for(session, subject.org_id)
    return (
        row.number_pattern if row else DEFAULT_PATTERN,
        row.place if row else None,
        next_number(session, subject.org_id, subject.org_code, year),
    )


def set_numbering(session: Session, subject: Subject, pattern: str, place: str | None) -> NoticeSettings:
    """An administrator sets how their own organisation numbers its notices and where they are dated."""
    decided("admin")
    if not subject.is_admin:
        raise Forbidden(N_("only an administrator of the issuing organisation sets its numbering"))
    check_pattern(pattern)
    row = settings_for(session, subject.org_id)
    before = {"number_pattern": row.number_pattern, "place": row.place} if row else None
    if row is None:
        row = NoticeSettings(org_id=subject.org_id, number_pattern=pattern, updated_by_id=subject.user_id)
        session.add(row)
    row.number_pattern, row.place = pattern, place
    row.updated_at, row.updated_by_id = utcnow(), subject.user_id
    session.flush()
    audit.record(
        session,
        subject,
        "notice.numbering",
        object_type="organisation",
        object_id=subject.org_id,
        object_label=subject.org_code,
        before=before,
        after={"number_pattern": pattern, "place": place},
    )
    return row


# --- writing the draft --------------------------------------------------------------------------


def build_search_text(notice: WarningNotice) -> str:
    values = [str(i.get("value", "")) for i in notice.risk_indicators or []]
    return " " + search_document(notice.number, notice.title, notice.body, *values) + " "


def _resolve_links(
    session: Session, subject: Subject, data: NoticeBase, errs: ErrorCollector
) -> tuple[list[uuid.UUID], list[uuid.UUID], list[uuid.UUID]]:
    """Linked incidents (the drafter must read each), entities (the drafter must see each) and recipient units."""
    incident_ids: list[uuid.UUID] = []
    for i, ref in enumerate(data.incidents):
        try:
            found = incidents.get_incident(session, subject, ref.strip())
        except NotFound:
            errs.add(("incidents", i), N_("no incident '%(ref)s' that you may read", ref=ref))
            continue
        if found.id in incident_ids:
            errs.add(("incidents", i), N_("incident %(reference)s is listed twice", reference=found.reference))
        incident_ids.append(found.id)
    from interdict.linkage.graph import visible_entities

    seen = visible_entities(session, subject, data.entities)
    entity_ids: list[uuid.UUID] = []
    for i, eid in enumerate(data.entities):
        if eid not in seen:
            errs.add(("entities", i), N_("no entity %(eid)s that you may see", eid=eid))
        elif eid in entity_ids:
            errs.add(("entities", i), N_("this entity is listed twice"))
        entity_ids.append(eid)
    org_ids: list[uuid.UUID] = []
    codes = [c.strip().upper() for c in data.recipients]
    orgs = {
        o.code.upper(): o for o in session.scalars(select(Organisation).where(func.upper(Organisation.code).in_(codes)))
    }
    for i, code in enumerate(codes):
        org = orgs.get(code)
        if org is None:
            errs.add(("recipients", i), N_("no organisation with code '%(code)s'", code=code))
        elif org.id == subject.org_id:
            errs.add(("recipients", i), N_("the issuing unit cannot address a notice to itself"))
        elif org.id in org_ids:
            errs.add(("recipients", i), N_("%(code)s is listed twice", code=org.code))
        else:
            org_ids.append(org.id)
    return incident_ids, entity_ids, org_ids


def check_notice(session: Session, subject: Subject, data: NoticeBase, *, notice: WarningNotice | None) -> Any:
    """Every problem of a draft at once (InvalidInput); reads only, and copes with a missing required field (the web
    form's one-pass check of a partly malformed form). Returns the sharing group id and the resolved links."""
    notice_id = notice.id if notice is not None else None
    errs = ErrorCollector()
    if data.report_deadline is not None and data.notice_date is not None and data.report_deadline < data.notice_date:
        errs.add(("report_deadline",), N_("the report deadline cannot be before the notice's date"))
    if data.number and _number_taken(session, subject.org_id, data.number, exclude=notice_id):
        errs.add(
            ("number",),
            N_("your organisation already has a notice numbered %(number)s", number=data.number),
            "duplicate",
        )
    if data.body is not None and not data.body.strip():
        errs.add(("body",), N_("write the text of the notice"))
    group_id = None
    try:
        group_id = groups.resolve_group(
            session,
            subject,
            data.distribution,
            data.sharing_group,
            current=notice.sharing_group_id if notice is not None else None,
        )
    except InvalidInput as exc:
        errs.errors.extend(exc.errors)
    links = _resolve_links(session, subject, data, errs)
    errs.raise_if_any()
    return group_id, links


def _apply(
    session: Session,
    notice: WarningNotice,
    data: NoticeBase,
    group_id: uuid.UUID | None,
    links: tuple[list[uuid.UUID], list[uuid.UUID], list[uuid.UUID]],
) -> None:
    incident_ids, entity_ids, org_ids = links
    notice.notice_date = data.notice_date
    notice.place = data.place
    notice.title = data.title.strip()
    notice.body = data.body.strip().replace("\r\n", "\n")
    notice.risk_indicators = [{"kind": r.kind, "value": r.value.strip()} for r in data.risk_indicators]
    notice.report_deadline = data.report_deadline
    notice.distribution = data.distribution
    notice.sharing_group_id = group_id
    notice.tlp = data.tlp
    notice.incident_links = [NoticeIncident(incident_id=i, seq=n) for n, i in enumerate(incident_ids)]
    notice.entity_links = [NoticeEntity(entity_id=e, seq=n) for n, e in enumerate(entity_ids)]
    kept = {r.org_id: r for r in notice.recipients}
    notice.recipients = [kept.get(o) or NoticeRecipient(org_id=o) for o in org_ids]
    for n, r in enumerate(notice.recipients):
        r.seq = n
    notice.search_text = build_search_text(notice)


def snapshot(notice: WarningNotice) -> dict[str, Any]:
    return {
        "number": notice.number,
        "notice_date": notice.notice_date.isoformat(),
        "place": notice.place,
        "title": notice.title,
        "body": notice.body,
        "risk_indicators": notice.risk_indicators,
        "report_deadline": notice.report_deadline.isoformat() if notice.report_deadline else None,
        "distribution": notice.distribution,
        "sharing_group": str(notice.sharing_group_id) if notice.sharing_group_id else None,
        "tlp": notice.tlp,
        "incidents": [str(link.incident_id) for link in notice.incident_links],
        "entities": [str(link.entity_id) for link in notice.entity_links],
        "recipients": [str(r.org_id) for r in notice.recipients],
        "status": notice.status,
    }


def _audit(
    session: Session,
    subject: Subject,
    notice: WarningNotice,
    action: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    summary: str = "",
) -> None:
    audit.record(
        session,
        subject,
        f"notice.{action}",
        object_type="warning_notice",
        object_id=notice.id,
        object_label=notice.number,
        summary=summary,
        before=before,
        after=after,
    )


def create_notice(session: Session, subject: Subject, data: NoticeCreate) -> WarningNotice:
    require_writer(subject, "your role cannot draft warning notices")
    group_id, links = check_notice(session, subject, data, notice=None)
    now = utcnow()
    notice = WarningNotice(
        id=new_id(),
        number=data.number or next_number(session, subject.org_id, subject.org_code, data.notice_date.year),
        status="draft",
        owner_org_id=subject.org_id,
        created_by_id=subject.user_id,
        updated_by_id=subject.user_id,
        created_at=now,
        updated_at=now,
        version=1,
        recipients=[],
    )
    _apply(session, notice, data, group_id, links)
    session.add(notice)
    session.flush()
    _audit(session, subject, notice, "create", after=snapshot(notice))
    return notice


def _check_version(notice: WarningNotice, version: int) -> None:
    if version != notice.version:
        raise Conflict(
            N_(
                "warning notice %(number)s was changed since you opened it (you edited version %(version)s, it is now at version %(version2)s); reload it and apply your change again",
                number=notice.number,
                version=version,
                version2=notice.version,
            )
        )


def current_input(notice: WarningNotice, session: Session) -> dict[str, Any]:
    """The notice in the input shape (NoticeBase), e.g. to prefill a form or merge a patch."""
    refs: dict[uuid.UUID, str] = dict(
        session.execute(
            select(Incident.id, Incident.reference).where(
                Incident.id.in_([link.incident_id for link in notice.incident_links])
            )
        ).all()
    )
    codes: dict[uuid.UUID, str] = dict(
        session.execute(
            select(Organisation.id, Organisation.code).where(Organisation.id.in_([r.org_id for r in notice.recipients]))
        ).all()
    )
    group = None
    if notice.sharing_group_id is not None:
        group = str(notice.sharing_group_id)
    return {
        "number": notice.number,
        "notice_date": notice.notice_date.isoformat(),
        "place": notice.place,
        "title": notice.title,
        "body": notice.body,
        "risk_indicators": [dict(i) for i in notice.risk_indicators or []],
        "incidents": [refs[link.incident_id] for link in notice.incident_links if link.incident_id in refs],
        "entities": [str(link.entity_id) for link in notice.entity_links],
        "recipients": [codes[r.org_id] for r in notice.recipients if r.org_id in codes],
        "report_deadline": notice.report_deadline.isoformat() if notice.report_deadline else None,
        "distribution": notice.distribution,
        "sharing_group": group,
        "tlp": notice.tlp,
    }


def require_draft_editor(notice: WarningNotice, subject: Subject) -> None:
    require_editable(notice, subject)
    if notice.status != "draft":
        raise Conflict(
            N_(
                "warning notice %(number)s is %(status)s: only a draft can be changed",
                number=notice.number,
                status=notice.status,
            )
        )


def update_notice(session: Session, subject: Subject, notice_id: uuid.UUID | str, patch: NoticePatch) -> WarningNotice:
    notice = get_notice(session, subject, notice_id)
    require_draft_editor(notice, subject)
    _check_version(notice, patch.version)
    merged = current_input(notice, session)
    merged.update(patch.model_dump(exclude_unset=True, exclude={"version"}, mode="json"))
    if not merged.get("number"):
        merged["number"] = notice.number
    try:
        data = NoticeBase.model_validate(merged)
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    group_id, links = check_notice(session, subject, data, notice=notice)
    old = snapshot(notice)
    notice.number = data.number or notice.number
    _apply(session, notice, data, group_id, links)
    new = snapshot(notice)
    changed = [k for k in new if old.get(k) != new[k]]
    if not changed:
        return notice
    notice.version += 1
    notice.updated_at = utcnow()
    notice.updated_by_id = subject.user_id
    session.flush()
    _audit(
        session,
        subject,
        notice,
        "update",
        summary=", ".join(changed),
        before={k: old.get(k) for k in changed},
        after={k: new[k] for k in changed},
    )
    return notice


# --- the workflow -------------------------------------------------------------------------------


def active_users(session: Session, org_id: uuid.UUID, roles: tuple[str, ...] | None = None) -> list[uuid.UUID]:
    stmt = select(User.id).where(User.org_id == org_id, User.is_active.is_(True))
    if roles is not None:
        stmt = stmt.where(User.role.in_(roles))
    return list(session.scalars(stmt))


def tell(
    session: Session,
    notice: WarningNotice,
    user_ids: list[uuid.UUID],
    kind: str,
    key: str,
    *,
    urgency: str = "routine",
    reason: dict[str, Any] | None = None,
) -> None:
    notifications.notify(
        session,
        user_ids=user_ids,
        kind=kind,
        ref_type=REF_TYPE,
        ref_id=notice.id,
        event_key=f"notice:{notice.id}:{key}",
        urgency=urgency,
        reason=reason,
    )


def _step(session: Session, subject: Subject, notice: WarningNotice, status: str, now: datetime) -> str:
    before = notice.status
    notice.status = status
    notice.version += 1
    notice.updated_at = now
    notice.updated_by_id = subject.user_id
    return before


def submit(session: Session, subject: Subject, notice_id: uuid.UUID | str, version: int) -> WarningNotice:
    """The drafting unit asks a supervisor to approve the draft."""
    notice = get_notice(session, subject, notice_id)
    require_draft_editor(notice, subject)
    _check_version(notice, version)
    now = utcnow()
    before = _step(session, subject, notice, "submitted", now)
    notice.submitted_at = now
    session.flush()
    _audit(session, subject, notice, "submit", before={"status": before}, after={"status": notice.status})
    drafters = {notice.created_by_id, subject.user_id}
    supervisors = [u for u in active_users(session, notice.owner_org_id, SUPERVISOR_ROLES) if u not in drafters]
    tell(session, notice, supervisors, "notice.approval_requested", "submitted")
    return notice


def can_approve(notice: WarningNotice, subject: Subject) -> bool:
    """A supervisor of the issuing unit (analyst or administrator) who neither drafted nor last edited it."""
    decided("notice-approval")
    return (
        notice.owner_org_id == subject.org_id
        and subject.role in SUPERVISOR_ROLES
        and "write" in subject.scopes
        and subject.user_id not in (notice.created_by_id, notice.updated_by_id)
    )


def _require_approver(notice: WarningNotice, subject: Subject) -> None:
    if notice.status != "submitted":
        raise Conflict(
            N_(
                "warning notice %(number)s is %(status)s: only a submitted notice is reviewed",
                number=notice.number,
                status=notice.status,
            )
        )
    if not can_approve(notice, subject):
        if subject.user_id in (notice.created_by_id, notice.updated_by_id) and notice.owner_org_id == subject.org_id:
            raise Forbidden(N_("you drafted this notice: another supervisor of your unit must approve it"))
        raise Forbidden(N_("only a supervisor (analyst or administrator) of the issuing unit approves notices"))


def approve(
    session: Session, subject: Subject, notice_id: uuid.UUID | str, version: int, comment: str | None = None
) -> WarningNotice:
    notice = get_notice(session, subject, notice_id)
    _require_approver(notice, subject)
    _check_version(notice, version)
    now = utcnow()
    updated_by = notice.updated_by_id
    before = _step(session, subject, notice, "approved", now)
    notice.updated_by_id = updated_by  # the approver is recorded as such, not as an editor
    notice.approved_at, notice.approved_by_id, notice.review_comment = now, subject.user_id, comment
    session.flush()
    _audit(
        session,
        subject,
        notice,
        "approve",
        before={"status": before},
        after={"status": "approved"},
        summary=comment or "",
    )
    tell(session, notice, [notice.created_by_id], "notice.approved", f"approved:{notice.version}")
    return notice


def return_to_draft(
    session: Session, subject: Subject, notice_id: uuid.UUID | str, version: int, comment: str | None
) -> WarningNotice:
    """The supervisor sends the draft back with a comment saying what to change."""
    notice = get_notice(session, subject, notice_id)
    _require_approver(notice, subject)
    _check_version(notice, version)
    if not comment:
        raise InvalidInput(FieldError(("comment",), N_("say what should change before the notice is approved")))
    updated_by = notice.updated_by_id
    before = _step(session, subject, notice, "draft", utcnow())
    notice.updated_by_id = updated_by
    notice.review_comment = comment
    session.flush()
    _audit(session, subject, notice, "return", before={"status": before}, after={"status": "draft"}, summary=comment)
    tell(session, notice, [notice.created_by_id], "notice.returned", "returned")
    return notice


def issue(
    session: Session, subject: Subject, notice_id: uuid.UUID | str, version: int, *, now: datetime | None = None
) -> WarningNotice:
    """Issue an approved notice to its recipient units: each is delivered it (and told, urgently)."""
    notice = get_notice(session, subject, notice_id)
    require_editable(notice, subject)
    if notice.status != "approved":
        raise Conflict(
            N_(
                "warning notice %(number)s is %(status)s: only an approved notice is issued",
                number=notice.number,
                status=notice.status,
            )
        )
    _check_version(notice, version)
    errs = ErrorCollector()
    if not notice.recipients:
        errs.add(("recipients",), N_("choose the units the notice is issued to"))
    if notice.report_deadline is None:
        errs.add(("report_deadline",), N_("set the deadline for the results report"))
    errs.raise_if_any()
    now = now or utcnow()
    before = _step(session, subject, notice, "issued", now)
    notice.issued_at, notice.issued_by_id = now, subject.user_id
    for r in notice.recipients:
        r.delivered_at = now
    session.flush()
    _audit(session, subject, notice, "issue", before={"status": before}, after={"status": "issued"})
    for r in notice.recipients:
        tell(
            session,
            notice,
            active_users(session, r.org_id),
            "notice.issued",
            "issued",
            urgency="urgent",
            reason={"recipient_org_id": str(r.org_id)},
        )
    return notice


def close(session: Session, subject: Subject, notice_id: uuid.UUID | str, version: int) -> WarningNotice:
    """The issuing unit closes the follow-up: reports can no longer be filed or corrected."""
    notice = get_notice(session, subject, notice_id)
    require_editable(notice, subject)
    if notice.status != "issued":
        raise Conflict(
            N_(
                "warning notice %(number)s is %(status)s: only an issued notice is closed",
                number=notice.number,
                status=notice.status,
            )
        )
    _check_version(notice, version)
    now = utcnow()
    before = _step(session, subject, notice, "closed", now)
    notice.closed_at = now
    session.flush()
    missing = sum(1 for r in notice.recipients if r.reported_at is None)
    _audit(
        session,
        subject,
        notice,
        "close",
        before={"status": before},
        after={"status": "closed"},
        summary=f"{missing} unit(s) without a report" if missing else "",
    )
    return notice


# --- the recipients' side -----------------------------------------------------------------------


def _require_recipient(notice: WarningNotice, subject: Subject) -> NoticeRecipient:
    """The subject's unit's recipient row, for an officer (or above) of that unit allowed to write."""
    decided("notice-recipient")
    mine = next((r for r in notice.recipients if r.org_id == subject.org_id), None)
    if mine is None or notice.status not in ISSUED:
        raise Forbidden(N_("only the units this notice is addressed to acknowledge it and report on it"))
    if not subject.can_write:
        raise Forbidden(N_("your role cannot acknowledge notices or file reports: an officer of your unit can"))
    if notice.status == "closed":
        raise Conflict(
            N_("warning notice %(number)s is closed: the issuer no longer takes reports", number=notice.number)
        )
    return mine


def acknowledge(
    session: Session, subject: Subject, notice_id: uuid.UUID | str, *, now: datetime | None = None
) -> NoticeRecipient:
    notice = get_notice(session, subject, notice_id)
    mine = _require_recipient(notice, subject)
    if mine.acknowledged_at is not None:
        return mine  # acknowledging twice changes nothing
    mine.acknowledged_at, mine.acknowledged_by_id = now or utcnow(), subject.user_id
    session.flush()
    _audit(session, subject, notice, "acknowledge", summary=subject.org_code)
    return mine


def file_report(
    session: Session, subject: Subject, notice_id: uuid.UUID | str, body: ReportBody, *, now: datetime | None = None
) -> NoticeRecipient:
    """File the unit's results report (or correct it, until the issuer closes the notice). Filing a report
    acknowledges the notice if that was not done yet. Linked incidents must be readable by the reporter."""
    notice = get_notice(session, subject, notice_id)
    mine = _require_recipient(notice, subject)
    errs = ErrorCollector()
    incident_ids: list[uuid.UUID] = []
    for i, ref in enumerate(body.incidents):
        try:
            found = incidents.get_incident(session, subject, ref.strip())
        except NotFound:
            errs.add(("incidents", i), N_("no incident '%(ref)s' that you may read", ref=ref))
            continue
        if found.id not in incident_ids:
            incident_ids.append(found.id)
    errs.raise_if_any()
    now = now or utcnow()
    before = None
    if mine.reported_at is not None:
        before = {k: getattr(mine, k) for k in ("checked_what", "shipments_checked", "declarations_checked", "result")}
    if mine.acknowledged_at is None:
        mine.acknowledged_at, mine.acknowledged_by_id = now, subject.user_id
    mine.checked_what = body.checked_what.strip()
    mine.shipments_checked = body.shipments_checked
    mine.declarations_checked = body.declarations_checked
    mine.findings = body.findings
    mine.result = body.result
    mine.report_incidents = [NoticeReportIncident(incident_id=i, seq=n) for n, i in enumerate(incident_ids)]
    mine.report_revision += 1
    if mine.reported_at is None:
        mine.reported_at, mine.reported_by_id = now, subject.user_id
    else:
        mine.report_updated_at = now
    session.flush()
    _audit(
        session,
        subject,
        notice,
        "report" if before is None else "report_correct",
        summary=subject.org_code,
        before=before,
        after={
            "checked_what": mine.checked_what,
            "shipments_checked": mine.shipments_checked,
            "declarations_checked": mine.declarations_checked,
            "result": mine.result,
            "incidents": [str(i) for i in incident_ids],
        },
    )
    issuers = set(active_users(session, notice.owner_org_id)) | {notice.created_by_id}
    tell(
        session,
        notice,
        sorted(issuers),
        "notice.report_filed",
        f"report:{mine.org_id}",
        reason={"recipient_org_id": str(mine.org_id), "correction": before is not None},
    )
    return mine


# --- attachments --------------------------------------------------------------------------------


def add_attachment(
    session: Session,
    subject: Subject,
    storage: files.Storage,
    notice_id: uuid.UUID | str,
    *,
    filename: str | None,
    stream: BinaryIO,
    limit: int,
    description: str | None = None,
) -> NoticeAttachment:
    """Attach a file to a draft (checked and stored like an incident's attachments)."""
    notice = get_notice(session, subject, notice_id)
    require_draft_editor(notice, subject)
    upload = files.check_upload(filename, stream, limit)
    att = NoticeAttachment(
        id=new_id(),
        notice_id=notice.id,
        filename=upload.filename,
        content_type=upload.content_type,
        size=len(upload.data),
        sha256=upload.sha256,
        storage_key=files.store_upload(storage, upload),
        description=strip_bidi(description or "").strip()[:300] or None,
        created_by_id=subject.user_id,
        created_at=utcnow(),
    )
    session.add(att)
    session.flush()
    _audit(session, subject, notice, "attachment_upload", after={"attachment": upload.filename})
    return att


def list_attachments(session: Session, notice: WarningNotice) -> list[NoticeAttachment]:
    """The attachments of a notice already read through :func:`get_notice`."""
    return list(
        session.scalars(
            select(NoticeAttachment)
            .where(NoticeAttachment.notice_id == notice.id)
            .order_by(NoticeAttachment.created_at)
        )
    )


def get_attachment(
    session: Session, subject: Subject, notice_id: uuid.UUID | str, attachment_id: uuid.UUID | str
) -> tuple[NoticeAttachment, WarningNotice]:
    notice = get_notice(session, subject, notice_id)
    key = _uuid(attachment_id)
    att = session.get(NoticeAttachment, key) if key is not None else None
    if att is None or att.notice_id != notice.id:
        raise NotFound(N_("attachment not found"))
    return att, notice


def audit_download(session: Session, subject: Subject, notice: WarningNotice, att: NoticeAttachment) -> None:
    _audit(session, subject, notice, "attachment_download", summary=att.filename)


# --- reading: search, dashboard, overdue --------------------------------------------------------


def _like_escape(token: str) -> str:
    return token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _overdue_clause(now: datetime, recipients: ColumnElement[bool]) -> ColumnElement[bool]:
    """Notices with an overdue unit among the recipients ``recipients`` restricts to (never NULL)."""
    late_unit = exists(
        select(NoticeRecipient.id).where(
            NoticeRecipient.notice_id == WarningNotice.id, NoticeRecipient.reported_at.is_(None), recipients
        )
    )
    return and_(
        WarningNotice.status.in_(ISSUED),
        WarningNotice.report_deadline.is_not(None),
        WarningNotice.report_deadline < now.date(),
        late_unit,
    )


def _not_overdue_clause(now: datetime, recipients: ColumnElement[bool]) -> ColumnElement[bool]:
    late_unit = exists(
        select(NoticeRecipient.id).where(
            NoticeRecipient.notice_id == WarningNotice.id, NoticeRecipient.reported_at.is_(None), recipients
        )
    )
    return or_(
        WarningNotice.status.not_in(ISSUED),
        WarningNotice.report_deadline.is_(None),
        WarningNotice.report_deadline >= now.date(),
        ~late_unit,
    )


@dataclass(frozen=True)
class SearchParams:
    q: str | None = None
    year: int | None = None
    status: str | None = None
    recipient: str | None = None  # organisation code
    overdue: bool | None = None


def search_notices(
    session: Session, subject: Subject, params: SearchParams, *, now: datetime, page: PageParams | None = None
) -> Slice[WarningNotice]:
    """The notices the subject may read matching the words (without diacritics too) and the filters, newest
    first."""
    page = page or PageParams()
    conditions: list[ColumnElement[bool]] = [readable_clause(subject)]
    for tok in tokens(params.q or "")[:20]:
        conditions.append(WarningNotice.search_text.like(f"% {_like_escape(tok)}%", escape="\\"))
    if params.year is not None:
        conditions.append(
            and_(
                WarningNotice.notice_date >= date(params.year, 1, 1),
                WarningNotice.notice_date <= date(params.year, 12, 31),
            )
        )
    if params.status:
        from interdict.notices.models import NOTICE_STATUSES

        if params.status not in NOTICE_STATUSES:
            raise InvalidInput(
                FieldError(
                    ("status",),
                    N_("unknown status; use one of %(notice_statuses)s", notice_statuses=", ".join(NOTICE_STATUSES)),
                )
            )
        conditions.append(WarningNotice.status == params.status)
    if params.recipient:
        org = session.scalar(
            select(Organisation).where(func.upper(Organisation.code) == params.recipient.strip().upper())
        )
        if org is None:
            raise InvalidInput(
                FieldError(("recipient",), N_("no organisation with code '%(recipient)s'", recipient=params.recipient))
            )
        conditions.append(
            exists(
                select(NoticeRecipient.id).where(
                    NoticeRecipient.notice_id == WarningNotice.id, NoticeRecipient.org_id == org.id
                )
            )
        )
        # Whether a unit was addressed is part of the per-unit status: issuers see it for every unit,
        # recipients for their own.
        if org.id != subject.org_id:
            conditions.append(WarningNotice.owner_org_id == subject.org_id)
    if params.overdue is not None:
        mine = or_(WarningNotice.owner_org_id == subject.org_id, NoticeRecipient.org_id == subject.org_id)
        conditions.append(_overdue_clause(now, mine) if params.overdue else _not_overdue_clause(now, mine))
    total = session.scalar(select(func.count()).select_from(WarningNotice).where(*conditions)) or 0
    items = list(
        session.scalars(
            select(WarningNotice)
            .where(*conditions)
            .order_by(WarningNotice.notice_date.desc(), WarningNotice.created_at.desc())
            .offset(page.offset)
            .limit(page.page_size)
            .options(selectinload(WarningNotice.recipients))
        )
    )
    return Slice(items=items, total=total, page=page.page, page_size=page.page_size)


@dataclass(frozen=True)
class UnitRow:
    notice: WarningNotice
    recipient: NoticeRecipient
    overdue: bool


@dataclass(frozen=True)
class YearRow:
    year: int
    issued: int
    fully_reported: int
    overdue: int


def issued_notices(session: Session, subject: Subject) -> list[WarningNotice]:
    stmt = (
        select(WarningNotice)
        .where(readable_clause(subject), WarningNotice.status.in_(ISSUED))
        .order_by(WarningNotice.issued_at.desc())
        .options(selectinload(WarningNotice.recipients))
    )
    return list(session.scalars(stmt))


def unit_rows(session: Session, subject: Subject, *, now: datetime, overdue_only: bool = False) -> list[UnitRow]:
    """Per issued notice and per unit the subject may follow: delivered, acknowledged, reported, overdue."""
    rows = []
    for notice in issued_notices(session, subject):
        for r in visible_recipients(notice, subject):
            late = is_overdue(notice, r, now)
            if late or not overdue_only:
                rows.append(UnitRow(notice, r, late))
    return rows


def year_counts(session: Session, subject: Subject, *, now: datetime) -> list[YearRow]:
    """Per year of issue: notices issued, fully reported (every unit the subject follows has reported) and with
    an overdue unit. Counts only what the subject may read."""
    by_year: dict[int, list[int]] = {}
    for notice in issued_notices(session, subject):
        assert notice.issued_at is not None
        counts = by_year.setdefault(notice.issued_at.year, [0, 0, 0])
        counts[0] += 1
        units = visible_recipients(notice, subject)
        if units and all(r.reported_at is not None for r in units):
            counts[1] += 1
        if any(is_overdue(notice, r, now) for r in units):
            counts[2] += 1
    return [YearRow(y, *c) for y, c in sorted(by_year.items(), reverse=True)]


def org_names(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, Organisation]:
    return incidents.orgs_by_id(session, ids)


def users_by_id(session: Session, ids: set[uuid.UUID | None]) -> dict[uuid.UUID, User]:
    return incidents.users_by_id(session, {i for i in ids if i is not None})


def linked_incidents(session: Session, subject: Subject, ids: list[uuid.UUID]) -> tuple[list[Incident], int]:
    """The linked incidents the subject may read (in link order) and how many others are withheld."""
    if not ids:
        return [], 0
    found = {
        i.id: i for i in session.scalars(readable(select(Incident).where(Incident.id.in_(ids)), subject, Incident))
    }
    return [found[i] for i in ids if i in found], sum(1 for i in ids if i not in found)


def linked_entities(session: Session, subject: Subject, ids: list[uuid.UUID]) -> list[tuple[Entity, str]]:
    """The linked entities the subject may see, each named as written in an incident the subject may read
    (persons only where it may see them: linkage.graph.visible_entities); showing a person's is audited as a read of
    the incident it is written as in."""
    from interdict.linkage.graph import visible_entities
    from interdict.linkage.service import label_reads

    labels = visible_entities(session, subject, ids)
    entities = {e.id: e for e in session.scalars(select(Entity).where(Entity.id.in_(list(labels))))}
    shown = [(entities[i], labels[i][1]) for i in ids if i in labels and i in entities]
    persons = {e.id: label for e, label in shown if e.nominal}  # a person's name or value, as written in an incident
    incidents.record_nominal_reads(session, subject, label_reads(session, subject, persons), where="a warning notice")
    return shown


# --- read shapes --------------------------------------------------------------------------------


def _org_ref(org: Organisation) -> schemas.OrgRef:
    return schemas.OrgRef(id=org.id, code=org.code, name=org.name, name_local=org.name_local)


def _user_ref(users: dict[uuid.UUID, User], user_id: uuid.UUID | None) -> schemas.UserRef | None:
    user = users.get(user_id) if user_id is not None else None
    return schemas.UserRef(id=user.id, username=user.username, full_name=user.full_name) if user else None


def _incident_refs(items: list[Incident]) -> list[schemas.IncidentLinkRead]:
    return [schemas.IncidentLinkRead(id=i.id, reference=i.reference, incident_date=i.incident_date) for i in items]


def to_read(session: Session, subject: Subject, notice: WarningNotice, *, now: datetime) -> schemas.NoticeRead:
    """A notice read through :func:`get_notice`, as the subject may see it: linked incidents and entities only
    where it may read them, recipients' status and reports only for the issuing unit and the unit itself."""
    shown = visible_recipients(notice, subject)
    report_links = {r.id: [x.incident_id for x in r.report_incidents] for r in shown}
    users = users_by_id(
        session,
        {
            notice.created_by_id,
            notice.approved_by_id,
            *(r.acknowledged_by_id for r in shown),
            *(r.reported_by_id for r in shown),
        },
    )
    orgs = org_names(session, {notice.owner_org_id, *(r.org_id for r in notice.recipients)})
    incident_list, withheld = linked_incidents(session, subject, [x.incident_id for x in notice.incident_links])
    recipients = []
    for r in shown:
        report = None
        if r.reported_at is not None:
            linked, hidden = linked_incidents(session, subject, report_links[r.id])
            report = schemas.ReportRead(
                checked_what=r.checked_what,
                shipments_checked=r.shipments_checked,
                declarations_checked=r.declarations_checked,
                findings=r.findings,
                result=r.result,
                reported_at=r.reported_at,
                reported_by=_user_ref(users, r.reported_by_id),
                report_revision=r.report_revision,
                report_updated_at=r.report_updated_at,
                incidents=_incident_refs(linked),
                incidents_withheld=hidden,
            )
        recipients.append(
            schemas.RecipientRead(
                org=_org_ref(orgs[r.org_id]),
                delivered_at=r.delivered_at,
                acknowledged_at=r.acknowledged_at,
                acknowledged_by=_user_ref(users, r.acknowledged_by_id),
                reported_at=r.reported_at,
                overdue=is_overdue(notice, r, now),
                report=report,
            )
        )
    group_code = None
    if notice.sharing_group_id is not None:
        from interdict.sharing.models import SharingGroup

        group = session.get(SharingGroup, notice.sharing_group_id)
        group_code = group.code if group else None
    creator = _user_ref(users, notice.created_by_id)
    assert creator is not None
    return schemas.NoticeRead(
        id=notice.id,
        number=notice.number,
        notice_date=notice.notice_date,
        place=notice.place,
        title=notice.title,
        body=notice.body,
        risk_indicators=[schemas.RiskIndicator.model_validate(i) for i in notice.risk_indicators or []],
        status=notice.status,
        report_deadline=notice.report_deadline,
        owner_org=_org_ref(orgs[notice.owner_org_id]),
        created_by=creator,
        created_at=notice.created_at,
        updated_at=notice.updated_at,
        version=notice.version,
        distribution=notice.distribution,
        sharing_group=group_code,
        tlp=notice.tlp,
        submitted_at=notice.submitted_at,
        approved_at=notice.approved_at,
        approved_by=_user_ref(users, notice.approved_by_id),
        review_comment=notice.review_comment,
        issued_at=notice.issued_at,
        closed_at=notice.closed_at,
        incidents=_incident_refs(incident_list),
        incidents_withheld=withheld,
        entities=[
            schemas.EntityLinkRead(id=e.id, kind=e.kind, name=label)
            for e, label in linked_entities(session, subject, [x.entity_id for x in notice.entity_links])
        ],
        recipients=recipients,
        recipient_names=[org_label(orgs[r.org_id]) for r in notice.recipients],
        attachments=[schemas.AttachmentRead.model_validate(a) for a in list_attachments(session, notice)],
    )


def org_label(org: Organisation) -> str:
    """An organisation as a Vietnamese document names it: its local name, else its name."""
    return org.name_local or org.name


def summary(notice: WarningNotice, subject: Subject, org: Organisation, *, now: datetime) -> schemas.NoticeSummary:
    shown = visible_recipients(notice, subject)
    return schemas.NoticeSummary(
        id=notice.id,
        number=notice.number,
        notice_date=notice.notice_date,
        title=notice.title,
        status=notice.status,
        owner_org=_org_ref(org),
        tlp=notice.tlp,
        issued_at=notice.issued_at,
        report_deadline=notice.report_deadline,
        recipients=len(shown),
        acknowledged=sum(1 for r in shown if r.acknowledged_at is not None),
        reported=sum(1 for r in shown if r.reported_at is not None),
        overdue=sum(1 for r in shown if is_overdue(notice, r, now)),
    )


def summaries(
    session: Session, subject: Subject, items: list[WarningNotice], *, now: datetime
) -> list[schemas.NoticeSummary]:
    orgs = org_names(session, {n.owner_org_id for n in items})
    return [summary(n, subject, orgs[n.owner_org_id], now=now) for n in items]


# --- notifications, rendered as the recipient ---------------------------------------------------

_KIND_TITLES = {
    "notice.issued": N_("Warning notice %(number)s issued to your unit"),
    "notice.approval_requested": N_("Warning notice %(number)s awaits your approval"),
    "notice.approved": N_("Warning notice %(number)s was approved"),
    "notice.returned": N_("Warning notice %(number)s was returned to draft"),
    "notice.report_filed": N_("Results report on warning notice %(number)s from %(unit)s"),
    "notice.reminder": N_("Results report on warning notice %(number)s due %(deadline)s"),
    "notice.overdue": N_("Results report on warning notice %(number)s is overdue (%(unit)s)"),
}
_DEFAULT_TITLE = N_("Warning notice %(number)s")
_STATUS_LABELS = {
    "draft": N_("Draft"),
    "submitted": N_("Awaiting approval"),
    "approved": N_("Approved"),
    "issued": N_("Issued"),
    "closed": N_("Closed"),
}


def render_notification(
    session: Session, subject: Subject, notification: Notification
) -> notifications.Rendered | None:
    """What a notification about a notice says to ``subject``, read through the same predicate as every other
    read; None when the subject may not read the notice (or the unit status it is about)."""
    try:
        notice = get_notice(session, subject, notification.ref_id)
    except NotFound:
        return None
    unit = ""
    org_key = (notification.reason or {}).get("recipient_org_id")
    if org_key and notification.kind != "notice.issued":
        rec = next((r for r in visible_recipients(notice, subject) if str(r.org_id) == org_key), None)
        if rec is None:
            return None
        org = session.get(Organisation, rec.org_id)
        unit = org.code if org else ""
    owner = session.get(Organisation, notice.owner_org_id)
    deadline = localtime.format_day(notice.report_deadline, subject.locale) if notice.report_deadline else "-"
    template = _KIND_TITLES.get(notification.kind, _DEFAULT_TITLE)
    params = {"number": notice.number, "unit": unit, "deadline": deadline}
    title = Message(template.msgid, **{k: v for k, v in params.items() if f"%({k})s" in template.msgid})
    facts: list[tuple[str, str]] = [
        (N_("Issued by"), owner.code if owner else ""),
        (N_("Status"), _STATUS_LABELS.get(notice.status, notice.status)),
        (N_("Report deadline"), deadline),
        ("TLP", notice.tlp),
    ]
    return notifications.Rendered(title=title, text=notice.title, url=f"/notices/{notice.id}", facts=facts)


def record_export(session: Session, subject: Subject, notice: WarningNotice, summary: str) -> None:
    _audit(session, subject, notice, "export", summary=summary)
