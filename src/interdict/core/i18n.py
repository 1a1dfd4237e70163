"""User-facing messages made in Python, translated when they are shown, in the language of the person reading.

Services run outside any request and do not know who will read what they say, so they return a :class:`Message`:
a ``str`` holding the English text (what the API and the logs show) that also remembers its catalogue msgid and
its ``%(name)s`` parameters. The web layer shows it in the reader's language:

- a template that writes ``{{ msg }}`` gets the translation (Jinja2 escapes through ``__html__``, which translates
  into the language of the page being rendered, set by :func:`rendering_in`);
- e-mails, which are composed as the recipient outside a page, call :func:`translate` with the recipient's language.

``N_("... %(name)s ...", name=value)`` makes one; ``N_`` is an extraction keyword of ``scripts/i18n-update``, so the
msgid lands in the catalogue. A parameter that is itself a Message is translated too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, Self

from markupsafe import escape

# The language of the page or e-mail being rendered; None outside one (then Messages show their English text).
_RENDERING: ContextVar[str | None] = ContextVar("interdict_rendering_lang", default=None)
# Set by interdict.web.i18n (the catalogues live with the web layer): lang -> gettext.
_GETTEXT: list[Callable[[str], Callable[[str], str]]] = []


def install_gettext(factory: Callable[[str], Callable[[str], str]]) -> None:
    """``factory(lang)`` returns the gettext function of ``lang``."""
    _GETTEXT[:] = [factory]


class Message(str):
    """English text of a message, with the msgid and parameters to translate it."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, /, **params: Any) -> Self:
        obj = super().__new__(cls, msgid % params if params else msgid)
        obj.msgid = msgid
        obj.params = params
        return obj

    def in_lang(self, lang: str | None) -> str:
        if not lang or not _GETTEXT:
            return str.__str__(self)
        gettext = _GETTEXT[0](lang)
        text = gettext(self.msgid)
        if not self.params:
            return text
        params = {k: translate(v, lang) for k, v in self.params.items()}
        try:
            return text % params
        except (KeyError, TypeError, ValueError):
            return str.__str__(self)

    def __html__(self) -> str:
        return str(escape(self.in_lang(_RENDERING.get())))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.msgid, self.params))


def _rebuild(msgid: str, params: dict[str, Any]) -> Message:
    return Message(msgid, **params)


def N_(msgid: str, /, **params: Any) -> Message:
    """A message to translate when shown; marks ``msgid`` for extraction."""
    return Message(msgid, **params)


class Number(str):
    """A number written in English (``1,234,568``; ``3.14``) that a :class:`Message` shows with the reader's
    decimal and group separators (``1.234.568``; ``3,14`` in Vietnamese)."""

    def in_lang(self, lang: str | None) -> str:
        text = str.__str__(self)
        if not lang:
            return text
        from babel.numbers import get_decimal_symbol, get_group_symbol

        try:
            decimal, group = get_decimal_symbol(lang), get_group_symbol(lang)
        except (ValueError, LookupError):
            return text
        return "".join(decimal if c == "." else group if c == "," else c for c in text)

    def __html__(self) -> str:
        return str(escape(self.in_lang(_RENDERING.get())))


def translate(value: Any, lang: str | None) -> Any:
    """``value`` in ``lang`` if it is a :class:`Message` or a :class:`Number` (else unchanged)."""
    return value.in_lang(lang) if isinstance(value, (Message, Number)) else value


def message_json(value: Any) -> Any:
    """A :class:`Message` (its parameters too) as JSON, to store it and show it later in the reader's language."""
    if isinstance(value, Message):
        return {"msgid": value.msgid, "params": {k: message_json(v) for k, v in value.params.items()}}
    if isinstance(value, Number):
        return {"number": str.__str__(value)}
    return value


def message_from_json(data: Any) -> Any:
    """What :func:`message_json` stored, back as a :class:`Message` (a malformed value as None)."""
    if isinstance(data, dict):
        if isinstance(data.get("number"), str):
            return Number(data["number"])
        params = data.get("params")
        if isinstance(data.get("msgid"), str) and isinstance(params, dict):
            try:
                return Message(data["msgid"], **{k: message_from_json(v) for k, v in params.items()})
            except (KeyError, TypeError, ValueError):
                return None
        return None
    return data


def rendering_lang() -> str | None:
    return _RENDERING.get()


@contextlib.contextmanager
def rendering_in(lang: str) -> Iterator[None]:
    """Messages written into a page or e-mail inside this block are shown in ``lang``."""
    token = _RENDERING.set(lang)
    try:
        yield
    finally:
        _RENDERING.reset(token)
