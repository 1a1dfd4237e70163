"""Matching in memory: many watch rules against one incident, many watched values against its entities.

Rules are compiled once (the filter language's Python form, :meth:`Registry.matcher`) and indexed by one
required value each (a condition ``field eq/in value`` at the top of the rule, on a field with few values
per incident: substance, class, port, country on the route, container, vessel...), so an incident only
tests the rules whose required value it has, plus the rules without one. Watched values are indexed by
identifier key, and names by the linkage engine's candidate tokens; names are compared with its scorer.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from interdict.core.filters import Condition, FilterValueError, Group, Registry, Test
from interdict.entities.extract import Found, compact, company_key, person_key
from interdict.incidents.search import IncidentFacts
from interdict.linkage import identifiers
from interdict.linkage.score import DEFAULT_THRESHOLD, score_pair

# Fields a rule can be indexed on, most selective first, and how to read their values from the facts.
_INDEXED: dict[str, Any] = {
    "container": lambda f: f.containers,
    "vessel_imo": lambda f: {f.columns["vessel_imo"]},
    "substance": lambda f: f.substances,
    "port": lambda f: f.locodes,
    "modus": lambda f: f.modus,
    "owner_org": lambda f: {f.owner_code},
    "route_country": lambda f: f.countries,
    "country": lambda f: {f.columns["country"]},
    "type": lambda f: {f.columns["type"]},
    "mode": lambda f: {f.columns["mode"]},
}
_RANK = {name: i for i, name in enumerate(_INDEXED)}


@dataclass(frozen=True)
class CompiledRule:
    id: uuid.UUID
    name: str
    scope: str
    owner_user_id: uuid.UUID
    owner_org_id: uuid.UUID
    urgency: str
    test: Test


def _atom(node: Condition | Group, registry: Registry) -> tuple[str, frozenset[Any]] | None:
    """One condition every match must satisfy, on an indexed field, with its values; None if none."""
    if isinstance(node, Condition):
        found = [node]
    elif node.all_ is not None and node.any_ is None and node.not_ is None:
        found = [c for c in node.all_ if isinstance(c, Condition)]
    else:
        return None
    best: tuple[str, frozenset[Any]] | None = None
    for c in found:
        if c.field not in _INDEXED or c.op not in ("eq", "in"):
            continue
        if c.field == "substance_class":
            continue
        try:
            value = registry.parsed(c)
        except FilterValueError:
            continue
        values = frozenset(value if c.op == "in" else [value])
        if best is None or _RANK[c.field] < _RANK[best[0]]:
            best = (c.field, values)
    return best


@dataclass
class RuleBook:
    """Compiled active rules with their index. ``stamp`` says which state of the rules table it reflects."""

    stamp: tuple[Any, ...]
    indexed: dict[tuple[str, Any], list[CompiledRule]] = field(default_factory=lambda: defaultdict(list))
    unindexed: list[CompiledRule] = field(default_factory=list)
    size: int = 0

    def add(self, rule: CompiledRule, node: Condition | Group, registry: Registry) -> None:
        self.size += 1
        atom = _atom(node, registry)
        if atom is None:
            self.unindexed.append(rule)
            return
        name, values = atom
        for v in values:
            self.indexed[(name, v)].append(rule)

    def candidates(self, facts: IncidentFacts) -> list[CompiledRule]:
        seen: dict[uuid.UUID, CompiledRule] = {r.id: r for r in self.unindexed}
        for name, get in _INDEXED.items():
            for v in get(facts):
                for r in self.indexed.get((name, v), ()):
                    seen.setdefault(r.id, r)
        return list(seen.values())


# --- watched values ---------------------------------------------------------------------------------


def entry_key(kind: str, value: str) -> tuple[str, tuple[str, ...]] | None:
    """The normalised key of a watched value (the entity register's), with name tokens; None if the value
    identifies nothing (a name with nothing distinctive, a container or IMO number with a wrong check digit)."""
    if kind == "company":
        return company_key(value)
    if kind == "person":
        return person_key(value)
    key: str | None
    if kind == "phone":
        key = identifiers.phone_e164(value, "VN")
    elif kind == "email":
        key = identifiers.email(value)
    elif kind == "address":
        key = identifiers.address(value)
        key = key if len(key) >= 12 else None
    elif kind == "container":
        key = identifiers.container(value)
    elif kind == "vessel":
        key = identifiers.imo(value)
    elif kind in ("tax_id", "id_document"):
        key = compact(value)
    else:
        key = compact(value, min_length=5 if kind == "vehicle" else 6)
    return (key, ()) if key else None


@dataclass(frozen=True)
class WatchedValue:
    entry_id: uuid.UUID
    list_id: uuid.UUID
    list_name: str
    owner_org_id: uuid.UUID
    urgency: str
    kind: str
    value: str
    key: str
    tokens: tuple[str, ...]
    expires_on: date | None


@dataclass(frozen=True)
class Hit:
    watched: WatchedValue
    found: Found
    score: float


@dataclass
class ListBook:
    stamp: tuple[Any, ...]
    by_key: dict[tuple[str, str], list[WatchedValue]] = field(default_factory=lambda: defaultdict(list))
    by_token: dict[tuple[str, str], list[WatchedValue]] = field(default_factory=lambda: defaultdict(list))
    size: int = 0

    def add(self, w: WatchedValue) -> None:
        self.size += 1
        self.by_key[(w.kind, w.key)].append(w)
        for t in w.tokens:
            self.by_token[(w.kind, t)].append(w)

    def hits(self, found: Iterable[Found], *, today: date) -> list[Hit]:
        """Watched values (not expired on ``today``) that a mention matches: identifiers by key, names by key
        or by the linkage scorer at its automatic-link threshold (name variants, other scripts)."""
        best: dict[tuple[uuid.UUID, str], Hit] = {}
        for f in found:
            scored: dict[uuid.UUID, tuple[WatchedValue, float]] = {}
            for w in self.by_key.get((f.kind, f.key), ()):
                scored[w.entry_id] = (w, 1.0)
            if f.kind in ("company", "person"):
                schema = "Company" if f.kind == "company" else "Person"
                for t in f.tokens:
                    for w in self.by_token.get((f.kind, t), ()):
                        if w.entry_id not in scored:
                            s = score_pair(w.value, f.text, schema).score
                            scored[w.entry_id] = (w, s)
            for w, s in scored.values():
                if s < DEFAULT_THRESHOLD or (w.expires_on is not None and w.expires_on < today):
                    continue
                k = (w.entry_id, f.role)
                if k not in best or best[k].score < s:
                    best[k] = Hit(w, f, round(s, 3))
        return list(best.values())
