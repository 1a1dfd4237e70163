"""From rows to the read shapes the API returns and the pages show."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy.orm import Session

from interdict.accounts.subject import Subject
from interdict.incidents.models import Incident
from interdict.incidents.schemas import (
    ContainerRead,
    IncidentRead,
    IncidentSummary,
    MatchPart,
    MatchRead,
    OrgRef,
    PartyRead,
    SharingGroupRef,
    SubstanceLineRead,
    SubstanceRef,
    TransitRead,
    UserRef,
    Warning_,
)
from interdict.incidents.search import snippet, why_matched
from interdict.incidents.service import orgs_by_id, users_by_id
from interdict.reference.catalogue import ReferenceIndex, get_index
from interdict.sharing.models import SharingGroup
from interdict.sharing.service import can_see_nominal


def substance_ref(index: ReferenceIndex, substance_id: object) -> SubstanceRef | None:
    info = index.substances.get(substance_id) if substance_id else None  # type: ignore[call-overload]
    if info is None:
        return None
    return SubstanceRef(id=info.id, name=info.name, cas=info.cas, controls=info.controls, classes=info.classes)


def to_read(
    session: Session,
    incident: Incident,
    *,
    subject: Subject | None,
    warnings: list[object] | None = None,
    nominal: bool | None = None,
) -> IncidentRead:
    """The read shape, as ``subject`` (the caller; None only for system use) may see it.

    ``nominal``: whether natural persons are shown (default: whether the subject may see them, see
    ``sharing.can_see_nominal``; ``False`` for a non-nominal export). Without a subject, everything.
    """
    index = get_index(session)
    if nominal is None:
        nominal = subject is None or can_see_nominal(session, incident, subject)
    shown_parties = [p for p in incident.parties if nominal or p.kind != "person"]
    group_ref: SharingGroupRef | None = None
    if incident.sharing_group_id is not None:
        group = session.get(SharingGroup, incident.sharing_group_id)
        if group is not None:
            group_ref = SharingGroupRef(id=group.id, code=group.code, name=group.name)
    users: dict[object, UserRef] = {}
    org: OrgRef | None = None
    if subject is not None:
        users[subject.user_id] = UserRef(id=subject.user_id, username=subject.username, full_name=subject.full_name)
    missing = {incident.created_by_id, incident.updated_by_id} - set(users)
    users.update(
        {
            u.id: UserRef(id=u.id, username=u.username, full_name=u.full_name)
            for u in users_by_id(session, missing).values()
        }
    )
    if org is None:
        o = orgs_by_id(session, {incident.owner_org_id})[incident.owner_org_id]
        org = OrgRef(id=o.id, code=o.code, name=o.name, name_local=o.name_local)

    def user_ref(uid: object) -> UserRef:
        return users[uid]

    return IncidentRead(
        id=incident.id,
        reference=incident.reference,
        case_reference=incident.case_reference,
        incident_type=incident.incident_type,
        status=incident.status,
        is_demo=incident.is_demo,
        owner_org=org,
        created_by=user_ref(incident.created_by_id),
        updated_by=user_ref(incident.updated_by_id),
        created_at=incident.created_at,
        updated_at=incident.updated_at,
        submitted_at=incident.submitted_at,
        closed_at=incident.closed_at,
        version=incident.version,
        distribution=incident.distribution,
        sharing_group=group_ref,
        tlp=incident.tlp,
        share_nominal=incident.share_nominal,
        persons_withheld=len(incident.parties) - len(shown_parties),
        incident_date=incident.incident_date,
        reported_date=incident.reported_date,
        country=incident.country,
        locode=incident.locode,
        place_type=incident.place_type,
        place_name=incident.place_name,
        mode_of_transport=incident.mode_of_transport,
        origin_country=incident.origin_country,
        departure_country=incident.departure_country,
        departure_locode=incident.departure_locode,
        transits=[TransitRead(country=t.country, locode=t.locode) for t in incident.transits],
        destination_country=incident.destination_country,
        destination_locode=incident.destination_locode,
        containers=[ContainerRead(number=c.number, seal_numbers=c.seal_numbers) for c in incident.containers],
        bl_awb=incident.bl_awb,
        vessel_name=incident.vessel_name,
        vessel_imo=incident.vessel_imo,
        voyage=incident.voyage,
        vehicle_plate=incident.vehicle_plate,
        parcel_tracking=incident.parcel_tracking,
        goods_description=incident.goods_description,
        declared_hs_code=incident.declared_hs_code,
        substances=[
            SubstanceLineRead(
                substance=substance_ref(index, s.substance_id),
                other_description=s.other_description,
                declared_as=s.declared_as,
                quantity=s.quantity,
                unit=s.unit,
                quantity_normalised=s.quantity_normalised,
                unit_normalised=s.unit_normalised,
                purity_percent=s.purity_percent,
                form=s.form,
                lab_confirmation=s.lab_confirmation,
            )
            for s in incident.substances
        ],
        parties=[
            PartyRead(
                role=p.role,
                kind=p.kind,
                name=p.name,
                address=p.address,
                country=p.country,
                tax_id=p.tax_id,
                id_document=p.id_document,
                phone=p.phone,
                email=p.email,
            )
            for p in shown_parties
        ],
        detection_method=incident.detection_method,
        modus=[m.code for m in incident.modus],
        narrative=incident.narrative,
        warnings=[Warning_(field=w.path, msg=w.msg) for w in (warnings or [])],  # type: ignore[attr-defined]
    )


def to_summaries(
    session: Session,
    incidents: list[Incident],
    *,
    q: str | None = None,
    lang: str = "en",
    company: str | None = None,
    subject: Subject | None = None,
) -> list[IncidentSummary]:
    """Rows of a list. With a text query or company filter, each row says why it matched (``matched``); persons
    among the reasons only for a ``subject`` that may see the record's persons (the caller audits those reads:
    :func:`persons_matched`)."""
    index = get_index(session)
    orgs = orgs_by_id(session, {i.owner_org_id for i in incidents})
    out = []
    for i in incidents:
        names: list[str] = []
        kg = litres = Decimal(0)
        has_kg = has_l = False
        for s in i.substances:
            info = index.substances.get(s.substance_id) if s.substance_id else None
            names.append(info.display_name(lang) if info else (s.other_description or "?"))
            if s.unit_normalised == "kg" and s.quantity_normalised is not None:
                kg += s.quantity_normalised
                has_kg = True
            elif s.unit_normalised == "L" and s.quantity_normalised is not None:
                litres += s.quantity_normalised
                has_l = True
        out.append(
            IncidentSummary(
                id=i.id,
                reference=i.reference,
                incident_type=i.incident_type,
                status=i.status,
                incident_date=i.incident_date,
                country=i.country,
                locode=i.locode,
                owner_org_code=orgs[i.owner_org_id].code,
                substances=names,
                total_kg=kg.normalize() if has_kg else None,
                total_l=litres.normalize() if has_l else None,
                containers=[c.number for c in i.containers],
                tlp=i.tlp,
                is_demo=i.is_demo,
                snippet=snippet(i.narrative, q) or snippet(i.goods_description, q) if q else None,
                matched=[
                    MatchRead(field=r.field, role=r.role, parts=[MatchPart(text=t, mark=m) for t, m in r.parts])
                    for r in why_matched(
                        i,
                        q,
                        company,
                        persons_visible=subject is not None and can_see_nominal(session, i, subject),
                    )
                ]
                if q or company
                else [],
            )
        )
    return out


def persons_matched(summaries: list[IncidentSummary]) -> dict[uuid.UUID, int]:
    """Per row, how many persons its match reasons show (for the audit of nominal reads)."""
    return {s.id: n for s in summaries if (n := sum(1 for m in s.matched if m.field == "person"))}
