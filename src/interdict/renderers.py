"""How each kind of record reads in a notification, installed in one place.

Notifications store a reference only; the record's own domain renders it as the recipient (see
notifications.service). Every process that shows or sends notifications (the server, the dispatcher, CLI
commands) calls :func:`install` once, so no renderer depends on which modules happen to be imported.
"""

from __future__ import annotations

from interdict.notifications.service import register_renderer


def install() -> None:
    from interdict.alerts import service as alerts
    from interdict.notices import service as notices
    from interdict.watch import render as incidents

    register_renderer("incident", incidents.render_incident)
    register_renderer(alerts.REF_TYPE, alerts.render_notification)
    register_renderer(notices.REF_TYPE, notices.render_notification)
