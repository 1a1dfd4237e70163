"""Links between incidents and the entity register, over the API (every read through sharing.readable)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.orm import Session

from interdict.accounts.deps import SubjectDep, WriterDep
from interdict.accounts.subject import Subject
from interdict.core.deps import SessionDep
from interdict.incidents import service as incidents
from interdict.incidents.present import to_summaries
from interdict.incidents.schemas import IncidentSummary
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
    at: datetime


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


def audit_person_reads(session: Session, subject: Subject, shown: dict[uuid.UUID, int]) -> None:
    """Person data of other incidents shown through links or an entity page is a read of nominal data."""
    from interdict.incidents.models import Incident

    for incident_id, n in shown.items():
        incident = session.get(Incident, incident_id)
        if incident is not None:
            incidents.record_nominal_read(session, subject, incident, n)


def incident_links(session: Session, subject: Subject, incident_id: str) -> svc.IncidentLinks:
    incident = incidents.get_incident(session, subject, incident_id)
    links = svc.linked_incidents(session, subject, incident)
    shown = {li.incident.id: sum(1 for r in li.reasons if r.kind == "person") for li in links.linked if li.reasons}
    audit_person_reads(session, subject, {k: v for k, v in shown.items() if v})
    return links


@router.get("/incidents/{incident_id}/links", response_model=IncidentLinksRead)
def get_incident_links(incident_id: str, db: SessionDep, subject: SubjectDep) -> IncidentLinksRead:
    """Incidents linked to this one (same company, person, phone, container, vessel...) with the reasons;
    suggestions for an analyst; matches in records the caller may not read, counted per owner."""
    links = incident_links(db, subject, incident_id)
    incident = incidents.get_incident(db, subject, incident_id)
    notices = svc.notices_for(db, subject, incident)
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
                mine=s.mine.name,
                theirs=s.theirs.name,
                their_entity_id=s.theirs.id,
                their_incidents=s.their_incidents,
                reasons=[str(r) for r in s.link.reasons],
            )
            for s in links.suggestions
        ],
        restricted=links.restricted,
        common=links.common,
        deconfliction=[NoticeRead(contact=c, kinds=k, at=at) for c, k, at in notices],
    )


@router.post("/entity-links/{link_id}/confirm", response_model=LinkJudgement)
def confirm_link(link_id: str, db: SessionDep, subject: WriterDep) -> LinkJudgement:
    """The two entities are the same: their clusters merge (and their incidents link)."""
    link = svc.judge(db, subject, link_id, "confirmed")
    return LinkJudgement(id=link.id, status=link.status, score=link.score)


@router.post("/entity-links/{link_id}/reject", response_model=LinkJudgement)
def reject_link(link_id: str, db: SessionDep, subject: WriterDep) -> LinkJudgement:
    """Not the same: never suggested or linked again; a cluster joined by this link splits."""
    link = svc.judge(db, subject, link_id, "rejected")
    return LinkJudgement(id=link.id, status=link.status, score=link.score)


@router.get("/entities/{entity_id}", response_model=EntityRead)
def get_entity(entity_id: str, db: SessionDep, subject: SubjectDep) -> EntityRead:
    view = svc.entity_view(db, subject, entity_id)
    if view.entity.nominal:
        audit_person_reads(db, subject, {a.incident.id: 1 for a in view.appearances})
    return EntityRead(
        id=view.entity.id,
        kind=view.entity.kind,
        name=view.names[0][1] if view.names else view.entity.name,
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
        co_mentioned=[CoMentionRead(id=e.id, kind=e.kind, name=e.name, incidents=n) for e, n in view.co_mentioned],
    )
