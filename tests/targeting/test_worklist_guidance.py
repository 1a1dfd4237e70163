"""A newcomer's targeting pages: without a model or profiles they say what to do and show records as "not scored
yet" (never a 0.000 green); the worklist is paged with totals and no silent cap at 500 rows."""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from interdict.targeting.models import TargetingRecord
from tests.conftest import World
from tests.targeting.conftest import container
from tests.targeting.test_workflow_load import MISMATCH, profile
from tests.targeting.workflow_data import GOOD, load, row, write
from tests.web.test_pages import login


def test_without_model_or_profile_the_pages_say_what_to_do_and_nothing_is_scored(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    login(client, "officer.hp")
    page = client.get("/targeting")
    assert 'id="guide-load"' in page.text and 'id="guide-model"' in page.text and 'id="guide-profile"' in page.text
    assert "interdict targeting retrain" in page.text

    first = load(world, write(tmp_path / "m.csv", GOOD))
    with world.session() as s:
        rows = list(s.scalars(select(TargetingRecord)))
    assert rows and all(r.score is None and r.lane is None for r in rows)
    page = client.get(f"/targeting/batches/{first['batch_id']}")
    assert page.status_code == 200
    assert page.text.count("not-scored") == len(GOOD) and "0.000" not in page.text
    assert 'id="guide-load"' not in page.text and 'id="guide-model"' in page.text

    # A profile scores the next load (also the records it does not hit: 0.000 is then a real score).
    profile(world, "analyst", MISMATCH, weight=0.6)
    second = load(world, write(tmp_path / "m2.csv", [row("N1"), row("N2", goods_description="chemical reagent")]))
    page = client.get(f"/targeting/batches/{second['batch_id']}")
    assert "not-scored" not in page.text and 'id="guide-profile"' not in page.text
    assert re.search(r"0\.600</td>", page.text) and "0.000" in page.text


def test_the_worklist_is_paged_past_500_with_totals(client: TestClient, world: World, tmp_path: Path) -> None:
    rows = [row(f"P{n:04d}", containers=container("MSC", n), value=str(1000 + n)) for n in range(620)]
    first = load(world, write(tmp_path / "big.csv", rows))
    assert first["loaded"] == 620
    login(client, "officer.hp")
    url = f"/targeting/batches/{first['batch_id']}"
    page = client.get(url)
    assert "Records 1–100 of 620" in page.text and "page 1 of 7" in page.text
    assert page.text.count('data-record="') == 100
    page = client.get(url + "?size=500&page=2")
    assert "Records 501–620 of 620" in page.text and page.text.count('data-record="') == 120
    assert 'id="page-prev"' in page.text and 'id="page-next"' not in page.text
    shown = set(re.findall(r'data-record="([^"]+)"', client.get(url + "?size=500").text))
    shown |= set(re.findall(r'data-record="([^"]+)"', page.text))
    assert len(shown) == 620  # every record on one of the pages, none twice
    # Filters stay in the page links; an unknown size falls back to the default.
    page = client.get(url + "?origin=CN&size=50&page=3")
    assert "Records 101–150 of 620" in page.text and 'href="?origin=CN&amp;size=50&amp;page=4"' in page.text
    assert "Records 1–100 of 620" in client.get(url + "?size=7").text
    # The API pages the same way and says the total.
    login(client, "officer.hp")
    r = client.get(f"/api/v1/targeting/batches/{first['batch_id']}/records?limit=200&offset=600")
    assert r.status_code == 200 and len(r.json()) == 20 and r.headers["X-Total-Count"] == "620"


def test_selecting_on_a_later_page_goes_back_to_that_page_with_its_filters(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    rows = [row(f"S{n:04d}", containers=container("MSC", n), value=str(1000 + n)) for n in range(160)]
    first = load(world, write(tmp_path / "paged.csv", rows))
    token = login(client, "officer.hp")
    url = f"/targeting/batches/{first['batch_id']}"
    page = client.get(url + "?origin=CN&size=50&page=3")
    assert "Records 101–150 of 160" in page.text
    action = html.unescape(re.search(r'<form method="post" action="([^"]+)" id="select-form">', page.text)[1])
    ticked = re.findall(r'name="record" value="([^"]+)"', page.text)[:2]
    r = client.post(action, data={"csrf_token": token, "record": ticked}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == url + "?origin=CN&size=50&page=3", r.headers
    back = client.get(r.headers["location"])
    assert "Records 101–150 of 160" in back.text and "page 3 of 4" in back.text
    with world.session() as s:
        chosen = {str(x.id) for x in s.scalars(select(TargetingRecord).where(TargetingRecord.selected.is_(True)))}
    assert chosen == set(ticked)
    # Nothing ticked: the problem is said on the same page.
    r = client.post(action, data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 422 and "Records 101–150 of 160" in r.text
