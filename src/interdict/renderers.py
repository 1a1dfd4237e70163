"""How each kind of record reads in a notification, installed in one place.

Notifications store a reference only; the record's own domain renders it as the recipient (see
notifications.service), and audits the person data a rendering shows with its own read audit. Every process that shows or sends notifications (the server, the dispatcher, CLI
commands) calls :func:`install` once, so no renderer depends on which modules happen to be imported.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from sqlalchemy.orm import Session

from interdict.accounts.subject import Subject
from interdict.notifications.models import Notification
from interdict.notifications.service import Rendered, register_renderer


def install() -> None:
    from interdict.alerts import service as alerts
    from interdict.incidents import service as incident_service
    from interdict.notices import service as notices
    from interdict.watch import render as incidents

    def alert(session: Session, subject: Subject, n: Notification) -> Rendered | None:
        """A rapid alert; for a watch-list hit, also what on the list it asks to look for."""
        shown = alerts.render_notification(session, subject, n)
        if shown is None or not n.reason.get("hits"):
            return shown

        def persons_ok() -> bool:
            return alerts.can_see_persons(session, alerts.get_alert(session, subject, n.ref_id), subject)

        lines, persons = incidents.hit_lines(subject, n.reason, persons_ok)
        return replace(shown, text="\n".join([*lines, shown.text]).strip(), persons=shown.persons + persons)

    def incident_reads(session: Session, subject: Subject, shown: dict[uuid.UUID, int], where: str) -> None:
        incident_service.record_nominal_reads(session, subject, shown, where=where)

    def alert_reads(session: Session, subject: Subject, shown: dict[uuid.UUID, int], where: str) -> None:
        alerts.record_person_reads(session, subject, shown, where=where)

    register_renderer(
        "incident", incidents.render_incident, many=incidents.render_incidents, nominal_reads=incident_reads
    )
    register_renderer(alerts.REF_TYPE, alert, nominal_reads=alert_reads)
    register_renderer(notices.REF_TYPE, notices.render_notification)
