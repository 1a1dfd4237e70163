"""The network of a :class:`~interdict.linkage.graph.Graph` as FollowTheMoney entities (JSON lines), for Aleph /
OpenAleph and other FtM tools.

The graph was already read through ``sharing.readable`` (persons only where visible); on top of that:

* TLP:RED incidents are never exported (``sharing.service.TLP_EXPORT_FORBIDDEN``), nor anything known only
  through them: an entity is exported only through a mention in an exported incident, and its names are
  the texts of those mentions;
* ``nominal=False`` (a non-nominal export) leaves out every nominal entity: natural persons and their
  identifiers. An incident's narrative (free text that may name persons) is exported only where the reader
  may see that incident's persons, and never in a non-nominal export.

The mapping:

========================  ==============================================================================
Interdict                 FollowTheMoney
========================  ==============================================================================
incident                  ``Event``: name = reference, date, country, summary (type, TLP), description =
                          narrative (see above), publisher = reporting organisation, notes = containers,
                          bill of lading / air waybill, parcel numbers
company                   ``Company`` (organisation: ``Organization``); alias = the other ways it is written
                          and the names of the other members of its cluster in the export
person                    ``Person``
phone, e-mail, tax id,    properties of the party (``phone``, ``email``, ``taxNumber``, ``idNumber``) when
identity document         the incident has a party of that role and name carrying that value; otherwise
                          left out (FtM has no entity of their own for them)
address                   ``Address`` (``full``); the party's ``addressEntity`` when it is that party's
vessel                    ``Vessel`` (``imoNumber``)
container                 ``Asset`` named by its ISO 6346 number (FtM has no container schema; an asset is
                          what a container is, and a node of its own links the incidents it appears in)
vehicle plate             ``Vehicle`` (``registrationNumber``)
mention                   ``UnknownLink``: subject = the party / asset, object = the event, role = the role
                          (shipper, consignee, container, ...), date = the incident's date
entity link               ``UnknownLink`` between the two entities for automatic and confirmed links
                          (role "same entity (Interdict linkage)", status, description = score and reasons);
                          suggestions and rejected pairs are not exported
========================  ==============================================================================

Ids are deterministic: ``make_entity_id("interdict", <what>, <Interdict ids>)``, so two exports of
overlapping graphs merge in Aleph.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

from followthemoney import model
from followthemoney.proxy import EntityProxy
from followthemoney.util import make_entity_id
from sqlalchemy import select
from sqlalchemy.orm import Session

from interdict.accounts.models import Organisation
from interdict.accounts.subject import Subject
from interdict.incidents.models import IncidentParty
from interdict.linkage.graph import Graph, MentionEdge
from interdict.linkage.service import LINKED_STATUSES, ROLE_LABELS, clusters_for
from interdict.sharing.service import TLP_EXPORT_FORBIDDEN, can_see_nominal

MEDIA_TYPE = "application/json+ftm"
SCHEMAS = {
    "company": "Company",
    "organisation": "Organization",
    "person": "Person",
    "address": "Address",
    "vessel": "Vessel",
    "container": "Asset",
    "vehicle": "Vehicle",
}
PARTY_SCHEMAS = frozenset({"Company", "Organization", "Person"})
# identifier kind -> (the party's field it comes from, the FtM property it becomes)
PARTY_IDENTIFIERS = {
    "phone": ("phone", "phone"),
    "email": ("email", "email"),
    "tax_id": ("tax_id", "taxNumber"),
    "id_document": ("id_document", "idNumber"),
}
NOTE_KINDS = {
    "container": "Container",
    "bill_of_lading": "Bill of lading / air waybill",
    "parcel": "Parcel tracking number",
}


def ftm_id(*parts: Any) -> str:
    made = make_entity_id("interdict", *[str(p) for p in parts])
    assert made is not None
    return made


def _proxy(schema: str, entity_id: str) -> EntityProxy:
    proxy = model.make_entity(schema)
    proxy.id = entity_id
    return proxy


def _names(mentions: list[MentionEdge]) -> list[str]:
    """The texts of the mentions, the most frequent first."""
    counts = Counter(m.text for m in mentions)
    return sorted(counts, key=lambda t: (-counts[t], t))


def export_entities(session: Session, subject: Subject, graph: Graph, *, nominal: bool = True) -> list[EntityProxy]:
    """The FollowTheMoney entities of the graph (see the module's documentation)."""
    incidents = {
        iid: node.incident for iid, node in graph.incidents.items() if node.incident.tlp not in TLP_EXPORT_FORBIDDEN
    }
    mentions = [
        m
        for m in graph.mentions
        if m.incident_id in incidents and (nominal or not graph.entities[m.entity_id].entity.nominal)
    ]
    by_entity: dict[uuid.UUID, list[MentionEdge]] = defaultdict(list)
    by_incident: dict[uuid.UUID, list[MentionEdge]] = defaultdict(list)
    for m in mentions:
        by_entity[m.entity_id].append(m)
        by_incident[m.incident_id].append(m)
    parties: dict[tuple[uuid.UUID, str, str], IncidentParty] = {}
    if incidents:
        for p in session.scalars(select(IncidentParty).where(IncidentParty.incident_id.in_(list(incidents)))):
            parties.setdefault((p.incident_id, p.role, p.name), p)
    orgs = dict(
        session.execute(
            select(Organisation.id, Organisation.name).where(
                Organisation.id.in_({i.owner_org_id for i in incidents.values()})
            )
        ).all()
    )

    events: dict[uuid.UUID, EntityProxy] = {}
    for iid, incident in incidents.items():
        event = _proxy("Event", ftm_id("incident", iid))
        event.add("name", incident.reference)
        event.add("recordId", incident.reference)
        event.add("date", incident.incident_date.isoformat())
        event.add("country", incident.country)
        event.add("summary", f"{incident.incident_type.replace('_', ' ')} incident · TLP:{incident.tlp}")
        event.add("publisher", orgs.get(incident.owner_org_id))
        if nominal and incident.narrative and can_see_nominal(session, incident, subject):
            event.add("description", incident.narrative)
        notes = [
            f"{NOTE_KINDS[kind]}: {text}"
            for kind, text in sorted(
                {
                    (graph.entities[m.entity_id].entity.kind, m.text)
                    for m in by_incident[iid]
                    if graph.entities[m.entity_id].entity.kind in NOTE_KINDS
                }
            )
        ]
        if notes:
            event.add("notes", "\n".join(notes))
        events[iid] = event

    things: dict[uuid.UUID, EntityProxy] = {}
    for eid, entity_mentions in by_entity.items():
        entity = graph.entities[eid].entity
        schema = SCHEMAS.get(entity.kind)
        if schema is None:
            continue
        proxy = _proxy(schema, ftm_id("entity", eid))
        names = _names(entity_mentions)
        if entity.kind == "address":
            proxy.add("full", names)
            proxy.add("name", names[0])
        elif entity.kind == "vessel":
            proxy.add("name", names[0])
            proxy.add("imoNumber", f"IMO{entity.key}")
        elif entity.kind == "container":
            proxy.add("name", entity.key)
            proxy.add("description", "Shipping container (ISO 6346 number)")
        elif entity.kind == "vehicle":
            proxy.add("name", names[0])
            proxy.add("registrationNumber", entity.key)
        else:
            proxy.add("name", names[0])
            proxy.add("alias", names[1:])
        things[eid] = proxy

    # Cluster mates' names as aliases (the members themselves stay apart, joined by their links below).
    clusters: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    view = clusters_for(session, subject.root_org_id, things)
    for eid in things:
        entity = graph.entities[eid].entity
        if SCHEMAS[entity.kind] in PARTY_SCHEMAS:
            clusters[view.key.get(eid, eid)].append(eid)
    for members in clusters.values():
        for eid in members:
            for other in members:
                if other != eid:
                    things[eid].add("alias", things[other].get("name"))

    # A party's identifiers, where the incident has a party of that role and name carrying that value.
    for iid, ms in by_incident.items():
        for m in ms:
            party_proxy = things.get(m.entity_id)
            if party_proxy is None or party_proxy.schema.name not in PARTY_SCHEMAS:
                continue
            party = parties.get((iid, m.role, m.text))
            if party is None:
                continue
            party_proxy.add("country", party.country)
            for ident in ms:
                if ident.role != m.role:
                    continue
                kind = graph.entities[ident.entity_id].entity.kind
                if kind in PARTY_IDENTIFIERS:
                    field, prop = PARTY_IDENTIFIERS[kind]
                    if getattr(party, field) == ident.text:
                        key = graph.entities[ident.entity_id].entity.key
                        party_proxy.add(prop, key if kind in ("phone", "email") else ident.text)
                elif kind == "address" and party.address == ident.text and ident.entity_id in things:
                    party_proxy.add("addressEntity", things[ident.entity_id].id)

    links: list[EntityProxy] = []
    for m in mentions:
        subject_proxy = things.get(m.entity_id)
        if subject_proxy is None:
            continue
        link = _proxy("UnknownLink", ftm_id("mention", m.incident_id, m.entity_id, m.role))
        link.add("subject", subject_proxy.id)
        link.add("object", events[m.incident_id].id)
        link.add("role", ROLE_LABELS.get(m.role, m.role))
        link.add("date", incidents[m.incident_id].incident_date.isoformat())
        links.append(link)
    for el in graph.links:
        a, b = things.get(el.entity_a_id), things.get(el.entity_b_id)
        if el.status not in LINKED_STATUSES or a is None or b is None:
            continue
        link = _proxy("UnknownLink", ftm_id("entity-link", el.id))
        link.add("subject", a.id)
        link.add("object", b.id)
        link.add("role", "same entity (Interdict linkage)")
        link.add("status", el.status)
        reasons = "; ".join(str(r) for r in el.reasons or [])
        link.add("description", f"score {el.score:.2f}" + (f": {reasons}" if reasons else ""))
        links.append(link)

    return [*events.values(), *sorted(things.values(), key=lambda p: str(p.id)), *links]


def export_lines(session: Session, subject: Subject, graph: Graph, *, nominal: bool = True) -> Iterator[str]:
    """One JSON object per line (the FtM entity stream format that ``ftm`` and Aleph load)."""
    for proxy in export_entities(session, subject, graph, nominal=nominal):
        yield json.dumps(proxy.to_dict(), ensure_ascii=False, sort_keys=True) + "\n"
