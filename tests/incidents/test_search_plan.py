"""Broad searches (more matches than the count cap) take their page from a window of the first rows in sort
order (PostgreSQL); the pages must be exactly those of the plain plan, whatever the window holds."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from interdict.core.filters import Condition, conditions
from interdict.core.pagination import PageParams
from interdict.incidents import service as svc
from interdict.incidents.schemas import IncidentCreate
from interdict.reference.catalogue import get_index
from tests.conftest import World, minimal_incident


@pytest.mark.parametrize(("window", "window_max"), [(10, 10_000), (4, 12), (1, 1)])
def test_window_pages_equal_the_plain_plan(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch, window: int, window_max: int
) -> None:
    monkeypatch.setattr(svc, "RECENT_WINDOW", window)  # small windows: growth and fallback on a small data set
    monkeypatch.setattr(svc, "RECENT_WINDOW_MAX", window_max)
    word = f"zq{uuid.uuid4().hex[:6]}"
    with world.session() as s:
        subject = world.subject("officer.hp")
        index = get_index(s)
        items = []
        for n in range(60):
            marked = n % 7 == 3 or n > 50  # sparse among the newest, dense among the oldest
            body = minimal_incident(
                incident_date=(date(2026, 1, 1) - timedelta(days=n // 2)).isoformat(),
                narrative=f"routine check {word if marked else 'nothing'}",
            )
            if n % 3 == 0:  # a company filter on part of them
                body["parties"][0]["name"] = f"{word.upper()} Chemical Trading Co., Ltd"
            data = IncidentCreate.model_validate(body)
            items.append(svc.BulkItem(data, svc.check(index, data), "submitted"))
        svc.bulk_create(s, subject, items)
    searches = [
        {"q": word},
        {"filter_node": conditions(Condition(field="company", op="match", value=word))},
        {"q": "routine"},
    ]
    for sort in ("-incident_date", "incident_date", "reference"):
        for search in searches:
            with world.session() as s:
                reader = world.subject("officer.hcm")
                for number in (1, 2, 3):
                    page = PageParams(page=number, page_size=3)
                    broad = svc.search_incidents(s, reader, sort=sort, page=page, count_cap=2, **search)  # type: ignore[arg-type]
                    plain = svc.search_incidents(s, reader, sort=sort, page=page, count_cap=None, **search)  # type: ignore[arg-type]
                    assert not broad.total_exact
                    assert [i.reference for i in broad.items] == [i.reference for i in plain.items], (
                        sort,
                        search,
                        number,
                    )


def test_merged_walks_page_exactly_what_each_reader_may_read(client: TestClient, world: World) -> None:
    """Broad searches sorted by date walk each of the reader's audience tokens and its own unit's rows apart and
    merge them (PostgreSQL). Over the leak matrix (every distribution x TLP x nominal sharing, and a draft) and
    records of other owners on other dates, every page equals the plain plan's, and the pages together hold
    exactly the records the oracle lets the reader see."""
    from tests.sharing.test_leak_matrix import GROUP_MEMBERS, READERS, RECORDS, can_read, seed

    matrix = seed(client, world)
    others: dict[str, tuple[str, str]] = {}  # reference -> (owner, distribution)
    for n, (user, distribution) in enumerate(
        [("officer.kh", "all"), ("officer.kh", "group"), ("officer.kh", "national"), ("police", "organisation")] * 3
    ):
        body = minimal_incident(
            submit=True,
            incident_date=(date(2026, 3, 14) - timedelta(days=n - 4)).isoformat(),
            distribution=distribution,
            sharing_group="MEKONG" if distribution == "group" else None,
            narrative=f"Other owner's record leakprobe{900 + n}.",
        )
        r = client.post("/api/v1/incidents", json=body, headers=world.h(user))
        assert r.status_code == 201, r.text
        others[r.json()["reference"]] = (user, distribution)

    def other_visible(user: str, owner: str, distribution: str) -> bool:
        (_, root, country), (_, owner_root, owner_country) = READERS[user], READERS[owner]
        return (
            user == owner
            or {
                "all": True,
                "group": root in GROUP_MEMBERS,
                "national": country == owner_country,
                "organisation": root == owner_root,
            }[distribution]
        )

    searches: list[dict[str, Any]] = [
        {},
        {"q": "leakprobe"},
        {"filter_node": conditions(Condition(field="company", op="match", value="hoang phat"))},
    ]
    for user in READERS:
        visible = {matrix[r.n]["reference"] for r in RECORDS if can_read(user, r)}
        with world.session() as s:
            reader = world.subject(user)
            own_others = {ref for ref, (owner, dist) in others.items() if other_visible(user, owner, dist)}
            for sort in ("-incident_date", "incident_date"):
                for search in searches:
                    seen: list[str] = []
                    for number in range(1, 30):
                        page = PageParams(page=number, page_size=7)
                        broad = svc.search_incidents(s, reader, sort=sort, page=page, count_cap=1, **search)
                        plain = svc.search_incidents(s, reader, sort=sort, page=page, count_cap=None, **search)
                        refs = [i.reference for i in broad.items]
                        assert refs == [i.reference for i in plain.items], (user, sort, search, number)
                        if not refs:
                            break
                        seen += refs
                    assert len(seen) == len(set(seen)), (user, sort, search)
                    assert set(seen) == visible | own_others, (user, sort, search)
