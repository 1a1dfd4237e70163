"""The linkage engine on the database: keep the entity register in step with incidents, match names, keep
the analysts' judgements, and tell a reader which incidents are linked to one it reads, and why.

* :func:`index_incident` replaces an incident's mentions with what :func:`entities.extract.extract` finds;
  identifiers link at once (one entity per normalised value); a new company or person name is compared
  with the names that share a token with it (entity_tokens; very frequent tokens are skipped, so no full
  scan) and scored by :func:`linkage.score.score_pair`: at or above ``DEFAULT_THRESHOLD`` the link is
  automatic, from ``SUGGEST_THRESHOLD`` it is a suggestion for an analyst. A pair an analyst rejected is
  never linked or suggested again.
* Judgements belong to the judging agency (the root of the analyst's organisation tree): a confirmation or a
  rejection changes what that agency's users see, and changes it for everyone only when the agency owns every
  incident mentioning either entity (:func:`judge`, ``EntityLinkJudgement.binding``). The register's links stay
  as it found them. A link's status for agency R: R's own judgement, else a binding one, else the register's.
* Entities joined by automatic links or binding confirmations form the stored clusters with one canonical entity
  (``Entity.canonical_id``), which every reader sees; an agency whose own judgements touch a cluster sees its
  own version of it (:func:`clusters_for`): its confirmations merge clusters, its rejections split them.
* :func:`linked_incidents` is read through ``sharing.readable``: a reader sees links only to incidents it
  may read, and links through person data only where it may see the persons of both incidents. Matches it
  may not read are counted per owning organisation (whom to contact), without any detail.
* :func:`process_events` is the consumer of the incident events (outbox), run by the worker thread of the
  server and by ``interdict linkage run``; ``interdict linkage rebuild`` re-indexes every incident.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text, tuple_
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from interdict.accounts.models import Organisation, User
from interdict.accounts.service import ancestors_of
from interdict.accounts.subject import Subject
from interdict.audit import service as audit
from interdict.core import outbox
from interdict.core.clock import utcnow
from interdict.core.errors import Conflict, Forbidden, NotFound
from interdict.core.i18n import N_
from interdict.entities.extract import NAME_KINDS, Found, extract
from interdict.entities.models import (
    DeconflictionNotice,
    Entity,
    EntityLink,
    EntityLinkJudgement,
    EntityMention,
    EntityToken,
)
from interdict.incidents import service as incidents
from interdict.incidents.models import Incident
from interdict.linkage.score import DEFAULT_THRESHOLD, SUGGEST_THRESHOLD, score_pair
from interdict.notifications import service as notifications
from interdict.sharing.service import decided, nominal_clause, readable

CONSUMER = "linkage"
TOPICS = ["incident.published", "incident.updated", "incident.sharing_changed", "incident.closed"]
# A token shared by more entities than this is too common to propose candidates ("nguyen", a frequent
# syllable): interactive matching relies on the rarer tokens (the whole distinctive name joined, the sorted
# person name, pinyin words, rare syllables); the batch rebuild compares more widely.
TOKEN_POSTINGS_CAP = 200
CANDIDATES_MAX = 50
# A value (cluster) mentioned by more incidents than this does not link them: over-correlation.
MAX_INCIDENTS_PER_VALUE = 200
LINKED_STATUSES = ("auto", "confirmed")
SCHEMA = {"company": "Company", "person": "Person"}
ROLE_LABELS: dict[str, str] = {
    "shipper": N_("shipper"),
    "consignee": N_("consignee"),
    "notify_party": N_("notify party"),
    "forwarder": N_("forwarder"),
    "customs_broker": N_("customs broker"),
    "carrier": N_("carrier"),
    "declarant": N_("declarant"),
    "person_involved": N_("person involved"),
    "container": N_("container"),
    "vessel": N_("vessel"),
    "bill_of_lading": N_("bill of lading / air waybill"),
    "parcel": N_("parcel"),
    "vehicle": N_("vehicle"),
}
KIND_LABELS: dict[str, str] = {
    "company": N_("company"),
    "person": N_("person"),
    "phone": N_("phone"),
    "email": N_("e-mail"),
    "tax_id": N_("tax id"),
    "id_document": N_("identity document"),
    "address": N_("address"),
    "container": N_("container"),
    "vessel": N_("vessel (IMO)"),
    "bill_of_lading": N_("bill of lading / air waybill"),
    "parcel": N_("parcel tracking number"),
    "vehicle": N_("vehicle plate"),
}


# --- the register ----------------------------------------------------------------------------------


def _entities(session: Session, found: list[Found], seen: Any) -> list[tuple[Entity, bool]]:
    """The register's entity for each found value, created where new (one lookup, one flush)."""
    if not found:
        return []
    wanted = {(f.kind, f.key) for f in found}
    existing = {
        (e.kind, e.key): e
        for e in session.scalars(select(Entity).where(tuple_(Entity.kind, Entity.key).in_(list(wanted))))
    }
    out: list[tuple[Entity, bool]] = []
    created: dict[tuple[str, str], Entity] = {}
    for f in found:
        k = (f.kind, f.key)
        known = existing.get(k) or created.get(k)  # created: the same value in two roles of one incident
        if known is not None:
            # A value one incident gives for a company and another for a natural person (a phone, an
            # address) is a person's data: nominal from then on, so no reader links through it to
            # an incident whose persons it may not see.
            if f.nominal and not known.nominal:
                known.nominal = True
            out.append((known, False))
            continue
        entity = Entity(
            id=uuid.uuid4(),
            kind=f.kind,
            key=f.key,
            name=f.text[:300],
            country=f.country,
            nominal=f.nominal,
            incident_count=0,
            first_seen=seen,
            last_seen=seen,
            created_at=utcnow(),
        )
        entity.canonical_id = entity.id
        session.add(entity)
        session.add_all(EntityToken(token=t[:80], entity_id=entity.id) for t in set(f.tokens))
        created[k] = entity
        out.append((entity, True))
    return out


def _refresh_counts(session: Session, entity_ids: Iterable[uuid.UUID]) -> None:
    ids = list(set(entity_ids))
    if not ids:
        return
    stats = session.execute(
        select(
            EntityMention.entity_id,
            func.count(func.distinct(EntityMention.incident_id)),
            func.min(EntityMention.seen_on),
            func.max(EntityMention.seen_on),
        )
        .where(EntityMention.entity_id.in_(ids))
        .group_by(EntityMention.entity_id)
    ).all()
    by_id = {row[0]: row for row in stats}
    for entity in session.scalars(select(Entity).where(Entity.id.in_(ids))):
        row = by_id.get(entity.id)
        entity.incident_count = row[1] if row else 0
        entity.first_seen, entity.last_seen = (row[2], row[3]) if row else (None, None)


def token_postings(session: Session, tokens: list[str]) -> dict[str, list[uuid.UUID]]:
    """Up to TOKEN_POSTINGS_CAP + 1 entity ids per token (one statement on PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text(
                "SELECT t.token, p.entity_id FROM unnest(CAST(:tokens AS text[])) AS t(token) "
                "CROSS JOIN LATERAL (SELECT entity_id FROM entity_tokens WHERE token = t.token LIMIT :cap) AS p"
            ),
            {"tokens": tokens, "cap": TOKEN_POSTINGS_CAP + 1},
        ).all()
        out: dict[str, list[uuid.UUID]] = defaultdict(list)
        for token, eid in rows:
            out[token].append(eid)
        return out
    return {
        t: list(
            session.scalars(select(EntityToken.entity_id).where(EntityToken.token == t).limit(TOKEN_POSTINGS_CAP + 1))
        )
        for t in tokens
    }


def candidates(session: Session, entity: Entity, tokens: Iterable[str]) -> list[Entity]:
    """Entities of the same kind sharing a token with ``entity`` (tokens held by many entities are skipped);
    the ones sharing most tokens first."""
    found: dict[uuid.UUID, int] = defaultdict(int)
    for posting in token_postings(session, sorted(set(tokens))).values():
        if len(posting) > TOKEN_POSTINGS_CAP:
            continue
        for eid in posting:
            if eid != entity.id:
                found[eid] += 1
    ranked = sorted(found, key=lambda e: -found[e])[:CANDIDATES_MAX]
    if not ranked:
        return []
    return list(session.scalars(select(Entity).where(Entity.id.in_(ranked), Entity.kind == entity.kind)))


def _pair(a: uuid.UUID, b: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    return (a, b) if str(a) < str(b) else (b, a)


def match_entity(session: Session, entity: Entity, tokens: Iterable[str]) -> list[EntityLink]:
    """Score a new name entity against its candidates; store auto links and suggestions."""
    made: list[EntityLink] = []
    cands = candidates(session, entity, tokens)
    if not cands:
        return made
    known = {
        (link.entity_a_id, link.entity_b_id)
        for link in session.scalars(
            select(EntityLink).where(
                or_(EntityLink.entity_a_id == entity.id, EntityLink.entity_b_id == entity.id),
            )
        )
    }
    for cand in cands:
        pair = _pair(entity.id, cand.id)
        if pair in known:
            continue
        result = score_pair(entity.name, cand.name, SCHEMA.get(entity.kind))
        if result.score < SUGGEST_THRESHOLD:
            continue
        link = EntityLink(
            id=uuid.uuid4(),
            entity_a_id=pair[0],
            entity_b_id=pair[1],
            score=round(result.score, 4),
            status="auto" if result.score >= DEFAULT_THRESHOLD else "suggested",
            reasons=list(result.reasons),
            created_at=utcnow(),
        )
        session.add(link)
        made.append(link)
    session.flush()
    return made


# --- what a link is, for whom ---------------------------------------------------------------------
#
# The register's links (auto, suggested) stay as the register found them. Analysts' judgements belong to their
# agency (EntityLinkJudgement.org_id, the root of the judge's organisation tree). A link's status as agency R
# sees it: R's own judgement, else a binding judgement (by the agency that owns every incident mentioning either
# entity), else the register's status. The stored clusters (Entity.canonical_id) are what everyone sees: the
# register's links and binding judgements only; an agency whose own judgements change a cluster sees its own
# version of it (clusters_for).


@dataclass(frozen=True)
class SeenLink:
    """A link as one agency sees it (its status after the judgements that apply to that agency)."""

    id: uuid.UUID
    entity_a_id: uuid.UUID
    entity_b_id: uuid.UUID
    score: float
    status: str
    reasons: list[Any]


JUDGEMENTS = EntityLinkJudgement.__table__


def link_status(root_org_id: uuid.UUID | None) -> ColumnElement[str]:
    """The status of the ``entity_links`` row of the enclosing query as the agency sees it (``None``: as every
    reader does): the agency's own judgement, else a binding judgement, else the register's status. Correlated
    look-ups through the (link, agency) unique index; plain Core, so building it costs next to nothing."""
    j = JUDGEMENTS.c
    bound = select(j.verdict).where(j.link_id == EntityLink.id, j.binding.is_(True)).limit(1).scalar_subquery()
    if root_org_id is None:
        return func.coalesce(bound, EntityLink.status)
    own = (
        select(j.verdict)
        .where(j.link_id == EntityLink.id, j.org_id == root_org_id, j.binding.is_(False))
        .scalar_subquery()
    )
    return func.coalesce(own, bound, EntityLink.status)


def seen_links(
    session: Session, root_org_id: uuid.UUID | None, *where: ColumnElement[bool], statuses: Iterable[str] = ()
) -> list[SeenLink]:
    """The links matching ``where`` as the agency sees them (only those whose status is in ``statuses``, if
    given)."""
    status = link_status(root_org_id)
    stmt = select(
        EntityLink.id, EntityLink.entity_a_id, EntityLink.entity_b_id, EntityLink.score, EntityLink.reasons, status
    ).where(*where)
    wanted = list(statuses)
    if wanted:
        stmt = stmt.where(status.in_(wanted))
    return [SeenLink(i, a, b, score, st, list(reasons or [])) for i, a, b, score, reasons, st in session.execute(stmt)]


def _walk(session: Session, seeds: Iterable[uuid.UUID], joined: ColumnElement[bool]) -> set[uuid.UUID]:
    """The entities reached from ``seeds`` through links for which ``joined`` holds."""
    component = set(seeds)
    frontier = set(component)
    while frontier:
        links = session.execute(
            select(EntityLink.entity_a_id, EntityLink.entity_b_id).where(
                joined, or_(EntityLink.entity_a_id.in_(frontier), EntityLink.entity_b_id.in_(frontier))
            )
        ).all()
        nxt = {x for a, b in links for x in (a, b)} - component
        component |= nxt
        frontier = nxt
    return component


def _component(session: Session, seeds: Iterable[uuid.UUID], root_org_id: uuid.UUID | None) -> set[uuid.UUID]:
    """The entities joined to ``seeds`` by auto or confirmed links as the agency sees them (``None``: everyone)."""
    return _walk(session, seeds, link_status(root_org_id).in_(LINKED_STATUSES))


def _any_component(session: Session, seeds: set[uuid.UUID]) -> set[uuid.UUID]:
    """The entities joined to ``seeds`` in some agency's view: by links every reader sees as linked, or confirmed
    by some agency (a superset of every agency's cluster of the seeds)."""
    confirmed = select(JUDGEMENTS.c.link_id).where(JUDGEMENTS.c.verdict == "confirmed")
    return _walk(session, seeds, or_(link_status(None).in_(LINKED_STATUSES), EntityLink.id.in_(confirmed)))


def recluster(session: Session, seeds: Iterable[uuid.UUID]) -> None:
    """Give every entity in the clusters of ``seeds`` one canonical entity, the oldest of the cluster: the clusters
    every reader sees (the register's auto links and binding judgements)."""
    todo = set(seeds)
    while todo:
        start = todo.pop()
        component = _component(session, {start}, None)
        todo -= component
        members = list(session.scalars(select(Entity).where(Entity.id.in_(component))))
        if not members:
            continue
        canonical = min(members, key=lambda e: (e.created_at, str(e.id)))
        for e in members:
            e.canonical_id = canonical.id
    session.flush()


@dataclass
class Clusters:
    """Entities' clusters as one agency sees them: ``key`` maps each entity of the asked clusters to its
    cluster's key (an entity of the cluster), ``members`` each key to the cluster's entities."""

    key: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    members: dict[uuid.UUID, set[uuid.UUID]] = field(default_factory=dict)

    def of(self, entity_id: uuid.UUID) -> set[uuid.UUID]:
        return self.members.get(self.key.get(entity_id, entity_id), {entity_id})

    def add(self, key: uuid.UUID, members: set[uuid.UUID]) -> None:
        self.members[key] = members
        for m in members:
            self.key[m] = key


def clusters_for(session: Session, root_org_id: uuid.UUID, entity_ids: Iterable[uuid.UUID]) -> Clusters:
    """The clusters of the entities as the agency sees them: the stored clusters, except where the agency's own
    (not binding) judgements touch one, which is then walked again with the agency's view of each link."""
    ids = set(entity_ids)
    out = Clusters()
    if not ids:
        return out
    # Each entity of the stored clusters, and whether a judgement of the agency's own (not binding) touches it.
    own = select(JUDGEMENTS.c.link_id).where(JUDGEMENTS.c.org_id == root_org_id, JUDGEMENTS.c.binding.is_(False))
    touching = (
        select(EntityLink.id)
        .where(
            or_(EntityLink.entity_a_id == Entity.id, EntityLink.entity_b_id == Entity.id),
            EntityLink.id.in_(own),
        )
        .exists()
    )
    rows = session.execute(
        select(Entity.id, Entity.canonical_id, touching).where(
            or_(
                Entity.id.in_(ids),
                Entity.canonical_id.in_(select(Entity.canonical_id).where(Entity.id.in_(ids))),
            )
        )
    ).all()
    base: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    canon = {}
    touched = set()
    for eid, cid, judged in rows:
        canon[eid] = cid or eid
        base[cid or eid].add(eid)
        if judged:
            touched.add(cid or eid)
    for eid in ids:
        if eid in out.key:
            continue
        c = canon.get(eid, eid)
        if c not in touched:
            out.add(c, base.get(c) or {eid})
            continue
        component = _component(session, {eid}, root_org_id)
        out.add(min(component, key=str), component)
    return out


def index_incident(session: Session, incident: Incident) -> list[EntityLink]:
    """Replace the incident's mentions with what it mentions now, matching new names. Returns new links."""
    with session.no_autoflush:
        old = set(session.scalars(select(EntityMention.entity_id).where(EntityMention.incident_id == incident.id)))
        session.execute(delete(EntityMention).where(EntityMention.incident_id == incident.id))
        found = extract(incident)
        pairs = _entities(session, found, incident.incident_date)
        fresh: list[tuple[Entity, tuple[str, ...]]] = []
        for f, (entity, created) in zip(found, pairs, strict=True):
            session.add(
                EntityMention(
                    id=uuid.uuid4(),
                    entity_id=entity.id,
                    incident_id=incident.id,
                    role=f.role,
                    text=f.text[:500],
                    seen_on=incident.incident_date,
                )
            )
            if created and f.kind in NAME_KINDS:
                fresh.append((entity, f.tokens))
    session.flush()
    links: list[EntityLink] = []
    for entity, tokens in fresh:
        links += match_entity(session, entity, tokens)
    touched = old | {e.id for e, _ in pairs}
    _refresh_counts(session, touched)
    joined = {x for link in links if link.status in LINKED_STATUSES for x in (link.entity_a_id, link.entity_b_id)}
    joined |= refresh_binding(session, touched)  # who owns every record mentioning an entity may have changed
    if joined:
        recluster(session, joined)
    return links


def org_subject(session: Session, org_id: uuid.UUID) -> Subject:
    """The organisation as a reader (what any of its users could read), for deconfliction decisions."""
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound(N_("no such organisation"))
    return Subject(
        user_id=uuid.UUID(int=0),
        username="",
        full_name=org.name,
        role="viewer",
        org_id=org.id,
        org_code=org.code,
        org_name=org.name,
        root_org_id=org.root_id or org.id,
        country=org.country,
        time_zone=org.time_zone,
        channel="cli",
        scopes=frozenset({"read"}),
        ancestor_ids=tuple(ancestors_of(session, org.id)),
    )


def deconflict(session: Session, incident: Incident) -> list[DeconflictionNotice]:
    """Tell the owners of matching incidents that the new incident's organisation may not read that a match
    exists, and with whom (never what): one notice per pair of incidents."""
    if incident.status == "draft":
        return []
    mine = set(session.scalars(select(EntityMention.entity_id).where(EntityMention.incident_id == incident.id)))
    if not mine:
        return []
    # Candidates: the entities joined to this incident's in any agency's view; each matching incident then counts
    # only if its owner's agency sees the match (the notice is about its record, told in its own view).
    rows = session.execute(
        select(EntityMention.incident_id, EntityMention.entity_id, Entity.kind, Incident.owner_org_id)
        .join(Entity, Entity.id == EntityMention.entity_id)
        .join(Incident, Incident.id == EntityMention.incident_id)
        .where(EntityMention.entity_id.in_(_any_component(session, mine)), EntityMention.incident_id != incident.id)
    ).all()
    if not rows:
        return []
    roots = dict(
        session.execute(
            select(Organisation.id, func.coalesce(Organisation.root_id, Organisation.id)).where(
                Organisation.id.in_({r.owner_org_id for r in rows})
            )
        )
        .tuples()
        .all()
    )
    views: dict[uuid.UUID, set[uuid.UUID]] = {}
    kinds: dict[uuid.UUID, set[str]] = defaultdict(set)
    for iid, eid, kind, owner in rows:
        root = roots.get(owner, owner)
        if root not in views:
            view = clusters_for(session, root, mine)
            views[root] = {x for e in mine for x in view.of(e)}
        if eid in views[root]:
            kinds[iid].add(kind)
    if not kinds or len(kinds) > MAX_INCIDENTS_PER_VALUE:
        return []
    reader = org_subject(session, incident.owner_org_id)
    visible = set(session.scalars(readable(select(Incident.id).where(Incident.id.in_(list(kinds))), reader, Incident)))
    hidden = [i for i in kinds if i not in visible]
    if not hidden:
        return []
    known = set(
        session.scalars(
            select(DeconflictionNotice.incident_id).where(
                DeconflictionNotice.matching_incident_id == incident.id, DeconflictionNotice.incident_id.in_(hidden)
            )
        )
    )
    made = []
    for other in session.execute(
        select(Incident.id, Incident.owner_org_id).where(Incident.id.in_(hidden), Incident.status != "draft")
    ).all():
        if other.id in known:
            continue
        notice = DeconflictionNotice(
            id=uuid.uuid4(),
            org_id=other.owner_org_id,
            incident_id=other.id,
            matching_org_id=incident.owner_org_id,
            matching_incident_id=incident.id,
            kinds=sorted(kinds[other.id]),
            created_at=utcnow(),
        )
        session.add(notice)
        made.append(notice)
    session.flush()
    _tell_owners(session, incident, made)
    return made


def _tell_owners(session: Session, incident: Incident, made: list[DeconflictionNotice]) -> None:
    """Each deconfliction notice also reaches the owning unit's users as a notification about their own
    incident (who to contact and through what kind of value; never what the other record holds). One item per
    own incident and organisation that matched it: each further matching record of that organisation adds one
    to its count (and makes it unread again); a later edit of records already matched tells nobody (no new
    notice is made)."""
    if not made:
        return
    matching = session.get(Organisation, incident.owner_org_id)
    users: dict[uuid.UUID, list[uuid.UUID]] = {}
    for n in made:
        if n.org_id not in users:
            users[n.org_id] = list(
                session.scalars(select(User.id).where(User.org_id == n.org_id, User.is_active.is_(True)))
            )
    notifications.notify_all(
        session,
        [
            notifications.Tell(
                user_id,
                "linkage.deconfliction",
                "incident",
                n.incident_id,
                f"deconfliction:{n.incident_id}:{n.matching_org_id}",
                "routine",
                {"deconfliction": {"org": matching.name if matching else "", "kinds": n.kinds}},
            )
            for n in made
            for user_id in users[n.org_id]
        ],
    )


def notices_for(session: Session, subject: Subject, incident: Incident) -> list[tuple[str, list[str], Any]]:
    """Deconfliction notices about an incident, for the users of the organisation that owns it only:
    (organisation to contact, kinds of matching values, when)."""
    decided("deconfliction-notices")
    if incident.owner_org_id != subject.org_id:
        return []
    rows = session.execute(
        select(Organisation.name, DeconflictionNotice.kinds, DeconflictionNotice.created_at)
        .join(Organisation, Organisation.id == DeconflictionNotice.matching_org_id)
        .where(DeconflictionNotice.incident_id == incident.id)
        .order_by(DeconflictionNotice.created_at.desc())
    ).all()
    return [(name, [KIND_LABELS.get(k, k) for k in kinds], at) for name, kinds, at in rows]


def _load(session: Session, incident_ids: list[uuid.UUID]) -> list[Incident]:
    return list(
        session.scalars(
            select(Incident)
            .where(Incident.id.in_(incident_ids))
            .options(selectinload(Incident.parties), selectinload(Incident.containers))
        )
    )


def process_events(session: Session, *, limit: int = 200, budget: float | None = None) -> int:
    """Link the incidents of the next outbox events (the caller commits). Returns how many events were read;
    0 when there is nothing new or another worker holds the linkage position.

    With a ``budget`` (seconds), stop after the first incident that ends past it and advance only that far: the
    worker's transaction stays short. On PostgreSQL other consumers (the watch rules that alert officers) read
    only events below the oldest running transaction (outbox.HORIZON_SQL), so a linkage transaction of 200
    incidents would hold back every alert committed while it runs."""
    events = outbox.claim(session, CONSUMER, topics=TOPICS, limit=limit)
    if not events:
        return 0
    deadline = None if budget is None else time.monotonic() + budget
    incidents = {i.id: i for i in _load(session, list(dict.fromkeys(e.aggregate_id for e in events)))}
    linked: set[uuid.UUID] = set()
    read = 0
    for event in events:
        if event.aggregate_id not in linked:
            if read and deadline is not None and time.monotonic() > deadline:
                break
            incident = incidents.get(event.aggregate_id)
            if incident is not None:
                index_incident(session, incident)
                deconflict(session, incident)
            linked.add(event.aggregate_id)
        read += 1
    outbox.advance(session, CONSUMER, events[read - 1])
    return read


def linking_done(session: Session, incident: Incident) -> bool:
    """Whether the linkage worker has handled the incident's latest change (submission, update, sharing change or
    closing): its links are then as they will stay until the next change. A draft has nothing to link."""
    return outbox.consumed(session, CONSUMER, topics=TOPICS, aggregate_id=incident.id)


def rebuild(
    session: Session,
    *,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> int:
    """Re-index every incident that is not a draft (drafts are linked when submitted), then compare every
    company and person name of the register with every other in batch (linkage.batch: Splink on DuckDB,
    re-scored with score_pair) and store the new links and suggestions; judged pairs are kept as judged."""
    done = 0
    last: uuid.UUID | None = None
    while True:
        stmt = select(Incident.id).where(Incident.status != "draft").order_by(Incident.id).limit(batch)
        if last is not None:
            stmt = stmt.where(Incident.id > last)
        ids = list(session.scalars(stmt))
        if not ids:
            break
        for incident in _load(session, ids):
            index_incident(session, incident)
        session.flush()
        session.expunge_all()
        done += len(ids)
        last = ids[-1]
        if progress:
            progress(len(ids))
    relink_batch(session, say=say)
    return done


def relink_batch(session: Session, *, say: Callable[[str], None] | None = None) -> int:
    """Batch deduplication of the name entities; returns how many links and suggestions were added."""
    from interdict.linkage.batch import EM_MIN_RECORDS, EntityRecord, deduplicate

    rows = session.execute(
        select(Entity.id, Entity.kind, Entity.name, Entity.country).where(
            Entity.kind.in_(list(NAME_KINDS)), Entity.incident_count > 0
        )
    ).all()
    if len(rows) < 2:
        return 0
    # Below EM_MIN_RECORDS Splink's weights are not trained on the register, so its evidence is no filter:
    # every blocked pair is re-scored (the blocking keeps that bounded).
    result = deduplicate(
        (EntityRecord(id=str(i), kind=k, name=n, country=c) for i, k, n, c in rows),
        progress=say,
        min_evidence=0.0 if len(rows) >= EM_MIN_RECORDS else -1e9,
    )
    names = {i: (k, n) for i, k, n, _ in rows}
    known = {(a, b) for a, b in session.execute(select(EntityLink.entity_a_id, EntityLink.entity_b_id))}
    added = 0
    joined: set[uuid.UUID] = set()
    pairs = result.pairs.to_pylist()
    for row in pairs:
        pair = _pair(uuid.UUID(row["id_l"]), uuid.UUID(row["id_r"]))
        score = float(row["score"])
        if pair in known or score < SUGGEST_THRESHOLD:
            continue
        status = "auto" if score >= DEFAULT_THRESHOLD else "suggested"
        session.add(
            EntityLink(
                id=uuid.uuid4(),
                entity_a_id=pair[0],
                entity_b_id=pair[1],
                score=round(score, 4),
                status=status,
                reasons=[
                    *score_pair(names[pair[0]][1], names[pair[1]][1], SCHEMA.get(names[pair[0]][0])).reasons,
                    f"batch: Splink match probability {float(row['match_probability']):.2f}",
                ],
                created_at=utcnow(),
            )
        )
        known.add(pair)
        added += 1
        if status == "auto":
            joined |= set(pair)
    session.flush()
    if joined:
        recluster(session, joined)
    return added


# --- what a reader sees --------------------------------------------------------------------------


@dataclass
class LinkReason:
    kind: str
    role: str
    mine: str
    theirs: str
    score: float
    their_role: str
    nominal: bool = False  # through a natural person's data (its name, phone, document...): reading it is audited

    def text(self) -> str:
        role = ROLE_LABELS.get(self.role, self.role)
        score = f"{self.score:.2f}"
        if self.mine == self.theirs:
            return N_("same %(role)s %(score)s: '%(mine)s'", role=role, score=score, mine=self.mine)
        return N_(
            "same %(role)s %(score)s: '%(mine)s' ~ '%(theirs)s'",
            role=role,
            score=score,
            mine=self.mine,
            theirs=self.theirs,
        )


@dataclass
class LinkedIncident:
    incident: Incident
    score: float
    reasons: list[LinkReason] = field(default_factory=list)


@dataclass
class Suggestion:
    link: SeenLink
    mine: Entity
    theirs: Entity
    their_incidents: int  # incidents the reader may read that mention the other entity
    mine_label: str  # as written in this incident
    their_label: str  # as written in one of those incidents (never from a record the reader may not read)


@dataclass
class IncidentLinks:
    linked: list[LinkedIncident]
    suggestions: list[Suggestion]
    restricted: dict[str, int]  # owning organisation's name -> matches the reader may not read
    common: list[str]  # values too common to link (over-correlation cap)
    # For the owning organisation's users: (organisation to contact, kinds of matching values, when).
    deconfliction: list[tuple[str, list[str], Any]] = field(default_factory=list)


def _visible_mentions(session: Session, subject: Subject, incident: Incident) -> list[tuple[EntityMention, Entity]]:
    persons_ok = bool(
        session.scalar(
            select(func.count())
            .select_from(Incident)
            .where(Incident.id == incident.id, nominal_clause(Incident, subject))
        )
    )
    rows = session.execute(
        select(EntityMention, Entity)
        .join(Entity, Entity.id == EntityMention.entity_id)
        .where(EntityMention.incident_id == incident.id)
    ).all()
    return [(m, e) for m, e in rows if persons_ok or not e.nominal]


def linked_incidents(session: Session, subject: Subject, incident: Incident, *, limit: int = 100) -> IncidentLinks:
    """The links of an incident the subject has already read through sharing.readable (get_incident), with the
    deconfliction notices its organisation was given; person data of other incidents shown in the reasons is
    audited as a read of nominal data."""
    links = _links(session, subject, incident, limit=limit)
    shown: dict[uuid.UUID, int] = defaultdict(int)
    for li in links.linked:
        shown[li.incident.id] += sum(1 for r in li.reasons if r.nominal)
    theirs = {s.theirs.id: s.their_label for s in links.suggestions if s.theirs.nominal}
    for incident_id, n in label_reads(session, subject, theirs).items():
        shown[incident_id] += n
    others = {k: v for k, v in shown.items() if v and k != incident.id}
    incidents.record_nominal_reads(session, subject, others, where="links")
    links.deconfliction = notices_for(session, subject, incident)
    return links


def _links(session: Session, subject: Subject, incident: Incident, *, limit: int) -> IncidentLinks:
    decided("readable")
    mine = _visible_mentions(session, subject, incident)
    view = clusters_for(session, subject.root_org_id, {e.id for _, e in mine})
    clusters: dict[uuid.UUID, list[tuple[EntityMention, Entity]]] = defaultdict(list)
    for m, e in mine:
        clusters[view.key[e.id]].append((m, e))
    common: list[str] = []
    if not clusters:
        return IncidentLinks([], [], {}, [])
    counts = dict(
        session.execute(
            select(Entity.id, Entity.incident_count).where(
                Entity.id.in_([x for c in clusters for x in view.members[c]])
            )
        )
        .tuples()
        .all()
    )
    size = {c: sum(counts.get(x, 0) for x in view.members[c]) for c in clusters}
    usable = {c for c in clusters if size[c] <= MAX_INCIDENTS_PER_VALUE}
    for c in set(clusters) - usable:
        m, e = clusters[c][0]
        common.append(
            N_(
                "%(kind)s '%(text)s' (%(num)s incidents)",
                kind=KIND_LABELS.get(e.kind, e.kind),
                text=m.text,
                num=size[c],
            )
        )
    other = session.execute(
        select(EntityMention, Entity)
        .join(Entity, Entity.id == EntityMention.entity_id)
        .where(
            EntityMention.entity_id.in_([x for c in usable for x in view.members[c]]),
            EntityMention.incident_id != incident.id,
        )
    ).all()
    by_incident: dict[uuid.UUID, list[tuple[EntityMention, Entity]]] = defaultdict(list)
    for m, e in other:
        by_incident[m.incident_id].append((m, e))
    if not by_incident:
        return IncidentLinks([], _suggestions(session, subject, mine), {}, sorted(common))
    ids = list(by_incident)
    readable_ids = set(session.scalars(readable(select(Incident.id).where(Incident.id.in_(ids)), subject, Incident)))
    persons_ids = set(
        session.scalars(
            readable(
                select(Incident.id).where(Incident.id.in_(ids), nominal_clause(Incident, subject)), subject, Incident
            )
        )
    )
    link_scores = _link_scores(session, subject.root_org_id, {e.id for _, e in mine}, {e.id for _, e in other})
    found: list[tuple[uuid.UUID, float, list[LinkReason]]] = []
    restricted_ids: list[uuid.UUID] = []
    for iid, mentions in by_incident.items():
        if iid not in readable_ids:
            restricted_ids.append(iid)
            continue
        usable_mentions = [(m, e) for m, e in mentions if not e.nominal or iid in persons_ids]
        reasons = []
        for m, e in usable_mentions:
            for my_m, my_e in clusters[view.key[e.id]]:
                if my_e.id == e.id:
                    score = 1.0
                else:
                    score = (
                        link_scores.get(_pair(my_e.id, e.id)) or score_pair(my_m.text, m.text, SCHEMA.get(e.kind)).score
                    )
                reasons.append(LinkReason(e.kind, my_m.role, my_m.text, m.text, round(score, 2), m.role, e.nominal))
        if reasons:
            reasons.sort(key=lambda r: -r.score)
            found.append((iid, reasons[0].score, reasons))
    found.sort(key=lambda f: (-f[1], -len(f[2])))
    found = found[:limit]
    rows = {i.id: i for i in session.scalars(select(Incident).where(Incident.id.in_([f[0] for f in found])))}
    linked = [LinkedIncident(rows[iid], score, reasons) for iid, score, reasons in found]
    restricted = _restricted_by_org(session, restricted_ids)
    return IncidentLinks(linked, _suggestions(session, subject, mine), restricted, sorted(common))


def _link_scores(
    session: Session, root_org_id: uuid.UUID, a: set[uuid.UUID], b: set[uuid.UUID]
) -> dict[tuple[uuid.UUID, uuid.UUID], float]:
    if not a or not b:
        return {}
    seen = seen_links(
        session,
        root_org_id,
        or_(
            and_(EntityLink.entity_a_id.in_(a), EntityLink.entity_b_id.in_(b)),
            and_(EntityLink.entity_a_id.in_(b), EntityLink.entity_b_id.in_(a)),
        ),
        statuses=LINKED_STATUSES,
    )
    return {(link.entity_a_id, link.entity_b_id): link.score for link in seen}


def _restricted_by_org(session: Session, incident_ids: list[uuid.UUID]) -> dict[str, int]:
    if not incident_ids:
        return {}
    rows = session.execute(
        select(Organisation.name, func.count())
        .select_from(Incident)
        .join(Organisation, Organisation.id == Incident.owner_org_id)
        .where(Incident.id.in_(incident_ids))
        .group_by(Organisation.name)
    ).all()
    return {name: n for name, n in rows}


def _suggestions(session: Session, subject: Subject, mine: list[tuple[EntityMention, Entity]]) -> list[Suggestion]:
    """Pairs between the thresholds involving this incident's entities, where the other entity appears in an
    incident the subject may read (its name is shown)."""
    my_ids = {e.id for _, e in mine}
    if not my_ids:
        return []
    links = seen_links(
        session,
        subject.root_org_id,
        or_(EntityLink.entity_a_id.in_(my_ids), EntityLink.entity_b_id.in_(my_ids)),
        statuses=("suggested",),
    )
    from interdict.linkage.graph import visible_entities

    written = {e.id: m.text for m, e in mine}
    others = {link.entity_b_id if link.entity_a_id in my_ids else link.entity_a_id for link in links}
    seen = visible_entities(session, subject, others)
    out = []
    for link in links:
        mine_id, their_id = (
            (link.entity_a_id, link.entity_b_id) if link.entity_a_id in my_ids else (link.entity_b_id, link.entity_a_id)
        )
        theirs = session.get(Entity, their_id)
        me = session.get(Entity, mine_id)
        if theirs is None or me is None or their_id not in seen:
            continue
        count, label = seen[their_id]
        out.append(Suggestion(link, me, theirs, count, written[mine_id], label))
    return sorted(out, key=lambda s: -s.link.score)


def label_reads(session: Session, subject: Subject, labels: dict[uuid.UUID, str]) -> dict[uuid.UUID, int]:
    """For nominal entities shown by a label taken as written in a readable incident (``graph.visible_entities``):
    per incident written that way, how many of them it supplied — whose person data the audit records as read."""
    if not labels:
        return {}
    rows = session.execute(
        readable(
            select(EntityMention.entity_id, EntityMention.incident_id, EntityMention.text)
            .join(Incident, Incident.id == EntityMention.incident_id)
            .where(EntityMention.entity_id.in_(list(labels)), nominal_clause(Incident, subject)),
            subject,
            Incident,
        )
    ).all()
    shown: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for entity_id, incident_id, written in rows:
        if labels.get(entity_id) == written:
            shown[incident_id].add(entity_id)
    return {k: len(v) for k, v in shown.items()}


def readable_mentions(session: Session, subject: Subject, entity_id: uuid.UUID) -> list[uuid.UUID]:
    """Ids of the incidents mentioning the entity that the subject may read (and, for nominal entities, whose
    persons it may see)."""
    entity = session.get(Entity, entity_id)
    if entity is None:
        return []
    stmt = select(EntityMention.incident_id).where(EntityMention.entity_id == entity_id)
    inner = select(Incident.id).where(Incident.id.in_(stmt))
    if entity.nominal:
        inner = inner.where(nominal_clause(Incident, subject))
    return list(session.scalars(readable(inner, subject, Incident)))


# --- analysts' judgements ------------------------------------------------------------------------


def owners(session: Session, entity_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, set[uuid.UUID]]:
    """Entity id -> the agencies (organisation tree roots) owning the incidents that mention it."""
    ids = list(set(entity_ids))
    if not ids:
        return {}
    root = func.coalesce(Organisation.root_id, Organisation.id)
    rows = session.execute(
        select(EntityMention.entity_id, root)
        .join(Incident, Incident.id == EntityMention.incident_id)
        .join(Organisation, Organisation.id == Incident.owner_org_id)
        .where(EntityMention.entity_id.in_(ids))
        .distinct()
    ).all()
    out: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for eid, org in rows:
        out[eid].add(org)
    return out


def _binding(org_id: uuid.UUID, record_owners: set[uuid.UUID]) -> bool:
    """A judgement decides for everyone when its agency owns every incident mentioning either entity."""
    return record_owners == {org_id}


def refresh_binding(session: Session, entity_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Re-decide which judgements of links touching the entities are binding (who owns the records mentioning
    them may have changed); returns the entities whose stored clusters must be walked again."""
    ids = list(set(entity_ids))
    if not ids:
        return set()
    rows = session.execute(
        select(EntityLinkJudgement, EntityLink.entity_a_id, EntityLink.entity_b_id)
        .join(EntityLink, EntityLink.id == EntityLinkJudgement.link_id)
        .where(or_(EntityLink.entity_a_id.in_(ids), EntityLink.entity_b_id.in_(ids)))
    ).all()
    if not rows:
        return set()
    held = owners(session, {x for _, a, b in rows for x in (a, b)})
    changed: set[uuid.UUID] = set()
    for judgement, a, b in rows:
        binding = _binding(judgement.org_id, held.get(a, set()) | held.get(b, set()))
        if judgement.binding != binding:
            judgement.binding = binding
            changed |= {a, b}
    session.flush()
    return changed


def refresh_all_judgements(session: Session) -> None:
    """Every judgement's binding flag decided again and the clusters they touch walked again (the maintenance
    task of migration 0019, which gave every existing judgement to its judge's agency)."""
    pairs = session.execute(
        select(EntityLink.entity_a_id, EntityLink.entity_b_id).join(
            EntityLinkJudgement, EntityLinkJudgement.link_id == EntityLink.id
        )
    ).all()
    entities = {x for pair in pairs for x in pair}
    refresh_binding(session, entities)
    recluster(session, entities)


def judge(session: Session, subject: Subject, link_id: uuid.UUID | str, verdict: str) -> SeenLink:
    """Confirm or reject a link (or a suggestion) for the analyst's agency. Only analysts who may read an incident
    on each side. The judgement decides what the agency's users see; it decides for everyone only when the agency
    owns every incident mentioning either entity. The audit entry is also shown to the auditors of the agencies
    owning those incidents."""
    decided("linkage-judgement")
    if verdict not in ("confirmed", "rejected"):
        raise Conflict(N_("a judgement is confirmed or rejected"))
    try:
        key = uuid.UUID(str(link_id))
    except ValueError:
        raise NotFound(N_("no such link")) from None
    link = session.get(EntityLink, key)
    if link is None or not (
        readable_mentions(session, subject, link.entity_a_id) and readable_mentions(session, subject, link.entity_b_id)
    ):
        raise NotFound(N_("no such link"))
    if not subject.has_role("analyst") or "write" not in subject.scopes:
        raise Forbidden(N_("only analysts confirm or reject links"))
    agency = subject.root_org_id
    (before,) = seen_links(session, agency, EntityLink.id == link.id)
    held = owners(session, [link.entity_a_id, link.entity_b_id])
    record_owners = held.get(link.entity_a_id, set()) | held.get(link.entity_b_id, set())
    judgement = session.scalar(
        select(EntityLinkJudgement).where(EntityLinkJudgement.link_id == link.id, EntityLinkJudgement.org_id == agency)
    )
    if judgement is None:
        judgement = EntityLinkJudgement(id=uuid.uuid4(), link_id=link.id, org_id=agency)
        session.add(judgement)
    was_binding = bool(judgement.binding)
    judgement.verdict = verdict
    judgement.binding = _binding(agency, record_owners)
    judgement.judged_by_id = subject.user_id
    judgement.judged_at = utcnow()
    session.flush()
    if judgement.binding or was_binding:
        recluster(session, {link.entity_a_id, link.entity_b_id})
    audit.record(
        session,
        subject,
        f"linkage.{'confirm' if verdict == 'confirmed' else 'reject'}",
        object_type="entity_link",
        object_id=link.id,
        summary="for every reader (the agency owns every record mentioning them)"
        if judgement.binding
        else "for the judging agency",
        before={"status": before.status},
        after={"status": verdict, "score": link.score, "binding": judgement.binding},
        org_ids=record_owners | {agency},
    )
    return SeenLink(link.id, link.entity_a_id, link.entity_b_id, link.score, verdict, list(link.reasons or []))


# --- the entity page ------------------------------------------------------------------------------


@dataclass
class EntityAppearance:
    incident: Incident
    role: str
    text: str


@dataclass
class EntityView:
    entity: Entity
    names: list[tuple[str, str]]  # (kind, value as written) of every visible member of the cluster
    appearances: list[EntityAppearance]
    first_seen: Any
    last_seen: Any
    # entities in the same incidents: (entity, as written in one of those incidents, how many incidents)
    co_mentioned: list[tuple[Entity, str, int]]


def entity_view(session: Session, subject: Subject, entity_id: uuid.UUID | str, *, limit: int = 200) -> EntityView:
    """An entity and its cluster as far as the subject may read the incidents that mention them; an entity
    known only from incidents it may not read does not exist for it (404)."""
    decided("readable")
    try:
        key = uuid.UUID(str(entity_id))
    except ValueError:
        raise NotFound(N_("no such entity")) from None
    entity = session.get(Entity, key)
    if entity is None:
        raise NotFound(N_("no such entity"))
    cluster = clusters_for(session, subject.root_org_id, [entity.id]).of(entity.id)
    members = list(session.scalars(select(Entity).where(Entity.id.in_(cluster))))
    visible: dict[uuid.UUID, list[uuid.UUID]] = {}
    for m in members or [entity]:
        ids = readable_mentions(session, subject, m.id)
        if ids:
            visible[m.id] = ids
    if not visible:
        raise NotFound(N_("no such entity"))
    incident_ids = {i for ids in visible.values() for i in ids}
    rows = session.execute(
        select(EntityMention, Incident)
        .join(Incident, Incident.id == EntityMention.incident_id)
        .where(EntityMention.entity_id.in_(list(visible)), EntityMention.incident_id.in_(incident_ids))
        .order_by(Incident.incident_date.desc())
        .limit(limit)
    ).all()
    appearances = [EntityAppearance(inc, m.role, m.text) for m, inc in rows]
    from interdict.linkage.graph import visible_entities

    # Names as written in incidents the reader may read (Entity.name may come from one it may not).
    labels = visible_entities(session, subject, visible)
    names = sorted({(m.kind, labels[m.id][1]) for m in (members or [entity]) if m.id in labels})
    dates = [inc.incident_date for _, inc in rows]
    persons_ok = set(
        session.scalars(select(Incident.id).where(Incident.id.in_(incident_ids), nominal_clause(Incident, subject)))
    )
    co_rows = session.execute(
        select(EntityMention.entity_id, EntityMention.incident_id, Entity.nominal)
        .join(Entity, Entity.id == EntityMention.entity_id)
        .where(EntityMention.incident_id.in_(incident_ids), Entity.id.notin_(list(visible)))
    ).all()
    together: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for eid, iid, nominal in co_rows:
        if not nominal or iid in persons_ok:  # person data only where the reader may see that incident's persons
            together[eid].add(iid)
    top = sorted(together, key=lambda e: -len(together[e]))[:50]
    others = {e.id: e for e in session.scalars(select(Entity).where(Entity.id.in_(top)))}
    co_labels = visible_entities(session, subject, top)
    co_visible = [(others[e], co_labels[e][1], len(together[e])) for e in top if e in others and e in co_labels]
    # Person data on the page: the entity's own appearances if it is a person's, and persons mentioned alongside.
    shown: dict[uuid.UUID, int] = defaultdict(int)
    if entity.nominal:
        for a in appearances:
            shown[a.incident.id] = 1
    for incident_id, n in label_reads(
        session, subject, {e.id: label for e, label, _ in co_visible if e.nominal}
    ).items():
        shown[incident_id] += n
    incidents.record_nominal_reads(session, subject, dict(shown), where="an entity page")
    return EntityView(
        entity=entity,
        names=names,
        appearances=appearances,
        first_seen=min(dates) if dates else None,
        last_seen=max(dates) if dates else None,
        co_mentioned=co_visible,
    )


def incident_entities(session: Session, subject: Subject, incident: Incident) -> list[Entity]:
    """The entities of an incident already read through sharing.readable, persons only where visible."""
    seen: dict[uuid.UUID, Entity] = {}
    for _, e in _visible_mentions(session, subject, incident):
        seen.setdefault(e.id, e)
    return sorted(seen.values(), key=lambda e: (e.kind, e.name))
