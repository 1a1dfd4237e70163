"""The compiled tree walk (targeting/forest.py) finds LightGBM's own leaves and sums."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from interdict.targeting import model as model_module
from interdict.targeting.forest import Forest
from interdict.targeting.mapping import Record
from interdict.targeting.model import Paths, TargetingModel, _topic_matrix


def _leaf_numbers(paths: Paths) -> np.ndarray:
    """A table whose sum over trees gives, in column t, 1 + the leaf reached in tree t."""
    trees = len(paths.offsets) - 1
    table = np.zeros((len(paths.values), trees))
    for t in range(trees):
        first, last = paths.offsets[t], paths.offsets[t + 1]
        table[first:last, t] = np.arange(1, last - first + 1)
    return table


def test_the_compiled_walk_reaches_lightgbms_leaves_on_real_declarations(
    model: TargetingModel, later: list[Record]
) -> None:
    x = model.space.matrix(later, model.history.fork(), outcomes=False)[:, model.columns]
    assert np.isnan(x).any()  # missing values take their splits' default side
    paths = model._path_tables()
    leaves = paths.forest.accumulate(x, _leaf_numbers(paths)) - 1
    assert np.array_equal(leaves, model.booster.predict(x, pred_leaf=True))
    raw = paths.forest.accumulate(x, paths.values[:, None])[:, 0]
    assert np.array_equal(raw, model.booster.predict(x, raw_score=True))  # same sums, same order


def test_leaves_match_on_adversarial_values_and_many_categories() -> None:
    """NaN, zeros, -0.0, negatives, infinities, unseen, fractional and negative categories, and
    categorical splits over more than 32 categories (several bitset words)."""
    rng = np.random.default_rng(7)
    n = 4000
    x = np.column_stack(
        [
            rng.normal(size=n),
            rng.integers(0, 120, size=n).astype(float),  # categorical, 120 levels
            rng.choice([0.0, 1.0, 2.0, np.nan], size=n),
            np.where(rng.random(n) < 0.2, np.nan, rng.exponential(size=n)),
            rng.integers(0, 5, size=n).astype(float),  # categorical, few levels
        ]
    )
    y = ((x[:, 1] % 7 < 3) ^ (np.nan_to_num(x[:, 3]) > 1) ^ (x[:, 0] > 0.5)).astype(int)
    booster = lgb.train(
        {
            "objective": "binary",
            "num_leaves": 63,
            "min_data_in_leaf": 5,
            "max_cat_to_onehot": 4,
            "verbose": -1,
            "num_threads": 1,
            "deterministic": True,
            "seed": 1,
        },
        lgb.Dataset(x, y, categorical_feature=[1, 4]),
        num_boost_round=40,
    )
    paths = Paths.of(booster)
    trial = x.copy()
    trial[::7, 0] = np.nan
    trial[1::11, 0] = 0.0
    trial[2::11, 0] = -0.0
    trial[3::13, 0] = np.inf
    trial[4::13, 0] = -np.inf
    trial[::5, 1] = rng.choice([-1.0, -3.0, 2.5, 119.9, 500.0, 4096.0, np.nan], size=len(trial[::5, 1]))
    trial[::3, 3] = rng.choice([np.nan, 0.0, -1.0, 1e300], size=len(trial[::3, 3]))
    trial[::4, 4] = rng.choice([np.nan, 7.0, -2.0], size=len(trial[::4, 4]))
    assert any(k & 1 and length > 1 for k, length in zip(paths.forest.kind, paths.forest.cat_len, strict=True))
    leaves = paths.forest.accumulate(trial, _leaf_numbers(paths)) - 1
    assert np.array_equal(leaves, booster.predict(trial, pred_leaf=True))


def test_scoring_with_the_compiled_walk_gives_the_same_scores_and_reasons(
    model: TargetingModel, later: list[Record], monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = later[:600]
    with_lightgbm = model.score(sample)  # fewer rows than forest.MIN_ROWS: LightGBM's pred_leaf
    monkeypatch.setattr(model_module, "MIN_ROWS", 1)
    assert model.score(sample) == with_lightgbm
    x = model.space.matrix(sample, model.history.fork(), outcomes=False)[:, model.columns]
    topics = [model.space.features[i].topic for i in model.columns]
    per_topic = _topic_matrix(topics, sorted(set(topics)))
    compiled, lightgbm = model._raw(x, per_topic, compiled=True), model._raw(x, per_topic, compiled=False)
    assert np.array_equal(compiled[0], lightgbm[0])
    assert compiled[1] is not None and lightgbm[1] is not None
    assert np.array_equal(compiled[1], lightgbm[1])


def test_forest_arrays_are_saved_with_the_model_and_older_files_still_load(
    model: TargetingModel, later: list[Record], tmp_path: Path
) -> None:
    model.save(tmp_path / "m")
    with np.load(tmp_path / "m" / Paths.FILE) as saved:
        assert "forest_roots" in saved
        np.savez_compressed(
            tmp_path / "old.npz", table=saved["table"], values=saved["values"], offsets=saved["offsets"]
        )
    assert Paths.load(tmp_path / "old.npz") is None  # written before the forest arrays: rebuilt from the booster
    (tmp_path / "old.npz").replace(tmp_path / "m" / Paths.FILE)
    again = TargetingModel.load(tmp_path / "m")
    assert again._paths is None
    assert again.score(later[:100]) == model.score(later[:100])
    forest = again._path_tables().forest
    assert isinstance(forest, Forest) and np.array_equal(forest.roots, model._path_tables().forest.roots)
