"""How a notification about an incident reads, rendered as its recipient.

The incident is read through the sharing rules as the recipient at the time of rendering: a notification
about an incident the recipient may no longer read is not shown (returns None). What the notification's
reason recorded about person data (a watched person's name as written in the incident) is shown only while
the recipient may see that incident's person data, and showing it is audited as a read of the incident's
nominal data (``Rendered.persons``; see ``notifications.service.record_shown``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from interdict.accounts.subject import Subject
from interdict.incidents.models import Incident
from interdict.incidents.vocab import LABELS
from interdict.notifications.models import Notification
from interdict.notifications.service import Rendered
from interdict.reference.catalogue import get_index
from interdict.sharing.service import can_see_nominal, readable
from interdict.web.i18n import gettext


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
    def _(message: str) -> str:
        return gettext(subject.locale, message)

    # What an organisation may read is the same for all its users: one read per incident and organisation for
    # the session (the live stream renders a tick's notifications in one session, often many about one incident).
    cache: dict[tuple[Any, Any], Incident | None] = session.info.setdefault("watch.render_incident", {})
    key = (n.ref_id, subject.org_id)
    if key not in cache:
        stmt = select(Incident).where(Incident.id == n.ref_id).options(selectinload(Incident.substances))
        cache[key] = session.scalar(readable(stmt, subject, Incident))
    incident = cache[key]
    if incident is None:
        return None
    index = get_index(session)
    kind = _(LABELS.get(incident.incident_type, incident.incident_type))
    where = incident.place_name or incident.locode or index.country_name(incident.country, subject.locale)
    names = []
    for s in incident.substances:
        ref = index.substances.get(s.substance_id) if s.substance_id else None
        names.append(ref.name if ref is not None else (s.other_description or ""))
    what = ", ".join(x for x in names if x)
    facts: list[tuple[str, str]] = [
        (_("Incident"), f"{incident.reference} · {kind}"),
        (_("Date"), incident.incident_date.isoformat()),
        (_("Place"), where),
    ]
    if what:
        facts.append((_("Substances"), what))
    reason = n.reason or {}
    lines = [
        _("Matches your watch rule “{name}”").format(name=rule.get("name", "")) for rule in reason.get("rules", [])
    ]
    hits, persons = hit_lines(subject, reason, lambda: can_see_nominal(session, incident, subject))
    lines += hits
    if "deconfliction" in reason:
        d = reason["deconfliction"]
        lines.append(
            _("{org} recorded an incident that matches this one (through: {kinds}); contact them.").format(
                org=d.get("org", ""), kinds=", ".join(d.get("kinds", []))
            )
        )
    title = f"{incident.reference} · {kind} · {where}"
    return Rendered(
        title=title, text="\n".join(lines) or what, url=f"/incidents/{incident.id}", facts=facts, persons=persons
    )
