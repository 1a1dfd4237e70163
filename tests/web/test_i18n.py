"""The Vietnamese catalogue: complete, well-formed and in step with the templates and vocabularies.

No database: nothing here requests a fixture from tests/conftest.py.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from interdict.incidents.vocab import LABELS
from interdict.web import extra_messages
from interdict.web.i18n import locale_dir, translations

ROOT = Path(__file__).resolve().parents[2]
VI_PO = ROOT / "src/interdict/web/locale/vi/LC_MESSAGES/messages.po"
TEMPLATES = "src/interdict/web/templates/"
# The same keywords as scripts/i18n-update.
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
# %(name)s-style and bare %s-style conversions; %% is a literal percent sign.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[diouxXeEfFgGcrsa%]")


def forms(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """The msgid or msgstr of a message as a tuple: one item, or one per plural form."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def key(msgid: str | Sequence[str]) -> str:
    """The catalogue key of a message: its singular msgid."""
    return msgid if isinstance(msgid, str) else msgid[0]


def placeholders(text: str) -> list[str]:
    return sorted(p for p in PLACEHOLDER.findall(text) if p != "%%")


@functools.cache
def vi_catalog() -> Catalog:
    with VI_PO.open("rb") as fh:
        return read_po(fh, locale="vi", abort_invalid=True)


def messages(catalog: Catalog) -> list[Message]:
    return [m for m in catalog if m.id]


@functools.cache
def extracted() -> dict[str, list[tuple[str | tuple[str, ...], str]]]:
    """msgid -> [(message, file)] for everything babel.cfg extracts, found by Babel's own extractors."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh, "babel.cfg")
    found: dict[str, list[tuple[str | tuple[str, ...], str]]] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.setdefault(key(message), []).append((message, filename.replace("\\", "/")))
    return found


def test_the_vi_catalogue_is_read_from_the_package_locale_directory() -> None:
    assert VI_PO.resolve() == (locale_dir() / "vi" / "LC_MESSAGES" / "messages.po").resolve()


def test_vi_catalogue_parses_with_one_plural_form_and_no_fuzzy_or_empty_translation() -> None:
    catalog = vi_catalog()
    assert catalog.num_plurals == 1
    assert catalog.plural_expr == "0"
    assert not catalog.fuzzy, "the catalogue header is marked fuzzy"
    assert len(messages(catalog)) > 200
    fuzzy = [m.id for m in messages(catalog) if m.fuzzy]
    empty = [m.id for m in messages(catalog) if not forms(m.string) or not all(s.strip() for s in forms(m.string))]
    assert not fuzzy, f"fuzzy: {fuzzy}"
    assert not empty, f"untranslated: {empty}"
    wrong_count = [m.id for m in messages(catalog) if m.pluralizable and len(forms(m.string)) != catalog.num_plurals]
    assert not wrong_count, f"plural messages need exactly one msgstr[0] in Vietnamese: {wrong_count}"
    not_nfc = [m.id for m in messages(catalog) if any(unicodedata.normalize("NFC", s) != s for s in forms(m.string))]
    assert not not_nfc, f"translations must be NFC-normalised: {not_nfc}"


def test_every_template_message_is_translated() -> None:
    catalog = vi_catalog()
    in_templates = {
        msgid: found
        for msgid, found in extracted().items()
        if any(filename.startswith(TEMPLATES) for _message, filename in found)
    }
    assert len(in_templates) > 150, "the Jinja2 extractor found suspiciously few messages: check babel.cfg"
    assert "Log in" in in_templates
    assert ("%(num)d incident", "%(num)d incidents") in [message for message, _f in in_templates["%(num)d incident"]]
    missing = []
    for msgid, found in in_templates.items():
        entry = catalog.get(msgid)
        if entry is None or entry.fuzzy or not all(forms(entry.string)):
            missing.append((msgid, sorted({f for _m, f in found})))
        else:
            for message, _filename in found:
                if isinstance(message, tuple):
                    assert entry.pluralizable and entry.id == message, f"{msgid!r} must be a plural entry {message!r}"
    assert not missing, f"not translated in vi (run scripts/i18n-update, then translate): {missing}"


def test_everything_extracted_is_translated() -> None:
    catalog = vi_catalog()
    missing = [msgid for msgid in extracted() if not (e := catalog.get(msgid)) or e.fuzzy or not all(forms(e.string))]
    assert not missing, f"not translated in vi (run scripts/i18n-update, then translate): {missing}"


def test_every_label_role_and_history_action_is_translated() -> None:
    catalog = vi_catalog()
    wanted = [*LABELS.values(), *extra_messages.ROLE_MESSAGES, *extra_messages.HISTORY_ACTION_MESSAGES]
    missing = [msgid for msgid in wanted if not (e := catalog.get(msgid)) or e.fuzzy or not all(forms(e.string))]
    assert not missing, f"not translated in vi: {missing}"
    tr = translations("vi")
    assert tr.gettext(LABELS["seizure"]) == "Bắt giữ"
    assert tr.gettext(LABELS["stopped_shipment"]) == "Lô hàng bị dừng"
    assert tr.gettext(LABELS["customs_broker"]) == "Đại lý hải quan"
    assert tr.gettext("admin") == "Quản trị viên"


def test_translations_switch_between_vietnamese_and_english() -> None:
    vi = translations("vi")
    en = translations("en")
    assert vi.gettext("Log in") == "Đăng nhập"
    assert vi.gettext("Log out") == "Đăng xuất"
    assert vi.gettext("Dashboard") == "Tổng quan"
    assert en.gettext("Log in") == "Log in"
    assert en.gettext("Dashboard") == "Dashboard"
    assert vi.ngettext("%(num)d incident", "%(num)d incidents", 1) % {"num": 1} == "1 vụ việc"
    assert vi.ngettext("%(num)d incident", "%(num)d incidents", 7) % {"num": 7} == "7 vụ việc"
    assert en.ngettext("%(num)d incident", "%(num)d incidents", 7) % {"num": 7} == "7 incidents"
    assert vi.gettext("A message nobody translated") == "A message nobody translated"


def test_placeholders_of_each_translation_match_its_msgid() -> None:
    wrong = []
    for m in messages(vi_catalog()):
        ids = forms(m.id)
        expected = placeholders(ids[0])
        if any(placeholders(i) != expected for i in ids[1:]):
            wrong.append((m.id, "msgid and msgid_plural differ"))
        for s in forms(m.string):
            if placeholders(s) != expected:
                wrong.append((m.id, s))
    assert not wrong, f"placeholders differ: {wrong}"


def test_extra_messages_list_exactly_the_labels() -> None:
    values = list(LABELS.values())
    missing = [v for v in values if v not in extra_messages.LABEL_MESSAGES]
    stale = [m for m in extra_messages.LABEL_MESSAGES if m not in values]
    assert not missing and not stale, (
        f"update LABEL_MESSAGES in src/interdict/web/extra_messages.py: missing {missing}, no longer labels {stale}"
    )
    assert list(extra_messages.LABEL_MESSAGES) == values, "keep LABEL_MESSAGES in the order of LABELS"
    # The static extractor must see them as literals in extra_messages.py, not only the runtime tuple.
    from_module = {
        msgid
        for msgid, found in extracted().items()
        if any(f == "src/interdict/web/extra_messages.py" for _m, f in found)
    }
    assert set(values) <= from_module
    assert {"admin", "analyst", "officer", "viewer"} <= from_module
    assert {"created", "updated", "submitted", "closed", "reopened", "imported"} <= from_module
