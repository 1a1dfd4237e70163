from __future__ import annotations

import uuid

from pydantic import BaseModel


class SubstanceHit(BaseModel):
    id: uuid.UUID
    name: str
    cas: str | None
    matched_name: str
    matched_lang: str
    score: float
    exact: bool
    controls: list[str]
    classes: list[str]
    is_nps: bool
    is_precursor: bool


class SubstanceDetail(BaseModel):
    id: uuid.UUID
    name: str
    cas: str | None
    controls: list[str]
    classes: list[str]
    hs_codes: list[str]
    names: dict[str, list[str]]
    is_nps: bool
    is_precursor: bool


class LocationHit(BaseModel):
    code: str
    name: str
    country: str
    country_name: str
    subdivision: str | None
    is_seaport: bool
    is_airport: bool
    is_border: bool
    functions_known: bool = True
    other_names: list[str] = []
    source: str
    label: str


class HsHit(BaseModel):
    code: str
    description: str


class CountryRead(BaseModel):
    code: str
    name: str
    label: str


class TermRead(BaseModel):
    code: str
    parent: str | None
    label: str


class ClassRead(BaseModel):
    code: str
    label: str
    kind: str


class Validation(BaseModel):
    kind: str
    value: str
    valid: bool
    normalised: str | None = None
    message: str | None = None
    warning: str | None = None
