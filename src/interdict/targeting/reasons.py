"""Reasons in words: what a feature topic says about one record, for a customs analyst.

A *topic* groups the features that speak about one thing (the importer's count, rate and recency;
the HS heading as a category and its history; the unit value and its deviation from the HS median).
The model's per-record contributions are summed per topic and the strongest topics are described
here, with the history as it was before the record's date.
"""

from __future__ import annotations

import functools
import math

from interdict.targeting.features import SERIES_BY_NAME, FeatureSpace, History, Snapshot, unit_value
from interdict.targeting.mapping import Record

_TEMPLATES = {
    "hs6": "HS {0}",
    "hs4": "HS heading {0}",
    "hs2": "HS chapter {0}",
    "importer_hs": "importer {0} with HS {1}",
    "declarant_importer": "declarant {0} for importer {1}",
    "seller_importer": "seller {0} to importer {1}",
    "route": "route {0} > {1} (departure > origin)",
    "port_route": "port route {0} > {1}",
    "origin_hs": "origin {0} for HS {1}",
}
_AMOUNTS = {
    "value": ("declared value", "", "value@hs6"),
    "net_weight": ("net weight", " kg", "net_weight@hs6"),
    "gross_weight": ("gross weight", " kg", None),
    "packages": ("packages", "", None),
}


@functools.lru_cache(maxsize=65536)  # rates, medians, tax rates and counts repeat from record to record
def number(x: float) -> str:
    """1234567.8 -> '1,234,568'; 3.14159 -> '3.14'; 0.000123 -> '0.000123'."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    digits = max(0, 2 - math.floor(math.log10(abs(x))))
    return f"{x:,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{x:,.0f}"


@functools.lru_cache(maxsize=1)
def _hs_descriptions() -> dict[str, str]:
    from interdict.reference.files import data_dir, read_csv

    try:
        return {r["hscode"]: r["description"] for r in read_csv(data_dir() / "hs2022" / "harmonized-system.csv")}
    except OSError:
        return {}


def _hs_text(code: str) -> str:
    desc = _hs_descriptions().get(code)
    if not desc:
        return ""
    return f" ({desc[:57] + '...' if len(desc) > 60 else desc})"


def _ratio(value: float, median: float) -> str:
    ratio = value / median if median > 0 else math.inf
    if 0.9 <= ratio <= 1.11:
        return "about"
    if ratio >= 1:
        return f"{number(ratio)}x above"
    return f"{number(1 / ratio)}x below" if ratio > 0 else "far below"


def describe(topic: str, r: Record, h: History | Snapshot, fs: FeatureSpace) -> str | None:
    """One reason in words, or None when there is nothing to say (a missing field)."""
    dim = fs.dims.get(topic)
    if dim is not None:
        key = dim.key(r)
        if key is None:
            return f"no {dim.label} given"
        parts = key.replace(">", "|").split("|")
        what = _TEMPLATES.get(topic, dim.label + " {0}").format(*parts)
        if topic in ("hs6", "hs4", "hs2"):
            what += _hs_text(parts[0])
        st = h.stat(topic, key)
        if st is None:
            return f"{what}: first record (never seen before)"
        if st[1] == 0:
            return f"{what}: {number(st[0])} earlier records, none with an outcome"
        return f"{what}: past fraud rate {st[2] / st[1]:.2f} ({number(st[2])} of {number(st[1])} past records)"
    hs6 = r.hs_code[:6] if r.hs_code else None
    if topic == "unit_value":
        uv = unit_value(r)
        if uv is None:
            return None
        for series, code in (("unit_value@hs6", hs6), ("unit_value@hs4", hs6[:4] if hs6 else None)):
            med = h.median(series, code) if series in fs.series_names else None
            if med is not None and code is not None:
                level = "HS" if len(code) == 6 else "HS heading"
                return f"unit value {_ratio(uv, math.exp(med))} the {level} {code} median ({number(uv)} vs {number(math.exp(med))} per kg)"
        return f"unit value {number(uv)} per kg"
    if topic == "tax_rate":
        if r.tax_rate is None:
            return None
        med = h.median("tax_rate@hs6", hs6) if "tax_rate@hs6" in fs.series_names else None
        usual = f" (HS {hs6} median {number(med)} %)" if med is not None else ""
        return f"tax rate {number(r.tax_rate)} %{usual}"
    if topic in _AMOUNTS:
        label, unit, series_name = _AMOUNTS[topic]
        v = getattr(r, topic)
        if v is None:
            return None
        text = f"{label} {number(v)}{unit}"
        med = h.median(series_name, hs6) if series_name and series_name in fs.series_names else None
        if med is not None and v > 0 and SERIES_BY_NAME[str(series_name)].log:
            text += f", {_ratio(v, math.exp(med))} the HS {hs6} median ({number(math.exp(med))}{unit})"
        return text
    if topic == "containers":
        return f"{len(r.containers)} container{'s' if len(r.containers) != 1 else ''}"
    if topic == "transshipments":
        n = len(r.port_transshipment)
        return f"{n} port{'s' if n != 1 else ''} of transshipment" + (
            f" ({', '.join(r.port_transshipment)})" if n else ""
        )
    if topic.startswith("extra."):
        v = r.extra_value(topic[6:])
        label = topic[6:].replace("_", " ")
        return f"no {label} given" if v is None else f"{label} {number(v) if isinstance(v, float) else v}"
    return None


class Describer:
    """:func:`describe` for many records against one history (one date's records): what is said of
    a dimension (an importer, an HS heading, a route) depends only on its key and the history, so
    it is written once per key."""

    def __init__(self, h: History | Snapshot, fs: FeatureSpace) -> None:
        self.h = h
        self.fs = fs
        self._said: dict[tuple[str, str | None], str | None] = {}

    def __call__(self, topic: str, r: Record) -> str | None:
        dim = self.fs.dims.get(topic)
        if dim is None:
            return describe(topic, r, self.h, self.fs)
        key = (topic, dim.key(r))
        said = self._said.get(key, _UNSAID)
        if said is _UNSAID:
            said = self._said[key] = describe(topic, r, self.h, self.fs)
        return said  # type: ignore[return-value]


_UNSAID = object()
