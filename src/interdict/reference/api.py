"""Reference lookups for forms and clients: substance autocomplete, ports, HS, countries, validators."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic_core import PydanticCustomError

from interdict.accounts.deps import SubjectDep
from interdict.core.deps import SessionDep
from interdict.core.errors import NotFound
from interdict.core.i18n import N_, Message, translate
from interdict.core.text import fold
from interdict.reference import validators
from interdict.reference.catalogue import get_index
from interdict.reference.countries import search_countries
from interdict.reference.schemas import (
    ClassRead,
    CountryRead,
    HsHit,
    LocationHit,
    SubstanceDetail,
    SubstanceHit,
    TermRead,
    Validation,
)
from interdict.sharing.service import any_participant


def _participants(subject: SubjectDep) -> None:
    any_participant(subject, "reference data")


router = APIRouter(prefix="/api/v1/reference", tags=["reference"], dependencies=[Depends(_participants)])
Lang = Literal["en", "vi"]


@router.get("/substances", response_model=list[SubstanceHit])
def search_substances(
    db: SessionDep,
    subject: SubjectDep,
    q: str = Query(min_length=1, max_length=100),
    limit: int = Query(default=10, ge=1, le=50),
) -> list[SubstanceHit]:
    """Ranked autocomplete over every name, synonym, abbreviation (en/vi/zh) and CAS RN."""
    index = get_index(db)
    return [
        SubstanceHit(
            id=m.substance.id,
            name=m.substance.name,
            cas=m.substance.cas,
            matched_name=m.matched_name,
            matched_lang=m.matched_lang,
            score=m.score,
            exact=m.exact,
            controls=m.substance.controls,
            classes=m.substance.classes,
            is_nps=m.substance.is_nps,
            is_precursor=m.substance.is_precursor,
        )
        for m in index.search_substances(q, limit=limit)
    ]


@router.get("/substances/{substance_id}", response_model=SubstanceDetail)
def get_substance(substance_id: uuid.UUID, db: SessionDep, subject: SubjectDep) -> SubstanceDetail:
    info = get_index(db).substances.get(substance_id)
    if info is None:
        raise NotFound(N_("substance not found"))
    return SubstanceDetail(
        id=info.id,
        name=info.name,
        cas=info.cas,
        controls=info.controls,
        classes=info.classes,
        hs_codes=info.hs_codes,
        names=info.names,
        is_nps=info.is_nps,
        is_precursor=info.is_precursor,
    )


@router.get("/substance-classes", response_model=list[ClassRead])
def substance_classes(db: SessionDep, subject: SubjectDep, lang: Lang = "en") -> list[ClassRead]:
    index = get_index(db)
    out = [
        ClassRead(code=c, label=labels[1] if lang == "vi" else labels[0], kind="class")
        for c, labels in sorted(index.class_labels.items())
    ]
    out += [
        ClassRead(code=c.code, label=c.label_vi if lang == "vi" else c.label_en, kind="list")
        for c in index.control_lists.values()
    ]
    return out


@router.get("/locations", response_model=list[LocationHit])
def search_locations(
    db: SessionDep,
    subject: SubjectDep,
    q: str = Query(min_length=1, max_length=100),
    country: str | None = Query(default=None, max_length=2),
    seaport: bool = False,
    limit: int = Query(default=10, ge=1, le=50),
    lang: Lang = "en",
) -> list[LocationHit]:
    index = get_index(db)
    return [
        LocationHit(
            code=loc.code,
            name=loc.name,
            country=loc.country,
            country_name=index.country_name(loc.country, lang),
            subdivision=loc.subdivision,
            is_seaport=loc.is_seaport,
            is_airport=loc.is_airport,
            is_border=loc.is_border,
            functions_known=loc.functions_known,
            other_names=list(loc.other_names),
            source=loc.source,
            label=f"{loc.code} — {loc.name}",
        )
        for loc in index.search_locations(q, country=country.upper() if country else None, seaport=seaport, limit=limit)
    ]


@router.get("/countries", response_model=list[CountryRead])
def countries(
    db: SessionDep,
    subject: SubjectDep,
    lang: Lang = "en",
    q: str | None = Query(default=None, max_length=60),
    limit: int = Query(default=300, ge=1, le=300),
) -> list[CountryRead]:
    """Every country, or those whose code or a name (English or Vietnamese, with or without diacritics and spaces)
    matches ``q``, best first. ``label`` is what a form shows and accepts back: "Trung Quốc (CN)"."""
    index = get_index(db)
    if q:
        found = search_countries(q, lang, limit=limit)
        return [CountryRead(code=c.code, name=c.name(lang), label=c.label(lang)) for c in found]
    items = [
        CountryRead(code=c, name=index.country_name(c, lang), label=f"{index.country_name(c, lang)} ({c})")
        for c in index.countries
    ]
    return sorted(items, key=lambda c: fold(c.name))[:limit]


@router.get("/hs", response_model=list[HsHit])
def search_hs(
    db: SessionDep,
    subject: SubjectDep,
    q: str = Query(min_length=2, max_length=100),
    limit: int = Query(default=15, ge=1, le=100),
) -> list[HsHit]:
    index = get_index(db)
    digits = q.replace(".", "").replace(" ", "")
    if digits.isdigit():
        hits = [(c, d) for c, d in index.hs.items() if c.startswith(digits)]
    else:
        f = fold(q)
        hits = [(c, d) for c, d in index.hs.items() if f in fold(d)]
    return [HsHit(code=c, description=d) for c, d in sorted(hits)[:limit]]


@router.get("/taxonomy/{scheme}", response_model=list[TermRead])
def taxonomy(scheme: str, db: SessionDep, subject: SubjectDep, lang: Lang = "en") -> list[TermRead]:
    terms = get_index(db).taxonomy.get(scheme)
    if terms is None:
        raise NotFound(N_("no taxonomy '%(scheme)s'", scheme=scheme))
    return [
        TermRead(code=t.code, parent=t.parent, label=t.label_vi if lang == "vi" else t.label_en)
        for t in terms.values()
        if t.active
    ]


@router.get("/validate", response_model=Validation)
def validate(
    db: SessionDep,
    subject: SubjectDep,
    request: Request,
    kind: Literal["cas", "container", "imo", "hs", "locode", "country"],
    value: str = Query(max_length=100),
    lang: Lang | None = None,
) -> Validation:
    """Check one identifier as a form field would (for inline validation while typing). The message is in ``lang``,
    else in the language the browser shows Interdict in (its language cookie), else in the account's."""
    shown_in = lang or request.cookies.get("interdict_lang") or subject.locale
    validators_by_kind: dict[str, Callable[[str], str]] = {
        "cas": validators.normalise_cas,
        "container": validators.normalise_container,
        "imo": validators.normalise_imo,
        "hs": validators.normalise_hs_format,
        "locode": validators.normalise_locode,
        "country": validators.normalise_country,
    }
    fn = validators_by_kind[kind]
    try:
        normalised = fn(value)
    except PydanticCustomError as exc:
        own = (exc.context or {}).get("message")
        text = translate(own, shown_in) if isinstance(own, Message) else exc.message()
        return Validation(kind=kind, value=value, valid=False, message=text)
    index = get_index(db)
    if kind == "hs":
        key = normalised[:6] if len(normalised) >= 6 else normalised[:4]
        if key not in index.hs:
            return Validation(
                kind=kind,
                value=value,
                valid=False,
                message=N_("HS code %(code)s does not exist in HS 2022", code=value).in_lang(shown_in),
            )
    if kind == "locode" and normalised not in index.locations:
        return Validation(
            kind=kind,
            value=value,
            valid=True,
            normalised=normalised,
            warning=N_(
                "UN/LOCODE %(code)s is not in the reference list; it will be accepted as typed", code=normalised
            ).in_lang(shown_in),
        )
    return Validation(kind=kind, value=value, valid=True, normalised=normalised)
