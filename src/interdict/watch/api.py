"""Watch rules and watch lists API: your rules and your unit's, your unit's watch lists."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from interdict.accounts.deps import SubjectDep, WriterDep
from interdict.core.deps import SessionDep
from interdict.watch import service
from interdict.watch.schemas import (
    EntryCreate,
    EntryRead,
    RuleCreate,
    RuleRead,
    RuleUpdate,
    WatchListCreate,
    WatchListRead,
)

router = APIRouter(prefix="/api/v1/watch", tags=["watch"])


@router.get("/rules", response_model=list[RuleRead])
def list_rules(db: SessionDep, subject: SubjectDep) -> list[RuleRead]:
    """Your own watch rules and your unit's."""
    return service.rules_read(db, subject, service.list_rules(db, subject))


@router.post("/rules", response_model=RuleRead, status_code=201)
def create_rule(body: RuleCreate, db: SessionDep, subject: WriterDep) -> RuleRead:
    """A saved filter in the incident filter language; matching new and changed incidents you may read
    notify you (scope user) or every user of your unit (scope unit, analysts)."""
    return service.rules_read(db, subject, [service.create_rule(db, subject, body)])[0]


@router.get("/rules/{rule_id}", response_model=RuleRead)
def get_rule(rule_id: uuid.UUID, db: SessionDep, subject: SubjectDep) -> RuleRead:
    return service.rules_read(db, subject, [service.get_rule(db, subject, rule_id)])[0]


@router.patch("/rules/{rule_id}", response_model=RuleRead)
def update_rule(rule_id: uuid.UUID, body: RuleUpdate, db: SessionDep, subject: WriterDep) -> RuleRead:
    return service.rules_read(db, subject, [service.update_rule(db, subject, rule_id, body)])[0]


@router.delete("/rules/{rule_id}", status_code=204)
def delete_rule(rule_id: uuid.UUID, db: SessionDep, subject: WriterDep) -> Response:
    service.delete_rule(db, subject, rule_id)
    return Response(status_code=204)


@router.get("/lists", response_model=list[WatchListRead])
def list_lists(db: SessionDep, subject: SubjectDep) -> list[WatchListRead]:
    """Your unit's watch lists, with their entries and recent hits."""
    reads = [service.list_read(db, subject, wl) for wl in service.list_lists(db, subject)]
    service.record_person_reads(db, subject, reads)
    return reads


@router.post("/lists", response_model=WatchListRead, status_code=201)
def create_list(body: WatchListCreate, db: SessionDep, subject: WriterDep) -> WatchListRead:
    return service.list_read(db, subject, service.create_list(db, subject, body))


@router.get("/lists/{list_id}", response_model=WatchListRead)
def get_list(list_id: uuid.UUID, db: SessionDep, subject: SubjectDep) -> WatchListRead:
    """The list with its entries and recent hits; showing watched persons' values or persons as written in an
    incident is audited."""
    read = service.list_read(db, subject, service.get_list(db, subject, list_id))
    service.record_person_reads(db, subject, [read])
    return read


@router.delete("/lists/{list_id}", status_code=204)
def delete_list(list_id: uuid.UUID, db: SessionDep, subject: WriterDep) -> Response:
    service.delete_list(db, subject, list_id)
    return Response(status_code=204)


@router.post("/lists/{list_id}/entries", response_model=EntryRead, status_code=201)
def add_entry(list_id: uuid.UUID, body: EntryCreate, db: SessionDep, subject: WriterDep) -> EntryRead:
    """Watch a value (company, person, phone, container, vessel, ...) with a reason and an optional expiry.
    Names match their variants (other scripts, with or without diacritics, legal forms) through the linkage
    engine's scorer; identifiers match their normalised form."""
    entry = service.add_entry(db, subject, list_id, body)
    read = service.list_read(db, subject, service.get_list(db, subject, list_id))
    return next(e for e in read.entries if e.id == entry.id)


@router.delete("/lists/{list_id}/entries/{entry_id}", status_code=204)
def remove_entry(list_id: uuid.UUID, entry_id: uuid.UUID, db: SessionDep, subject: WriterDep) -> Response:
    service.remove_entry(db, subject, list_id, entry_id)
    return Response(status_code=204)
