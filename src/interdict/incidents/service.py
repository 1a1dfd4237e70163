"""The incident registry: create, change, submit, close, search, history, attachments.

Services never commit: the caller's unit of work does. Every read goes through
``sharing.readable``; every write through ``sharing.require_editable``.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Literal, cast

from pydantic import ValidationError
from sqlalchemy import Select, Table, Uuid, any_, bindparam, event, func, select, text, union_all
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, selectinload

from interdict.accounts.models import Organisation, User
from interdict.accounts.subject import Subject
from interdict.audit import service as audit
from interdict.core import outbox
from interdict.core.clock import today, utcnow
from interdict.core.db import insert_rows, new_id
from interdict.core.errors import (
    Conflict,
    ErrorCollector,
    FieldError,
    InvalidInput,
    NotFound,
    from_validation_error,
)
from interdict.core.filters import Group, uses_field
from interdict.core.i18n import N_
from interdict.core.ids import uuid7
from interdict.core.pagination import PageParams, Slice
from interdict.core.text import search_document, tokens
from interdict.incidents import numbering, search
from interdict.incidents.models import (
    Incident,
    IncidentContainer,
    IncidentModus,
    IncidentParty,
    IncidentPlace,
    IncidentSubstance,
    IncidentTransit,
    IncidentVersion,
)
from interdict.incidents.schemas import IncidentBase, IncidentCreate, IncidentPatch
from interdict.incidents.vocab import LABELS, TRANSITIONS, UNIT_FACTORS
from interdict.reference.catalogue import ReferenceIndex, SubstanceInfo, get_index
from interdict.sharing import groups
from interdict.sharing.schemas import SharingChange
from interdict.sharing.service import (
    TLP_EXPORT_FORBIDDEN,
    audience_clause,
    audience_tokens,
    can_see_nominal,
    nominal_clause,
    reach_parts,
    readable,
    record_audience,
    require_editable,
    require_writer,
    set_audience,
    subject_audience,
)

SORTS = {
    "-incident_date": (Incident.incident_date.desc(), Incident.reference.desc()),
    "incident_date": (Incident.incident_date.asc(), Incident.reference.asc()),
    "-reported_date": (Incident.reported_date.desc(), Incident.reference.desc()),
    "-updated_at": (Incident.updated_at.desc(),),
    "reference": (Incident.reference.asc(),),
}

INDEXED_SORTS = frozenset({"-incident_date", "incident_date", "reference"})

Action = Literal["submit", "close", "reopen"]


# --- validation against the reference data ---------------------------------------------------


@dataclass
class Checked:
    substances: list[SubstanceInfo | None]
    warnings: list[FieldError]


def check(
    index: ReferenceIndex,
    data: IncidentBase,
    *,
    reported_default: date | None = None,
    errors: ErrorCollector | None = None,
) -> Checked:
    """Checks that need the reference data or several fields. Raises InvalidInput listing every problem. Reads only;
    copes with a missing required field (the web form's one-pass check of a partly malformed form)."""
    errs = errors or ErrorCollector()
    now = today()
    if data.incident_date is not None and data.incident_date > now + timedelta(days=1):
        errs.add(("incident_date",), N_("the incident date is in the future"))
    reported = data.reported_date or reported_default or now
    if data.incident_date is not None and reported < data.incident_date:
        errs.add(("reported_date",), N_("the reported date cannot be before the incident date"))
    if reported > now + timedelta(days=1):
        errs.add(("reported_date",), N_("the reported date is in the future"))

    def check_locode(loc: tuple[str | int, ...], code: str | None, country: str | None, country_field: str) -> None:
        if not code:
            return
        if country and code[:2] != country:
            errs.add(loc, f"UN/LOCODE {code} is in {code[:2]}, but {country_field} is {country}")
        elif code not in index.locations:
            errs.warn(
                loc,
                f"UN/LOCODE {code} is not in the reference list; accepted as typed",
            )

    check_locode(("locode",), data.locode, data.country, "the country")
    check_locode(("departure_locode",), data.departure_locode, data.departure_country, "the departure country")
    check_locode(("destination_locode",), data.destination_locode, data.destination_country, "the destination country")
    for i, t in enumerate(data.transits):
        check_locode(("transits", i, "locode"), t.locode, t.country, "the transit country")

    if data.declared_hs_code:
        code = data.declared_hs_code
        key = code[:6] if len(code) >= 6 else code[:4]
        if key not in index.hs:
            errs.add(
                ("declared_hs_code",),
                N_("HS code %(code)s does not exist in HS 2022 (%(key)s is unknown)", code=code, key=key),
            )

    seen: set[str] = set()
    for i, c in enumerate(data.containers):
        if c.number in seen:
            errs.add(("containers", i, "number"), N_("container %(number)s is listed twice", number=c.number))
        seen.add(c.number)

    resolved: list[SubstanceInfo | None] = []
    for i, line in enumerate(data.substances):
        if line.substance is None:
            resolved.append(None)
            continue
        found, candidates = index.resolve_substance(line.substance)
        if found is None:
            if candidates and any(c.name for c in candidates):
                names = "; ".join(f"{c.name}" + (f" ({c.cas})" if c.cas else "") for c in candidates[:3])
                errs.add(
                    ("substances", i, "substance"),
                    N_(
                        "unknown or ambiguous substance '%(substance)s'; did you mean: %(names)s?",
                        substance=line.substance,
                        names=names,
                    ),
                    "unknown_substance",
                )
            else:
                errs.add(
                    ("substances", i, "substance"),
                    N_(
                        "unknown substance '%(substance)s': not in the catalogue; record it as unidentified with a description instead",
                        substance=line.substance,
                    ),
                    "unknown_substance",
                )
        resolved.append(found)

    modus = index.taxonomy.get("modus", {})
    for i, code in enumerate(data.modus):
        term = modus.get(code)
        if term is None or not term.active:
            errs.add(("modus", i), N_("unknown modus operandi / concealment code '%(code)s'", code=code))
    if len(set(data.modus)) != len(data.modus):
        errs.add(("modus",), N_("a modus operandi code is listed twice"))
    errs.raise_if_any()
    return Checked(resolved, errs.warnings)


# --- writing ---------------------------------------------------------------------------------


def reference_notes(incident: Incident, index: ReferenceIndex) -> list[FieldError]:
    """What a reader should know about a stored incident's codes (e.g. a port not in the shipped list)."""
    notes = []
    places = [
        ("locode", incident.locode),
        ("departure_locode", incident.departure_locode),
        ("destination_locode", incident.destination_locode),
    ]
    places += [(f"transits[{i}].locode", t.locode) for i, t in enumerate(incident.transits)]
    for field, code in places:
        if code and code not in index.locations:
            notes.append(
                FieldError(
                    (field,),
                    N_("UN/LOCODE %(code)s is not in the reference list; kept as typed", code=code),
                    "warning",
                )
            )
    return notes


def _normalise_quantity(quantity: Decimal | None, unit: str | None) -> tuple[Decimal | None, str | None]:
    if quantity is None or unit is None:
        return None, None
    factor = UNIT_FACTORS.get(unit)
    if factor is None:
        return None, None
    return quantity * factor[0], factor[1]


Maker = Callable[..., Any]


def _orm(cls: type[Any], **values: Any) -> Any:
    return cls(**values)


def _apply(incident: Any, data: IncidentBase, checked: Checked, reported_default: date, make: Maker = _orm) -> None:
    """Copy validated input onto an incident (an ORM row, or a plain namespace for bulk inserts)."""
    scalar = data.model_dump(
        exclude={"transits", "containers", "substances", "parties", "modus", "submit", "reference", "sharing_group"}
    )
    for key, value in scalar.items():
        setattr(incident, key, value)
    incident.reported_date = data.reported_date or reported_default
    incident.transits = [
        make(IncidentTransit, seq=i, country=t.country, locode=t.locode) for i, t in enumerate(data.transits)
    ]
    incident.containers = [
        make(IncidentContainer, seq=i, number=c.number, seal_numbers=c.seal_numbers)
        for i, c in enumerate(data.containers)
    ]
    incident.parties = [
        make(IncidentParty, seq=i, name_folded=" ".join(tokens(p.name)), **p.model_dump())
        for i, p in enumerate(data.parties)
    ]
    incident.modus = [make(IncidentModus, code=c) for c in data.modus]
    points = [
        ("place", data.country, data.locode),
        ("origin", data.origin_country, None),
        ("departure", data.departure_country, data.departure_locode),
    ]
    points += [("transit", t.country, t.locode) for t in data.transits]
    points.append(("destination", data.destination_country, data.destination_locode))
    incident.places = [make(IncidentPlace, role=r, country=c, locode=code) for r, c, code in points if c or code]
    lines = []
    for i, (line, info) in enumerate(zip(data.substances, checked.substances, strict=True)):
        qn, un = _normalise_quantity(line.quantity, line.unit)
        values = line.model_dump(exclude={"substance"})
        lines.append(
            make(
                IncidentSubstance,
                seq=i,
                substance_id=info.id if info else None,
                quantity_normalised=qn,
                unit_normalised=un,
                **values,
            )
        )
    incident.substances = lines


def build_search_text(incident: Incident, index: ReferenceIndex) -> str:
    parts: list[str | None] = [
        incident.reference,
        incident.case_reference,
        LABELS.get(incident.incident_type),
        incident.place_name,
        incident.locode,
        incident.departure_locode,
        incident.destination_locode,
        incident.vessel_name,
        incident.vessel_imo,
        incident.voyage,
        incident.bl_awb,
        incident.vehicle_plate,
        incident.parcel_tracking,
        incident.goods_description,
        incident.declared_hs_code,
        incident.narrative,
    ]
    for code in (incident.locode, incident.departure_locode, incident.destination_locode):
        if code and code in index.locations:
            parts.append(index.locations[code].name)
    for c in incident.containers:
        parts += [c.number, c.seal_numbers]
    for p in incident.parties:
        if p.kind != "person":  # natural persons are nominal data: see build_nominal_text
            parts += [p.name, p.address, p.tax_id, p.phone, p.email, p.id_document]
    for s in incident.substances:
        parts += [s.other_description, s.declared_as]
        info = index.substances.get(s.substance_id) if s.substance_id else None
        if info:
            parts += [info.name, info.cas, *info.names.get("vi", [])[:2], *info.names.get("zh", [])[:2]]
    return search_document(*parts)


def build_nominal_text(incident: Incident) -> str | None:
    """The searchable person data, kept apart so only readers allowed to see it can find a record by it."""
    parts: list[str | None] = []
    for p in incident.parties:
        if p.kind == "person":
            parts += [p.name, p.address, p.tax_id, p.phone, p.email, p.id_document]
    return search_document(*parts) if parts else None


def _apply_sharing(session: Session, subject: Subject, incident: Incident, data: IncidentBase) -> None:
    incident.sharing_group_id = groups.resolve_group(
        session, subject, data.distribution, data.sharing_group, current=incident.sharing_group_id
    )


@event.listens_for(Session, "before_flush")
def _keep_audience(session: Session, _context: Any, _instances: Any) -> None:
    """Every incident written through the ORM (create, update, submit, sharing change) gets the audience its
    current owner, status, distribution, group and TLP give (bulk writes set it in prepare_bulk)."""
    changed = [o for o in (*session.new, *session.dirty) if isinstance(o, Incident)]
    if not changed:
        return
    with session.no_autoflush:
        for incident in changed:
            tokens = record_audience(session, incident)
            if incident.audience != tokens or incident.reach != tokens[-1]:
                set_audience(incident, tokens)


def _index_text(incident: Incident, index: ReferenceIndex) -> None:
    incident.search_text = build_search_text(incident, index)
    incident.nominal_text = build_nominal_text(incident)
    incident.company_names, incident.person_names = build_party_names(incident)


def rebuild_texts(session: Session, *, batch: int = 500) -> int:
    """Recompute every incident's derived search texts with the current code (a maintenance task, run when a
    migration changes how they are built). Writes with plain UPDATEs: no version or history change."""
    index = get_index(session)
    table = cast(Table, Incident.__table__)
    last: uuid.UUID | None = None
    done = 0
    while True:
        stmt = select(Incident).options(*FULL_LOAD).order_by(Incident.id).limit(batch)
        if last is not None:
            stmt = stmt.where(Incident.id > last)
        items = list(session.scalars(stmt))
        if not items:
            return done
        values = []
        for inc in items:
            companies, persons = build_party_names(inc)
            search_text, nominal_text = build_search_text(inc, index), build_nominal_text(inc)
            values.append(
                {
                    "b_id": inc.id,
                    "search_text": search_text,
                    "nominal_text": nominal_text,
                    "company_names": companies,
                    "person_names": persons,
                }
            )
            search.index_incident(session, inc.id, search_text, nominal_text, new=False)
        session.execute(table.update().where(table.c.id == bindparam("b_id", type_=table.c.id.type)), values)
        last = items[-1].id
        done += len(items)
        session.expunge_all()


def build_party_names(incident: Incident) -> tuple[str, str | None]:
    """(organisations' names, natural persons' names or None) as folded tokens, for the company filter."""
    companies = search_document(*(p.name for p in incident.parties if p.kind != "person"))
    persons = search_document(*(p.name for p in incident.parties if p.kind == "person"))
    return companies, persons or None


def _plain(value: Decimal | None) -> str | None:
    """1200.000000 -> '1200' (never '1.2E+3')."""
    if value is None:
        return None
    plain = format(value.normalize(), "f")
    return plain


def snapshot(incident: Incident, index: ReferenceIndex) -> dict[str, Any]:
    """The record as the user sees it, JSON-ready: stored with each version and diffed for history."""

    def s(v: Any) -> Any:
        if v is None or isinstance(v, (str, int, bool)):
            return v
        return str(v)

    out: dict[str, Any] = {
        k: s(getattr(incident, k))
        for k in (
            "incident_type",
            "status",
            "case_reference",
            "incident_date",
            "reported_date",
            "country",
            "locode",
            "place_type",
            "place_name",
            "mode_of_transport",
            "origin_country",
            "departure_country",
            "departure_locode",
            "destination_country",
            "destination_locode",
            "bl_awb",
            "vessel_name",
            "vessel_imo",
            "voyage",
            "vehicle_plate",
            "parcel_tracking",
            "goods_description",
            "declared_hs_code",
            "detection_method",
            "narrative",
            "distribution",
            "tlp",
            "share_nominal",
        )
    }
    out["sharing_group"] = str(incident.sharing_group_id) if incident.sharing_group_id else None
    out["transits"] = [{"country": t.country, "locode": t.locode} for t in incident.transits]
    out["containers"] = [{"number": c.number, "seal_numbers": c.seal_numbers} for c in incident.containers]
    out["parties"] = [
        {
            k: getattr(p, k)
            for k in ("role", "kind", "name", "address", "country", "tax_id", "id_document", "phone", "email")
        }
        for p in incident.parties
    ]
    out["modus"] = sorted(m.code for m in incident.modus)
    lines = []
    for line in incident.substances:
        info = index.substances.get(line.substance_id) if line.substance_id else None
        lines.append(
            {
                "substance": info.name if info else None,
                "substance_id": str(line.substance_id) if line.substance_id else None,
                "cas": info.cas if info else None,
                "other_description": line.other_description,
                "declared_as": line.declared_as,
                "quantity": _plain(line.quantity),
                "unit": line.unit,
                "purity_percent": _plain(line.purity_percent),
                "form": line.form,
                "lab_confirmation": line.lab_confirmation,
            }
        )
    out["substances"] = lines
    return out


def diff(old: dict[str, Any] | None, new: dict[str, Any]) -> list[dict[str, Any]]:
    if old is None:
        return []
    return [{"field": k, "old": old.get(k), "new": v} for k, v in new.items() if old.get(k) != v]


def _audit_change(
    session: Session, subject: Subject, incident: Incident, action: str, old: dict[str, Any], new: dict[str, Any]
) -> None:
    changed = [c["field"] for c in diff(old, new)]
    audit.record(
        session,
        subject,
        action,
        object_type="incident",
        object_id=incident.id,
        object_label=incident.reference,
        summary=", ".join(changed),
        before={k: old.get(k) for k in changed},
        after={k: new.get(k) for k in changed},
    )


def record_nominal_read(
    session: Session, subject: Subject, incident: Incident, shown_persons: int, *, where: str = ""
) -> None:
    """Every read of person data is audited (who saw which incident's persons, from where). This is the one
    mechanism: every surface that shows an incident's natural persons (the record, its history, links, entity
    pages, the graph, targeting reasons, watch-list hits, notifications) records through it, one entry per
    incident and request (or message); ``where`` names the surface when it is not the record itself."""
    if shown_persons:
        audit.record(
            session,
            subject,
            "incident.read_nominal",
            object_type="incident",
            object_id=incident.id,
            object_label=incident.reference,
            summary=f"{shown_persons} natural person(s) shown" + (f" in {where}" if where else ""),
        )


def record_nominal_reads(session: Session, subject: Subject, shown: dict[uuid.UUID, int], *, where: str = "") -> None:
    """:func:`record_nominal_read` for person data of several incidents shown elsewhere (links, entity pages,
    the graph, targeting reasons, watch lists, notifications): ``shown`` maps an incident id to the persons
    shown of it."""
    for incident_id, n in shown.items():
        incident = session.get(Incident, incident_id)
        if incident is not None:
            record_nominal_read(session, subject, incident, n, where=where)


def _record_version(
    session: Session,
    incident: Incident,
    subject: Subject,
    action: str,
    old: dict[str, Any] | None,
    index: ReferenceIndex,
    extra: list[dict[str, Any]] | None = None,
) -> None:
    snap = snapshot(incident, index)
    changes = diff(old, snap) + (extra or [])
    session.add(
        IncidentVersion(
            incident_id=incident.id,
            version=incident.version,
            action=action,
            changed_by_id=subject.user_id,
            changed_at=incident.updated_at,
            channel=subject.channel,
            snapshot=snap,
            changes=changes,
        )
    )


def _event_payload(incident: Incident) -> dict[str, Any]:
    return {
        "id": str(incident.id),
        "reference": incident.reference,
        "version": incident.version,
        "owner_org_id": str(incident.owner_org_id),
        "status": incident.status,
    }


SERVER_ASSIGNS_REFERENCES = (
    "references are assigned by the server from your unit's numbering; only an import of your unit's own "
    "historic records keeps its references"
)


def not_own_reference(reference: str, org_code: str) -> str:
    return (
        f"reference {reference} is not in your unit's numbering ({org_code}-YEAR-NUMBER): an import keeps only "
        "references of your unit's own records; leave the reference empty to have one assigned"
    )


def create_incident(
    session: Session, subject: Subject, data: IncidentCreate, *, is_demo: bool = False
) -> tuple[Incident, list[FieldError]]:
    require_writer(subject)
    index = get_index(session)
    checked = check(index, data)
    if data.reference:
        # Only an import of the unit's own historic records keeps a reference (numbering.foreign_references).
        raise InvalidInput(FieldError(("reference",), SERVER_ASSIGNS_REFERENCES, "assigned_by_server"))
    reference = numbering.next_reference(session, subject.org_id, subject.org_code, data.incident_date.year)
    now = utcnow()
    incident = Incident(
        id=new_id(),
        reference=reference,
        status="draft",
        is_demo=is_demo,
        owner_org_id=subject.org_id,
        created_by_id=subject.user_id,
        updated_by_id=subject.user_id,
        created_at=now,
        updated_at=now,
        version=1,
    )
    _apply(incident, data, checked, now.date())
    _apply_sharing(session, subject, incident, data)
    if data.submit:
        incident.status = "submitted"
        incident.submitted_at = now
    _index_text(incident, index)
    session.add(incident)
    session.flush()
    search.index_incident(session, incident.id, incident.search_text, incident.nominal_text, new=True)
    _record_version(session, incident, subject, "submitted" if data.submit else "created", None, index)
    audit.record(
        session,
        subject,
        "incident.create",
        object_type="incident",
        object_id=incident.id,
        object_label=incident.reference,
        after={k: getattr(incident, k) for k in ("incident_type", "status", "distribution", "tlp", "share_nominal")},
    )
    if data.submit:
        outbox.emit(session, "incident.published", incident.id, _event_payload(incident))
    return incident, checked.warnings


def get_incident(session: Session, subject: Subject, incident_id: uuid.UUID | str) -> Incident:
    """The incident if it exists and the subject may read it; NotFound otherwise (never Forbidden)."""
    stmt = select(Incident)
    try:
        stmt = stmt.where(
            Incident.id == (incident_id if isinstance(incident_id, uuid.UUID) else uuid.UUID(incident_id))
        )
    except ValueError:
        stmt = stmt.where(Incident.reference == str(incident_id))
    incident = session.scalar(readable(stmt, subject, Incident).options(*FULL_LOAD))
    if incident is None:
        raise NotFound(N_("incident not found"))
    return incident


def _check_version(incident: Incident, version: int) -> None:
    if version != incident.version:
        raise Conflict(
            N_(
                "incident %(reference)s was changed since you opened it (you edited version %(version)s, it is now at version %(version2)s); reload it and apply your change again",
                reference=incident.reference,
                version=version,
                version2=incident.version,
            )
        )


def current_input(incident: Incident, index: ReferenceIndex) -> dict[str, Any]:
    """The incident in the input shape (IncidentBase), e.g. to prefill a form or merge a patch."""
    snap = snapshot(incident, index)
    snap.pop("status")
    for line in snap["substances"]:
        line["substance"] = line.pop("substance_id")
        line.pop("cas")
    return snap


def update_incident(
    session: Session, subject: Subject, incident_id: uuid.UUID | str, patch: IncidentPatch
) -> tuple[Incident, list[FieldError]]:
    incident = get_incident(session, subject, incident_id)
    require_editable(incident, subject)
    _check_version(incident, patch.version)
    if incident.status == "closed":
        raise Conflict(
            N_("incident %(reference)s is closed; reopen it before changing it", reference=incident.reference)
        )
    index = get_index(session)
    merged = current_input(incident, index)
    merged.update(patch.model_dump(exclude_unset=True, exclude={"version"}, mode="json"))
    try:
        data = IncidentBase.model_validate(merged)
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    checked = check(index, data, reported_default=incident.reported_date)
    old = snapshot(incident, index)
    _apply(incident, data, checked, incident.reported_date)
    _apply_sharing(session, subject, incident, data)
    new = snapshot(incident, index)
    if diff(old, new) == []:
        return incident, checked.warnings
    published = incident.status in ("submitted", "updated")
    if published:
        incident.status = "updated"
    incident.version += 1
    incident.updated_at = utcnow()
    incident.updated_by_id = subject.user_id
    _index_text(incident, index)
    session.flush()
    search.index_incident(session, incident.id, incident.search_text, incident.nominal_text, new=False)
    _record_version(session, incident, subject, "updated", old, index)
    _audit_change(session, subject, incident, "incident.update", old, snapshot(incident, index))
    if published:
        outbox.emit(session, "incident.updated", incident.id, _event_payload(incident))
    return incident, checked.warnings


def transition(
    session: Session, subject: Subject, incident_id: uuid.UUID | str, action: Action, version: int
) -> Incident:
    incident = get_incident(session, subject, incident_id)
    require_editable(incident, subject)
    _check_version(incident, version)
    target = {"submit": "submitted", "close": "closed", "reopen": "updated"}[action]
    if action == "submit" and incident.status != "draft":
        raise Conflict(N_("incident %(reference)s is already submitted", reference=incident.reference))
    if action == "reopen" and incident.status != "closed":
        raise Conflict(N_("incident %(reference)s is not closed", reference=incident.reference))
    if target not in TRANSITIONS[incident.status]:
        raise Conflict(N_("an incident that is %(status)s cannot be %(target)s", status=incident.status, target=target))
    index = get_index(session)
    old = snapshot(incident, index)
    now = utcnow()
    incident.status = target
    incident.version += 1
    incident.updated_at = now
    incident.updated_by_id = subject.user_id
    if action == "submit":
        incident.submitted_at = now
    elif action == "close":
        incident.closed_at = now
    else:
        incident.closed_at = None
    session.flush()
    _record_version(
        session,
        incident,
        subject,
        {"submit": "submitted", "close": "closed", "reopen": "reopened"}[action],
        old,
        index,
    )
    audit.record(
        session,
        subject,
        f"incident.{action}",
        object_type="incident",
        object_id=incident.id,
        object_label=incident.reference,
        before={"status": old["status"]},
        after={"status": incident.status},
    )
    topic = "incident.published" if action == "submit" else "incident.updated"
    outbox.emit(session, topic, incident.id, _event_payload(incident))
    return incident


def change_sharing(session: Session, subject: Subject, incident_id: uuid.UUID | str, change: SharingChange) -> Incident:
    """Widen or narrow who may read a record. Reads are decided per query, so it takes effect everywhere at once."""
    incident = get_incident(session, subject, incident_id)
    require_editable(incident, subject)
    _check_version(incident, change.version)
    index = get_index(session)
    old = snapshot(incident, index)
    incident.sharing_group_id = groups.resolve_group(
        session, subject, change.distribution, change.sharing_group, current=incident.sharing_group_id
    )
    incident.distribution = change.distribution
    incident.tlp = change.tlp
    incident.share_nominal = change.share_nominal
    if diff(old, snapshot(incident, index)) == []:
        return incident
    incident.version += 1
    incident.updated_at = utcnow()
    incident.updated_by_id = subject.user_id
    session.flush()
    _record_version(session, incident, subject, "shared", old, index)
    _audit_change(session, subject, incident, "incident.share", old, snapshot(incident, index))
    if incident.status != "draft":
        outbox.emit(session, "incident.sharing_changed", incident.id, _event_payload(incident))
    return incident


def record_attachment_change(session: Session, subject: Subject, incident: Incident, change: dict[str, Any]) -> None:
    """Attachments are part of the record: adding or removing one is a new version."""
    index = get_index(session)
    incident.version += 1
    incident.updated_at = utcnow()
    incident.updated_by_id = subject.user_id
    session.flush()
    _record_version(session, incident, subject, "updated", None, index, extra=[change])
    audit.record(
        session,
        subject,
        "attachment.delete" if change.get("new") is None else "attachment.upload",
        object_type="incident",
        object_id=incident.id,
        object_label=incident.reference,
        before={"attachment": change.get("old")} if change.get("old") else None,
        after={"attachment": change.get("new")} if change.get("new") else None,
    )


# --- reading ---------------------------------------------------------------------------------


COUNT_CAP = 1_000
LIST_LOAD = (selectinload(Incident.substances), selectinload(Incident.containers))
FULL_LOAD = (*LIST_LOAD, selectinload(Incident.transits), selectinload(Incident.parties), selectinload(Incident.modus))


def search_incidents(
    session: Session,
    subject: Subject,
    *,
    filter_node: Group | None = None,
    q: str | None = None,
    sort: str = "-incident_date",
    page: PageParams | None = None,
    count_cap: int | None = COUNT_CAP,
    full: bool = False,
) -> Slice[Incident]:
    """One page of the incidents ``subject`` may read that match the filter and text.

    The total is exact up to ``count_cap`` matches; beyond it the slice says so (``total_exact``
    False) instead of counting every match of a broad query on every page.
    """
    page = page or PageParams()
    if sort not in SORTS:
        raise InvalidInput(
            FieldError(
                ("sort",), N_("unknown sort '%(sort)s'; use one of %(sorts)s", sort=sort, sorts=", ".join(SORTS))
            )
        )
    conditions = _search_conditions(session, subject, filter_node, q)
    ids = readable(select(Incident.id).where(*conditions), subject, Incident)
    if count_cap is not None:
        ids = ids.limit(count_cap + 1)
    total = session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    exact = count_cap is None or total <= count_cap
    stmt = readable(select(Incident).where(*conditions), subject, Incident).order_by(*SORTS[sort])
    stmt = stmt.options(*(FULL_LOAD if full else LIST_LOAD)).offset(page.offset).limit(page.page_size)
    dense = dense_plan(session, exact=exact, sort=sort, page=page)
    if dense and uses_field(filter_node, "company"):
        # The names check of the company filter defeats the planner's estimates even with the sort index
        # forced: search a window of the first rows instead.
        matching = readable(select(Incident.id).where(*conditions), subject, Incident).order_by(*SORTS[sort])
        if sort in REACH_SORTS:

            def recent(window: int) -> Select[Any]:
                return readable_in_order(session, subject, [], sort, limit=window)
        else:
            first = readable(select(Incident.id), subject, Incident).order_by(*SORTS[sort])

            def recent(window: int) -> Select[Any]:
                return first.limit(window)

        items = _page_from_recent(session, stmt, matching, recent, page, full=full)
    elif dense:
        # Over the count cap the matches are many, so the first ones in sort order come first when PostgreSQL
        # walks the sort index and filters (date conditions bound the walk); its full-text row estimates are
        # far too low for frequent words, and it would otherwise fetch every match and sort them.
        if sort in REACH_SORTS:
            ordered = readable_in_order(session, subject, conditions, sort, limit=page.offset + page.page_size)
            session.execute(text(MERGE_SETTINGS))
            try:
                page_ids = list(session.scalars(ordered))[page.offset :]
            finally:
                session.execute(text(MERGE_RESET))
            items = _load_in_order(session, page_ids, full=full)
        else:
            session.execute(text("SET LOCAL enable_bitmapscan = off"))
            try:
                items = list(session.scalars(stmt))
            finally:
                session.execute(text("SET LOCAL enable_bitmapscan = on"))
    else:
        items = list(session.scalars(stmt))
    return Slice(
        items=items,
        total=min(total, count_cap) if count_cap is not None else total,
        page=page.page,
        page_size=page.page_size,
        total_exact=exact,
    )


RECENT_WINDOW = 1_000
RECENT_WINDOW_MAX = 100_000
DENSE_SETTINGS = "SET LOCAL enable_bitmapscan = {0}; SET LOCAL enable_seqscan = {0}"
# readable_in_order: every part walks its index in order and the parts are merged, whatever the (far too low)
# full-text row estimates suggest; no part starts parallel workers (each Gather costs milliseconds to start, as
# much as a part's walk).
MERGE_SETTINGS = (
    DENSE_SETTINGS.format("off") + "; SET LOCAL enable_sort = off; SET LOCAL max_parallel_workers_per_gather = 0"
)
MERGE_RESET = "RESET enable_bitmapscan; RESET enable_seqscan; RESET enable_sort; RESET max_parallel_workers_per_gather"


def _page_from_recent(
    session: Session,
    stmt: Select[Any],
    matching: Select[Any],
    recent: Callable[[int], Select[Any]],
    page: PageParams,
    *,
    full: bool,
) -> list[Incident]:
    """A page of a search with many matches (over the count cap), found among the first rows in sort order.

    PostgreSQL's row estimates for frequent words and name prefixes are far too low, so left to itself it
    fetches every match and sorts them (seen at 10x the cost). Here the first N ids in sort order are read
    from the sort index and the search runs on those rows only, passed as an array so the planner knows
    there are N. The answer is exact whenever the window holds the whole page (every row outside it sorts
    after it); otherwise the window grows by the match rate seen so far, and past 100,000 rows the plain
    plan answers.
    """
    need = page.offset + page.page_size
    window = RECENT_WINDOW
    while window <= RECENT_WINDOW_MAX:
        ids = list(session.scalars(recent(window)))
        in_window = Incident.id == any_(bindparam("window_ids", ids, type_=ARRAY(Uuid())))
        session.execute(text(DENSE_SETTINGS.format("off")))
        try:
            found = list(session.scalars(matching.where(in_window)))
        finally:
            session.execute(text(DENSE_SETTINGS.format("on")))
        if len(found) >= need or len(ids) < window:
            return _load_in_order(session, found[page.offset : need], full=full)
        # Grow to where the page should be, at the rate of matches seen (at least 4x, at most 16x).
        rate = len(found) / len(ids)
        window = int(window * min(16, max(4, 1.5 * need / max(rate * window, 1))))
    return list(session.scalars(stmt))


def _load_in_order(session: Session, ids: list[uuid.UUID], *, full: bool) -> list[Incident]:
    rows = session.scalars(select(Incident).where(Incident.id.in_(ids)).options(*(FULL_LOAD if full else LIST_LOAD)))
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids]


# The sorts the (reach, incident_date, reference) index serves, in either direction.
REACH_SORTS = frozenset({"-incident_date", "incident_date"})


def readable_in_order(
    session: Session, subject: Subject, conditions: list[Any], sort: str, *, limit: int
) -> Select[Any]:
    """The first ``limit`` ids of the rows ``subject`` may read that meet ``conditions``, in ``sort`` order
    (PostgreSQL, a sort of REACH_SORTS).

    One part per token the reader answers to and one for its own unit's rows (sharing.reach_parts), each
    walked in date order in its index and stopped at ``limit``, merged (a Merge Append, which reads a part
    only as far as the merge needs): the walk reads only rows shared with the reader, so a small unit that
    may read a quarter of the records fills a page from as few rows as an administrator who may read half.
    A walk of the date index alone reads every row and drops the unreadable ones (for the small unit, three
    rows dropped for each one kept). Each part is limited in its own subquery: PostgreSQL 15 merges ordered
    parts of a UNION ALL only then (pulled up into one append, a part's equality on ``reach`` hides the
    order of its index).
    """

    def ordered(date: Any, reference: Any) -> tuple[Any, Any]:
        return (date.desc(), reference.desc()) if sort.startswith("-") else (date.asc(), reference.asc())

    columns = select(Incident.id, Incident.incident_date, Incident.reference)
    parts = [
        readable(columns.where(*conditions, part), subject, Incident)
        .order_by(*ordered(Incident.incident_date, Incident.reference))
        .limit(limit)
        for part in reach_parts(Incident, subject, subject_audience(session, subject))
    ]
    merged = union_all(*parts).subquery("readable_parts")
    return select(merged.c.id).order_by(*ordered(merged.c.incident_date, merged.c.reference)).limit(limit)


def dense_plan(session: Session, *, exact: bool, sort: str, page: PageParams) -> bool:
    """Whether the page query should walk the sort index (PostgreSQL; many matches, early pages)."""
    return (
        session.get_bind().dialect.name == "postgresql" and not exact and sort in INDEXED_SORTS and page.offset < 1000
    )


def _search_conditions(
    session: Session, subject: Subject, filter_node: Group | None, q: str | None, *, exporting: bool = False
) -> list[Any]:
    """Filter and text conditions. Person data is matched only where ``subject`` may see it (nominal_clause),
    so a search never reveals a record through data the subject is not shown."""
    dialect = session.get_bind().dialect.name
    nominal = nominal_clause(Incident, subject)
    conditions = [search.incident_registry(get_index(session), dialect, nominal=nominal).compile(filter_node)]
    if q and search.query_tokens(q):
        conditions.append(search.text_match(dialect, q, nominal=nominal))
    if exporting:
        conditions.append(Incident.tlp.not_in(TLP_EXPORT_FORBIDDEN))
    if dialect == "postgresql" and ((q and search.query_tokens(q)) or uses_field(filter_node, "company")):
        # Beside readable() (added by every caller), never instead: the GIN index over (text_vector, audience)
        # then skips the rows the subject may not read before any is fetched. Only for text searches: other
        # filters walk the sort index, where the extra condition would only mislead the row estimates.
        conditions.append(audience_clause(Incident, subject_audience(session, subject)))
    return conditions


def count_incidents(
    session: Session,
    subject: Subject,
    *,
    filter_node: Group | None = None,
    q: str | None = None,
    exporting: bool = False,
) -> int:
    conditions = _search_conditions(session, subject, filter_node, q, exporting=exporting)
    ids = readable(select(Incident.id).where(*conditions), subject, Incident)
    return session.scalar(select(func.count()).select_from(ids.subquery())) or 0


def iter_incidents(
    session: Session,
    subject: Subject,
    *,
    filter_node: Group | None = None,
    q: str | None = None,
    batch: int = 500,
    exporting: bool = False,
) -> Iterator[list[Incident]]:
    """Every readable match in reference order, in batches (keyset pagination: no growing OFFSET).

    ``exporting`` leaves out what TLP forbids to export (TLP:RED)."""
    conditions = _search_conditions(session, subject, filter_node, q, exporting=exporting)
    last: str | None = None
    while True:
        stmt = readable(select(Incident).where(*conditions), subject, Incident)
        if last is not None:
            stmt = stmt.where(Incident.reference > last)
        items = list(session.scalars(stmt.order_by(Incident.reference).limit(batch).options(*FULL_LOAD)))
        if not items:
            return
        yield items
        last = items[-1].reference


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    action: str
    changed_at: datetime
    changed_by_id: uuid.UUID
    channel: str
    changes: list[dict[str, Any]]


def history(session: Session, subject: Subject, incident_id: uuid.UUID | str) -> list[HistoryEntry]:
    """The versions of a readable incident, newest first, as ``subject`` may see them (persons withheld
    from readers who may not see nominal data)."""
    incident = get_incident(session, subject, incident_id)
    nominal = can_see_nominal(session, incident, subject)
    versions = session.scalars(
        select(IncidentVersion)
        .where(IncidentVersion.incident_id == incident.id)
        .order_by(IncidentVersion.version.desc())
    )
    return [
        HistoryEntry(
            version=v.version,
            action=v.action,
            changed_at=v.changed_at,
            changed_by_id=v.changed_by_id,
            channel=v.channel,
            changes=redact_changes(v.changes, nominal),
        )
        for v in versions
    ]


def redact_changes(changes: list[dict[str, Any]], nominal: bool) -> list[dict[str, Any]]:
    """History entries as a reader sees them: without the natural persons when nominal data is withheld."""
    if nominal:
        return list(changes)
    out = []
    for change in changes:
        if change.get("field") == "parties":
            change = {**change, "old": without_persons(change.get("old")), "new": without_persons(change.get("new"))}
            if change["old"] == change["new"]:
                continue
        out.append(change)
    return out


def persons_in_history(entries: list[HistoryEntry]) -> list[dict[str, Any]]:
    """The natural persons that history entries (as :func:`history` returned them to a reader) show, each once:
    a person added, removed or changed appears in the ``old`` or ``new`` party list of a ``parties`` change."""
    seen: dict[str, dict[str, Any]] = {}
    for entry in entries:
        for change in entry.changes:
            if change.get("field") != "parties":
                continue
            for side in (change.get("old"), change.get("new")):
                for p in side if isinstance(side, list) else []:
                    if isinstance(p, dict) and p.get("kind") == "person":
                        seen.setdefault(json.dumps(p, sort_keys=True, default=str), p)
    return list(seen.values())


def without_persons(parties: Any) -> Any:
    """A snapshot's party list without the natural persons (for readers who may not see nominal data)."""
    if not isinstance(parties, list):
        return parties
    return [p for p in parties if not (isinstance(p, dict) and p.get("kind") == "person")]


def users_by_id(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, User]:
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}


def orgs_by_id(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, Organisation]:
    if not ids:
        return {}
    return {o.id: o for o in session.scalars(select(Organisation).where(Organisation.id.in_(ids)))}


def counts_by(session: Session, subject: Subject, column: Any) -> list[tuple[Any, int]]:
    """Counts of readable incidents grouped by one column (dashboard statistics)."""
    stmt = readable(select(column, func.count()).group_by(column), subject, Incident)
    return [(k, n) for k, n in session.execute(stmt).tuples()]


# --- bulk creation (imports, demo data) -------------------------------------------------------


@dataclass
class BulkItem:
    data: IncidentCreate
    checked: Checked
    status: str = "submitted"
    sharing_group_id: uuid.UUID | None = None  # resolved by the caller when distribution is 'group'


class _Plain(SimpleNamespace):
    """A row being prepared for a bulk insert: attribute access like the ORM row, none of its bookkeeping."""

    table: Table


def _plain_row(cls: type[Any], **values: Any) -> _Plain:
    row = _Plain(id=uuid7(), **values)
    row.table = cls.__table__
    return row


@functools.cache
def _column_keys(table: Table) -> tuple[str, ...]:
    return tuple(c.key for c in table.columns)


def _row(obj: Any, table: Table) -> dict[str, Any]:
    values = obj.__dict__
    return {k: values.get(k) for k in _column_keys(table)}


@dataclass
class BulkRows:
    """Rows ready to insert for a batch of incidents (prepared without the database)."""

    tables: list[tuple[Table, list[dict[str, Any]]]]
    fts: list[tuple[uuid.UUID, str, str | None]]
    ids: list[uuid.UUID]


def prepare_bulk(
    index: ReferenceIndex,
    subject: Subject,
    org_code: str,
    items: list[BulkItem],
    *,
    references: dict[int, Iterator[str]],
    is_demo: bool = False,
) -> BulkRows:
    """The rows create_incident would write for each item: the record and its lines, version 1 with its
    snapshot, the search index entry and an ``incident.published`` event for submitted records.

    Pure Python (no database access): references of items without one come from ``references`` (free
    references per year, reserved beforehand with :func:`numbering.reserve_years`, consumed here).
    """
    now = utcnow()
    incidents_table = cast(Table, Incident.__table__)
    child_tables = [
        cast(Table, m.__table__)
        for m in (IncidentTransit, IncidentContainer, IncidentParty, IncidentModus, IncidentSubstance, IncidentPlace)
    ]
    rows: dict[str, list[dict[str, Any]]] = {t.name: [] for t in [incidents_table, *child_tables]}
    versions: list[dict[str, Any]] = []
    fts: list[tuple[uuid.UUID, str, str | None]] = []
    events: list[dict[str, Any]] = []
    ids: list[uuid.UUID] = []
    for it in items:
        year = it.data.incident_date.year
        reference = it.data.reference or next(references[year])
        inc: Any = SimpleNamespace(
            id=uuid7(),
            reference=reference,
            status=it.status,
            is_demo=is_demo,
            owner_org_id=subject.org_id,
            created_by_id=subject.user_id,
            updated_by_id=subject.user_id,
            created_at=now,
            updated_at=now,
            version=1,
            submitted_at=now if it.status != "draft" else None,
            closed_at=now if it.status == "closed" else None,
            sharing_group_id=it.sharing_group_id,
        )
        _apply(inc, it.data, it.checked, now.date(), make=_plain_row)
        set_audience(
            inc,
            audience_tokens(
                owner_org_id=subject.org_id,
                owner_root_id=subject.root_org_id,
                owner_country=subject.country,
                status=it.status,
                distribution=inc.distribution,
                sharing_group_id=inc.sharing_group_id,
                tlp=inc.tlp,
            ),
        )
        _index_text(inc, index)
        rows[incidents_table.name].append(_row(inc, incidents_table))
        for child_list in (inc.transits, inc.containers, inc.parties, inc.modus, inc.substances, inc.places):
            for child in child_list:
                child.incident_id = inc.id
                rows[child.table.name].append(_row(child, child.table))
        versions.append(
            {
                "id": uuid7(),
                "incident_id": inc.id,
                "version": 1,
                "action": "created" if is_demo else "imported",
                "changed_by_id": subject.user_id,
                "changed_at": now,
                "channel": subject.channel,
                "snapshot": snapshot(inc, index),
                "changes": [],
            }
        )
        fts.append((inc.id, inc.search_text, inc.nominal_text))
        if it.status != "draft":
            events.append(
                {
                    "topic": "incident.published",
                    "aggregate_id": inc.id,
                    "payload": {**_event_payload(inc), "bulk": True},
                    "created_at": now,
                    "processed_at": None,
                    "attempts": 0,
                }
            )
        ids.append(inc.id)
    tables = [(incidents_table, rows[incidents_table.name])]
    tables += [(t, rows[t.name]) for t in child_tables]
    tables += [(cast(Table, IncidentVersion.__table__), versions), (cast(Table, outbox.OutboxEvent.__table__), events)]
    return BulkRows(tables, fts, ids)


def write_bulk(session: Session, rows: BulkRows) -> None:
    for table, table_rows in rows.tables:
        insert_rows(session, table, table_rows)
    search.index_many(session, rows.fts)


def bulk_create(session: Session, subject: Subject, items: list[BulkItem], *, is_demo: bool = False) -> list[uuid.UUID]:
    """Insert many checked incidents with set-based INSERTs (COPY on PostgreSQL)."""
    require_writer(subject)
    if not items:
        return []
    counts = Counter(it.data.incident_date.year for it in items if not it.data.reference)
    kept = [it.data.reference for it in items if it.data.reference]
    if foreign := numbering.foreign_references(session, subject.org_code, kept):
        raise InvalidInput(
            [
                FieldError(("reference",), not_own_reference(r, subject.org_code), "not_own_numbering")
                for r in sorted(foreign)
            ]
        )
    reserved = numbering.reserve_years(session, subject.org_id, subject.org_code, dict(counts), also=frozenset(kept))
    rows = prepare_bulk(
        get_index(session),
        subject,
        subject.org_code,
        items,
        references={year: numbers.references() for year, numbers in reserved.items()},
        is_demo=is_demo,
    )
    write_bulk(session, rows)
    return rows.ids
