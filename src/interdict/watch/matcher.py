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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from interdict.core.filters import Condition, FilterValueError, Group, Registry, Test
from interdict.entities.extract import Found, compact, company_key, person_key
from interdict.incidents.search import IncidentFacts, query_tokens
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
# Word conditions are indexed by one word every match must contain: a whole word when the query has two or
# more (all but the last must appear whole), else the first three letters of its only (prefix) word. HS
# conditions are indexed by their prefix; an incident offers every prefix of its code.
_WORD_FIELDS = ("company", "text")
_PREFIX = 3


def _word_key(field: str, value: str) -> tuple[str, str] | None:
    words = query_tokens(value)
    if not words:
        return None
    if len(words) > 1:
        return (f"{field}:word", max(words[:-1], key=len))
    return (f"{field}:prefix", words[0][:_PREFIX]) if len(words[0]) >= _PREFIX else None


def _fact_keys(facts: IncidentFacts) -> set[tuple[str, Any]]:
    keys: set[tuple[str, Any]] = set()
    for name, get in _INDEXED.items():
        keys.update((name, v) for v in get(facts))
    # company: words of company names and of person names (a reader may see them), all within the text.
    name_words = set(facts.company_names.split()) | set((facts.person_names or "").split())
    keys.update(("company:word", w) for w in name_words)
    keys.update(("company:prefix", w[:_PREFIX]) for w in name_words)
    keys.update(("text:word", w) for w in facts.all_tokens)
    keys.update(("text:prefix", w[:_PREFIX]) for w in facts.all_tokens)
    keys.update(("container:prefix", c[:4]) for c in facts.containers)
    hs = facts.columns.get("hs_code") or ""
    keys.update(("hs_code", hs[:k]) for k in range(2, len(hs) + 1))
    return keys


@dataclass(frozen=True)
class CompiledRule:
    id: uuid.UUID
    name: str
    scope: str
    owner_user_id: uuid.UUID
    owner_org_id: uuid.UUID
    urgency: str
    test: Test


Keys = frozenset[tuple[str, Any]]
Classes = Callable[[str], set[Any]]


def _keys(node: Condition | Group, registry: Registry, classes: Classes | None) -> tuple[int, Keys] | None:
    """Index keys such that every incident the node matches offers at least one of them, with a cost (lower
    is more selective); None when there are none. ``all``: the best child; ``any``: every child must have
    keys, and the rule is filed under all of them; ``not``: none."""
    if isinstance(node, Condition):
        try:
            value = registry.parsed(node)
        except FilterValueError:
            return None
        if node.op not in ("eq", "in", "contains", "match"):
            return None
        values = list(value) if node.op == "in" else [value]
        if node.field in _INDEXED and node.op in ("eq", "in"):
            return _RANK[node.field], frozenset((node.field, v) for v in values)
        if node.field == "substance_class" and classes is not None and node.op in ("eq", "in"):
            ids = set().union(*(classes(v) for v in values))
            return (_RANK["substance"], frozenset(("substance", i) for i in ids)) if ids else None
        if node.field in _WORD_FIELDS:
            key = _word_key(node.field, str(value))
            return (len(_RANK) + 1, frozenset([key])) if key is not None else None
        if node.field == "hs_code":
            return len(_RANK), frozenset([("hs_code", value)])
        if node.field == "container" and node.op == "contains" and len(value) >= 4:
            return _RANK["container"], frozenset([("container:prefix", value[:4])])
        return None
    if node.not_ is not None or (node.all_ is None) == (node.any_ is None):
        return None
    if node.all_ is not None:
        options = [k for k in (_keys(c, registry, classes) for c in node.all_) if k is not None]
        return min(options, key=lambda k: (k[0], len(k[1]))) if options else None
    parts = [_keys(c, registry, classes) for c in node.any_ or []]
    if not parts or any(p is None for p in parts):
        return None
    found = [p for p in parts if p is not None]
    return max(p[0] for p in found), frozenset().union(*(p[1] for p in found))


@dataclass
class RuleBook:
    """Compiled active rules with their index. ``stamp`` says which state of the rules table it reflects."""

    stamp: tuple[Any, ...]
    indexed: dict[tuple[str, Any], list[CompiledRule]] = field(default_factory=lambda: defaultdict(list))
    unindexed: list[CompiledRule] = field(default_factory=list)
    size: int = 0

    def add(
        self, rule: CompiledRule, node: Condition | Group, registry: Registry, classes: Classes | None = None
    ) -> None:
        self.size += 1
        found = _keys(node, registry, classes)
        if found is None:
            self.unindexed.append(rule)
            return
        for key in found[1]:
            self.indexed[key].append(rule)

    def candidates(self, facts: IncidentFacts) -> list[CompiledRule]:
        seen: dict[uuid.UUID, CompiledRule] = {r.id: r for r in self.unindexed}
        for key in _fact_keys(facts):
            for r in self.indexed.get(key, ()):
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
