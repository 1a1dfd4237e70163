"""The linkage engine on the database: keep the entity register in step with incidents, match names, keep
the analysts' judgements, and tell a reader which incidents are linked to one it reads, and why.

* :func:`index_incident` replaces an incident's mentions with what :func:`entities.extract.extract` finds;
  identifiers link at once (one entity per normalised value); a new company or person name is compared
  with the names that share a token with it (entity_tokens; very frequent tokens are skipped, so no full
  scan) and scored by :func:`linkage.score.score_pair`: at or above ``DEFAULT_THRESHOLD`` the link is
  automatic, from ``SUGGEST_THRESHOLD`` it is a suggestion for an analyst. A pair an analyst rejected is
  never linked or suggested again.
* Entities joined by automatic or confirmed links form a cluster with one canonical entity
  (``Entity.canonical_id``); rejecting a link splits the cluster again.
* :func:`linked_incidents` is read through ``sharing.readable``: a reader sees links only to incidents it
  may read, and links through person data only where it may see the persons of both incidents. Matches it
  may not read are counted per owning organisation (whom to contact), without any detail.
* :func:`process_events` is the consumer of the incident events (outbox), run by the worker thread of the
  server and by ``interdict linkage run``; ``interdict linkage rebuild`` re-indexes every incident.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text, tuple_
from sqlalchemy.orm import Session, selectinload

from interdict.accounts.models import Organisation, User
from interdict.accounts.service import ancestors_of
from interdict.accounts.subject import Subject
from interdict.audit import service as audit
from interdict.core import outbox
from interdict.core.clock import utcnow
from interdict.core.errors import Conflict, Forbidden, NotFound
from interdict.entities.extract import NAME_KINDS, Found, extract
from interdict.entities.models import DeconflictionNotice, Entity, EntityLink, EntityMention, EntityToken
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
ROLE_LABELS = {
    "shipper": "shipper",
    "consignee": "consignee",
    "notify_party": "notify party",
    "forwarder": "forwarder",
    "customs_broker": "customs broker",
    "carrier": "carrier",
    "declarant": "declarant",
    "person_involved": "person involved",
    "container": "container",
    "vessel": "vessel",
    "bill_of_lading": "bill of lading / air waybill",
    "parcel": "parcel",
    "vehicle": "vehicle",
}
KIND_LABELS = {
    "company": "company",
    "person": "person",
    "phone": "phone",
    "email": "e-mail",
    "tax_id": "tax id",
    "id_document": "identity document",
    "address": "address",
    "container": "container",
    "vessel": "vessel (IMO)",
    "bill_of_lading": "bill of lading / air waybill",
    "parcel": "parcel tracking number",
    "vehicle": "vehicle plate",
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


def recluster(session: Session, seeds: Iterable[uuid.UUID]) -> None:
    """Give every entity in the clusters of ``seeds`` (auto and confirmed links) one canonical entity: the
    oldest of the cluster."""
    todo = set(seeds)
    while todo:
        start = todo.pop()
        component = {start}
        frontier = {start}
        while frontier:
            links = session.execute(
                select(EntityLink.entity_a_id, EntityLink.entity_b_id).where(
                    EntityLink.status.in_(LINKED_STATUSES),
                    or_(EntityLink.entity_a_id.in_(frontier), EntityLink.entity_b_id.in_(frontier)),
                )
            ).all()
            nxt = {x for a, b in links for x in (a, b)} - component
            component |= nxt
            frontier = nxt
        todo -= component
        members = list(session.scalars(select(Entity).where(Entity.id.in_(component))))
        if not members:
            continue
        canonical = min(members, key=lambda e: (e.created_at, str(e.id)))
        for e in members:
            e.canonical_id = canonical.id
    session.flush()


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
    _refresh_counts(session, old | {e.id for e, _ in pairs})
    joined = [link for link in links if link.status in LINKED_STATUSES]
    if joined:
        recluster(session, {x for link in joined for x in (link.entity_a_id, link.entity_b_id)})
    return links


def org_subject(session: Session, org_id: uuid.UUID) -> Subject:
    """The organisation as a reader (what any of its users could read), for deconfliction decisions."""
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound("no such organisation")
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
        channel="cli",
        scopes=frozenset({"read"}),
        ancestor_ids=tuple(ancestors_of(session, org.id)),
    )


def deconflict(session: Session, incident: Incident) -> list[DeconflictionNotice]:
    """Tell the owners of matching incidents that the new incident's organisation may not read that a match
    exists, and with whom (never what): one notice per pair of incidents."""
    if incident.status == "draft":
        return []
    rows = session.execute(
        select(EntityMention.incident_id, Entity.kind)
        .join(Entity, Entity.id == EntityMention.entity_id)
        .where(
            Entity.canonical_id.in_(
                select(Entity.canonical_id)
                .join(EntityMention, EntityMention.entity_id == Entity.id)
                .where(EntityMention.incident_id == incident.id)
            ),
            EntityMention.incident_id != incident.id,
        )
    ).all()
    kinds: dict[uuid.UUID, set[str]] = defaultdict(set)
    for iid, kind in rows:
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
    incident (who to contact and through what kind of value; never what the other record holds)."""
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
                f"deconfliction:{n.incident_id}:{n.matching_incident_id}",
                "urgent",
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


def process_events(session: Session, *, limit: int = 200) -> int:
    """Link the incidents of the next outbox events (the caller commits). Returns how many events were read;
    0 when there is nothing new or another worker holds the linkage position."""
    events = outbox.claim(session, CONSUMER, topics=TOPICS, limit=limit)
    if not events:
        return 0
    ids = list(dict.fromkeys(e.aggregate_id for e in events))
    for incident in _load(session, ids):
        index_incident(session, incident)
        deconflict(session, incident)
    outbox.advance(session, CONSUMER, events[-1])
    return len(events)


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
        if self.mine == self.theirs or self.score >= 0.9999:
            return f"same {role} {self.score:.2f}: '{self.mine}'" + (
                f" ~ '{self.theirs}'" if self.mine != self.theirs else ""
            )
        return f"same {role} {self.score:.2f}: '{self.mine}' ~ '{self.theirs}'"


@dataclass
class LinkedIncident:
    incident: Incident
    score: float
    reasons: list[LinkReason] = field(default_factory=list)


@dataclass
class Suggestion:
    link: EntityLink
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
    clusters: dict[uuid.UUID, list[tuple[EntityMention, Entity]]] = defaultdict(list)
    for m, e in mine:
        clusters[e.canonical_id or e.id].append((m, e))
    common: list[str] = []
    if not clusters:
        return IncidentLinks([], [], {}, [])
    members = session.execute(
        select(Entity.id, Entity.canonical_id, Entity.incident_count).where(Entity.canonical_id.in_(list(clusters)))
    ).all()
    size: dict[uuid.UUID, int] = defaultdict(int)
    for _, canon, count in members:
        if canon is not None:
            size[canon] += count
    usable = {c for c in clusters if size[c] <= MAX_INCIDENTS_PER_VALUE}
    for c in set(clusters) - usable:
        m, e = clusters[c][0]
        common.append(f"{KIND_LABELS.get(e.kind, e.kind)} '{m.text}' ({size[c]} incidents)")
    other = session.execute(
        select(EntityMention, Entity)
        .join(Entity, Entity.id == EntityMention.entity_id)
        .where(Entity.canonical_id.in_(list(usable)), EntityMention.incident_id != incident.id)
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
    link_scores = _link_scores(session, {e.id for _, e in mine}, {e.id for _, e in other})
    found: list[tuple[uuid.UUID, float, list[LinkReason]]] = []
    restricted_ids: list[uuid.UUID] = []
    for iid, mentions in by_incident.items():
        if iid not in readable_ids:
            restricted_ids.append(iid)
            continue
        usable_mentions = [(m, e) for m, e in mentions if not e.nominal or iid in persons_ids]
        reasons = []
        for m, e in usable_mentions:
            for my_m, my_e in clusters[e.canonical_id or e.id]:
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


def _link_scores(session: Session, a: set[uuid.UUID], b: set[uuid.UUID]) -> dict[tuple[uuid.UUID, uuid.UUID], float]:
    if not a or not b:
        return {}
    pairs = session.execute(
        select(EntityLink.entity_a_id, EntityLink.entity_b_id, EntityLink.score).where(
            EntityLink.status.in_(LINKED_STATUSES),
            or_(
                and_(EntityLink.entity_a_id.in_(a), EntityLink.entity_b_id.in_(b)),
                and_(EntityLink.entity_a_id.in_(b), EntityLink.entity_b_id.in_(a)),
            ),
        )
    ).all()
    return {(x, y): s for x, y, s in pairs}


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
    links = list(
        session.scalars(
            select(EntityLink).where(
                EntityLink.status == "suggested",
                or_(EntityLink.entity_a_id.in_(my_ids), EntityLink.entity_b_id.in_(my_ids)),
            )
        )
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


def judge(session: Session, subject: Subject, link_id: uuid.UUID | str, verdict: str) -> EntityLink:
    """Confirm or reject a link (or a suggestion). Only analysts who may read an incident on each side."""
    decided("linkage-judgement")
    if verdict not in ("confirmed", "rejected"):
        raise Conflict("a judgement is confirmed or rejected")
    try:
        key = uuid.UUID(str(link_id))
    except ValueError:
        raise NotFound("no such link") from None
    link = session.get(EntityLink, key)
    if link is None or not (
        readable_mentions(session, subject, link.entity_a_id) and readable_mentions(session, subject, link.entity_b_id)
    ):
        raise NotFound("no such link")
    if not subject.has_role("analyst") or "write" not in subject.scopes:
        raise Forbidden("only analysts confirm or reject links")
    before = link.status
    link.status = verdict
    link.decided_by_id = subject.user_id
    link.decided_at = utcnow()
    session.flush()
    recluster(session, {link.entity_a_id, link.entity_b_id})
    audit.record(
        session,
        subject,
        f"linkage.{'confirm' if verdict == 'confirmed' else 'reject'}",
        object_type="entity_link",
        object_id=link.id,
        before={"status": before},
        after={"status": verdict, "score": link.score},
    )
    return link


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
        raise NotFound("no such entity") from None
    entity = session.get(Entity, key)
    if entity is None:
        raise NotFound("no such entity")
    members = list(session.scalars(select(Entity).where(Entity.canonical_id == (entity.canonical_id or entity.id))))
    visible: dict[uuid.UUID, list[uuid.UUID]] = {}
    for m in members or [entity]:
        ids = readable_mentions(session, subject, m.id)
        if ids:
            visible[m.id] = ids
    if not visible:
        raise NotFound("no such entity")
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
