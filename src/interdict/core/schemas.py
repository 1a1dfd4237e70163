"""The base of every input schema: what every channel's text goes through before a domain sees it."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, model_validator

from interdict.core.text import strip_bidi_deep


class Input(BaseModel):
    """Input models (API bodies, web forms, imports, CLI) derive from this: bidirectional formatting characters are
    removed from every string in the input, nested lists and objects included (``core.text.strip_bidi``), so no name,
    file name or text is stored with an override that makes it read as something else. Fields listed in
    ``raw_fields`` (secrets compared as typed) are left alone."""

    raw_fields: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_bidi_controls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return strip_bidi_deep(data, cls.raw_fields)
        return data
