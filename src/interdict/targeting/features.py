"""Point-in-time features: what was known about a record's parties, goods and route before its date.

For every record the features describe its **history** (prior volume, smoothed prior fraud rate,
days since first and since last seen) along *dimensions* (importer, declarant, seller, HS6/HS4/HS2,
route, office, importer x HS...), its value and weight **anomalies** against what was usual for the
same HS code before (log ratio to the prior median), and the **record** itself (amounts, HS chapter
and heading, countries, office, the mapping's extra columns).

No leakage: records are walked in date order and every record of a date sees the history of
strictly earlier dates only; then the whole date is added. A record never sees its own outcome nor
that of a same-day record. At fit time the history starts empty and learns outcomes as it walks;
at score time it starts from the fit data's history stored in the model (:meth:`History.fork`,
copy-on-write, so a model can score again and again) and adds the scored records' volumes, never
their outcomes.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import operator
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any, Literal, cast

import numpy as np

from interdict.targeting.mapping import Mapping, Record

RATE_PRIOR = 10.0  # pseudo-records of the parent rate behind every smoothed rate (beta prior)
MIN_MEDIAN = 5  # prior values needed before a median is trusted
VOCAB_MIN = 10  # records a category level needs at fit time to get its own code
VOCAB_MAX = 500
INSORT_MAX = 16  # values of one key and date inserted one by one (more: appended, then one sort)

Group = Literal["record", "hs_history", "entity_history", "route_history", "anomalies"]
GROUPS: tuple[Group, ...] = ("record", "hs_history", "entity_history", "route_history", "anomalies")
OPTIONAL_GROUPS: tuple[Group, ...] = GROUPS[1:]


# --- dimensions ----------------------------------------------------------------------------------------


def _hs(n: int) -> Callable[[Record], str | None]:
    return lambda r: r.hs_code[:n] if r.hs_code else None


def _pair(
    a: Callable[[Record], str | None], b: Callable[[Record], str | None], sep: str
) -> Callable[[Record], str | None]:
    def key(r: Record) -> str | None:
        x, y = a(r), b(r)
        return f"{x}{sep}{y}" if x and y else None

    return key


def _attr(name: str) -> Callable[[Record], str | None]:
    return lambda r: getattr(r, name)


@dataclass(frozen=True)
class Dimension:
    """Something a record shares with earlier records (its importer, its HS heading, its route...)."""

    name: str
    group: Group | None  # None: kept for reasons only (extra columns), no model feature
    label: str  # how an analyst reads it: "importer", "HS heading"
    needs: tuple[str, ...]  # canonical fields (or "extra.<name>") the mapping must provide
    key: Callable[[Record], str | None]
    parent: str | None = None  # the smoothed rate shrinks toward the parent's rate
    # how :class:`Keys` computes the key for many records at once (the same values as ``key``):
    # an attribute of the record, the first n digits of the HS code, or two dimensions' keys joined
    attr: str | None = None
    hs: int | None = None
    pair: tuple[str, str, str] | None = None  # (dimension, dimension, separator)


def _dimensions(extra_categorical: Iterable[str] = ()) -> dict[str, Dimension]:
    def attr(name: str, group: Group, label: str) -> Dimension:
        return Dimension(name, group, label, (name,), _attr(name), attr=name)

    def hs(n: int, label: str, parent: str | None) -> Dimension:
        return Dimension(f"hs{n}", "hs_history", label, ("hs_code",), _hs(n), parent, hs=n)

    def pair(name: str, group: Group, label: str, a: str, b: str, sep: str, parent: str) -> Dimension:
        da, db = base[a], base[b]
        return Dimension(
            name, group, label, (*da.needs, *db.needs), _pair(da.key, db.key, sep), parent, pair=(a, b, sep)
        )

    base = {
        d.name: d
        for d in (
            hs(2, "HS chapter", None),
            hs(4, "HS heading", "hs2"),
            hs(6, "HS", "hs4"),
            attr("importer", "entity_history", "importer"),
            attr("declarant", "entity_history", "declarant"),
            attr("seller", "entity_history", "seller"),
            attr("shipper", "entity_history", "shipper"),
            attr("consignee", "entity_history", "consignee"),
            attr("notify_party", "entity_history", "notify party"),
            attr("office", "route_history", "office"),
            attr("country_origin", "route_history", "country of origin"),
            attr("country_departure", "route_history", "country of departure"),
            attr("port_loading", "route_history", "port of loading"),
            attr("port_discharge", "route_history", "port of discharge"),
            attr("vessel", "route_history", "vessel"),
        )
    }
    dims = [
        base["hs2"],
        base["hs4"],
        base["hs6"],
        base["importer"],
        base["declarant"],
        base["seller"],
        base["shipper"],
        base["consignee"],
        base["notify_party"],
        pair("importer_hs", "entity_history", "importer with this HS", "importer", "hs6", "|", "importer"),
        pair(
            "declarant_importer",
            "entity_history",
            "declarant for this importer",
            "declarant",
            "importer",
            "|",
            "declarant",
        ),
        pair("seller_importer", "entity_history", "seller to this importer", "seller", "importer", "|", "seller"),
        base["office"],
        base["country_origin"],
        base["country_departure"],
        pair(
            "route",
            "route_history",
            "route (departure > origin)",
            "country_departure",
            "country_origin",
            ">",
            "country_origin",
        ),
        base["port_loading"],
        base["port_discharge"],
        pair("port_route", "route_history", "port route", "port_loading", "port_discharge", ">", "port_loading"),
        pair("origin_hs", "route_history", "origin for this HS", "country_origin", "hs6", "|", "hs6"),
        base["vessel"],
    ]
    for name in extra_categorical:
        dims.append(Dimension(f"extra.{name}", None, name.replace("_", " "), (f"extra.{name}",), _extra_key(name)))
    return {d.name: d for d in dims}


class Keys:
    """The keys of one batch of records along each dimension, computed once (features, history and
    reasons all read them) and a column at a time."""

    def __init__(self, records: Sequence[Record], dims: dict[str, Dimension]) -> None:
        self.records = records
        self.dims = dims
        self._memo: dict[str, list[str | None]] = {}
        self._extras: list[dict[str, str | float | None]] | None = None

    @property
    def extras(self) -> list[dict[str, str | float | None]]:
        """Each record's extra columns by name."""
        if self._extras is None:
            self._extras = [dict(r.extra) for r in self.records]
        return self._extras

    def __getitem__(self, name: str) -> list[str | None]:
        got = self._memo.get(name)
        if got is None:
            got = self._memo[name] = self._compute(self.dims[name])
        return got

    def _compute(self, d: Dimension) -> list[str | None]:
        rs = self.records
        if d.attr is not None:
            return list(map(operator.attrgetter(d.attr), rs))
        if d.hs is not None:
            n = d.hs
            return [h[:n] if h else None for h in map(operator.attrgetter("hs_code"), rs)]
        if d.pair is not None:
            a, b, sep = d.pair
            return [f"{x}{sep}{y}" if x and y else None for x, y in zip(self[a], self[b], strict=True)]
        if d.name.startswith("extra."):
            name = d.name[6:]
            return [None if (v := e.get(name)) is None else str(v) for e in self.extras]
        return [d.key(r) for r in rs]


def _extra_key(name: str) -> Callable[[Record], str | None]:
    def key(r: Record) -> str | None:
        v = r.extra_value(name)
        return None if v is None else str(v)

    return key


# --- value series (for anomalies) ----------------------------------------------------------------------


def _log(x: float | None) -> float | None:
    return math.log(x) if x is not None and x > 0 else None


def unit_value(r: Record) -> float | None:
    """Value per kg (net weight, else gross), or None."""
    weight = r.net_weight if r.net_weight else r.gross_weight
    if r.value is None or not weight or r.value <= 0:
        return None
    return r.value / weight


@dataclass(frozen=True)
class Series:
    """A per-record amount whose prior median per HS code is kept (to see anomalies)."""

    name: str
    dim: str
    topic: str  # the record amount it explains (value, net_weight, unit_value, tax_rate)
    needs: tuple[str, ...]
    value: Callable[[Record], float | None]
    log: bool  # deviations as log ratios (amounts) or differences (rates)


SERIES: tuple[Series, ...] = (
    Series("unit_value@hs6", "hs6", "unit_value", ("value",), lambda r: _log(unit_value(r)), True),
    Series("unit_value@hs4", "hs4", "unit_value", ("value",), lambda r: _log(unit_value(r)), True),
    Series("value@hs6", "hs6", "value", ("value",), lambda r: _log(r.value), True),
    Series("net_weight@hs6", "hs6", "net_weight", ("net_weight",), lambda r: _log(r.net_weight), True),
    Series("tax_rate@hs6", "hs6", "tax_rate", ("tax_rate",), lambda r: r.tax_rate, False),
)
SERIES_BY_NAME = {s.name: s for s in SERIES}


class _Amounts:
    """Each series' value of many records, rounded as the history keeps them, computed once per
    topic (the unit value serves two series) with the arithmetic of the series' own functions."""

    def __init__(self, records: Sequence[Record]) -> None:
        self.records = records
        self._memo: dict[str, list[float | None]] = {}

    def __getitem__(self, s: Series) -> list[float | None]:
        got = self._memo.get(s.topic)
        if got is None:
            got = self._memo[s.topic] = self._compute(s)
        return got

    def _compute(self, s: Series) -> list[float | None]:
        rs = self.records
        log = math.log
        if s.topic == "unit_value":  # unit_value(): value per net weight, else gross; then _log()
            return [
                round(log(v / w), 5) if v is not None and v > 0 and (w := (n or g)) else None
                for v, n, g in zip(
                    map(operator.attrgetter("value"), rs),
                    map(operator.attrgetter("net_weight"), rs),
                    map(operator.attrgetter("gross_weight"), rs),
                    strict=True,
                )
            ]
        if s.topic in ("value", "net_weight") and s.log:
            return [
                round(log(v), 5) if v is not None and v > 0 else None for v in map(operator.attrgetter(s.topic), rs)
            ]
        return [None if (v := s.value(r)) is None else round(v, 5) for r in rs]


# --- the history ---------------------------------------------------------------------------------------

Stat = list[int]  # [records, with outcome, positives, first day, last day] (days: date.toordinal())


class _Halves:
    """A value list kept as its lower half (a max-heap, negated) and upper half (a min-heap): a value
    goes in in O(log n) and the median is read from the tops — the same number as the median of the
    sorted list (the lower middle is the lower half's top)."""

    __slots__ = ("high", "low")

    def __init__(self, ordered: list[float]) -> None:
        middle = (len(ordered) + 1) // 2
        self.low = [-v for v in reversed(ordered[:middle])]  # ascending: already a heap
        self.high = ordered[middle:]  # ascending: already a heap

    def add(self, v: float) -> None:
        low, high = self.low, self.high
        if not low or v <= -low[0]:
            heapq.heappush(low, -v)
            if len(low) > len(high) + 1:
                heapq.heappush(high, -heapq.heappop(low))
        else:
            heapq.heappush(high, v)
            if len(high) > len(low):
                heapq.heappush(low, -heapq.heappop(high))

    def __len__(self) -> int:
        return len(self.low) + len(self.high)

    def median(self) -> float:
        if len(self.low) > len(self.high):
            return -self.low[0]
        return (-self.low[0] + self.high[0]) / 2


class History:
    """Counts and outcomes per dimension value, and value lists per HS code, as of some date.

    A fork reads through to its parent and copies an entry on its first write. A fork made for
    scoring (``running=True``) keeps the values it adds as heaps (:class:`_Halves`): only their
    medians are read, and a fork that scores is never saved."""

    def __init__(
        self, dims: Sequence[str], series: Sequence[str], parent: History | None = None, *, running: bool = False
    ) -> None:
        self.dims = list(dims)
        self.series = list(series)
        self.parent = parent
        self.tables: dict[str, dict[str, Stat]] = {d: {} for d in self.dims}
        self.values: dict[str, dict[str, list[float]]] = {s: {} for s in self.series}
        self.halves: dict[str, dict[str, _Halves]] | None = {s: {} for s in self.series} if running else None
        self.labelled: int = parent.labelled if parent else 0
        self.positives: int = parent.positives if parent else 0
        self.last_day: int = parent.last_day if parent else 0

    def fork(self, *, running: bool = False) -> History:
        return History(self.dims, self.series, self, running=running)

    def _insert(self, series: str, key: str, new: list[float]) -> None:
        """Add values (rounded) to the key's list (or, in a scoring fork, its heaps)."""
        if self.halves is not None:
            heaps = self.halves[series]
            halves = heaps.get(key)
            if halves is None:
                inherited = self.sorted_values(series, key)
                halves = heaps[key] = _Halves(inherited or [])
            for v in new:
                halves.add(v)
            return
        own = self.values[series]
        vals = own.get(key)
        if vals is None:
            inherited_vals = self.parent.sorted_values(series, key) if self.parent else None
            vals = own[key] = list(inherited_vals) if inherited_vals else []
        if len(new) <= INSORT_MAX:  # moving the tail is cheaper than a sort's comparisons
            for v in new:
                bisect.insort(vals, v)
        else:
            vals.extend(new)
            vals.sort()

    @property
    def prior(self) -> float:
        """The global fraud rate so far (Laplace-smoothed, 0.5 before any outcome)."""
        return (self.positives + 1) / (self.labelled + 2)

    def stat(self, dim: str, key: str) -> Stat | None:
        h: History | None = self
        while h is not None:
            found = h.tables[dim].get(key)
            if found is not None:
                return found
            h = h.parent
        return None

    def sorted_values(self, series: str, key: str) -> list[float] | None:
        h: History | None = self
        while h is not None:
            found = h.values[series].get(key)
            if found is not None:
                return found
            h = h.parent
        return None

    def median(self, series: str, key: str | None) -> float | None:
        if key is None:
            return None
        if self.halves is not None:
            halves = self.halves[series].get(key)
            if halves is not None:
                return halves.median() if len(halves) >= MIN_MEDIAN else None
        vals = self.sorted_values(series, key)
        if vals is None or len(vals) < MIN_MEDIAN:
            return None
        n = len(vals)
        return vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2

    def rate(self, dim: Dimension, record: Record, dims: dict[str, Dimension]) -> float:
        """Prior fraud rate of the record's value of ``dim``, shrunk toward its parent's (beta prior)."""
        base = self.rate(dims[dim.parent], record, dims) if dim.parent else self.prior
        key = dim.key(record)
        st = self.stat(dim.name, key) if key else None
        if st is None:
            return base
        return (st[2] + RATE_PRIOR * base) / (st[1] + RATE_PRIOR)

    def add(
        self,
        records: Iterable[Record],
        dims: dict[str, Dimension],
        *,
        outcomes: bool,
        only: set[str] | None = None,
        keys: Keys | None = None,
    ) -> None:
        """Add records (all of one date or earlier) to the history; their outcomes only if ``outcomes``.

        ``only``: advance just these dimensions (and the value series kept per them); the others
        keep what they had — for scoring with a model that reads only some of them. ``keys``: the
        records' :class:`Keys` when they are all of one date (a dimension at a time then)."""
        names = self.dims if only is None else [d for d in self.dims if d in only]
        series = self.series if only is None else [s for s in self.series if SERIES_BY_NAME[s].dim in only]
        if keys is not None:
            self._add_day(keys, names, series, outcomes=outcomes)
            return
        for r in records:
            day = r.date.toordinal()
            y = r.outcome if outcomes else None
            if y is not None:
                self.labelled += 1
                self.positives += int(y)
            self.last_day = max(self.last_day, day)
            for name in names:
                key = dims[name].key(r)
                if not key:
                    continue
                table = self.tables[name]
                st = table.get(key)
                if st is None:
                    inherited = self.parent.stat(name, key) if self.parent else None
                    st = table[key] = list(inherited) if inherited else [0, 0, 0, day, day]
                st[0] += 1
                if y is not None:
                    st[1] += 1
                    st[2] += int(y)
                st[3] = min(st[3], day)
                st[4] = max(st[4], day)
            for sname in series:
                s = SERIES_BY_NAME[sname]
                v = s.value(r)
                key = dims[s.dim].key(r)
                if v is None or not key:
                    continue
                self._insert(sname, key, [round(v, 5)])

    def _add_day(self, keys: Keys, names: list[str], series: list[str], *, outcomes: bool) -> None:
        """:meth:`add` for records of one date, a dimension at a time (the same tables result)."""
        records = keys.records
        if not records:
            return
        day = records[0].date.toordinal()
        ys = [r.outcome for r in records] if outcomes else None
        if ys is not None:
            known = [y for y in ys if y is not None]
            self.labelled += len(known)
            self.positives += sum(1 for y in known if y)
        self.last_day = max(self.last_day, day)
        for name in names:
            column = keys[name]
            counts = cast("Counter[str]", Counter(column))  # the missing keys are dropped next
            counts.pop(None, None)  # type: ignore[call-overload]
            counts.pop("", None)
            labelled: Counter[str] = Counter()
            positive: Counter[str] = Counter()
            if ys is not None:
                for key, y in zip(column, ys, strict=True):
                    if y is not None and key:
                        labelled[key] += 1
                        if y:
                            positive[key] += 1
            table = self.tables[name]
            for key, n in counts.items():
                st = table.get(key)
                if st is None:
                    inherited = self.parent.stat(name, key) if self.parent else None
                    st = table[key] = list(inherited) if inherited else [0, 0, 0, day, day]
                st[0] += n
                if labelled:
                    st[1] += labelled[key]
                    st[2] += positive[key]
                if day < st[3]:
                    st[3] = day
                if day > st[4]:
                    st[4] = day
        amounts = _Amounts(records)
        for sname in series:
            s = SERIES_BY_NAME[sname]
            grouped: dict[str, list[float]] = {}
            for key, v in zip(keys[s.dim], amounts[s], strict=True):
                if key and v is not None:
                    grouped.setdefault(key, []).append(v)
            for key, new in grouped.items():
                self._insert(sname, key, new)

    def flattened(self) -> History:
        """One history without parents (what a model stores)."""
        if self.halves is not None:
            raise ValueError("a scoring fork keeps only the medians of what it added: it cannot be stored")
        if self.parent is None:
            return self
        flat = self.parent.flattened()
        out = History(self.dims, self.series)
        out.labelled, out.positives, out.last_day = self.labelled, self.positives, self.last_day
        for d in self.dims:
            out.tables[d] = {**flat.tables[d], **self.tables[d]}
        for s in self.series:
            out.values[s] = {**flat.values[s], **self.values[s]}
        return out

    def to_json(self) -> dict[str, Any]:
        flat = self.flattened()
        return {
            "labelled": flat.labelled,
            "positives": flat.positives,
            "last_day": flat.last_day,
            "tables": flat.tables,
            "values": flat.values,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> History:
        tables: dict[str, dict[str, Stat]] = data["tables"]
        values: dict[str, dict[str, list[float]]] = data["values"]
        h = cls(list(tables), list(values))
        h.tables, h.values = tables, values
        h.labelled, h.positives, h.last_day = int(data["labelled"]), int(data["positives"]), int(data["last_day"])
        return h


class Snapshot:
    """What the reasons of one date's records read of the history before that date: the entries of
    their keys along some dimensions and the medians of their value series (the history itself
    moves on while the reasons are written, see ``TargetingModel.score``)."""

    def __init__(self, h: History, keys: Keys, dims: Iterable[str], series: Iterable[str]) -> None:
        self._stats: dict[str, dict[str, Stat | None]] = {}
        for d in dims:
            found = self._stats[d] = {}
            for k in set(keys[d]):
                if k:
                    st = h.stat(d, k)
                    found[k] = None if st is None else list(st)
        self._medians = {s: {k: h.median(s, k) for k in set(keys[SERIES_BY_NAME[s].dim]) if k} for s in series}

    def stat(self, dim: str, key: str) -> Stat | None:
        return self._stats[dim].get(key)

    def median(self, series: str, key: str | None) -> float | None:
        return None if key is None else self._medians[series].get(key)


def walk_dates(
    records: Sequence[Record],
    history: History,
    dims: dict[str, Dimension],
    *,
    outcomes: bool,
    visit: Callable[[list[int], Keys], None],
    only: set[str] | None = None,
) -> None:
    """Visit the records a date at a time, dates in order, with ``history`` as of the day before the
    date, adding each date's records (with outcomes if ``outcomes``; ``only``: the dimensions to
    advance, see :meth:`History.add`) once visited. ``visit`` gets the indices of one date's
    records (by id) and their :class:`Keys`."""
    order = sorted(range(len(records)), key=lambda i: (records[i].date, records[i].id))
    for _, batch in groupby(order, key=lambda i: records[i].date):
        idx = list(batch)
        keys = Keys([records[i] for i in idx], dims)
        visit(idx, keys)
        history.add(keys.records, dims, outcomes=outcomes, only=only, keys=keys)


# --- the feature space ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Feature:
    name: str
    group: Group
    kind: Literal["numeric", "categorical"]
    topic: str  # features of one topic are explained together ("importer", "unit_value@hs6", "hs4")


_RECORD_NUMERIC: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("value", ("value",)),
    ("net_weight", ("net_weight",)),
    ("gross_weight", ("gross_weight",)),
    ("packages", ("packages",)),
    ("tax_rate", ("tax_rate",)),
    ("unit_value", ("value",)),
    ("containers", ("containers",)),
    ("transshipments", ("port_transshipment",)),
)
_RECORD_CATEGORICAL: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("hs2", ("hs_code",)),
    ("hs4", ("hs_code",)),
    ("office", ("office",)),
    ("country_origin", ("country_origin",)),
    ("country_departure", ("country_departure",)),
    ("port_loading", ("port_loading",)),
    ("port_discharge", ("port_discharge",)),
)
_HISTORY_STATS = ("count", "rate", "days_known", "days_since")


class FeatureSpace:
    """The features a model uses and how to compute them (category codes learnt at fit time)."""

    def __init__(
        self,
        *,
        dims: list[str],
        series: list[str],
        numeric: list[str],
        categorical: list[str],
        extra_numeric: list[str],
        extra_categorical: list[str],
        vocab: dict[str, list[str]] | None = None,
    ) -> None:
        self.dim_names = dims
        self.series_names = series
        self.numeric = numeric
        self.categorical = categorical
        self.extra_numeric = extra_numeric
        self.extra_categorical = extra_categorical
        self.vocab: dict[str, list[str]] = vocab or {}
        self.dims = _dimensions(extra_categorical)
        self.features = self._features()
        self.index = {f.name: i for i, f in enumerate(self.features)}
        self._codes = {name: {v: i for i, v in enumerate(levels)} for name, levels in self.vocab.items()}

    @classmethod
    def for_mapping(cls, mapping: Mapping) -> FeatureSpace:
        """Every feature the mapping's fields allow."""
        have = set(mapping.fields) | {f"extra.{n}" for n in mapping.extra}
        extra_cat = [n for n, e in mapping.extra.items() if e.type == "categorical"]
        dims = [d.name for d in _dimensions(extra_cat).values() if set(d.needs) <= have]
        return cls(
            dims=dims,
            series=[s.name for s in SERIES if set(s.needs) <= have and s.dim in dims],
            numeric=[n for n, needs in _RECORD_NUMERIC if set(needs) <= have],
            categorical=[n for n, needs in _RECORD_CATEGORICAL if set(needs) <= have],
            extra_numeric=[n for n, e in mapping.extra.items() if e.type == "numeric"],
            extra_categorical=extra_cat,
        )

    def _features(self) -> list[Feature]:
        out = [Feature(n, "record", "numeric", n) for n in self.numeric]
        out += [Feature(n, "record", "categorical", n) for n in self.categorical]
        out += [Feature(f"extra.{n}", "record", "numeric", f"extra.{n}") for n in self.extra_numeric]
        out += [Feature(f"extra.{n}", "record", "categorical", f"extra.{n}") for n in self.extra_categorical]
        for name in self.dim_names:
            group = self.dims[name].group
            if group is not None:
                out += [Feature(f"{name}.{s}", group, "numeric", name) for s in _HISTORY_STATS]
        out += [Feature(f"{s}.dev", "anomalies", "numeric", SERIES_BY_NAME[s].topic) for s in self.series_names]
        return out

    def learn_vocabulary(self, records: Sequence[Record]) -> None:
        """Codes for category levels seen at least VOCAB_MIN times (at most VOCAB_MAX, most frequent
        first); rarer or unseen levels share one "other" code, a missing value is missing."""
        for f in self.features:
            if f.kind != "categorical":
                continue
            counts: dict[str, int] = {}
            for r in records:
                v = self._category(f.name, r)
                if v is not None:
                    counts[v] = counts.get(v, 0) + 1
            frequent = sorted((v for v, c in counts.items() if c >= VOCAB_MIN), key=lambda v: (-counts[v], v))
            self.vocab[f.name] = sorted(frequent[:VOCAB_MAX])
        self._codes = {name: {v: i for i, v in enumerate(levels)} for name, levels in self.vocab.items()}

    def _category(self, name: str, r: Record) -> str | None:
        if name.startswith("extra."):
            v = r.extra_value(name[6:])
            return None if v is None else str(v)
        if name in ("hs2", "hs4"):
            return r.hs_code[: int(name[2])] if r.hs_code else None
        return getattr(r, name)  # type: ignore[no-any-return]

    def history(self) -> History:
        return History(self.dim_names, self.series_names)

    def matrix(
        self,
        records: Sequence[Record],
        history: History,
        *,
        outcomes: bool,
        columns: Sequence[int] | None = None,
        dims: set[str] | None = None,
    ) -> np.ndarray:
        """The feature matrix (rows in the order of ``records``); ``history`` advances past them.

        ``columns``: only these features (in this order), the others are not computed; ``dims``:
        advance only these history dimensions (they must include those the columns read)."""
        plan = None if columns is None else self.plan(set(columns))
        x = np.full((len(records), len(self.features)), np.nan)

        def visit(idx: list[int], keys: Keys) -> None:
            x[idx] = self.block(keys, history, plan)

        walk_dates(records, history, self.dims, outcomes=outcomes, visit=visit, only=dims)
        return x if columns is None else x[:, list(columns)]

    def plan(self, wanted: set[int]) -> list[bool]:
        """For each block of :meth:`vector` (a record field, or a dimension's four history
        features), whether any of its features is wanted."""
        widths = [1] * (len(self.numeric) + len(self.categorical) + len(self.extra_numeric))
        widths += [1] * len(self.extra_categorical)
        widths += [4 for name in self.dim_names if self.dims[name].group is not None]
        widths += [1] * len(self.series_names)
        plan, start = [], 0
        for w in widths:
            plan.append(any(i in wanted for i in range(start, start + w)))
            start += w
        return plan

    def vector(self, r: Record, h: History, plan: Sequence[bool] | None = None) -> list[float]:
        """One record's features as of ``h`` (which must not yet contain the record's date);
        blocks the ``plan`` (:meth:`plan`) does not want are left missing, not computed."""
        nan = math.nan
        out: list[float] = []
        wants = iter(plan) if plan is not None else itertools.repeat(True)
        extra = dict(r.extra) if self.extra_numeric or self.extra_categorical else {}
        for name in self.numeric:
            if next(wants):
                v = _record_number(name, r)
                out.append(nan if v is None else v)
            else:
                out.append(nan)
        for name in self.categorical:
            out.append(self._code(name, r) if next(wants) else nan)
        for name in self.extra_numeric:
            value = extra.get(name) if next(wants) else None
            out.append(value if isinstance(value, float) else nan)
        for name in self.extra_categorical:
            value = extra.get(name) if next(wants) else None
            out.append(nan if value is None else self._level(f"extra.{name}", str(value)))
        day = r.date.toordinal()
        for name in self.dim_names:
            dim = self.dims[name]
            if dim.group is None:
                continue
            if not next(wants):
                out += [nan, nan, nan, nan]
                continue
            key = dim.key(r)
            st = h.stat(name, key) if key else None
            if key is None:
                out += [nan, nan, nan, nan]
            elif st is None:
                out += [0.0, h.rate(dim, r, self.dims), nan, nan]
            else:
                out += [float(st[0]), h.rate(dim, r, self.dims), float(day - st[3]), float(day - st[4])]
        for sname in self.series_names:
            out.append(deviation(SERIES_BY_NAME[sname], r, h, self.dims) if next(wants) else nan)
        return out

    def block(self, keys: Keys, h: History, plan: Sequence[bool] | None = None) -> np.ndarray:
        """:meth:`vector` of every record of one date (``keys.records``, ``h`` not yet holding their
        date), a feature block at a time: the same values (test ``test_block_is_vector``)."""
        nan = math.nan
        recs = keys.records
        n = len(recs)
        x = np.full((n, len(self.features)), nan)
        if n == 0:
            return x
        wants = iter(plan) if plan is not None else itertools.repeat(True)
        col = 0
        for name in self.numeric:
            if next(wants):
                x[:, col] = [nan if v is None else v for v in (_record_number(name, r) for r in recs)]
            col += 1
        for name in self.categorical:
            if next(wants):
                codes = self._codes.get(name, {})
                other = float(len(codes))
                values = keys[name] if name in self.dims else [self._category(name, r) for r in recs]
                x[:, col] = [nan if v is None else codes.get(v, other) for v in values]
            col += 1
        for name in self.extra_numeric:
            if next(wants):
                x[:, col] = [v if isinstance(v := e.get(name), float) else nan for e in keys.extras]
            col += 1
        for name in self.extra_categorical:
            if next(wants):
                codes = self._codes.get(f"extra.{name}", {})
                other = float(len(codes))
                x[:, col] = [nan if (v := e.get(name)) is None else codes.get(str(v), other) for e in keys.extras]
            col += 1
        day = recs[0].date.toordinal()
        rates: dict[str, list[float]] = {}
        for name in self.dim_names:
            if self.dims[name].group is None:
                continue
            if next(wants):
                ks = keys[name]
                known: dict[str | None, tuple[float, float, float]] = {}
                for k in ks:
                    if k not in known:
                        st = h.stat(name, k) if k else None
                        known[k] = (
                            (nan, nan, nan)
                            if k is None
                            else (0.0, nan, nan)
                            if st is None
                            else (float(st[0]), float(day - st[3]), float(day - st[4]))
                        )
                three = np.array([known[k] for k in ks], dtype=float).reshape(n, 3)
                x[:, col] = three[:, 0]
                x[:, col + 1] = [
                    nan if k is None else r for k, r in zip(ks, self._rates(name, keys, h, rates), strict=True)
                ]
                x[:, col + 2] = three[:, 1]
                x[:, col + 3] = three[:, 2]
            col += 4
        for sname in self.series_names:
            if next(wants):
                series = SERIES_BY_NAME[sname]
                medians: dict[str | None, float | None] = {}
                devs: list[float] = []
                for k, r in zip(keys[series.dim], recs, strict=True):
                    if k not in medians:
                        medians[k] = h.median(sname, k)
                    med = medians[k]
                    v = series.value(r) if med is not None else None
                    devs.append(nan if v is None or med is None else v - med)
                x[:, col] = devs
            col += 1
        return x

    def _rates(self, name: str, keys: Keys, h: History, memo: dict[str, list[float]]) -> list[float]:
        """:meth:`History.rate` of each record of ``keys`` along dimension ``name``."""
        got = memo.get(name)
        if got is not None:
            return got
        dim = self.dims[name]
        ks = keys[name]
        base = self._rates(dim.parent, keys, h, memo) if dim.parent else [h.prior] * len(ks)
        stats = {k: h.stat(name, k) for k in set(ks) if k}
        out = []
        for k, b in zip(ks, base, strict=True):
            st = stats.get(k) if k else None
            out.append(b if st is None else (st[2] + RATE_PRIOR * b) / (st[1] + RATE_PRIOR))
        memo[name] = out
        return out

    def _level(self, name: str, value: str) -> float:
        codes = self._codes.get(name, {})
        return float(codes.get(value, len(codes)))

    def _code(self, name: str, r: Record) -> float:
        v = self._category(name, r)
        if v is None:
            return math.nan
        codes = self._codes.get(name, {})
        return float(codes.get(v, len(codes)))

    def to_json(self) -> dict[str, Any]:
        return {
            "dims": self.dim_names,
            "series": self.series_names,
            "numeric": self.numeric,
            "categorical": self.categorical,
            "extra_numeric": self.extra_numeric,
            "extra_categorical": self.extra_categorical,
            "vocab": self.vocab,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureSpace:
        return cls(
            dims=list(data["dims"]),
            series=list(data["series"]),
            numeric=list(data["numeric"]),
            categorical=list(data["categorical"]),
            extra_numeric=list(data["extra_numeric"]),
            extra_categorical=list(data["extra_categorical"]),
            vocab={k: list(v) for k, v in data["vocab"].items()},
        )


def _record_number(name: str, r: Record) -> float | None:
    if name == "unit_value":
        return _log(unit_value(r))
    if name == "containers":
        return float(len(r.containers))
    if name == "transshipments":
        return float(len(r.port_transshipment))
    return getattr(r, name)  # type: ignore[no-any-return]


def deviation(s: Series, r: Record, h: History, dims: dict[str, Dimension]) -> float:
    """The record's amount against the prior median of its HS code: log ratio, or difference."""
    v = s.value(r)
    med = h.median(s.name, dims[s.dim].key(r))
    if v is None or med is None:
        return math.nan
    return v - med
