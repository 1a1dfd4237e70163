"""How a notification about an incident reads, rendered as its recipient.

The incident is read through the sharing rules as the recipient at the time of rendering: a notification
about an incident the recipient may no longer read is not shown (returns None). What the notification's
reason recorded about person data (a watched person's name as written in the incident) is shown only while
the recipient may see that incident's person data, and showing it is audited as a read of the incident's
nominal data (``Rendered.persons``; see ``notifications.service.record_shown``).

A batch (the live stream's tick, a page of the notification centre, a digest) is rendered with
:func:`render_incidents`: readers who read the same records (``reader_key``: the same organisation) are decided
together, each incident is read once for all of them, in the same statement as the decision, and what the
notification says about the incident is put together once per language; only the reason lines (the reader's own
rules and watch lists) are per notification.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import Select, literal, select, union_all
from sqlalchemy.orm import Session, selectinload

from interdict.accounts.subject import Subject
from interdict.core.localtime import format_day
from interdict.incidents.models import Incident
from interdict.incidents.vocab import LABELS
from interdict.notifications.models import Notification
from interdict.notifications.service import Rendered
from interdict.reference.catalogue import get_index
from interdict.sharing.service import can_see_nominal, readable_clause, reader_key
from interdict.web.i18n import gettext
from interdict.web.i18n import ngettext as ngettext_in

READERS_PER_STATEMENT = 50
IDS_PER_STATEMENT = 10_000  # incident ids bound in one statement, over all its readers (databases cap parameters)


def hit_lines(subject: Subject, reason: dict[str, Any], nominal_ok: Callable[[], bool]) -> tuple[list[str], int]:
    """The watch-list hits of a notification, in words, and how many of them show a natural person's data as
    written in the record (to audit); hits on person data only while ``nominal_ok()``."""

    def _(message: str) -> str:
        return gettext(subject.locale, message)

    lines: list[str] = []
    persons = 0
    allowed: bool | None = None
    for hit in reason.get("hits", []):
        if hit.get("nominal"):
            if allowed is None:
                allowed = nominal_ok()
            if not allowed:
                continue
            persons += 1
        lines.append(
            _("“{value}” on watch list “{list}” appears as {role}: “{matched}” ({score:.2f})").format(
                value=hit.get("value", ""),
                list=hit.get("list", ""),
                role=_(LABELS.get(hit.get("role", ""), hit.get("role", ""))),
                matched=hit.get("matched", ""),
                score=float(hit.get("score", 0)),
            )
        )
    return lines, persons


def render_incident(session: Session, subject: Subject, n: Notification) -> Rendered | None:
    return render_incidents(session, [(subject, n)])[0]


def _readable_incidents(
    session: Session, readers: list[Subject], ids: list[uuid.UUID]
) -> dict[tuple[int, uuid.UUID], Incident]:
    """Which of ``ids`` each reader (by position) may read, with the incident as read in the same statement."""
    found: dict[tuple[int, uuid.UUID], Incident] = {}
    for start in range(0, len(readers), READERS_PER_STATEMENT):
        group = readers[start : start + READERS_PER_STATEMENT]
        per_statement = max(1, IDS_PER_STATEMENT // len(group))  # each reader's part lists the ids again
        for first in range(0, len(ids), per_statement):
            some = ids[first : first + per_statement]
            parts: list[Select[int, uuid.UUID]] = [
                select(literal(start + j).label("reader"), Incident.id.label("incident_id")).where(
                    Incident.id.in_(some), readable_clause(Incident, reader)
                )
                for j, reader in enumerate(group)
            ]
            allowed = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
            stmt = (
                select(Incident, allowed.c.reader)
                .join(allowed, allowed.c.incident_id == Incident.id)
                .options(selectinload(Incident.substances))
            )
            for incident, reader in session.execute(stmt):
                found[(int(reader), incident.id)] = incident
    return found


def _about(incident: Incident, locale: str, index: Any) -> tuple[str, list[tuple[str, str]], str]:
    """What a notification says about the incident itself, in ``locale``: title, facts and substances."""

    def _(message: str) -> str:
        return gettext(locale, message)

    kind = _(LABELS.get(incident.incident_type, incident.incident_type))
    where = incident.place_name or incident.locode or index.country_name(incident.country, locale)
    names = []
    for s in incident.substances:
        ref = index.substances.get(s.substance_id) if s.substance_id else None
        names.append(ref.name if ref is not None else (s.other_description or ""))
    what = ", ".join(x for x in names if x)
    facts: list[tuple[str, str]] = [
        (_("Incident"), f"{incident.reference} · {kind}"),
        (_("Date"), format_day(incident.incident_date, locale)),
        (_("Place"), where),
    ]
    if what:
        facts.append((_("Substances"), what))
    return f"{incident.reference} · {kind} · {where}", facts, what


def _reason_lines(
    subject: Subject, reason: dict[str, Any], nominal_ok: Callable[[], bool], count: int = 1
) -> tuple[list[str], int]:
    """Why the reader is told: their own rules, watch-list hits (person data only while ``nominal_ok()``), a
    deconfliction match (``count``: how many records of that organisation matched); and how many of the lines show
    a natural person's data (to audit)."""

    def _(message: str) -> str:
        return gettext(subject.locale, message)

    def ngettext(singular: str, plural: str, n: int) -> str:
        return ngettext_in(subject.locale, singular, plural, n)

    lines = [
        _("Matches your watch rule “{name}”").format(name=rule.get("name", "")) for rule in reason.get("rules", [])
    ]
    hits, persons = hit_lines(subject, reason, nominal_ok)
    lines += hits
    if "deconfliction" in reason:
        d = reason["deconfliction"]
        lines.append(
            ngettext(
                "{org} recorded an incident that matches this one (through: {kinds}); contact them.",
                "{org} recorded {count} incidents that match this one (through: {kinds}); contact them.",
                count,
            ).format(org=d.get("org", ""), kinds=", ".join(d.get("kinds", [])), count=count)
        )
    return lines, persons


def render_incidents(session: Session, pairs: list[tuple[Subject, Notification]]) -> list[Rendered | None]:
    """:func:`render_incident` for many (reader, notification) pairs: one result per pair, in order."""
    if not pairs:
        return []
    readers: dict[Hashable, int] = {}
    subjects: list[Subject] = []
    for subject, _n in pairs:
        if reader_key(subject) not in readers:
            readers[reader_key(subject)] = len(subjects)
            subjects.append(subject)
    incidents = _readable_incidents(session, subjects, list(dict.fromkeys(n.ref_id for _s, n in pairs)))
    index = get_index(session)
    about: dict[tuple[uuid.UUID, str], tuple[str, list[tuple[str, str]], str]] = {}
    nominal: dict[tuple[int, uuid.UUID], bool] = {}

    def nominal_ok(reader: int, incident: Incident) -> Callable[[], bool]:
        def decide() -> bool:
            if (reader, incident.id) not in nominal:
                nominal[(reader, incident.id)] = can_see_nominal(session, incident, subjects[reader])
            return nominal[(reader, incident.id)]

        return decide

    out: list[Rendered | None] = []
    for subject, n in pairs:
        reader = readers[reader_key(subject)]
        incident = incidents.get((reader, n.ref_id))
        if incident is None:
            out.append(None)
            continue
        if (incident.id, subject.locale) not in about:
            about[(incident.id, subject.locale)] = _about(incident, subject.locale, index)
        title, facts, what = about[(incident.id, subject.locale)]
        lines, persons = _reason_lines(subject, n.reason or {}, nominal_ok(reader, incident), n.count or 1)
        out.append(
            Rendered(
                title=title,
                text="\n".join(lines) or what,
                url=f"/incidents/{incident.id}",
                facts=list(facts),
                persons=persons,
            )
        )
    return out
