"""E-mail through SMTP (smtplib). Messages are composed at send time, as the recipient, in the recipient's language.

``full`` mode carries what the notification centre shows (title, text, facts); ``metadata`` mode carries no record
content at all, only "a new <urgency> <kind> notification" and a link, for agencies whose rules keep sensitive
content inside the system. In both modes a notification the recipient may no longer read is not sent.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from babel.support import NullTranslations

from interdict.config import Settings
from interdict.core.i18n import translate
from interdict.notifications.models import Notification
from interdict.notifications.service import Rendered
from interdict.web.i18n import LANGUAGES, translations


def _(message: str) -> str:
    """Marks ``message`` for extraction (scripts/i18n-update); translated at send time in the user's language."""
    return message


URGENCY_LABELS = {"routine": _("routine"), "urgent": _("urgent"), "immediate": _("immediate")}


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool
    ssl: bool
    sender: str
    timeout: float
    mode: str
    public_url: str

    @classmethod
    def from_settings(cls, s: Settings) -> SmtpConfig | None:
        if not s.smtp_host:
            return None
        return cls(
            host=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password,
            starttls=s.smtp_starttls,
            ssl=s.smtp_ssl,
            sender=s.smtp_from,
            timeout=s.smtp_timeout_seconds,
            mode=s.email_mode,
            public_url=s.public_url.rstrip("/"),
        )


class SmtpFailure(Exception):
    """The SMTP server did not take the message (it was not sent): retry later. ``unreachable``: the server itself
    could not be reached or dropped the connection (other messages would fail the same way)."""

    def __init__(self, message: str, *, unreachable: bool) -> None:
        super().__init__(message)
        self.unreachable = unreachable


def link(cfg: SmtpConfig, url: str) -> str:
    return url if url.startswith(("http://", "https://")) else f"{cfg.public_url}{url}"


def _tr(locale: str) -> NullTranslations:
    return translations(locale if locale in LANGUAGES else "en")


def _kind_label(tr: NullTranslations, kind: str) -> str:
    return tr.gettext(kind.replace("_", " "))


def _message(cfg: SmtpConfig, to: str, subject: str, body: str, locale: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = cfg.sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain=cfg.sender.rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    msg["Content-Language"] = locale  # after set_content, which replaces the Content-* headers
    return msg


def notification_message(
    cfg: SmtpConfig, *, to: str, locale: str, notification: Notification, rendered: Rendered
) -> EmailMessage:
    tr = _tr(locale)
    urgency = tr.gettext(URGENCY_LABELS.get(notification.urgency, notification.urgency))
    kind = _kind_label(tr, notification.kind)
    url = link(cfg, rendered.url)
    if cfg.mode == "metadata":
        subject = tr.gettext("Interdict: a new %(urgency)s %(kind)s notification") % {"urgency": urgency, "kind": kind}
        body = "\n".join(
            [
                tr.gettext("You have a new %(urgency)s %(kind)s notification in Interdict.")
                % {"urgency": urgency, "kind": kind},
                "",
                tr.gettext("Open it in Interdict (log in first):"),
                url,
            ]
        )
        return _message(cfg, to, subject, body, locale)
    title = translate(rendered.title, locale)
    subject = f"[Interdict · {urgency}] {title}"
    lines = [title, ""]
    if rendered.text:
        lines += [translate(rendered.text, locale), ""]
    for label, value in rendered.facts:
        lines.append(f"{tr.gettext(label)}: {translate(value, locale)}")
    if rendered.facts:
        lines.append("")
    lines += [tr.gettext("Open it in Interdict (log in first):"), url]
    return _message(cfg, to, subject, "\n".join(lines), locale)


def list_message(
    cfg: SmtpConfig,
    *,
    to: str,
    locale: str,
    kind: str,
    items: Sequence[tuple[Notification, Rendered]],
) -> EmailMessage:
    """The daily digest (``kind`` "digest") or the "N more notifications" summary after the hourly limit."""
    tr = _tr(locale)
    n = len(items)
    centre = link(cfg, "/notifications")
    if kind == "digest":
        subject = tr.ngettext(
            "Interdict: daily digest, %(n)d notification", "Interdict: daily digest, %(n)d notifications", n
        ) % {"n": n}
    else:
        subject = tr.ngettext("Interdict: %(n)d more notification", "Interdict: %(n)d more notifications", n) % {"n": n}
    lines = [subject, ""]
    if cfg.mode == "metadata":
        counts: dict[tuple[str, str], int] = {}
        for note, _rendered in items:
            counts[(note.urgency, note.kind)] = counts.get((note.urgency, note.kind), 0) + 1
        for (urgency, note_kind), count in sorted(counts.items()):
            lines.append(f"- {count} × {tr.gettext(URGENCY_LABELS.get(urgency, urgency))} {_kind_label(tr, note_kind)}")
    else:
        for note, rendered in items:
            title = translate(rendered.title, locale)
            lines.append(f"- [{tr.gettext(URGENCY_LABELS.get(note.urgency, note.urgency))}] {title}")
            lines.append(f"  {link(cfg, rendered.url)}")
    lines += ["", tr.gettext("All your notifications:"), centre]
    return _message(cfg, to, subject, "\n".join(lines), locale)


def send(cfg: SmtpConfig, msg: EmailMessage) -> None:
    """Hand the message to the SMTP server; raises SmtpFailure when it was certainly not accepted."""
    try:
        client: smtplib.SMTP
        if cfg.ssl:
            client = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
        with client:
            if cfg.starttls and not cfg.ssl:
                client.starttls(context=ssl.create_default_context())
            if cfg.username:
                client.login(cfg.username, cfg.password or "")
            client.send_message(msg)
    except (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected, OSError) as exc:
        raise SmtpFailure(f"{type(exc).__name__}: {exc}"[:480], unreachable=True) from exc
    except smtplib.SMTPException as exc:
        raise SmtpFailure(f"{type(exc).__name__}: {exc}"[:480], unreachable=False) from exc
