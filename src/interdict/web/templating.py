"""Jinja2 environment (autoescaping on) and the per-request template context."""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from interdict import __version__
from interdict.accounts.subject import Subject
from interdict.core import localtime
from interdict.core.clock import utcnow
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
    # Times, dates and numbers in the viewer's zone and language: the filters read "lang" and "time_zone" from
    # the render context (a macro imported without context falls back to English and UTC).
    env.filters["qty"] = _qty
    env.filters["num"] = _qty
    env.filters["dt"] = _dt
    env.filters["day"] = _day
    env.filters["local_input"] = _local_input
    env.filters["nl2br"] = nl2br
    env.filters["change"] = format_change
    return env


def _ctx_lang(ctx: Context) -> str:
    lang = ctx.get("lang")
    return lang if isinstance(lang, str) else DEFAULT


def _ctx_zone(ctx: Context) -> str:
    tz = ctx.get("time_zone")
    return tz if isinstance(tz, str) else localtime.DEFAULT_ZONE


@pass_context
def _qty(ctx: Context, value: Decimal | float | int | None) -> str:
    return format_quantity(value, _ctx_lang(ctx))


@pass_context
def _dt(ctx: Context, value: datetime | date | None) -> str:
    return format_datetime(value, _ctx_lang(ctx), _ctx_zone(ctx))


@pass_context
def _day(ctx: Context, value: datetime | date | None) -> str:
    return localtime.format_day(value, _ctx_lang(ctx), _ctx_zone(ctx))


@pass_context
def _local_input(ctx: Context, value: datetime | None) -> str:
    return localtime.to_local_input(value, _ctx_zone(ctx))


def format_quantity(value: Decimal | float | int | None, lang: str = DEFAULT) -> str:
    """A quantity or count as the language writes it: 21.155 and 1.234,5 in Vietnamese, 21,155 and 1,234.5 in
    English."""
    return localtime.format_number(value, lang)


def format_datetime(value: datetime | date | None, lang: str = DEFAULT, tz_name: str | None = None) -> str:
    """A time in the viewer's zone and language, with the zone: "07/12/2026 14:05 (GMT+7)"."""
    return localtime.format_datetime(value, lang, tz_name)


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
        # The viewer's time zone (their own, else their organisation's): the "dt" filter, the <body> element
        # (for the scripts) and the date-time fields use it.
        "time_zone": subject.time_zone if subject is not None else localtime.DEFAULT_ZONE,
        "zone_label": localtime.gmt_label(utcnow(), localtime.zone(subject.time_zone if subject else None)),
        "zone_title": localtime.zone_title,
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
