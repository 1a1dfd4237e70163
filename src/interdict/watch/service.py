"""Watch rules and watch lists: managing them (owner-only, per unit), and firing them on incident events.

:func:`process_events` is an outbox consumer (``watch``): for each published, updated or re-shared incident it
tests the compiled rules and watched values in memory (:mod:`interdict.watch.matcher`), keeps the matches
whose owners may read the incident (person data: only where they may see it), records each rule-incident
and entry-incident pair once (so a later edit of the incident never re-alerts), and notifies the owners in
the same transaction as the consumer's position: a crash repeats a batch, never loses or doubles one.
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, cast

from pydantic import TypeAdapter
from sqlalchemy import Table, exists, func, literal, select, union_all
from sqlalchemy.orm import Session, selectinload

from interdict.accounts.models import Organisation, User
from interdict.accounts.subject import Subject
from interdict.alerts.models import RapidAlert
from interdict.audit import service as audit
from interdict.core import outbox
from interdict.core.clock import today, utcnow
from interdict.core.db import insert_rows
from interdict.core.errors import FieldError, Forbidden, InvalidInput, NotFound
from interdict.core.filters import STORED, Condition, FilterNode, Group, Registry
from interdict.core.i18n import N_
from interdict.entities.extract import Found, compact, company_key, person_key
from interdict.incidents import service as incidents
from interdict.incidents.models import Incident
from interdict.incidents.search import IncidentFacts, incident_registry
from interdict.linkage import identifiers
from interdict.linkage.service import org_subject
from interdict.notifications import service as notifications
from interdict.notifications.models import Notification
from interdict.reference.catalogue import get_index
from interdict.sharing.groups import sees_members
from interdict.sharing.models import SharingGroup
from interdict.sharing.service import can_see_nominal, decided, readable_clause
from interdict.watch.matcher import CompiledRule, Hit, ListBook, RuleBook, WatchedValue, entry_key
from interdict.watch.models import WatchFire, WatchHit, WatchList, WatchListEntry, WatchRule
from interdict.watch.schemas import (
    EntryCreate,
    EntryRead,
    HitRead,
    RuleCreate,
    RuleRead,
    RuleUpdate,
    WatchListCreate,
    WatchListRead,
)

CONSUMER = "watch"
TOPICS = ["incident.published", "incident.updated", "incident.sharing_changed", "alert.issued"]
URGENCY_RANK = {"routine": 0, "urgent": 1, "immediate": 2}
_FILTER = TypeAdapter(FilterNode)


def registry(session: Session) -> Registry:
    return incident_registry(get_index(session), session.get_bind().dialect.name)


def _validate_filter(session: Session, node: Condition | Group) -> dict[str, Any]:
    registry(session).matcher(node)  # raises InvalidInput naming filter.<path> of every bad condition
    dumped: dict[str, Any] = _FILTER.dump_python(node, by_alias=True, exclude_none=True, mode="json")
    return dumped


# --- rules --------------------------------------------------------------------------------------------


def _can_edit_rule(rule: WatchRule, subject: Subject) -> bool:
    if rule.scope == "user":
        return rule.owner_user_id == subject.user_id
    return rule.owner_org_id == subject.org_id and subject.has_role("analyst")


def _rule_visible(subject: Subject) -> Any:
    decided("watch-rules")
    return ((WatchRule.scope == "user") & (WatchRule.owner_user_id == subject.user_id)) | (
        (WatchRule.scope == "unit") & (WatchRule.owner_org_id == subject.org_id)
    )


def create_rule(session: Session, subject: Subject, body: RuleCreate) -> WatchRule:
    decided("watch-rules")
    if body.scope == "unit" and not subject.has_role("analyst"):
        raise InvalidInput(FieldError(("scope",), N_("only analysts and administrators can subscribe the whole unit")))
    rule = WatchRule(
        name=body.name.strip(),
        scope=body.scope,
        owner_user_id=subject.user_id,
        owner_org_id=subject.org_id,
        filter=_validate_filter(session, body.filter),
        urgency=body.urgency,
        active=body.active,
    )
    session.add(rule)
    session.flush()
    audit.record(
        session,
        subject,
        "watch_rule.create",
        object_type="watch_rule",
        object_id=rule.id,
        object_label=rule.name,
        after={"scope": rule.scope, "filter": rule.filter},
    )
    return rule


def list_rules(session: Session, subject: Subject) -> list[WatchRule]:
    stmt = select(WatchRule).where(_rule_visible(subject)).order_by(WatchRule.scope, WatchRule.name)
    return list(session.scalars(stmt))


def get_rule(session: Session, subject: Subject, rule_id: uuid.UUID | str) -> WatchRule:
    try:
        rid = rule_id if isinstance(rule_id, uuid.UUID) else uuid.UUID(str(rule_id))
    except ValueError:
        raise NotFound(N_("watch rule not found")) from None
    rule = session.scalar(select(WatchRule).where(WatchRule.id == rid, _rule_visible(subject)))
    if rule is None:
        raise NotFound(N_("watch rule not found"))
    return rule


def _editable_rule(session: Session, subject: Subject, rule_id: uuid.UUID | str) -> WatchRule:
    rule = get_rule(session, subject, rule_id)
    if not _can_edit_rule(rule, subject):
        raise Forbidden(N_("only the rule's owner (unit rules: the unit's analysts) can change it"))
    return rule


def update_rule(session: Session, subject: Subject, rule_id: uuid.UUID | str, body: RuleUpdate) -> WatchRule:
    rule = _editable_rule(session, subject, rule_id)
    before = {"name": rule.name, "filter": rule.filter, "urgency": rule.urgency, "active": rule.active}
    if body.name is not None:
        rule.name = body.name.strip()
    if body.filter is not None:
        rule.filter = _validate_filter(session, body.filter)
    if body.urgency is not None:
        rule.urgency = body.urgency
    if body.active is not None:
        rule.active = body.active
    rule.updated_at = _now()
    after = {"name": rule.name, "filter": rule.filter, "urgency": rule.urgency, "active": rule.active}
    audit.record(
        session,
        subject,
        "watch_rule.update",
        object_type="watch_rule",
        object_id=rule.id,
        object_label=rule.name,
        before=before,
        after=after,
    )
    return rule


def delete_rule(session: Session, subject: Subject, rule_id: uuid.UUID | str) -> None:
    rule = _editable_rule(session, subject, rule_id)
    audit.record(
        session,
        subject,
        "watch_rule.delete",
        object_type="watch_rule",
        object_id=rule.id,
        object_label=rule.name,
        before={"filter": rule.filter},
    )
    session.delete(rule)
    session.flush()


def fired_counts(session: Session, rule_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not rule_ids:
        return {}
    rows = session.execute(
        select(WatchFire.rule_id, func.count()).where(WatchFire.rule_id.in_(rule_ids)).group_by(WatchFire.rule_id)
    )
    return {r[0]: int(r[1]) for r in rows}


def owner_names(
    session: Session, user_ids: set[uuid.UUID], org_ids: set[uuid.UUID]
) -> tuple[dict[uuid.UUID, str], dict[uuid.UUID, str]]:
    users = dict(session.execute(select(User.id, User.username).where(User.id.in_(user_ids))).all()) if user_ids else {}
    orgs = (
        dict(session.execute(select(Organisation.id, Organisation.code).where(Organisation.id.in_(org_ids))).all())
        if org_ids
        else {}
    )
    return users, orgs


# --- watch lists ----------------------------------------------------------------------------------------


def _list_visible(subject: Subject) -> Any:
    decided("watch-lists")
    return WatchList.owner_org_id == subject.org_id


def can_edit_list(watch_list: WatchList, subject: Subject) -> bool:
    return watch_list.owner_org_id == subject.org_id and subject.can_write


def create_list(session: Session, subject: Subject, body: WatchListCreate) -> WatchList:
    decided("watch-lists")
    if not subject.can_write:
        raise Forbidden(N_("your role cannot keep watch lists"))
    wl = WatchList(
        owner_org_id=subject.org_id,
        name=body.name.strip(),
        description=(body.description or "").strip() or None,
        urgency=body.urgency,
        created_by_id=subject.user_id,
    )
    session.add(wl)
    session.flush()
    audit.record(session, subject, "watch_list.create", object_type="watch_list", object_id=wl.id, object_label=wl.name)
    return wl


def list_lists(session: Session, subject: Subject) -> list[WatchList]:
    return list(session.scalars(select(WatchList).where(_list_visible(subject)).order_by(WatchList.name)))


def get_list(session: Session, subject: Subject, list_id: uuid.UUID | str) -> WatchList:
    try:
        lid = list_id if isinstance(list_id, uuid.UUID) else uuid.UUID(str(list_id))
    except ValueError:
        raise NotFound(N_("watch list not found")) from None
    wl = session.scalar(
        select(WatchList).where(WatchList.id == lid, _list_visible(subject)).options(selectinload(WatchList.entries))
    )
    if wl is None:
        raise NotFound(N_("watch list not found"))
    return wl


def _editable_list(session: Session, subject: Subject, list_id: uuid.UUID | str) -> WatchList:
    wl = get_list(session, subject, list_id)
    if not can_edit_list(wl, subject):
        raise Forbidden(N_("your role cannot change watch lists"))
    return wl


def add_entry(session: Session, subject: Subject, list_id: uuid.UUID | str, body: EntryCreate) -> WatchListEntry:
    wl = _editable_list(session, subject, list_id)
    keyed = entry_key(body.kind, body.value)
    if keyed is None:
        why = {
            "company": "has nothing distinctive once legal forms and generic words are left out",
            "person": "has no name in it",
            "container": "is not a container number with a valid ISO 6346 check digit",
            "vessel": "is not an IMO number with a valid check digit",
            "phone": "is not a phone number",
            "email": "is not an e-mail address",
        }.get(body.kind, "is too short to identify anything")
        raise InvalidInput(FieldError(("value",), N_("'%(value)s' %(why)s", value=body.value, why=why)))
    if body.expires_on is not None and body.expires_on < today():
        raise InvalidInput(FieldError(("expires_on",), N_("is in the past")))
    if any(e.kind == body.kind and e.key == keyed[0] for e in wl.entries):
        raise InvalidInput(FieldError(("value",), N_("'%(value)s' is already on this list", value=body.value)))
    entry = WatchListEntry(
        list_id=wl.id,
        kind=body.kind,
        value=body.value.strip(),
        key=keyed[0],
        reason=body.reason.strip(),
        expires_on=body.expires_on,
        added_by_id=subject.user_id,
        created_at=_now(),
        updated_at=_now(),
    )
    wl.entries.append(entry)
    wl.updated_at = _now()
    session.flush()
    audit.record(
        session,
        subject,
        "watch_list.add_entry",
        object_type="watch_list",
        object_id=wl.id,
        object_label=wl.name,
        after={
            "kind": entry.kind,
            "value": entry.value,
            "reason": entry.reason,
            "expires_on": str(entry.expires_on) if entry.expires_on else None,
        },
    )
    return entry


def remove_entry(session: Session, subject: Subject, list_id: uuid.UUID | str, entry_id: uuid.UUID | str) -> None:
    wl = _editable_list(session, subject, list_id)
    entry = next((e for e in wl.entries if str(e.id) == str(entry_id)), None)
    if entry is None:
        raise NotFound(N_("entry not found"))
    audit.record(
        session,
        subject,
        "watch_list.remove_entry",
        object_type="watch_list",
        object_id=wl.id,
        object_label=wl.name,
        before={"kind": entry.kind, "value": entry.value},
    )
    wl.entries.remove(entry)
    wl.updated_at = _now()
    session.flush()


def delete_list(session: Session, subject: Subject, list_id: uuid.UUID | str) -> None:
    wl = _editable_list(session, subject, list_id)
    audit.record(session, subject, "watch_list.delete", object_type="watch_list", object_id=wl.id, object_label=wl.name)
    session.delete(wl)
    session.flush()


def list_hits(
    session: Session, subject: Subject, wl: WatchList, *, limit: int = 100
) -> list[tuple[WatchHit, WatchListEntry, Incident]]:
    """Where the list's values appeared, in incidents the subject may read now (person matches only where
    the subject may see the incident's persons)."""
    stmt = (
        select(WatchHit, WatchListEntry, Incident)
        .join(WatchListEntry, WatchListEntry.id == WatchHit.entry_id)
        .join(Incident, Incident.id == WatchHit.incident_id)
        .where(WatchListEntry.list_id == wl.id, readable_clause(Incident, subject))
        .order_by(WatchHit.hit_at.desc())
        .limit(limit)
    )
    out = []
    for hit, entry, incident in session.execute(stmt):
        if hit.nominal and not can_see_nominal(session, incident, subject):
            continue
        out.append((hit, entry, incident))
    return out


# --- matching (the outbox consumer) ---------------------------------------------------------------------


def _now() -> datetime:
    return utcnow()


_BOOKS: dict[str, tuple[RuleBook | None, ListBook | None]] = {}
_BOOKS_LOCK = threading.Lock()


def _db_key(session: Session) -> str:
    bind = session.get_bind()
    return str(bind.engine.url)


def rule_book(session: Session) -> RuleBook:
    """The compiled active rules, recompiled only when the rules table changed."""
    stamp = tuple(session.execute(select(func.count(), func.max(WatchRule.updated_at)).where(WatchRule.active)).one())
    key = _db_key(session)
    with _BOOKS_LOCK:
        book = _BOOKS.get(key, (None, None))[0]
    if book is not None and book.stamp == stamp:
        return book
    book = RuleBook(stamp=stamp)
    reg = registry(session)
    index = get_index(session)
    rows = session.execute(
        select(
            WatchRule.id,
            WatchRule.name,
            WatchRule.scope,
            WatchRule.owner_user_id,
            WatchRule.owner_org_id,
            WatchRule.urgency,
            WatchRule.filter,
        ).where(WatchRule.active)
    )
    for rid, name, scope, owner, org, urgency, raw in rows:
        node = _FILTER.validate_python(raw, context=STORED)
        try:
            test = reg.matcher(node)
        except InvalidInput:
            continue  # e.g. a substance the reference data no longer knows: the rule page shows the error
        book.add(CompiledRule(rid, name, scope, owner, org, urgency, test), node, reg, index.substances_in_class)
    with _BOOKS_LOCK:
        _BOOKS[key] = (book, _BOOKS.get(key, (None, None))[1])
    return book


def list_book(session: Session) -> ListBook:
    stamp = tuple(session.execute(select(func.count(), func.max(WatchListEntry.updated_at))).one()) + tuple(
        session.execute(select(func.count(), func.max(WatchList.updated_at))).one()
    )
    key = _db_key(session)
    with _BOOKS_LOCK:
        book = _BOOKS.get(key, (None, None))[1]
    if book is not None and book.stamp == stamp:
        return book
    book = ListBook(stamp=stamp)
    rows = session.execute(
        select(WatchListEntry, WatchList.name, WatchList.owner_org_id, WatchList.urgency).join(
            WatchList, WatchList.id == WatchListEntry.list_id
        )
    )
    for e, list_name, org, urgency in rows:
        keyed = entry_key(e.kind, e.value)
        tokens = keyed[1] if keyed else ()
        book.add(WatchedValue(e.id, e.list_id, list_name, org, urgency, e.kind, e.value, e.key, tokens, e.expires_on))
    with _BOOKS_LOCK:
        _BOOKS[key] = (_BOOKS.get(key, (None, None))[0], book)
    return book


# Organisations as readers, per database: an organisation's place in the tree never changes (see sharing),
# and what it may read is decided per query (membership of sharing groups is read by readable_clause).
_ORG_SUBJECTS: dict[tuple[str, uuid.UUID], Subject] = {}


class _Readers:
    """Per organisation and incident: may it read the incident, and its person data? (cached per batch)"""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._db = _db_key(session)
        self._read: dict[tuple[uuid.UUID, uuid.UUID], bool] = {}
        self._unit_users: dict[uuid.UUID, list[uuid.UUID]] = {}

    def subject(self, org_id: uuid.UUID) -> Subject:
        key = (self._db, org_id)
        found = _ORG_SUBJECTS.get(key)
        if found is None:
            found = _ORG_SUBJECTS[key] = org_subject(self.session, org_id)
        return found

    def prefetch(self, org_ids: Iterable[uuid.UUID], incident: Incident) -> None:
        """Decide for many organisations at once (one statement per 50, each through readable_clause)."""
        todo = [o for o in dict.fromkeys(org_ids) if (o, incident.id) not in self._read]
        for start in range(0, len(todo), 50):
            chunk = todo[start : start + 50]
            parts = [
                select(literal(str(o))).where(
                    exists().where(Incident.id == incident.id, readable_clause(Incident, self.subject(o)))
                )
                for o in chunk
            ]
            got = set(self.session.scalars(union_all(*parts)))
            for o in chunk:
                self._read[(o, incident.id)] = str(o) in got

    def can_read(self, org_id: uuid.UUID, incident: Incident) -> bool:
        if (org_id, incident.id) not in self._read:
            self.prefetch([org_id], incident)
        return self._read[(org_id, incident.id)]

    def nominal(self, org_id: uuid.UUID, incident: Incident) -> bool:
        return can_see_nominal(self.session, incident, self.subject(org_id))

    def unit_users(self, org_id: uuid.UUID) -> list[uuid.UUID]:
        if org_id not in self._unit_users:
            self._unit_users[org_id] = list(
                self.session.scalars(select(User.id).where(User.org_id == org_id, User.is_active.is_(True)))
            )
        return self._unit_users[org_id]


def _max_urgency(values: list[str]) -> str:
    return max(values, key=lambda u: URGENCY_RANK.get(u, 0))


def match_rules(session: Session, incident: Incident, facts: IncidentFacts, readers: _Readers) -> list[CompiledRule]:
    """The active rules the incident matches whose owners may read it (as those owners: person data only
    where they may see it). Pure matching: nothing is recorded."""
    public = facts.as_reader(nominal_visible=False)
    full = facts.as_reader(nominal_visible=True)
    tested = []
    for rule in rule_book(session).candidates(facts):
        without_persons = rule.test(public) is True
        if without_persons or (incident.person_names is not None and rule.test(full) is True):
            tested.append((rule, without_persons))
    readers.prefetch((r.owner_org_id for r, _ in tested), incident)
    return [
        rule
        for rule, without_persons in tested
        if readers.can_read(rule.owner_org_id, incident)
        and (without_persons or readers.nominal(rule.owner_org_id, incident))
    ]


def _fire_rules(session: Session, incident: Incident, facts: IncidentFacts, readers: _Readers) -> int:
    matched = match_rules(session, incident, facts, readers)
    if not matched:
        return 0
    already = set(
        session.scalars(
            select(WatchFire.rule_id).where(
                WatchFire.incident_id == incident.id, WatchFire.rule_id.in_([r.id for r in matched])
            )
        )
    )
    new = [r for r in matched if r.id not in already]
    by_user: dict[uuid.UUID, list[CompiledRule]] = defaultdict(list)
    for rule in new:
        users = [rule.owner_user_id] if rule.scope == "user" else readers.unit_users(rule.owner_org_id)
        for user_id in users:
            if user_id != incident.updated_by_id:  # nobody is alerted about their own change
                by_user[user_id].append(rule)
    fired_at = _now()
    insert_rows(
        session,
        cast(Table, WatchFire.__table__),
        [{"rule_id": r.id, "incident_id": incident.id, "fired_at": fired_at} for r in new],
    )
    tells = [
        notifications.Tell(
            user_id,
            "watch.rule",
            "incident",
            incident.id,
            f"watch:{incident.id}",
            _max_urgency([r.urgency for r in rules]),
            {"rules": [{"id": str(r.id), "name": r.name} for r in rules]},
        )
        for user_id, rules in by_user.items()
    ]
    return len(notifications.notify_all(session, tells))


def _fire_lists(session: Session, incident: Incident, readers: _Readers) -> int:
    from interdict.entities.extract import extract

    book = list_book(session)
    if book.size == 0:
        return 0
    hits: list[Hit] = []
    for hit in book.hits(extract(incident), today=today()):
        org = hit.watched.owner_org_id
        if not readers.can_read(org, incident):
            continue
        if hit.found.nominal and not readers.nominal(org, incident):
            continue
        hits.append(hit)
    if not hits:
        return 0
    already = set(
        session.scalars(
            select(WatchHit.entry_id).where(
                WatchHit.incident_id == incident.id, WatchHit.entry_id.in_([h.watched.entry_id for h in hits])
            )
        )
    )
    by_org: dict[uuid.UUID, dict[uuid.UUID, Hit]] = defaultdict(dict)
    for h in hits:
        if h.watched.entry_id in already:
            continue
        by_org[h.watched.owner_org_id].setdefault(h.watched.entry_id, h)
    tells: list[notifications.Tell] = []
    for org, entries in by_org.items():
        for h in entries.values():
            session.add(
                WatchHit(
                    entry_id=h.watched.entry_id,
                    incident_id=incident.id,
                    role=h.found.role,
                    matched=h.found.text[:500],
                    score=h.score,
                    nominal=h.found.nominal,
                    hit_at=_now(),
                )
            )
        reason = {"hits": [_hit_reason(h) for h in entries.values()]}
        tells += [
            notifications.Tell(
                user_id,
                "watch.list",
                "incident",
                incident.id,
                f"watchlist:{incident.id}",
                _max_urgency([h.watched.urgency for h in entries.values()]),
                reason,
            )
            for user_id in readers.unit_users(org)
            if user_id != incident.updated_by_id
        ]
    return len(notifications.notify_all(session, tells))


def _load(session: Session, ids: list[uuid.UUID]) -> list[Incident]:
    return list(
        session.scalars(
            select(Incident)
            .where(Incident.id.in_(ids), Incident.status != "draft")
            .options(
                selectinload(Incident.parties),
                selectinload(Incident.containers),
                selectinload(Incident.substances),
                selectinload(Incident.places),
                selectinload(Incident.modus),
            )
        )
    )


def process_incident(session: Session, incident: Incident, readers: _Readers | None = None) -> int:
    """Fire the rules and watch lists an incident matches; returns how many notifications were created."""
    readers = readers or _Readers(session)
    owner = session.get(Organisation, incident.owner_org_id)
    facts = IncidentFacts.of(incident, owner.code if owner else "")
    return _fire_rules(session, incident, facts, readers) + _fire_lists(session, incident, readers)


def alert_mentions(alert: RapidAlert) -> list[Found]:
    """What a rapid alert asks to look for, as the entity register would key it (persons are nominal data)."""
    found: list[Found] = []
    for raw in alert.containers or []:
        if key := identifiers.container(raw):
            found.append(Found("container", key, raw, "container"))
    if imo := identifiers.imo(alert.vessel_imo):
        found.append(Found("vessel", imo, alert.vessel_name or f"IMO {imo}", "vessel"))
    if alert.bl_awb and (bl := compact(alert.bl_awb, min_length=6)):
        found.append(Found("bill_of_lading", bl, alert.bl_awb, "bill_of_lading"))
    for name in alert.companies or []:
        if keyed := company_key(name):
            found.append(Found("company", keyed[0], name, "company", tokens=keyed[1]))
    for person in alert.persons or []:
        if keyed := person_key(str(person.get("name", ""))):
            found.append(
                Found("person", keyed[0], str(person["name"]), "person_involved", nominal=True, tokens=keyed[1])
            )
    return found


def process_alert(session: Session, alert_id: uuid.UUID, readers: _Readers | None = None) -> int:
    """Watched values that a newly issued rapid alert asks to look for tell their watchers (units that may read
    the alert; persons only where they may see the alert's persons). Returns the notifications created."""
    from interdict.alerts import service as alerts

    alert = session.get(RapidAlert, alert_id)
    book = list_book(session)
    if alert is None or book.size == 0:
        return 0
    readers = readers or _Readers(session)
    by_org: dict[uuid.UUID, dict[uuid.UUID, Hit]] = defaultdict(dict)
    for hit in book.hits(alert_mentions(alert), today=today()):
        org = hit.watched.owner_org_id
        subject = readers.subject(org)
        if (
            session.scalar(select(RapidAlert.id).where(RapidAlert.id == alert.id, alerts.readable_clause(subject)))
            is None
        ):
            continue
        if hit.found.nominal and not alerts.can_see_persons(session, alert, subject):
            continue
        by_org[org].setdefault(hit.watched.entry_id, hit)
    tells = [
        notifications.Tell(
            user_id,
            "watch.list",
            alerts.REF_TYPE,
            alert.id,
            f"watchlist:{alert.id}",
            _max_urgency([h.watched.urgency for h in entries.values()]),
            {"hits": [_hit_reason(h) for h in entries.values()]},
        )
        for org, entries in by_org.items()
        for user_id in readers.unit_users(org)
        if user_id != alert.created_by_id
    ]
    return len(notifications.notify_all(session, tells))


def _hit_reason(h: Hit) -> dict[str, Any]:
    return {
        "list_id": str(h.watched.list_id),
        "list": h.watched.list_name,
        "entry_id": str(h.watched.entry_id),
        "value": h.watched.value,
        "kind": h.watched.kind,
        "matched": h.found.text,
        "role": h.found.role,
        "score": h.score,
        "nominal": h.found.nominal,
    }


def process_events(session: Session, *, limit: int = 200) -> int:
    """Handle the next incident events (the caller commits); returns how many events were read."""
    events = outbox.claim(session, CONSUMER, topics=TOPICS, limit=limit)
    if not events:
        return 0
    readers = _Readers(session)
    ids = list(dict.fromkeys(e.aggregate_id for e in events if e.topic.startswith("incident.")))
    for incident in _load(session, ids):
        process_incident(session, incident, readers)
    for alert_id in dict.fromkeys(e.aggregate_id for e in events if e.topic == "alert.issued"):
        process_alert(session, alert_id, readers)
    outbox.advance(session, CONSUMER, events[-1])
    return len(events)


def acknowledgements(
    session: Session, subject: Subject, incident: Incident
) -> list[tuple[str | None, str | None, datetime, str | None]]:
    """Who acknowledged alerts about this incident (organisation, user, when, and None): shown to the reporting unit
    only (the incident's other readers do not learn who watches it). An incident shared with a sharing group that
    hides its members from the reporting unit is read outside the reporter's tree only by members: those are shown
    as (None, None, when, the group's code), so the member list is not learnt from here."""
    decided("watch-acknowledgements")
    if incident.owner_org_id != subject.org_id:
        return []
    hiding = None
    if incident.distribution == "group" and incident.sharing_group_id is not None:
        group = session.get(SharingGroup, incident.sharing_group_id)
        if group is not None and not sees_members(session, subject, group):
            hiding = group.code
    rows = session.execute(
        select(Organisation.name, Organisation.root_id, Organisation.id, User.full_name, Notification.acknowledged_at)
        .join(User, User.id == Notification.user_id)
        .join(Organisation, Organisation.id == User.org_id)
        .where(
            Notification.ref_type == "incident",
            Notification.ref_id == incident.id,
            Notification.acknowledged_at.is_not(None),
        )
        .order_by(Notification.acknowledged_at)
    )
    out: list[tuple[str | None, str | None, datetime, str | None]] = []
    for org, root_id, org_id, name, at in rows:
        if at is None:
            continue
        if hiding is not None and (root_id or org_id) != subject.root_org_id:
            out.append((None, None, at, hiding))
        else:
            out.append((org, name, at, None))
    return out


def reset_books() -> None:
    with _BOOKS_LOCK:
        _BOOKS.clear()


def expired(entry: WatchListEntry, on: date | None = None) -> bool:
    return entry.expires_on is not None and entry.expires_on < (on or today())


# --- read shapes ------------------------------------------------------------------------------------------


def rules_read(session: Session, subject: Subject, rules: list[WatchRule]) -> list[RuleRead]:
    users, orgs = owner_names(session, {r.owner_user_id for r in rules}, {r.owner_org_id for r in rules})
    fired = fired_counts(session, [r.id for r in rules])
    return [
        RuleRead(
            id=r.id,
            name=r.name,
            scope=r.scope,
            owner=users.get(r.owner_user_id, ""),
            unit=orgs.get(r.owner_org_id, ""),
            filter=r.filter,
            urgency=r.urgency,
            active=r.active,
            created_at=r.created_at,
            updated_at=r.updated_at,
            fired=fired.get(r.id, 0),
            editable=_can_edit_rule(r, subject),
        )
        for r in rules
    ]


def list_read(session: Session, subject: Subject, wl: WatchList) -> WatchListRead:
    users, orgs = owner_names(session, {e.added_by_id for e in wl.entries}, {wl.owner_org_id})
    on = today()
    return WatchListRead(
        id=wl.id,
        name=wl.name,
        description=wl.description,
        urgency=wl.urgency,
        unit=orgs.get(wl.owner_org_id, ""),
        created_at=wl.created_at,
        entries=[
            EntryRead(
                id=e.id,
                kind=e.kind,
                value=e.value,
                key=e.key,
                reason=e.reason,
                expires_on=e.expires_on,
                expired=expired(e, on),
                added_by=users.get(e.added_by_id, ""),
                created_at=e.created_at,
            )
            for e in wl.entries
        ],
        hits=[
            HitRead(
                entry_id=e.id,
                entry_value=e.value,
                incident_id=i.id,
                incident_reference=i.reference,
                role=h.role,
                matched=h.matched,
                score=h.score,
                hit_at=h.hit_at,
                nominal=h.nominal,
            )
            for h, e, i in list_hits(session, subject, wl)
        ],
        editable=can_edit_list(wl, subject),
    )


# Kinds of watched value that a natural person can have (the register takes them from person parties as nominal
# data): a list does not say whose a phone or an address is, so showing any of them is a read of person data.
NOMINAL_ENTRY_KINDS = frozenset({"person", "phone", "email", "tax_id", "id_document", "address"})


def record_person_reads(session: Session, subject: Subject, shown: list[WatchListRead]) -> None:
    """Audit the person data that watch lists shown to ``subject`` carry (the page and the API): one
    ``watch_list.read_nominal`` entry per list showing watched values a natural person can have, naming them, and
    one ``incident.read_nominal`` per incident whose persons a hit shows as written there."""
    hits: dict[uuid.UUID, int] = defaultdict(int)
    for read in shown:
        values = [e for e in read.entries if e.kind in NOMINAL_ENTRY_KINDS]
        if values:
            audit.record(
                session,
                subject,
                "watch_list.read_nominal",
                object_type="watch_list",
                object_id=read.id,
                object_label=read.name,
                summary=f"{len(values)} watched value(s) of natural persons shown",
                after={"entries": [str(e.id) for e in values]},
            )
        for h in read.hits:
            if h.nominal:
                hits[h.incident_id] += 1
    incidents.record_nominal_reads(session, subject, dict(hits), where="watch-list hits")
