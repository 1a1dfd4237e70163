"""Links between incidents and the entity register, over the API (every read through sharing.readable)."""

from __future__ import annotations

import datetime
import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from interdict.accounts.deps import SubjectDep, WriterDep
from interdict.accounts.subject import Subject
from interdict.audit import service as audit
from interdict.core.deps import SessionDep
from interdict.incidents import service as incidents
from interdict.incidents.present import to_summaries
from interdict.incidents.schemas import IncidentSummary
from interdict.linkage import ftm, graph
from interdict.linkage import service as svc

router = APIRouter(prefix="/api/v1", tags=["linkage"])


class ReasonRead(BaseModel):
    kind: str
    role: str
    mine: str
    theirs: str
    score: float
    text: str


class LinkedRead(BaseModel):
    incident: IncidentSummary
    score: float
    reasons: list[ReasonRead]


class SuggestionRead(BaseModel):
    link_id: uuid.UUID
    score: float
    kind: str
    mine: str
    theirs: str
    their_entity_id: uuid.UUID
    their_incidents: int
    reasons: list[str]


class NoticeRead(BaseModel):
    contact: str  # the organisation that recorded a matching incident this one's owner may not read
    kinds: list[str]
    at: datetime.datetime


class IncidentLinksRead(BaseModel):
    linked: list[LinkedRead]
    suggestions: list[SuggestionRead]
    restricted: dict[str, int]
    common: list[str]
    # Only for the owning organisation's users: others recorded matching incidents it may not read.
    deconfliction: list[NoticeRead] = []


class LinkJudgement(BaseModel):
    id: uuid.UUID
    status: str
    score: float


class EntityName(BaseModel):
    kind: str
    name: str


class AppearanceRead(BaseModel):
    incident_id: uuid.UUID
    reference: str
    incident_date: date
    role: str
    text: str


class CoMentionRead(BaseModel):
    id: uuid.UUID
    kind: str
    name: str
    incidents: int


class EntityRead(BaseModel):
    id: uuid.UUID
    kind: str
    name: str
    names: list[EntityName]
    first_seen: date | None
    last_seen: date | None
    appearances: list[AppearanceRead]
    co_mentioned: list[CoMentionRead]


@router.get("/incidents/{incident_id}/links", response_model=IncidentLinksRead)
def get_incident_links(incident_id: str, db: SessionDep, subject: SubjectDep) -> IncidentLinksRead:
    """Incidents linked to this one (same company, person, phone, container, vessel...) with the reasons;
    suggestions for an analyst; matches in records the caller may not read, counted per owner."""
    incident = incidents.get_incident(db, subject, incident_id)
    links = svc.linked_incidents(db, subject, incident)
    # This incident's own person data in the reasons and suggestions (the incident page records it with the page).
    own = sum(1 for li in links.linked for r in li.reasons if r.nominal) + sum(
        1 for s in links.suggestions if s.mine.nominal
    )
    incidents.record_nominal_read(db, subject, incident, own, where="its links")
    summaries = to_summaries(db, [li.incident for li in links.linked], lang=subject.locale)
    return IncidentLinksRead(
        linked=[
            LinkedRead(
                incident=s,
                score=li.score,
                reasons=[ReasonRead(**{**r.__dict__, "text": r.text()}) for r in li.reasons],
            )
            for s, li in zip(summaries, links.linked, strict=True)
        ],
        suggestions=[
            SuggestionRead(
                link_id=s.link.id,
                score=s.link.score,
                kind=s.mine.kind,
                mine=s.mine_label,
                theirs=s.their_label,
                their_entity_id=s.theirs.id,
                their_incidents=s.their_incidents,
                reasons=[str(r) for r in s.link.reasons],
            )
            for s in links.suggestions
        ],
        restricted=links.restricted,
        common=links.common,
        deconfliction=[NoticeRead(contact=c, kinds=k, at=at) for c, k, at in links.deconfliction],
    )


class LinkingRead(BaseModel):
    done: bool = Field(description="true when the linkage worker has handled the incident's latest change")
    linked: int | None = Field(
        default=None, description="when done: how many linked incidents you may read (the links endpoint lists them)"
    )


@router.get("/incidents/{incident_id}/linking", response_model=LinkingRead)
def get_incident_linking(incident_id: str, db: SessionDep, subject: SubjectDep) -> LinkingRead:
    """Whether linking has run for this incident's latest change (right after a submission it runs within
    seconds), and then how many linked incidents you may read. An incident you may not read is 404."""
    incident = incidents.get_incident(db, subject, incident_id)
    if not svc.linking_done(db, incident):
        return LinkingRead(done=False)
    return LinkingRead(done=True, linked=len(svc.linked_incidents(db, subject, incident).linked))


@router.post("/entity-links/{link_id}/confirm", response_model=LinkJudgement)
def confirm_link(link_id: str, db: SessionDep, subject: WriterDep) -> LinkJudgement:
    """The two entities are the same, for your agency: their clusters merge (and their incidents link) for its
    users, and for every reader when your agency owns every record mentioning either entity. The judgement's audit
    entry is shown to the auditors of the agencies owning those records."""
    link = svc.judge(db, subject, link_id, "confirmed")
    return LinkJudgement(id=link.id, status=link.status, score=link.score)


@router.post("/entity-links/{link_id}/reject", response_model=LinkJudgement)
def reject_link(link_id: str, db: SessionDep, subject: WriterDep) -> LinkJudgement:
    """Not the same, for your agency: never suggested or linked again for its users (for every reader when your
    agency owns every record mentioning either entity); a cluster joined by this link splits. Audited as for
    confirm."""
    link = svc.judge(db, subject, link_id, "rejected")
    return LinkJudgement(id=link.id, status=link.status, score=link.score)


@router.get("/entities/{entity_id}", response_model=EntityRead)
def get_entity(entity_id: str, db: SessionDep, subject: SubjectDep) -> EntityRead:
    view = svc.entity_view(db, subject, entity_id)
    return EntityRead(
        id=view.entity.id,
        kind=view.entity.kind,
        name=view.names[0][1] if view.names else "",
        names=[EntityName(kind=k, name=n) for k, n in view.names],
        first_seen=view.first_seen,
        last_seen=view.last_seen,
        appearances=[
            AppearanceRead(
                incident_id=a.incident.id,
                reference=a.incident.reference,
                incident_date=a.incident.incident_date,
                role=a.role,
                text=a.text,
            )
            for a in view.appearances
        ],
        co_mentioned=[
            CoMentionRead(id=e.id, kind=e.kind, name=label, incidents=n) for e, label, n in view.co_mentioned
        ],
    )


# --- the network graph -----------------------------------------------------------------------------


class GraphNode(BaseModel):
    id: uuid.UUID
    type: Literal["incident", "entity"]
    kind: str  # the incident's type, or the entity's kind
    label: str  # the incident's reference, or the entity as written in an incident the caller may read
    date: datetime.date | None = None  # incidents
    incidents: int | None = None  # entities: the incidents the caller may read that mention it
    hop: int
    start: bool = False
    url: str  # the page of the incident or entity


class GraphEdge(BaseModel):
    source: uuid.UUID
    target: uuid.UUID
    type: Literal["mention", "link"]
    role: str | None = None  # mention: the role in the incident (shipper, container...)
    status: str | None = None  # link: auto, confirmed or suggested
    score: float | None = None  # link


class GraphRead(BaseModel):
    start: uuid.UUID
    start_type: Literal["incident", "entity"]
    depth: int
    limit: int
    truncated: bool = Field(description="true when the graph hit the node limit: nearer nodes were kept")
    nodes: list[GraphNode]
    edges: list[GraphEdge]


def graph_kinds(kinds: list[str] | None) -> set[str] | None:
    """``kinds=company&kinds=phone`` or ``kinds=company,phone``; an empty value keeps no entity kind."""
    if kinds is None:
        return None
    return {k.strip() for value in kinds for k in value.split(",") if k.strip()}


def graph_read(g: graph.Graph) -> GraphRead:
    nodes = [
        GraphNode(
            id=n.incident.id,
            type="incident",
            kind=n.incident.incident_type,
            label=n.incident.reference,
            date=n.incident.incident_date,
            hop=n.hop,
            start=n.incident.id == g.start,
            url=f"/incidents/{n.incident.reference}",
        )
        for n in g.incidents.values()
    ]
    nodes += [
        GraphNode(
            id=n.entity.id,
            type="entity",
            kind=n.entity.kind,
            label=n.label,
            incidents=n.incidents,
            hop=n.hop,
            start=n.entity.id == g.start,
            url=f"/entities/{n.entity.id}",
        )
        for n in g.entities.values()
    ]
    edges = [GraphEdge(source=m.incident_id, target=m.entity_id, type="mention", role=m.role) for m in g.mentions]
    edges += [
        GraphEdge(source=link.entity_a_id, target=link.entity_b_id, type="link", status=link.status, score=link.score)
        for link in g.links
    ]
    return GraphRead(
        start=g.start,
        start_type="entity" if g.start_type == "entity" else "incident",
        depth=g.depth,
        limit=g.limit,
        truncated=g.truncated,
        nodes=nodes,
        edges=edges,
    )


Depth = Annotated[int, Query(ge=1, le=graph.MAX_DEPTH, description="Hops from the start (1 to 3)")]
Kinds = Annotated[
    list[str] | None,
    Query(description="Entity kinds to include (company, person, phone, container...); all when absent"),
]
Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many nodes (truncated says when hit)")]
Start = Annotated[str, Query(max_length=100, description="An incident id or reference, or an entity id")]


def read_graph(
    session: Session,
    subject: Subject,
    *,
    start: str,
    depth: int,
    kinds: list[str] | None,
    date_from: date | None,
    date_to: date | None,
    limit: int = graph.DEFAULT_LIMIT,
    persons_shown: bool = True,
) -> graph.Graph:
    """The graph read for a caller; person data of the incidents it passes through is an audited read (unless
    the caller leaves persons out: a non-nominal export)."""
    g = graph.neighbourhood(
        session,
        subject,
        start=start,
        depth=depth,
        kinds=graph_kinds(kinds),
        date_from=date_from,
        date_to=date_to,
        limit_nodes=limit,
    )
    if persons_shown:
        incidents.record_nominal_reads(session, subject, g.persons_shown())
    return g


@router.get("/graph", response_model=GraphRead)
def get_graph(
    db: SessionDep,
    subject: SubjectDep,
    start: Start,
    depth: Depth = 1,
    kinds: Kinds = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: Limit = graph.DEFAULT_LIMIT,
) -> GraphRead:
    """The network of incidents and entities around an incident or an entity: incidents you may read, the
    entities they mention (persons only where you may see them) and the links between entities. Expand a
    node by asking again with it as the start and ``depth=1``. A start you may not read is 404."""
    g = read_graph(
        db, subject, start=start, depth=depth, kinds=kinds, date_from=date_from, date_to=date_to, limit=limit
    )
    return graph_read(g)


@router.get(
    "/graph/export.ftm.json",
    response_class=Response,
    responses={
        200: {"description": "FollowTheMoney entities, one JSON object a line", "content": {ftm.MEDIA_TYPE: {}}}
    },
)
def export_graph_ftm(
    db: SessionDep,
    subject: SubjectDep,
    start: Start,
    depth: Depth = 1,
    kinds: Kinds = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: Limit = graph.DEFAULT_LIMIT,
    nominal: Annotated[
        bool, Query(description="false: a non-nominal export, without natural persons and their identifiers.")
    ] = True,
) -> Response:
    """The same network as FollowTheMoney entities (Event, Company, Person, Address, Vessel, Asset, UnknownLink),
    loadable by Aleph / OpenAleph. TLP:RED incidents are never exported; the export (and any person data in it)
    is audited."""
    g = read_graph(
        db,
        subject,
        start=start,
        depth=depth,
        kinds=kinds,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
        persons_shown=nominal,
    )
    lines = list(ftm.export_lines(db, subject, g, nominal=nominal))
    audit.record(
        db,
        subject,
        "linkage.export_ftm",
        object_type="export",
        object_label="graph.ftm.json",
        summary=f"{len(lines)} FollowTheMoney entities exported from the network around {start}"
        + ("" if nominal else ", non-nominal"),
        after={
            "start": str(g.start),
            "depth": g.depth,
            "kinds": sorted(graph_kinds(kinds) or []) if kinds is not None else None,
            "date_from": date_from.isoformat() if date_from else None,
            "date_to": date_to.isoformat() if date_to else None,
            "nominal": nominal,
            "entities": len(lines),
            "truncated": g.truncated,
        },
    )
    return Response(
        "".join(lines),
        media_type=ftm.MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="interdict-graph.ftm.json"'},
    )
