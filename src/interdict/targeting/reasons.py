"""Reasons in words: what a feature topic says about one record, for a customs analyst.

A *topic* groups the features that speak about one thing (the importer's count, rate and recency;
the HS heading as a category and its history; the unit value and its deviation from the HS median).
The model's per-record contributions are summed per topic and the strongest topics are described
here, with the history as it was before the record's date.
"""

from __future__ import annotations

import functools
import math

from interdict.core.i18n import N_, Message, Number
from interdict.targeting.features import SERIES_BY_NAME, FeatureSpace, History, Snapshot, unit_value
from interdict.targeting.mapping import Record

_TEMPLATES = {
    "hs6": N_("HS %(a)s"),
    "hs4": N_("HS heading %(a)s"),
    "hs2": N_("HS chapter %(a)s"),
    "importer_hs": N_("importer %(a)s with HS %(b)s"),
    "declarant_importer": N_("declarant %(a)s for importer %(b)s"),
    "seller_importer": N_("seller %(a)s to importer %(b)s"),
    "route": N_("route %(a)s > %(b)s (departure > origin)"),
    "port_route": N_("port route %(a)s > %(b)s"),
    "origin_hs": N_("origin %(a)s for HS %(b)s"),
}
# How an analyst reads a dimension (FeatureSpace's labels), in the reader's language.
LABELS = {
    "HS chapter": N_("HS chapter"),
    "HS heading": N_("HS heading"),
    "HS": N_("HS"),
    "importer": N_("importer"),
    "declarant": N_("declarant"),
    "seller": N_("seller"),
    "shipper": N_("shipper"),
    "consignee": N_("consignee"),
    "notify party": N_("notify party"),
    "office": N_("office"),
    "country of origin": N_("country of origin"),
    "country of departure": N_("country of departure"),
    "port of loading": N_("port of loading"),
    "port of discharge": N_("port of discharge"),
    "vessel": N_("vessel"),
    "importer with this HS": N_("importer with this HS"),
    "declarant for this importer": N_("declarant for this importer"),
    "seller to this importer": N_("seller to this importer"),
}
_AMOUNTS = {
    "value": (N_("declared value"), "", "value@hs6"),
    "net_weight": (N_("net weight"), " kg", "net_weight@hs6"),
    "gross_weight": (N_("gross weight"), " kg", None),
    "packages": (N_("packages"), "", None),
}


def _label(label: str) -> str:
    return LABELS.get(label, label)


@functools.lru_cache(maxsize=65536)  # rates, medians, tax rates and counts repeat from record to record
def number(x: float) -> str:
    """1234567.8 -> '1,234,568'; 3.14159 -> '3.14'; 0.000123 -> '0.000123'."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    digits = max(0, 2 - math.floor(math.log10(abs(x))))
    return f"{x:,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{x:,.0f}"


@functools.lru_cache(maxsize=65536)
def num(x: float) -> Number:
    """:func:`number` shown with the reader's decimal and group separators."""
    return Number(number(x))


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


def _ratio(value: float, median: float, median_text: Message) -> Message:
    """How ``value`` compares with ``median`` (``median_text`` says which median)."""
    ratio = value / median if median > 0 else math.inf
    if 0.9 <= ratio <= 1.11:
        return N_("about %(median)s", median=median_text)
    if ratio >= 1:
        return N_("%(ratio)sx above %(median)s", ratio=num(ratio), median=median_text)
    if ratio > 0:
        return N_("%(ratio)sx below %(median)s", ratio=num(1 / ratio), median=median_text)
    return N_("far below %(median)s", median=median_text)


def describe(topic: str, r: Record, h: History | Snapshot, fs: FeatureSpace) -> Message | None:
    """One reason in words (a catalogue message, English as a str), or None when there is nothing to say (a
    missing field)."""
    dim = fs.dims.get(topic)
    if dim is not None:
        key = dim.key(r)
        if key is None:
            return N_("no %(what)s given", what=_label(dim.label))
        parts = key.replace(">", "|").split("|")
        template = _TEMPLATES.get(topic)
        if template is not None:
            what = Message(template.msgid, **dict(zip(("a", "b"), parts, strict=False)))
        else:
            what = N_("%(label)s %(key)s", label=_label(dim.label), key=parts[0])
        if topic in ("hs6", "hs4", "hs2"):
            what = N_("%(what)s%(description)s", what=what, description=_hs_text(parts[0]))
        st = h.stat(topic, key)
        if st is None:
            return N_("%(what)s: first record (never seen before)", what=what)
        if st[1] == 0:
            return N_("%(what)s: %(count)s earlier records, none with an outcome", what=what, count=num(st[0]))
        return N_(
            "%(what)s: past fraud rate %(rate)s (%(frauds)s of %(count)s past records)",
            what=what,
            rate=Number(f"{st[2] / st[1]:.2f}"),
            frauds=num(st[2]),
            count=num(st[1]),
        )
    hs6 = r.hs_code[:6] if r.hs_code else None
    if topic == "unit_value":
        uv = unit_value(r)
        if uv is None:
            return None
        for series, code in (("unit_value@hs6", hs6), ("unit_value@hs4", hs6[:4] if hs6 else None)):
            med = h.median(series, code) if series in fs.series_names else None
            if med is not None and code is not None:
                median = (
                    N_("the HS %(code)s median", code=code)
                    if len(code) == 6
                    else N_("the HS heading %(code)s median", code=code)
                )
                return N_(
                    "unit value %(comparison)s (%(value)s vs %(median)s per kg)",
                    comparison=_ratio(uv, math.exp(med), median),
                    value=num(uv),
                    median=num(math.exp(med)),
                )
        return N_("unit value %(value)s per kg", value=num(uv))
    if topic == "tax_rate":
        if r.tax_rate is None:
            return None
        med = h.median("tax_rate@hs6", hs6) if "tax_rate@hs6" in fs.series_names else None
        if med is not None:
            return N_(
                "tax rate %(rate)s %% (HS %(code)s median %(median)s %%)",
                rate=num(r.tax_rate),
                code=hs6,
                median=num(med),
            )
        return N_("tax rate %(rate)s %%", rate=num(r.tax_rate))
    if topic in _AMOUNTS:
        label, unit, series_name = _AMOUNTS[topic]
        v = getattr(r, topic)
        if v is None:
            return None
        text = N_("%(label)s %(value)s%(unit)s", label=label, value=num(v), unit=unit)
        med = h.median(series_name, hs6) if series_name and series_name in fs.series_names else None
        if med is not None and v > 0 and SERIES_BY_NAME[str(series_name)].log:
            median = N_("the HS %(code)s median", code=hs6)
            return N_(
                "%(amount)s, %(comparison)s (%(median)s%(unit)s)",
                amount=text,
                comparison=_ratio(v, math.exp(med), median),
                median=num(math.exp(med)),
                unit=unit,
            )
        return text
    if topic == "containers":
        n = len(r.containers)
        return N_("1 container") if n == 1 else N_("%(count)s containers", count=n)
    if topic == "transshipments":
        n = len(r.port_transshipment)
        if n == 0:
            return N_("0 ports of transshipment")
        ports = ", ".join(r.port_transshipment)
        if n == 1:
            return N_("1 port of transshipment (%(ports)s)", ports=ports)
        return N_("%(count)s ports of transshipment (%(ports)s)", count=n, ports=ports)
    if topic.startswith("extra."):
        v = r.extra_value(topic[6:])
        name = topic[6:].replace("_", " ")
        if v is None:
            return N_("no %(what)s given", what=name)
        return N_("%(label)s %(key)s", label=name, key=num(v) if isinstance(v, float) else v)
    return None


class Describer:
    """:func:`describe` for many records against one history (one date's records): what is said of
    a dimension (an importer, an HS heading, a route) depends only on its key and the history, so
    it is written once per key."""

    def __init__(self, h: History | Snapshot, fs: FeatureSpace) -> None:
        self.h = h
        self.fs = fs
        self._said: dict[tuple[str, str | None], Message | None] = {}

    def __call__(self, topic: str, r: Record) -> Message | None:
        dim = self.fs.dims.get(topic)
        if dim is None:
            return describe(topic, r, self.h, self.fs)
        key = (topic, dim.key(r))
        said = self._said.get(key, _UNSAID)
        if said is _UNSAID:
            said = self._said[key] = describe(topic, r, self.h, self.fs)
        return said  # type: ignore[return-value]


_UNSAID = object()
