"""While Interdict runs as the demo (``interdict demo`` sets INTERDICT_DEMO), every page says its data is synthetic,
and the login page, the dashboard and the README say which demo user has which role and unit and what to try
first."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from interdict.demo.guide import TRY_FIRST, demo_users
from interdict.demo.seed import ORGS, USERS
from tests.conftest import World
from tests.web.test_pages import login

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def demo_on(app: FastAPI) -> Iterator[None]:
    app.state.settings.demo = True
    try:
        yield
    finally:
        app.state.settings.demo = False


def test_every_demo_user_has_something_to_try_first() -> None:
    assert set(TRY_FIRST) == {u["username"] for u in USERS}
    assert all(u.try_first and u.org_name for u in demo_users())


def test_the_readme_lists_each_demo_user_with_role_unit_and_what_to_try_first() -> None:
    text = README.read_text(encoding="utf-8")
    orgs = {o["code"]: o["name"] for o in ORGS}
    rows = {m[1]: m[0] for m in re.finditer(r"^\| `([a-z.]+)` \|.*\|$", text, flags=re.M)}
    assert set(rows) == {u["username"] for u in USERS}, sorted(rows)
    for u in USERS:
        cells = [c.strip() for c in rows[u["username"]].strip("|").split("|")]
        assert cells[1] == u["role"] and orgs[u["org_code"]] in cells[2], cells
        assert cells[3] == TRY_FIRST[u["username"]], cells
    quick = text.split("## Quick start", 1)[1].split("```", 2)[1]
    assert [line.split()[0] for line in quick.splitlines()[1:] if line.strip()] == ["./scripts/demo", "./scripts/test"]


def test_the_demo_login_page_says_the_data_is_synthetic_and_lists_the_demo_users(
    client: TestClient, world: World, demo_on: None
) -> None:
    page = client.get("/login").text
    assert "synthetic" in page and "none is a real case" in page
    table = page.split('id="demo-users"', 1)[1]
    for u in demo_users():
        assert f"<code>{u.username}</code>" in table and u.org_name in table
    assert "Open the unread rapid alert from Cambodia" in table
    client.get("/lang/vi?next=/login")
    page = client.get("/login").text
    assert "dữ liệu giả lập" in page and "Nên thử trước" in page and "Cục Hải quan Hải Phòng" in page


def test_a_demo_user_is_told_on_the_dashboard_what_to_try_first(
    client: TestClient, world: World, demo_on: None
) -> None:
    login(client, "officer.hp")
    page = client.get("/dashboard").text
    assert re.search(r'class="alert alert-ok demo-next">Try first: Open the unread rapid alert', page)
    assert '<tr class="current">\n        <td><code>officer.hp</code>' in page


def test_outside_the_demo_no_page_mentions_it(client: TestClient, world: World) -> None:
    assert "synthetic" not in client.get("/login").text
    login(client, "officer.hp")
    page = client.get("/dashboard").text
    assert "demo-users" not in page and "Try first" not in page
