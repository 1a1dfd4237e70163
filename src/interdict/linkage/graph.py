"""The network around a starting point: incidents and the entities they mention, for the graph page, its API
and the FollowTheMoney export.

:func:`neighbourhood` walks the incident–entity graph outwards from an incident or an entity, one hop at a
time (incident → the entities it mentions → the other incidents that mention them → ...). Entities that the
linkage engine joined (automatic or confirmed links: one cluster, as the subject's agency sees it, with its own
judgements) come in together, in the same hop; links are drawn with their status for that agency. Every step is
read through ``sharing.readable``:

* incidents only where the subject may read them; an entity only through such an incident (a start that the
  subject may not read, or an entity known only from such incidents, is "not found", never "forbidden");
* person entities (``Entity.nominal``: natural persons and their identifiers) only through incidents whose
  persons the subject may see (``sharing.nominal_clause``);
* what is shown of an entity (its label, its incident count) comes from those incidents' mentions only,
  never from the register's global columns (the first spelling or the global count may come from a record
  the subject may not read).

Filters (entity kinds, a date range of the incidents) prune the walk itself: a path through a filtered-out
node is not followed. The start node is always in the graph. The size is capped (``limit_nodes``); a graph
that hit the cap says so (``truncated``), nearer nodes first. Expanding a node in the page is a call with
that node as the start and ``depth=1``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from interdict.accounts.subject import Subject
from interdict.core.errors import NotFound
from interdict.core.i18n import N_
from interdict.entities.models import Entity, EntityLink, EntityMention
from interdict.incidents import service as incidents
from interdict.incidents.models import Incident
from interdict.linkage.service import KIND_LABELS, SeenLink, clusters_for, seen_links
from interdict.sharing.service import decided, nominal_clause, readable

ENTITY_KINDS = frozenset(KIND_LABELS) | {"organisation"}
MAX_DEPTH = 3
DEFAULT_LIMIT = 300
# Entity–entity links drawn between entities of the graph (rejected pairs are not links).
GRAPH_LINK_STATUSES = ("auto", "confirmed", "suggested")
# Mention rows read per hop at most: a value in thousands of incidents fills the cap long before this.
ROWS_PER_HOP = 5_000


@dataclass
class IncidentNode:
    incident: Incident
    hop: int


@dataclass
class EntityNode:
    entity: Entity
    hop: int
    label: str = ""  # as written in an incident the subject may read
    incidents: int = 0  # how many incidents the subject may read mention it (with its persons, if nominal)


@dataclass(frozen=True)
class MentionEdge:
    incident_id: uuid.UUID
    entity_id: uuid.UUID
    role: str
    text: str


@dataclass
class Graph:
    start: uuid.UUID
    start_type: str  # incident or entity
    depth: int
    limit: int
    incidents: dict[uuid.UUID, IncidentNode] = field(default_factory=dict)
    entities: dict[uuid.UUID, EntityNode] = field(default_factory=dict)
    mentions: list[MentionEdge] = field(default_factory=list)
    links: list[SeenLink] = field(default_factory=list)  # as the subject's agency sees them
    truncated: bool = False

    @property
    def size(self) -> int:
        return len(self.incidents) + len(self.entities)

    def persons_shown(self) -> dict[uuid.UUID, int]:
        """Per incident, how many person entities the graph shows through it (for the audit of nominal reads)."""
        shown: dict[uuid.UUID, set[uuid.UUID]] = {}
        for m in self.mentions:
            node = self.entities.get(m.entity_id)
            if node is not None and node.entity.kind == "person":
                shown.setdefault(m.incident_id, set()).add(m.entity_id)
        return {k: len(v) for k, v in shown.items()}


def _uuid(value: str | uuid.UUID) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _person_ok(subject: Subject) -> ColumnElement[bool]:
    """A mention may be shown: the entity is not nominal, or the subject may see the incident's persons."""
    return or_(Entity.nominal.is_(False), nominal_clause(Incident, subject))


def _select(*columns: Any) -> Select[Any]:
    """A SELECT of several columns, typed as :func:`sharing.readable` takes it."""
    return select(*columns)


def _dated(stmt: Select[Any], date_from: date | None, date_to: date | None) -> Select[Any]:
    if date_from is not None:
        stmt = stmt.where(Incident.incident_date >= date_from)
    if date_to is not None:
        stmt = stmt.where(Incident.incident_date <= date_to)
    return stmt


def visible_entities(
    session: Session,
    subject: Subject,
    entity_ids: Iterable[uuid.UUID],
    date_from: date | None = None,
    date_to: date | None = None,
) -> dict[uuid.UUID, tuple[int, str]]:
    """Entity id -> (readable incidents mentioning it, a text as written in one of them), for the entities
    that have at least one such mention (persons only where visible; within the dates if given)."""
    ids = list(set(entity_ids))
    if not ids:
        return {}
    stmt = (
        _select(
            EntityMention.entity_id, func.count(func.distinct(EntityMention.incident_id)), func.min(EntityMention.text)
        )
        .join(Incident, Incident.id == EntityMention.incident_id)
        .join(Entity, Entity.id == EntityMention.entity_id)
        .where(EntityMention.entity_id.in_(ids), _person_ok(subject))
        .group_by(EntityMention.entity_id)
    )
    rows = session.execute(readable(_dated(stmt, date_from, date_to), subject, Incident)).all()
    return {row[0]: (int(row[1]), str(row[2])) for row in rows}


def visible_label(session: Session, subject: Subject, entity_id: uuid.UUID) -> str:
    """An entity as written in an incident the subject may read ("" when there is none)."""
    return visible_entities(session, subject, [entity_id]).get(entity_id, (0, ""))[1]


def resolve_start(session: Session, subject: Subject, start: str | uuid.UUID) -> Incident | Entity:
    """The incident (by id or reference) or the entity the subject may reach; NotFound otherwise."""
    decided("readable")
    try:
        return incidents.get_incident(session, subject, start)
    except NotFound:
        pass
    key = _uuid(start)
    entity = session.get(Entity, key) if key is not None else None
    if entity is None or entity.id not in visible_entities(session, subject, [entity.id]):
        raise NotFound(N_("nothing to start from: no such incident or entity"))
    return entity


class _Walk:
    def __init__(
        self,
        session: Session,
        subject: Subject,
        graph: Graph,
        kinds: frozenset[str] | None,
        date_from: date | None,
        date_to: date | None,
    ) -> None:
        self.session, self.subject, self.graph = session, subject, graph
        self.kinds, self.date_from, self.date_to = kinds, date_from, date_to

    def room(self) -> int:
        return self.graph.limit - self.graph.size

    def add_incidents(self, found: list[Incident], hop: int) -> list[uuid.UUID]:
        fresh = [i for i in found if i.id not in self.graph.incidents]
        fresh.sort(key=lambda i: (-i.incident_date.toordinal(), i.reference))
        if len(fresh) > self.room():
            self.graph.truncated = True
            fresh = fresh[: max(self.room(), 0)]
        for i in fresh:
            self.graph.incidents[i.id] = IncidentNode(i, hop)
        return [i.id for i in fresh]

    def add_entities(self, found: dict[uuid.UUID, tuple[Entity, str]], hop: int) -> list[uuid.UUID]:
        fresh = [(e, text) for e, text in found.values() if e.id not in self.graph.entities]
        fresh.sort(key=lambda x: (x[0].kind, x[1], str(x[0].id)))
        if len(fresh) > self.room():
            self.graph.truncated = True
            fresh = fresh[: max(self.room(), 0)]
        for e, text in fresh:
            self.graph.entities[e.id] = EntityNode(e, hop, label=text)
        return [e.id for e, _ in fresh]

    def entities_of(self, incident_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[Entity, str]]:
        """The entities the incidents mention, as far as the subject may see them, with their cluster mates."""
        if not incident_ids:
            return {}
        stmt = (
            _select(Entity, EntityMention.text)
            .join(EntityMention, EntityMention.entity_id == Entity.id)
            .join(Incident, Incident.id == EntityMention.incident_id)
            .where(EntityMention.incident_id.in_(incident_ids), _person_ok(self.subject))
            .order_by(Entity.id, EntityMention.text)
            .limit(ROWS_PER_HOP)
        )
        if self.kinds is not None:
            stmt = stmt.where(Entity.kind.in_(self.kinds))
        rows = self.session.execute(readable(stmt, self.subject, Incident)).all()
        if len(rows) == ROWS_PER_HOP:
            self.graph.truncated = True
        found: dict[uuid.UUID, tuple[Entity, str]] = {}
        for row in rows:
            found.setdefault(row[0].id, (row[0], row[1]))
        found.update(self.cluster_mates([e for e, _ in found.values()], set(found)))
        return found

    def cluster_mates(self, entities: list[Entity], known: set[uuid.UUID]) -> dict[uuid.UUID, tuple[Entity, str]]:
        """The other members of the entities' clusters (as the subject's agency sees them) that the subject reaches
        through a readable incident."""
        if not entities:
            return {}
        view = clusters_for(self.session, self.subject.root_org_id, [e.id for e in entities])
        wanted = {x for e in entities for x in view.of(e.id)} - known - set(self.graph.entities)
        if not wanted:
            return {}
        members = list(
            self.session.scalars(select(Entity).where(Entity.id.in_(sorted(wanted, key=str)[:ROWS_PER_HOP])))
        )
        visible = visible_entities(self.session, self.subject, [m.id for m in members], self.date_from, self.date_to)
        return {m.id: (m, visible[m.id][1]) for m in members if m.id in visible}

    def incidents_of(self, entity_ids: list[uuid.UUID]) -> list[Incident]:
        """The readable incidents (within the dates) mentioning the entities (persons only where visible)."""
        if not entity_ids:
            return []
        stmt = (
            select(Incident)
            .join(EntityMention, EntityMention.incident_id == Incident.id)
            .join(Entity, Entity.id == EntityMention.entity_id)
            .where(EntityMention.entity_id.in_(entity_ids), _person_ok(self.subject))
            .order_by(Incident.incident_date.desc(), Incident.id)
            .limit(ROWS_PER_HOP)
        )
        rows = list(self.session.scalars(readable(_dated(stmt, self.date_from, self.date_to), self.subject, Incident)))
        if len(rows) == ROWS_PER_HOP:
            self.graph.truncated = True
        return list({i.id: i for i in rows}.values())


def neighbourhood(
    session: Session,
    subject: Subject,
    *,
    start: str | uuid.UUID,
    depth: int = 1,
    kinds: Iterable[str] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit_nodes: int = DEFAULT_LIMIT,
) -> Graph:
    """The graph within ``depth`` hops (1 to 3) of ``start`` (an incident id or reference, or an entity id)."""
    decided("readable")
    depth = max(1, min(int(depth), MAX_DEPTH))
    wanted = None if kinds is None else frozenset(kinds) & ENTITY_KINDS
    origin = resolve_start(session, subject, start)
    graph = Graph(
        start=origin.id,
        start_type="incident" if isinstance(origin, Incident) else "entity",
        depth=depth,
        limit=max(1, limit_nodes),
    )
    walk = _Walk(session, subject, graph, wanted, date_from, date_to)
    frontier_incidents: list[uuid.UUID] = []
    frontier_entities: list[uuid.UUID] = []
    if isinstance(origin, Incident):
        graph.incidents[origin.id] = IncidentNode(origin, 0)
        frontier_incidents = [origin.id]
    else:
        graph.entities[origin.id] = EntityNode(origin, 0)
        frontier_entities = [origin.id, *walk.add_entities(walk.cluster_mates([origin], {origin.id}), 0)]
    for hop in range(1, depth + 1):
        entities = walk.entities_of(frontier_incidents)
        found = walk.incidents_of(frontier_entities)
        frontier_entities = walk.add_entities(entities, hop)
        frontier_incidents = walk.add_incidents(found, hop)
        if not frontier_entities and not frontier_incidents:
            break
    _finish(session, subject, graph)
    return graph


def _finish(session: Session, subject: Subject, graph: Graph) -> None:
    """Edges between the nodes of the graph, and what is shown of each entity (from readable mentions only)."""
    incident_ids, entity_ids = list(graph.incidents), list(graph.entities)
    if not entity_ids:
        return
    for eid, (n, text) in visible_entities(session, subject, entity_ids).items():
        node = graph.entities[eid]
        node.incidents = n
        node.label = node.label or text
    if incident_ids:
        stmt = (
            _select(EntityMention.incident_id, EntityMention.entity_id, EntityMention.role, EntityMention.text)
            .join(Incident, Incident.id == EntityMention.incident_id)
            .join(Entity, Entity.id == EntityMention.entity_id)
            .where(
                EntityMention.incident_id.in_(incident_ids),
                EntityMention.entity_id.in_(entity_ids),
                _person_ok(subject),
            )
        )
        rows = session.execute(readable(stmt, subject, Incident)).all()
        graph.mentions = sorted(
            {MentionEdge(row[0], row[1], row[2], row[3]) for row in rows},
            key=lambda m: (str(m.incident_id), str(m.entity_id), m.role),
        )
    links = seen_links(
        session,
        subject.root_org_id,
        and_(EntityLink.entity_a_id.in_(entity_ids), EntityLink.entity_b_id.in_(entity_ids)),
        statuses=GRAPH_LINK_STATUSES,
    )
    graph.links = sorted(links, key=lambda link: str(link.id))
