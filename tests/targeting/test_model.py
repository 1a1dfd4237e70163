from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from interdict.core.errors import InvalidInput
from interdict.targeting.evaluate import at_k
from interdict.targeting.mapping import Record, load, read_mapping
from interdict.targeting.model import NO_REASON, UNVALIDATED, TargetingModel
from tests.targeting.conftest import MAPPING

RAW_NAME = re.compile(r"\b[a-z_0-9]+\.(count|rate|days_known|days_since|dev)\b|extra\.|@hs")


def test_the_model_beats_random_on_a_later_period_by_a_clear_margin(model: TargetingModel, later: list[Record]) -> None:
    scored = model.score(later, reasons=0)
    outcome = {r.id: bool(r.outcome) for r in later}
    five, ten = at_k(((s.id, s.score, outcome[s.id]) for s in scored), (5, 10))
    base_rate = five.positives / five.total
    assert 0.15 < base_rate < 0.3
    assert five.precision >= 2.5 * base_rate, five
    assert ten.precision >= 2 * base_rate, ten


def test_scores_ignore_the_outcomes_of_scored_records_and_do_not_change_the_model(
    model: TargetingModel, later: list[Record]
) -> None:
    part = later[:300]
    first = model.score(part)
    flipped = [dataclasses.replace(r, outcome=not r.outcome) for r in part]
    assert model.score(flipped) == first
    assert model.score(part) == first


def test_reasons_are_words_for_an_analyst_top_first(model: TargetingModel, later: list[Record]) -> None:
    scored = model.score(later[:400])
    red = [s for s in scored if s.lane == "red"]
    assert red
    for s in scored:
        assert 1 <= len(s.reasons) <= 3
        for text in s.reasons:
            assert not RAW_NAME.search(text), text
    texts = " ".join(t for s in red for t in s.reasons)
    assert "past fraud rate" in texts
    assert all(s.reasons != (NO_REASON,) for s in red)


def test_lanes_follow_the_scores(model: TargetingModel, later: list[Record]) -> None:
    scored = model.score(later, reasons=0)
    order = {"red": 0, "yellow": 1, "green": 2}
    ranked = sorted(scored, key=lambda s: -s.score)
    assert [order[s.lane] for s in ranked] == sorted(order[s.lane] for s in ranked)
    red = sum(s.lane == "red" for s in scored) / len(scored)
    assert 0.01 < red < 0.2  # about red_share (5 %) of later traffic


def test_path_contributions_add_up_to_the_raw_score(model: TargetingModel, later: list[Record]) -> None:
    x = model.space.matrix(later[:50], model.history.fork(), outcomes=False)[:, model.columns]
    raw = model.booster.predict(x, raw_score=True)
    for exact in (False, True):
        bias = raw - model.contributions(x, exact=exact).sum(axis=1)
        assert np.allclose(bias, bias[0])


def test_scores_are_lightgbms_probabilities_and_the_matrix_walk_agrees(
    model: TargetingModel, later: list[Record]
) -> None:
    """Scoring walks the dates once (features, leaves, reasons per date); its scores are the
    booster's own predictions on the full feature matrix."""
    x = model.space.matrix(later, model.history.fork(), outcomes=False)[:, model.columns]
    expected = model.booster.predict(x)
    scored = model.score(later)
    assert np.allclose([s.score for s in scored], expected, rtol=0, atol=2e-9)
    assert [s.score for s in scored] == [s.score for s in model.score(later, reasons=0)]


def test_treeshap_reasons_for_the_lanes_asked_path_contributions_for_the_rest(
    model: TargetingModel, later: list[Record]
) -> None:
    sample = later[:400]
    path, shap = model.score(sample), model.score(sample, exact=True)
    mixed = model.score(sample, exact=("red", "yellow"))
    assert [s.score for s in mixed] == [s.score for s in path] == [s.score for s in shap]
    for m, p, t in zip(mixed, path, shap, strict=True):
        assert m.reasons == (t.reasons if m.lane in ("red", "yellow") else p.reasons)
    assert {s.lane for s in mixed} >= {"red", "green"}
    # a bounded number of TreeSHAP explanations (the web worklist's cost stays bounded)
    limited = model.score(sample, exact=("red", "yellow"), exact_limit=5)
    assert [s.score for s in limited] == [s.score for s in path]
    changed = [m for m, p in zip(limited, path, strict=True) if m.reasons != p.reasons]
    assert 0 < len(changed) <= 5
    assert all(m.lane in ("red", "yellow") and m in shap for m in changed)
    assert model.score(sample, exact=("red", "yellow"), exact_limit=0) == path


def test_a_saved_model_scores_the_same(model: TargetingModel, later: list[Record], tmp_path: Path) -> None:
    model.save(tmp_path / "copy")
    model.save(tmp_path / "copy")  # replacing a model is fine
    again = TargetingModel.load(tmp_path / "copy")
    assert (tmp_path / "copy" / "paths.npz").is_file()
    assert again.score(later[:200]) == model.score(later[:200])
    assert again.meta["mapping"]["name"] == MAPPING


def test_a_model_never_overwrites_other_files(model: TargetingModel, tmp_path: Path) -> None:
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not a model directory"):
        model.save(other)
    assert (other / "keep.txt").read_text(encoding="utf-8") == "mine"
    with pytest.raises(InvalidInput, match="not a targeting model"):
        TargetingModel.load(other)


def test_fitting_is_deterministic_for_a_seed(later: list[Record]) -> None:
    mapping = read_mapping(MAPPING)
    part = later[:800]
    a = TargetingModel.fit(part, mapping, seed=3, groups=[])
    b = TargetingModel.fit(part, mapping, seed=3, groups=[])
    assert a.booster.model_to_string() == b.booster.model_to_string()


def test_fitting_needs_both_outcomes(later: list[Record]) -> None:
    negatives = [dataclasses.replace(r, outcome=False) for r in later[:100]]
    with pytest.raises(InvalidInput, match="positive and negative outcomes"):
        TargetingModel.fit(negatives, read_mapping(MAPPING))


def test_rejected_rows_are_scored_red_with_the_reason(
    model: TargetingModel, kcs_samples: tuple[Path, Path], tmp_path: Path
) -> None:
    lines = kcs_samples[1].read_text(encoding="utf-8").splitlines()[:6]
    cells = lines[2].split(",")
    cells[12] = "39AB"  # HS6 Code
    lines[2] = ",".join(cells)
    path = tmp_path / "few.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = load(path, read_mapping(MAPPING))
    scored = model.score_loaded(loaded)
    assert [s.id for s in scored] == [line.split(",")[0] for line in lines[1:]]
    bad = scored[1]
    assert bad.lane == "red" and bad.reasons[0].startswith(f"{UNVALIDATED}: hs_code: '39AB' is not an HS code")
