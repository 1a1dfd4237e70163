"""Shared input field types: text without control characters in every input, and patch fields that may be left
out but not set to null."""

from __future__ import annotations

import inspect
import tempfile
import typing
from typing import Annotated, Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from interdict.app import create_app
from interdict.config import Settings
from interdict.core.fields import Keep, Line, OptLine, OptText, Text, Verbatim, control_character, xml_safe
from tests.web.test_routes import all_routes

CONTROL = ["\x01", "\x0b", "\x0c", "\x1f", "\x7f", "\x85", "\ud800", "\uffff"]


@pytest.mark.parametrize("ch", CONTROL)
def test_every_text_type_refuses_control_characters(ch: str) -> None:
    for kind in (Line, OptLine, Text, OptText, Verbatim):
        with pytest.raises(ValidationError, match="control character"):
            TypeAdapter(kind).validate_python(f"ab{ch}cd")


def test_lines_fold_whitespace_and_texts_keep_tabs_and_line_breaks() -> None:
    assert TypeAdapter(Line).validate_python("  Cảnh báo\t thủ đoạn\r\nmới ") == "Cảnh báo thủ đoạn mới"
    assert TypeAdapter(OptLine).validate_python(" \t\n ") is None
    assert TypeAdapter(Text).validate_python(" a\tb\r\n\r\nc ") == "a\tb\r\n\r\nc"
    assert TypeAdapter(OptText).validate_python("  ") is None
    assert TypeAdapter(Verbatim).validate_python(" pass word ") == " pass word "
    assert control_character("Hải Phòng — “ok”\t\n") is None and control_character("a\x0bb") == "U+000B"


def test_xml_safe_keeps_everything_xml_can_hold() -> None:
    assert xml_safe("Tiêu đề\x0b\x01 mới\t\n\ud800") == "Tiêu đề mới\t\n"
    assert xml_safe("醋酸酐 \x85 ok") == "醋酸酐 \x85 ok"  # C1 is legal XML 1.0 (refused on input, harmless here)


class _Patch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Keep[Line] = Field(default=None, min_length=1, max_length=10)
    criteria: Keep[dict[str, Any]] = None
    active: Keep[bool] = None
    valid_to: str | None = None  # null has a meaning here: clear it


def test_keep_fields_may_be_left_out_but_not_null() -> None:
    assert _Patch.model_validate({}).model_dump(exclude_unset=True) == {}
    assert _Patch.model_validate({"valid_to": None}).model_dump(exclude_unset=True) == {"valid_to": None}
    for name in ("name", "criteria", "active"):
        with pytest.raises(ValidationError) as exc:
            _Patch.model_validate({name: None})
        assert [(e["loc"], e["type"]) for e in exc.value.errors()] == [((name,), "null")]
    with pytest.raises(ValidationError, match="at least 1 character"):
        _Patch.model_validate({"name": " "})
    schema = _Patch.model_json_schema()["properties"]
    assert schema["name"]["type"] == "string" and "anyOf" not in schema["name"]  # null is not offered


# --- every input of the API ---------------------------------------------------------------------------------

# Inputs whose strings are checked elsewhere, with the reason.
CHECKED_ELSEWHERE = {
    "Condition.value": "the filter language's own value check (core.filters.Condition._bounded)",
    "ProfileCreate.criteria": "read as a filter tree (core.filters.Group)",
    "ProfileUpdate.criteria": "read as a filter tree (core.filters.Group)",
    **{
        f"IncidentPatch.{name}": "merged into the record and validated as IncidentBase"
        for name in ("transits", "containers", "substances", "parties", "modus")
    },
}
PROBES = ["ab\x0bcd", ["ab\x0bcd"], {"k": "ab\x0bcd"}]


def _models(annotation: Any, seen: dict[type[BaseModel], None]) -> None:
    if typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            _models(arg, seen)
    elif inspect.isclass(annotation) and issubclass(annotation, BaseModel) and annotation not in seen:
        seen[annotation] = None
        for f in annotation.model_fields.values():
            _models(f.annotation, seen)


def _accepts_control_characters(annotation: Any, metadata: list[Any]) -> bool:
    adapter: TypeAdapter[Any] = TypeAdapter(Annotated[annotation, *metadata] if metadata else annotation)
    for probe in PROBES:
        try:
            adapter.validate_python(probe)
        except ValidationError:
            continue
        return True
    return False


def test_every_text_input_of_the_api_refuses_control_characters() -> None:
    """Every string field of every request body (JSON models and form fields) refuses a control character:
    a new field typed plain ``str`` fails here."""
    app = create_app(Settings(data_dir=tempfile.mkdtemp(), secret_key="x"))
    models: dict[type[BaseModel], None] = {}
    open_fields: list[str] = []
    forms = 0
    for path, _, route in all_routes(app.routes):
        if not isinstance(route, APIRoute):
            continue
        for param in route.dependant.body_params:
            annotation = param.field_info.annotation
            _models(annotation, models)
            if "str" in repr(annotation) and not models.keys() & set(typing.get_args(annotation) or [annotation]):
                forms += 1
                if _accepts_control_characters(annotation, param.field_info.metadata):
                    open_fields.append(f"{path} form field {param.name}")
    checked = 0
    for model in models:
        for name, f in model.model_fields.items():
            if "str" not in repr(f.annotation) and "Any" not in repr(f.annotation):
                continue
            key = f"{model.__name__}.{name}"
            if key in CHECKED_ELSEWHERE:
                continue
            checked += 1
            if _accepts_control_characters(f.annotation, f.metadata):
                open_fields.append(key)
    assert checked > 100 and forms >= 1
    assert open_fields == [], "\n".join(open_fields)
