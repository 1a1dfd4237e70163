"""The risk engine: one score, a lane and reasons in words for every record of a load.

Inputs, each optional:

* **risk profiles** of the loading unit's organisation tree, active and valid on the record's date: each
  matching profile contributes its weight ``w_p`` (0..1), or forces a lane (``red`` / ``yellow`` / ``green``);
* **intelligence**: the record's parties, containers, vessel and phones matched against the entity register of
  the incidents the *loading unit may read* (names through the linkage scorer, so variants count; nominal values
  such as a person's phone only where the unit may see the incident's persons) and against the unit's watch
  lists. An incident link contributes ``0.5 x match score``, a watch-list hit ``0.7 x match score``. As in
  linkage, a value mentioned by more than ``MAX_INCIDENTS_PER_VALUE`` incidents cites none of them, and a name
  word held by more than ``TOKEN_POSTINGS_CAP`` register entities proposes no candidates;
* **the learned model** (setting ``INTERDICT_TARGETING_MODEL``): its probability ``m``.

Combined as a noisy-OR, so every source can only raise the score and none can exceed 1::

    score = 1 - (1 - m) * prod(1 - w_p) * prod(1 - w_i)

The lane is the most severe lane forced by a matching profile (red > yellow > green), otherwise red from
``TARGETING_RED_THRESHOLD``, yellow from ``TARGETING_YELLOW_THRESHOLD``. Reasons are ordered by contribution,
top first (a forced lane first of all). The random inspection floor then selects ``round(share x n)`` records of
the load at random (seeded by the load's id, so it can be replayed), recorded as ``random``.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from interdict.config import Settings
from interdict.core.errors import InvalidInput
from interdict.core.filters import STORED, Group, Test
from interdict.core.i18n import N_, Message, message_json
from interdict.entities.extract import Found, company_key
from interdict.entities.models import Entity, EntityMention
from interdict.incidents.models import Incident
from interdict.linkage import identifiers
from interdict.linkage.score import DEFAULT_THRESHOLD, score_pair
from interdict.sharing.service import nominal_clause, readable_clause
from interdict.targeting import profiles
from interdict.targeting.models import ProfileHit, RiskProfile, TargetingBatch, TargetingRecord

INCIDENT_FACTOR = 0.5
WATCH_FACTOR = 0.7
LANE_RANK = {"red": 3, "yellow": 2, "green": 1}
PARTY_ROLES = ("consignee", "shipper", "importer", "declarant", "notify_party")
# TreeSHAP (about 20-25 ms a record) for the model reasons of the records the model puts in these lanes, at
# most EXACT_LIMIT of them a load, highest scores first (what the analyst reads and selects from), so that a
# 5,000-container manifest still scores in about a second; path contributions for the rest
EXACT_LANES = ("red", "yellow")
EXACT_LIMIT = 40


@dataclass
class Reason:
    source: str  # profile / intelligence / model / random
    text: str
    weight: float
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The reason as stored with the record: its English ``text``, and a catalogue ``message`` (msgid and
        parameters) from which a page shows it in the reader's language."""
        out = {"source": self.source, "text": str.__str__(self.text), "weight": round(self.weight, 4), **self.extra}
        if isinstance(self.text, Message):
            out["message"] = message_json(self.text)
        return out


@dataclass(frozen=True)
class CompiledProfile:
    id: uuid.UUID
    name: str
    weight: float | None
    lane: str | None
    valid_from: date | None
    valid_to: date | None
    test: Test

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


def applicable_profiles(session: Session, root_org_id: uuid.UUID) -> list[CompiledProfile]:
    """Active profiles of the organisation tree, compiled to Python tests (a profile whose criteria no longer
    compile, e.g. a list the reference data dropped, is skipped: its page shows the error)."""
    reg = profiles.registry(session)
    out = []
    rows = session.scalars(
        select(RiskProfile).where(RiskProfile.root_org_id == root_org_id, RiskProfile.active.is_(True))
    )
    for p in rows:
        try:
            test = reg.matcher(Group.model_validate(p.criteria, context=STORED))
        except (InvalidInput, ValueError):
            continue
        out.append(CompiledProfile(p.id, p.name, p.weight, p.lane, p.valid_from, p.valid_to, test))
    return out


# --- intelligence ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntelHit:
    text: str
    strength: float
    incident_id: uuid.UUID | None = None
    nominal: bool = False  # through a natural person's value (a phone): showing it is a read of person data


def _record_found(r: TargetingRecord) -> list[Found]:
    found: list[Found] = []
    for role in PARTY_ROLES:
        name = getattr(r, role)
        if not name:
            continue
        keyed = company_key(name)
        if keyed:
            found.append(Found("company", keyed[0], name, role, tokens=keyed[1]))
    for c in r.containers or []:
        key = identifiers.container(c)
        if key:
            found.append(Found("container", key, c, "container"))
    for phone in (r.data or {}).get("phones") or []:  # E.164 since the load
        found.append(Found("phone", phone, phone, "phone"))
    return found


def intelligence(
    session: Session, batch: TargetingBatch, records: Sequence[TargetingRecord]
) -> dict[uuid.UUID, list[IntelHit]]:
    """Intelligence hits per record, only through incidents the loading unit may read (and its watch lists)."""
    from interdict.linkage.service import MAX_INCIDENTS_PER_VALUE, TOKEN_POSTINGS_CAP, org_subject, token_postings
    from interdict.watch.service import list_book

    reader = org_subject(session, batch.owner_org_id)
    found = {r.id: _record_found(r) for r in records}
    vessels = {r.id: r.vessel for r in records if r.vessel}
    out: dict[uuid.UUID, list[IntelHit]] = defaultdict(list)

    # Entities that could match: same key (identifiers, company keys) or a shared name token.
    keys = {(f.kind, f.key) for fs in found.values() for f in fs}
    toks = sorted({t for fs in found.values() for f in fs if f.kind == "company" for t in f.tokens})
    entity_ids: set[uuid.UUID] = set()
    by_kind_key: dict[tuple[str, str], list[uuid.UUID]] = defaultdict(list)
    for kind in ("company", "container", "phone"):
        wanted = sorted(k for kk, k in keys if kk == kind)
        for i in range(0, len(wanted), 500):
            for eid, key in session.execute(
                select(Entity.id, Entity.key).where(Entity.kind == kind, Entity.key.in_(wanted[i : i + 500]))
            ):
                by_kind_key[(kind, key)].append(eid)
                entity_ids.add(eid)
    # As in linkage: a token held by more than TOKEN_POSTINGS_CAP entities proposes no candidates (a common
    # word of company names), so a load's cost does not grow with the register.
    token_entities = {t: ids for t, ids in token_postings(session, toks).items() if len(ids) <= TOKEN_POSTINGS_CAP}
    for posting in token_entities.values():
        entity_ids.update(posting)
    if vessels:
        names = sorted({v for v in vessels.values()})
        for eid, name in session.execute(
            select(Entity.id, Entity.name).where(Entity.kind == "vessel", func.upper(Entity.name).in_(names))
        ):
            by_kind_key[("vessel", name.upper())].append(eid)
            entity_ids.add(eid)
    # A value mentioned by more incidents than MAX_INCIDENTS_PER_VALUE is no evidence (over-correlation,
    # as in linkage: a forwarder's address, a carrier's phone).
    entities = (
        {
            e.id: e
            for e in session.scalars(select(Entity).where(Entity.id.in_(sorted(entity_ids))))
            if e.incident_count <= MAX_INCIDENTS_PER_VALUE
        }
        if entity_ids
        else {}
    )
    # Readable incidents mentioning those entities.
    mentions: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = defaultdict(list)
    ids = sorted(entities)
    for i in range(0, len(ids), 500):
        stmt = (
            select(EntityMention.entity_id, Incident.id, Incident.reference)
            .join(Incident, Incident.id == EntityMention.incident_id)
            .join(Entity, Entity.id == EntityMention.entity_id)
            .where(
                EntityMention.entity_id.in_(ids[i : i + 500]),
                readable_clause(Incident, reader),
                # persons' phones and the like link only where the unit may see the incident's persons
                or_(Entity.nominal.is_(False), nominal_clause(Incident, reader)),
            )
            .distinct()
        )
        for eid, iid, ref in session.execute(stmt):
            mentions[eid].append((iid, ref))

    def cite(rid: uuid.UUID, label: str, eid: uuid.UUID, score: float) -> None:
        nominal = entities[eid].nominal if eid in entities else False
        for iid, ref in mentions.get(eid, ()):
            text = f"{label} ~ incident {ref} ({score:.2f})"
            out[rid].append(IntelHit(text, INCIDENT_FACTOR * score, iid, nominal))

    for r in records:
        seen: set[tuple[str, uuid.UUID]] = set()
        for f in found[r.id]:
            label = f"{f.role.replace('_', ' ')} '{f.text}'" if f.kind == "company" else f"{f.kind} {f.text}"
            scored: dict[uuid.UUID, float] = {eid: 1.0 for eid in by_kind_key.get((f.kind, f.key), ())}
            if f.kind == "company":
                for t in f.tokens:
                    for eid in token_entities.get(t, ()):
                        e = entities.get(eid)
                        if e is None or e.kind != "company" or eid in scored:
                            continue
                        scored[eid] = score_pair(f.text, e.name, "Company").score
            for eid, s in sorted(scored.items(), key=lambda kv: -kv[1]):
                if s >= DEFAULT_THRESHOLD and (f.role, eid) not in seen:
                    seen.add((f.role, eid))
                    cite(r.id, label, eid, s)
        if r.vessel:
            for eid in by_kind_key.get(("vessel", r.vessel), ()):
                cite(r.id, f"vessel '{r.vessel}'", eid, 1.0)

    # The loading unit's watch lists.
    book = list_book(session)
    if book.size:
        for r in records:
            seen_entries: set[uuid.UUID] = set()
            for hit in book.hits(found[r.id], today=r.date):
                w = hit.watched
                if w.owner_org_id != batch.owner_org_id or w.entry_id in seen_entries:
                    continue
                seen_entries.add(w.entry_id)
                plain = w.kind in ("container", "phone")  # identifiers, shown as they are
                what = w.kind if plain else hit.found.role.replace("_", " ")
                text = f"{what} {hit.found.text if plain else repr(hit.found.text)} on watch list '{w.list_name}'"
                if hit.score < 1:
                    text += f" ({hit.score:.2f})"
                out[r.id].append(IntelHit(text, WATCH_FACTOR * hit.score))
    return out


# --- the model ---------------------------------------------------------------------------------------


@dataclass
class ModelScores:
    version: str | None
    note: str | None
    by_record: dict[uuid.UUID, tuple[float, tuple[str, ...]]]


def model_scores(settings: Settings, records: Sequence[TargetingRecord]) -> ModelScores:
    path = settings.effective_targeting_model
    if path is None:
        return ModelScores(None, "no model configured: profiles and intelligence only", {})
    if not (Path(path) / "model.json").is_file():
        return ModelScores(None, "the configured model was not found: profiles and intelligence only", {})
    from interdict.targeting.model import TargetingModel

    model = TargetingModel.cached(path)
    canon = [to_canonical(r) for r in records]
    scored = model.score(canon, exact=EXACT_LANES, exact_limit=EXACT_LIMIT)
    meta = model.meta
    version = f"{meta.get('mapping', {}).get('name', '?')} {meta.get('created', '')}".strip()
    return ModelScores(version, None, {r.id: (s.score, s.reasons) for r, s in zip(records, scored, strict=True)})


def to_canonical(r: TargetingRecord, *, with_outcome: bool = False) -> Any:
    """The stored canonical record (``data``) back as the model's Record; the outcome from the PCU's result."""
    from interdict.targeting.mapping import Record

    d = dict(r.data)
    d["date"] = date.fromisoformat(d["date"])
    for k in ("containers", "port_transshipment", "phones"):
        d[k] = tuple(d.get(k) or ())
    d["extra"] = tuple((k, v) for k, v in (d.get("extra") or []))
    d.pop("row", None)
    if with_outcome:
        d["outcome"] = None if r.outcome is None else r.outcome in ("irregularity", "seizure")
    return Record(**d)


# --- scoring a load ----------------------------------------------------------------------------------


def combine(model: float | None, weights: Sequence[float]) -> float:
    rest = 1.0 - (model or 0.0)
    for w in weights:
        rest *= 1.0 - min(max(w, 0.0), 1.0)
    return round(1.0 - rest, 6)


def lane_for(score: float, forced: Sequence[str], settings: Settings) -> str:
    if forced:
        return max(forced, key=lambda lane: LANE_RANK[lane])
    if score >= settings.targeting_red_threshold:
        return "red"
    if score >= settings.targeting_yellow_threshold:
        return "yellow"
    return "green"


def score_batch(session: Session, batch: TargetingBatch, settings: Settings, *, now: datetime) -> str | None:
    """Score every record of ``batch`` (profiles, intelligence, model), record profile hits, and apply the random
    floor once per load. Returns a note for the page (e.g. no model configured)."""
    records = list(session.scalars(select(TargetingRecord).where(TargetingRecord.batch_id == batch.id)))
    if not records:
        return None
    compiled = applicable_profiles(session, records[0].root_org_id)
    intel = intelligence(session, batch, records)
    model = model_scores(settings, records)
    batch.model_version = model.version
    # By the batch, not by a list of ids: a load of more than 65,535 records would pass more parameters than
    # PostgreSQL takes in one statement.
    in_batch = select(TargetingRecord.id).where(TargetingRecord.batch_id == batch.id)
    session.execute(delete(ProfileHit).where(ProfileHit.record_id.in_(in_batch)))
    for r in records:
        reasons: list[Reason] = []
        weights: list[float] = []
        forced: list[str] = []
        for p in compiled:
            if not p.valid_on(r.date) or p.test(r) is not True:
                continue
            session.add(ProfileHit(profile_id=p.id, record_id=r.id, hit_at=now))
            if p.lane:
                forced.append(p.lane)
                reasons.append(
                    Reason("profile", f"profile '{p.name}' matched: lane {p.lane}", 2.0, {"profile_id": str(p.id)})
                )
            if p.weight:
                weights.append(p.weight)
                if not p.lane:
                    reasons.append(
                        Reason("profile", f"profile '{p.name}' matched", p.weight, {"profile_id": str(p.id)})
                    )
        for h in intel.get(r.id, ()):
            weights.append(h.strength)
            extra: dict[str, Any] = {"incident_id": str(h.incident_id)} if h.incident_id else {}
            if h.nominal:
                extra["nominal"] = True
            reasons.append(Reason("intelligence", h.text, h.strength, extra))
        m = model.by_record.get(r.id)
        if m is not None:
            for i, text in enumerate(m[1]):
                reasons.append(Reason("model", N_("model: %(reason)s", reason=text), m[0] - i * 1e-6))
        if m is None and not compiled and not weights:
            # Nothing scored it (no model, no risk profile, no intelligence): not a 0.000 green, "not scored yet".
            r.score, r.lane = None, None
        else:
            r.score = combine(m[0] if m else None, weights)
            r.lane = lane_for(r.score, forced, settings)
        reasons.sort(key=lambda x: -x.weight)
        if r.selected_reason == "random":
            reasons.append(Reason("random", "selected at random (inspection floor)", 0.0))
        r.reasons = [x.as_json() for x in reasons]
    _random_floor(batch, records, settings, now)
    return model.note


def _random_floor(batch: TargetingBatch, records: list[TargetingRecord], settings: Settings, now: datetime) -> None:
    share = settings.targeting_random_share
    if any(r.selected_reason == "random" for r in records):
        return  # drawn once per load
    batch.random_share = share
    k = math.floor(share * len(records) + 0.5)
    pool = sorted((r for r in records if not r.selected), key=lambda r: r.record_id)
    if k <= 0 or not pool:
        return
    rng = random.Random(batch.id.int)
    for r in rng.sample(pool, min(k, len(pool))):
        r.selected = True
        r.selected_reason = "random"
        r.selected_at = now
        r.reasons = [*r.reasons, Reason("random", "selected at random (inspection floor)", 0.0).as_json()]
