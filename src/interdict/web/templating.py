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
from interdict.core.i18n import rendering_in
from interdict.incidents.vocab import LABELS
from interdict.linkage.reasons import reason_message
from interdict.reference.countries import country_label, resolve_country
from interdict.targeting.words import reason_message as target_reason
from interdict.web.forms import LINE_LISTS
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
    env.filters["link_reason"] = reason_message
    env.filters["target_reason"] = target_reason
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


# Fields of the incident snapshot whose history values are codes of a closed vocabulary (shown by their label).
_CODE_FIELDS = frozenset(
    {
        "incident_type",
        "status",
        "place_type",
        "mode_of_transport",
        "detection_method",
        "distribution",
        "role",
        "kind",
        "unit",
        "form",
        "lab_confirmation",
    }
)
_COUNTRY_FIELDS = frozenset({"country", "origin_country", "departure_country", "destination_country"})
# Keys of a line (substance, party, ...) in the order a person reads them; ids and CAS numbers are left out.
_LINE_KEYS = tuple(dict.fromkeys(key for keys in LINE_LISTS.values() for key in keys))  # the form's own lists


@pass_context
def format_change(ctx: Any, value: Any, field: str | None = None) -> str:
    """A history value as a person reads it, in the page's language: codes by their label, countries by name,
    the sharing group by its name, yes/no for flags, lines of lists as '; '-separated summaries; never an id."""
    label = ctx.get("label") or (lambda c: c or "")
    gettext = ctx.get("_") or (lambda m: m)

    def one(key: str | None, v: Any) -> str:
        if v is None or v == [] or v == "":
            return ""
        if isinstance(v, bool):
            return str(gettext("Yes") if v else gettext("No"))
        if isinstance(v, list):
            return "; ".join(x for x in (one(key, item) for item in v) if x)
        if isinstance(v, dict):
            shown = {k: one(k, v.get(k)) for k in _LINE_KEYS if k in v}
            if shown.get("quantity") and shown.get("unit"):
                shown["quantity"] = f"{shown['quantity']} {shown.pop('unit')}"
            parts = list(shown.values())
            return " · ".join(p for p in parts if p)
        text = str(v)
        if key in _CODE_FIELDS:
            return str(label(text))
        if key in _COUNTRY_FIELDS and "country_label" in ctx:
            return str(ctx["country_label"](text))
        if key == "modus" and "modus_label" in ctx:
            return str(ctx["modus_label"](text))
        if key == "sharing_group":
            return str(ctx.get("group_names", {}).get(text) or gettext("a sharing group"))
        if key == "purity_percent":
            return f"{text} %"
        return text

    return one(field, value) or "—"


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

    def org_name(org: Any) -> str:
        """An organisation's name in the reader's language: its local (Vietnamese) name where it has one."""
        if org is None:
            return ""
        local = getattr(org, "name_local", None)
        return str(local if lang == "vi" and local else org.name)

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
        "org_name": org_name,
        "country_label": functools.partial(_country_label, lang=lang),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "version": __version__,
        "path": request.url.path,
        "flash": request.query_params.get("flash"),
        "demo": _demo_context(request),
    }
    ctx.update(context or {})
    with rendering_in(lang):
        html = environment().get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code)
