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


POT = ROOT / "src/interdict/web/locale/messages.pot"
SRC = ROOT / "src/interdict"
# Calls whose message argument a user reads: (callee name, position of the message argument).
_MESSAGE_ARGS = {
    "FieldError": 1,
    "add": 1,  # ErrorCollector.add(loc, msg): the first argument is a location tuple
    "warn": 1,
    "custom_error": 1,
    "_fail": 1,
    "PydanticCustomError": 1,
    "NotFound": 0,
    "Forbidden": 0,
    "Conflict": 0,
    "Unauthenticated": 0,
    "Unavailable": 0,
    "PayloadTooLarge": 0,
    "NotAcceptable": 0,
    "DomainError": 0,
}


def test_every_message_of_the_pot_has_a_vietnamese_translation() -> None:
    with POT.open("rb") as fh:
        pot = read_po(fh)
    catalog = vi_catalog()
    missing = [
        m.id
        for m in messages(pot)
        if not (e := catalog.get(key(m.id))) or e.fuzzy or not all(s.strip() for s in forms(e.string))
    ]
    assert not missing, f"no Vietnamese translation (run scripts/i18n-update, then translate): {missing}"
    # The .pot is in step with the sources: nothing extracted is missing from it.
    stale = [msgid for msgid in extracted() if pot.get(msgid) is None]
    assert not stale, f"messages.pot is out of date (run scripts/i18n-update): {stale[:20]}"


def _untranslatable_messages() -> list[str]:
    """Error messages written as plain literals or f-strings at the call sites users read them from: they would
    reach the page in English (an f-string cannot be looked up in the catalogue at all)."""
    import ast

    found = []
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts or "demo" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
            pos = _MESSAGE_ARGS.get(name or "")
            if pos is None or len(node.args) <= pos:
                continue
            if name in ("add", "warn") and not isinstance(node.args[0], ast.Tuple):
                continue  # set.add, session.add, ...: not an ErrorCollector
            arg = node.args[pos]
            if isinstance(arg, ast.JoinedStr) or (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_messages_made_in_python_are_catalogue_messages() -> None:
    """Service, validator and web errors are made with N_("... %(name)s ...", name=value), so they are extracted,
    translated, and shown in the reader's language."""
    found = _untranslatable_messages()
    assert not found, f"wrap these messages in N_() (interdict.core.i18n), placeholders as %(name)s: {found}"


def test_framework_validation_messages_have_vietnamese_translations() -> None:
    import interdict.web.i18n  # noqa: F401
    from interdict.core.errors import PYDANTIC_MESSAGES, pydantic_message

    tr = translations("vi")
    for kind, message in PYDANTIC_MESSAGES.items():
        assert tr.gettext(message.msgid) != message.msgid, kind
    msg = pydantic_message(
        {"type": "string_too_long", "msg": "String should have at most 3 characters", "ctx": {"max_length": 3}},
        ("case_reference",),
    )
    assert str(msg) == "Case reference: enter at most 3 characters"
    assert msg.in_lang("vi") == "Số hồ sơ vụ việc: hãy nhập tối đa 3 ký tự"
    # A message of pydantic's that the table does not know is never shown in pydantic's English wording.
    other = pydantic_message({"type": "frozen_set_type", "msg": "Input should be a valid frozenset", "ctx": {}}, ())
    assert other.in_lang("vi") == "giá trị này không hợp lệ"
