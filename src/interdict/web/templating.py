"""Jinja2 environment (autoescaping on) and the per-request template context."""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from interdict import __version__
from interdict.accounts.subject import Subject
from interdict.incidents.vocab import LABELS
from interdict.reference.countries import country_label, resolve_country
from interdict.web.i18n import DEFAULT, LANGUAGES, translations

LANG_COOKIE = "interdict_lang"


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(resources.files("interdict.web") / "templates")),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["qty"] = format_quantity
    env.filters["dt"] = format_datetime
    env.filters["nl2br"] = nl2br
    env.filters["change"] = format_change
    return env


def format_quantity(value: Decimal | None) -> str:
    if value is None:
        return ""
    q = value.normalize()
    text = f"{q:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_datetime(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def format_change(value: Any) -> str:
    """A history value as a person reads it: lists of lines become '; '-separated summaries."""
    if value is None or value == [] or value == "":
        return "—"
    if isinstance(value, list):
        return "; ".join(format_change(v) for v in value)
    if isinstance(value, dict):
        parts = [str(v) for k, v in value.items() if v not in (None, "") and not k.endswith("_id")]
        return " · ".join(parts) or "—"
    return str(value)


def nl2br(value: str | None) -> Markup:
    if not value:
        return Markup("")
    from markupsafe import escape

    return Markup("<br>").join(escape(line) for line in value.splitlines())


def _country_label(value: str | None, lang: str) -> str:
    """A country field's value as shown: a known country as "Trung Quốc (CN)", anything else as typed."""
    if not value:
        return ""
    code = resolve_country(value)
    return country_label(code, lang) if code else value


def request_lang(request: Request, subject: Subject | None = None) -> str:
    lang = request.cookies.get(LANG_COOKIE)
    if lang in LANGUAGES:
        return lang
    if subject is not None and subject.locale in LANGUAGES:
        return subject.locale
    accept = request.headers.get("accept-language", "")
    return "vi" if accept.lower().startswith("vi") else DEFAULT


def _demo_context(request: Request) -> list[Any] | None:
    """The demo users and what to try first, when Interdict runs as the demo (else None: no banner)."""
    settings = getattr(request.app.state, "settings", None)
    if settings is None or not settings.demo:
        return None
    from interdict.demo.guide import demo_users

    return list(demo_users())


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    subject: Subject | None = None,
) -> HTMLResponse:
    subject = subject or getattr(request.state, "subject", None)
    lang = request_lang(request, subject)
    tr = translations(lang)

    def label(code: str | None) -> str:
        return tr.gettext(LABELS.get(code, code)) if code else ""

    ctx: dict[str, Any] = {
        "request": request,
        "subject": subject,
        "lang": lang,
        "languages": LANGUAGES,
        "_": tr.gettext,
        "ngettext": tr.ngettext,
        "label": label,
        "country_label": functools.partial(_country_label, lang=lang),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "version": __version__,
        "path": request.url.path,
        "flash": request.query_params.get("flash"),
        "demo": _demo_context(request),
    }
    ctx.update(context or {})
    html = environment().get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code)
