"""The demo's container targeting: a model fitted on the shipped sample, the precursor risk profiles and one
scored arrival, so that a newcomer opens a ranked worklist with reasons; running it again adds nothing."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from interdict.core.clock import utcnow
from interdict.demo.targeting import ARRIVALS, HISTORY, LOAD_NAME, PROFILES, sample, seed_targeting
from interdict.targeting.models import RiskProfile, TargetingBatch, TargetingRecord
from tests.conftest import World
from tests.web.test_pages import login


def smaller_history(target: Path, every: int = 2) -> Path:
    """Every other record of the shipped history (a faster fit for the test; still positives and negatives)."""
    with gzip.open(sample(HISTORY), "rt", encoding="utf-8", newline="") as src:
        rows = list(csv.reader(src))
    with target.open("w", encoding="utf-8", newline="") as dst:
        csv.writer(dst, lineterminator="\n").writerows([rows[0], *rows[1::every]])
    return target


def test_the_demo_fits_a_model_adds_profiles_and_ranks_an_arrival_with_reasons(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    settings = world.app.state.settings.model_copy(
        update={"data_dir": tmp_path / "data", "targeting_model": None, "targeting_random_share": 0.0}
    )
    assert sample(ARRIVALS).is_file() and (sample(HISTORY).parent / "SOURCES.md").is_file()
    history = smaller_history(tmp_path / "history.csv")
    with world.session() as s:
        done = seed_targeting(s, settings, now=utcnow(), history=history, user="analyst")
    assert done.model_records == 812 and done.profiles_created == len(PROFILES) and done.loaded == 175
    assert (settings.default_targeting_model / "model.json").is_file()
    assert settings.effective_targeting_model == settings.default_targeting_model

    with world.session() as s:
        batch = s.scalars(select(TargetingBatch).where(TargetingBatch.name == LOAD_NAME)).one()
        assert batch.model_version and batch.loaded == 175
        rows = list(
            s.scalars(
                select(TargetingRecord)
                .where(TargetingRecord.batch_id == batch.id)
                .order_by(TargetingRecord.score.desc(), TargetingRecord.record_id)
            )
        )
    scores = [r.score for r in rows]
    assert all(x is not None for x in scores) and len(set(scores)) > 20  # a ranking, not a tie
    assert all(any(x["source"] == "model" for x in r.reasons) for r in rows)  # every record says why
    profile_hits = [r for r in rows if any(x["source"] == "profile" for x in r.reasons)]
    assert profile_hits and all(r.score is not None and r.score >= 0.15 for r in profile_hits)

    # Again: nothing added, the model kept.
    with world.session() as s:
        again = seed_targeting(s, settings, now=utcnow(), history=history, user="analyst")
        assert (again.model_records, again.profiles_created, again.load_name) == (0, 0, None)
        assert len(list(s.scalars(select(RiskProfile)))) == len(PROFILES)

    # The worklist as the officer sees it: ranked, reasons, no guidance about a missing model.
    login(client, "analyst")
    before = world.app.state.settings
    world.app.state.settings = settings
    try:
        page = client.get(f"/targeting/batches/{batch.id}")
    finally:
        world.app.state.settings = before
    assert page.status_code == 200 and "not-scored" not in page.text and 'id="guide-model"' not in page.text
    assert "Records 1–100 of 175" in page.text and 'class="reason-model"' in page.text
