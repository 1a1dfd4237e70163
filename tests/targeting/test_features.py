from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from interdict.targeting.features import SERIES_BY_NAME, FeatureSpace, History, Keys, walk_dates
from interdict.targeting.mapping import Record, load_records, read_mapping


def _records() -> list[Record]:
    out = []
    for day in range(1, 6):
        for k in range(4):
            out.append(
                Record(
                    id=f"D{day}-{k}",
                    date=dt.date(2025, 1, day),
                    importer="IMP-A" if k < 2 else "IMP-B",
                    declarant="DEC-1",
                    hs_code="392690" if k % 2 == 0 else "850440",
                    country_origin="CN",
                    country_departure="HK",
                    office="03PL",
                    value=1000.0 * (k + 1),
                    net_weight=100.0 + day,
                    outcome=(day + k) % 3 == 0,
                )
            )
    return out


def _matrix(records: list[Record]) -> tuple[FeatureSpace, np.ndarray]:
    space = FeatureSpace.for_mapping(read_mapping("generic-manifest"))
    space.learn_vocabulary(records)
    return space, space.matrix(records, space.history(), outcomes=True)


def test_a_records_outcome_reaches_only_later_dates() -> None:
    records = _records()
    space, before = _matrix(records)
    target = next(i for i, r in enumerate(records) if r.id == "D3-0")
    flipped = list(records)
    flipped[target] = dataclasses.replace(records[target], outcome=not records[target].outcome)
    _, after = _matrix(flipped)
    day = records[target].date
    for i, r in enumerate(records):
        same = np.array_equal(before[i], after[i], equal_nan=True)
        if r.date <= day:
            assert same, f"{r.id} (dated {r.date}) saw the outcome of D3-0 ({day})"
    later_a = [i for i, r in enumerate(records) if r.date > day and r.importer == "IMP-A"]
    rate = space.index["importer.rate"]
    assert all(before[i, rate] != after[i, rate] for i in later_a)


def test_same_day_records_do_not_see_each_other() -> None:
    records = _records()
    space, x = _matrix(records)
    count, rate = space.index["importer.count"], space.index["importer.rate"]
    first_day = [i for i, r in enumerate(records) if r.date == dt.date(2025, 1, 1)]
    assert all(x[i, count] == 0 for i in first_day)  # nothing before the first date
    assert len({x[i, rate] for i in first_day}) == 1  # only the prior, equal for all
    day2_a = [i for i, r in enumerate(records) if r.date == dt.date(2025, 1, 2) and r.importer == "IMP-A"]
    assert all(x[i, count] == 2 for i in day2_a)  # the two IMP-A records of day 1, not each other


def test_rates_are_smoothed_and_unseen_values_get_the_parent_rate() -> None:
    records = _records()
    space, _ = _matrix(records)
    history = space.history()
    history.add(records, space.dims, outcomes=True)
    unseen = dataclasses.replace(records[0], importer="NEW", hs_code="999999")
    assert history.rate(space.dims["importer"], unseen, space.dims) == history.prior
    hs6 = history.rate(space.dims["hs6"], unseen, space.dims)
    assert hs6 == history.prior  # heading and chapter unseen too
    stat = history.stat("importer", "IMP-A")
    assert stat is not None and stat[:3] == [10, 10, sum(bool(r.outcome) for r in records if r.importer == "IMP-A")]


def test_a_fork_leaves_its_parent_unchanged_and_learns_no_outcomes() -> None:
    records = _records()
    space, _ = _matrix(records)
    parent = space.history()
    parent.add(records[:8], space.dims, outcomes=True)
    saved = History.from_json(parent.to_json()).to_json()
    fork = parent.fork()
    fork.add(records[8:], space.dims, outcomes=False)
    assert parent.to_json() == saved
    merged = fork.to_json()
    assert merged["labelled"] == parent.labelled and merged["tables"]["importer"]["IMP-A"][0] == 10


def test_block_is_vector_and_a_days_additions_match_one_by_one(kcs_samples: tuple[Path, Path]) -> None:
    """Scoring computes a date's features a block at a time and adds the date a dimension at a
    time; both give what the record-by-record definitions give (KCS records and generic ones)."""
    kcs, _ = load_records(kcs_samples[0], read_mapping("kcs-customs-declarations"))
    for records, mapping in ((kcs[:1500], "kcs-customs-declarations"), (_records(), "generic-manifest")):
        space = FeatureSpace.for_mapping(read_mapping(mapping))
        space.learn_vocabulary(records)
        fast, slow = space.history(), space.history()
        blocks: list[np.ndarray] = []
        vectors: list[list[float]] = []

        def visit(idx: list[int], keys: Keys) -> None:
            blocks.append(space.block(keys, fast))
            vectors.extend(space.vector(records[i], slow) for i in idx)
            slow.add([records[i] for i in idx], space.dims, outcomes=True)  # record by record

        walk_dates(records, fast, space.dims, outcomes=True, visit=visit)  # a dimension at a time
        assert np.array_equal(np.vstack(blocks), np.array(vectors), equal_nan=True)
        assert fast.tables == slow.tables and fast.values == slow.values
        assert (fast.labelled, fast.positives, fast.last_day) == (slow.labelled, slow.positives, slow.last_day)
        assert any(fast.values[s] for s in fast.series)


def test_a_scoring_fork_keeps_medians_in_heaps_with_the_same_values(kcs_samples: tuple[Path, Path]) -> None:
    records, _ = load_records(kcs_samples[0], read_mapping("kcs-customs-declarations"))
    space = FeatureSpace.for_mapping(read_mapping("kcs-customs-declarations"))
    fitted = space.history()
    cut = len(records) // 2
    walk_dates(records[:cut], fitted, space.dims, outcomes=True, visit=lambda idx, keys: None)
    lists, heaps = fitted.fork(), fitted.fork(running=True)
    checked = 0

    def visit(idx: list[int], keys: Keys) -> None:
        nonlocal checked
        for s in space.series_names:
            for k in set(keys[SERIES_BY_NAME[s].dim]):
                assert heaps.median(s, k) == lists.median(s, k), (s, k)
                checked += lists.median(s, k) is not None
        heaps.add(keys.records, space.dims, outcomes=False, keys=keys)

    walk_dates(records[cut:], lists, space.dims, outcomes=False, visit=visit)
    assert checked > 1000
    with pytest.raises(ValueError, match="cannot be stored"):
        heaps.to_json()
