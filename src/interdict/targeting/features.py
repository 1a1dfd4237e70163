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
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any, Literal

import numpy as np

from interdict.targeting.mapping import Mapping, Record

RATE_PRIOR = 10.0  # pseudo-records of the parent rate behind every smoothed rate (beta prior)
MIN_MEDIAN = 5  # prior values needed before a median is trusted
VOCAB_MIN = 10  # records a category level needs at fit time to get its own code
VOCAB_MAX = 500

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


def _dimensions(extra_categorical: Iterable[str] = ()) -> dict[str, Dimension]:
    hs6, hs4, hs2 = _hs(6), _hs(4), _hs(2)
    dims = [
        Dimension("hs2", "hs_history", "HS chapter", ("hs_code",), hs2),
        Dimension("hs4", "hs_history", "HS heading", ("hs_code",), hs4, "hs2"),
        Dimension("hs6", "hs_history", "HS", ("hs_code",), hs6, "hs4"),
        Dimension("importer", "entity_history", "importer", ("importer",), _attr("importer")),
        Dimension("declarant", "entity_history", "declarant", ("declarant",), _attr("declarant")),
        Dimension("seller", "entity_history", "seller", ("seller",), _attr("seller")),
        Dimension("shipper", "entity_history", "shipper", ("shipper",), _attr("shipper")),
        Dimension("consignee", "entity_history", "consignee", ("consignee",), _attr("consignee")),
        Dimension("notify_party", "entity_history", "notify party", ("notify_party",), _attr("notify_party")),
        Dimension(
            "importer_hs",
            "entity_history",
            "importer with this HS",
            ("importer", "hs_code"),
            _pair(_attr("importer"), hs6, "|"),
            "importer",
        ),
        Dimension(
            "declarant_importer",
            "entity_history",
            "declarant for this importer",
            ("declarant", "importer"),
            _pair(_attr("declarant"), _attr("importer"), "|"),
            "declarant",
        ),
        Dimension(
            "seller_importer",
            "entity_history",
            "seller to this importer",
            ("seller", "importer"),
            _pair(_attr("seller"), _attr("importer"), "|"),
            "seller",
        ),
        Dimension("office", "route_history", "office", ("office",), _attr("office")),
        Dimension("country_origin", "route_history", "country of origin", ("country_origin",), _attr("country_origin")),
        Dimension(
            "country_departure",
            "route_history",
            "country of departure",
            ("country_departure",),
            _attr("country_departure"),
        ),
        Dimension(
            "route",
            "route_history",
            "route (departure > origin)",
            ("country_departure", "country_origin"),
            _pair(_attr("country_departure"), _attr("country_origin"), ">"),
            "country_origin",
        ),
        Dimension("port_loading", "route_history", "port of loading", ("port_loading",), _attr("port_loading")),
        Dimension("port_discharge", "route_history", "port of discharge", ("port_discharge",), _attr("port_discharge")),
        Dimension(
            "port_route",
            "route_history",
            "port route",
            ("port_loading", "port_discharge"),
            _pair(_attr("port_loading"), _attr("port_discharge"), ">"),
            "port_loading",
        ),
        Dimension(
            "origin_hs",
            "route_history",
            "origin for this HS",
            ("country_origin", "hs_code"),
            _pair(_attr("country_origin"), hs6, "|"),
            "hs6",
        ),
        Dimension("vessel", "route_history", "vessel", ("vessel",), _attr("vessel")),
    ]
    for name in extra_categorical:
        dims.append(Dimension(f"extra.{name}", None, name.replace("_", " "), (f"extra.{name}",), _extra_key(name)))
    return {d.name: d for d in dims}


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


# --- the history ---------------------------------------------------------------------------------------

Stat = list[int]  # [records, with outcome, positives, first day, last day] (days: date.toordinal())


class History:
    """Counts and outcomes per dimension value, and value lists per HS code, as of some date.

    A fork reads through to its parent and copies an entry on its first write."""

    def __init__(self, dims: Sequence[str], series: Sequence[str], parent: History | None = None) -> None:
        self.dims = list(dims)
        self.series = list(series)
        self.parent = parent
        self.tables: dict[str, dict[str, Stat]] = {d: {} for d in self.dims}
        self.values: dict[str, dict[str, list[float]]] = {s: {} for s in self.series}
        self.labelled: int = parent.labelled if parent else 0
        self.positives: int = parent.positives if parent else 0
        self.last_day: int = parent.last_day if parent else 0

    def fork(self) -> History:
        return History(self.dims, self.series, self)

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
    ) -> None:
        """Add records (all of one date or earlier) to the history; their outcomes only if ``outcomes``.

        ``only``: advance just these dimensions (and the value series kept per them); the others
        keep what they had — for scoring with a model that reads only some of them."""
        names = self.dims if only is None else [d for d in self.dims if d in only]
        series = self.series if only is None else [s for s in self.series if SERIES_BY_NAME[s].dim in only]
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
                own = self.values[sname]
                vals = own.get(key)
                if vals is None:
                    inherited_vals = self.parent.sorted_values(sname, key) if self.parent else None
                    vals = own[key] = list(inherited_vals) if inherited_vals else []
                bisect.insort(vals, round(v, 5))

    def flattened(self) -> History:
        """One history without parents (what a model stores)."""
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


def walk(
    records: Sequence[Record],
    history: History,
    dims: dict[str, Dimension],
    *,
    outcomes: bool,
    visit: Callable[[int, Record], None],
    only: set[str] | None = None,
) -> None:
    """Visit every record in date order (then id) with ``history`` as of the day before its date,
    adding each date's records (with outcomes if ``outcomes``) once all of that date were visited
    (``only``: the dimensions to advance, see :meth:`History.add`)."""

    def each(idx: list[int]) -> None:
        for i in idx:
            visit(i, records[i])

    walk_dates(records, history, dims, outcomes=outcomes, visit=each, only=only)


def walk_dates(
    records: Sequence[Record],
    history: History,
    dims: dict[str, Dimension],
    *,
    outcomes: bool,
    visit: Callable[[list[int]], None],
    only: set[str] | None = None,
) -> None:
    """:func:`walk` a date at a time: ``visit`` gets the indices of one date's records (by id)."""
    order = sorted(range(len(records)), key=lambda i: (records[i].date, records[i].id))
    for _, batch in groupby(order, key=lambda i: records[i].date):
        idx = list(batch)
        visit(idx)
        history.add((records[i] for i in idx), dims, outcomes=outcomes, only=only)


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

        def visit(i: int, r: Record) -> None:
            x[i] = self.vector(r, history, plan)

        walk(records, history, self.dims, outcomes=outcomes, visit=visit, only=dims)
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
