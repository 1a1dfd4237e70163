"""The model's reasons on the worklist in the reader's language: stored as catalogue messages with their numbers,
shown in Vietnamese (with Vietnamese separators) or English; a reason stored as English text still shows."""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

import interdict.web.i18n  # noqa: F401  (installs the catalogues)
from interdict.core.clock import utcnow
from interdict.core.i18n import N_, Number, message_from_json, message_json
from interdict.demo.targeting import LOAD_NAME, seed_targeting
from interdict.targeting.models import TargetingBatch, TargetingRecord
from tests.conftest import World
from tests.demo.test_targeting import smaller_history
from tests.web.test_pages import login


def reasons(page: str) -> list[str]:
    return [html.unescape(x) for x in re.findall(r'<li class="reason-model">([^<]*)</li>', page)]


def test_a_stored_reason_message_keeps_its_numbers_and_reads_in_vietnamese() -> None:
    message = N_(
        "%(what)s: past fraud rate %(rate)s (%(frauds)s of %(count)s past records)",
        what=N_("HS heading %(a)s", a="2933"),
        rate=Number("0.25"),
        frauds=Number("1,204"),
        count=Number("4,816"),
    )
    back = message_from_json(message_json(message))
    assert back == "HS heading 2933: past fraud rate 0.25 (1,204 of 4,816 past records)"
    assert back.in_lang("vi") == "nhóm HS 2933: tỷ lệ vi phạm trước đây 0,25 (1.204 trên 4.816 bản ghi trước đây)"


def test_model_reasons_show_in_the_readers_language_on_the_worklist(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    settings = world.app.state.settings.model_copy(
        update={"data_dir": tmp_path / "data", "targeting_model": None, "targeting_random_share": 0.0}
    )
    with world.session() as s:
        seed_targeting(s, settings, now=utcnow(), history=smaller_history(tmp_path / "h.csv", every=3), user="analyst")
    with world.session() as s:
        batch = s.scalars(select(TargetingBatch).where(TargetingBatch.name == LOAD_NAME)).one()
        records = list(s.scalars(select(TargetingRecord).where(TargetingRecord.batch_id == batch.id)))
        stored = [x for r in records for x in r.reasons if x["source"] == "model"]
        assert stored and all(x["message"]["msgid"] == "model: %(reason)s" for x in stored)
        # A reason stored before reasons were messages: shown as it was stored.
        records[0].reasons = [{"source": "model", "text": "model: importer X: first record", "weight": 0.5}]
        s.commit()

    login(client, "analyst")
    before = world.app.state.settings
    world.app.state.settings = settings
    try:
        url = f"/targeting/batches/{batch.id}?size=500"
        english = reasons(client.get(url).text)
        client.get("/lang/vi?next=/login")
        vietnamese = reasons(client.get(url).text)
    finally:
        world.app.state.settings = before
    assert len(english) == len(vietnamese) > 100
    assert all(x.startswith("model: ") for x in english)
    assert "model: importer X: first record" in english and "model: importer X: first record" in vietnamese
    assert sum(x.startswith("mô hình: ") for x in vietnamese) == len(vietnamese) - 1
    assert any("past fraud rate" in x for x in english)
    assert any("tỷ lệ vi phạm trước đây" in x for x in vietnamese)
    # Numbers with the reader's separators: "0.25" in English is "0,25" in Vietnamese.
    rates = [re.search(r"past fraud rate (\d\.\d\d)", x) for x in english]
    vi_rates = [re.search(r"tỷ lệ vi phạm trước đây (\d,\d\d)", x) for x in vietnamese]
    assert [m[1] for m in rates if m] == [m[1].replace(",", ".") for m in vi_rates if m]
