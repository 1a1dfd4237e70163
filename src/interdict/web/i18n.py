"""Vietnamese and English: Babel catalogues (web/locale/<lang>/LC_MESSAGES/messages.po), compiled in memory."""

from __future__ import annotations

import functools
import io
from importlib import resources
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from interdict.core.i18n import install_gettext

LANGUAGES = {"en": "English", "vi": "Tiếng Việt"}
DEFAULT = "en"


def locale_dir() -> Path:
    return Path(str(resources.files("interdict.web") / "locale"))


@functools.cache
def translations(lang: str) -> NullTranslations:
    po = locale_dir() / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT or not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)


def gettext(lang: str, message: str) -> str:
    return translations(lang).gettext(message)


def ngettext(lang: str, singular: str, plural: str, n: int) -> str:
    return translations(lang).ngettext(singular, plural, n)


install_gettext(lambda lang: translations(lang if lang in LANGUAGES else DEFAULT).gettext)
