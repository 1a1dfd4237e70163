"""The audience tokens: a superset of readable() that PostgreSQL search uses to skip unreadable rows in its
text index. If a record's audience missed a reader who may read it, that reader's searches would silently
lose the record, so: every record readable by a reader (the leak-matrix oracle) shares a token with the
reader, on every write path (create, submit, sharing change, bulk import), and the tokens stay tight
(drafts and unit-only records carry their owner's token only). The reach (the widest token, under which
broad searches walk a record in date order) follows the audience on every path."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from interdict.accounts.service import subject_by_username
from interdict.core.db import unit_of_work
from interdict.incidents import importexport
from interdict.incidents.models import Incident
from interdict.sharing.service import subject_audience
from tests.conftest import World, minimal_incident
from tests.sharing.test_leak_matrix import READERS, RECORDS, can_read, make_group, seed


def audiences(world: World) -> dict[uuid.UUID, set[str]]:
    """The stored audiences; every record's reach (the token its date walk is indexed under) is its widest."""
    with world.session() as s:
        rows = s.execute(select(Incident.id, Incident.audience, Incident.reach)).all()
    for _, audience, reach in rows:
        assert reach == audience[-1] and (reach.startswith("o:") == (len(audience) == 1)), (audience, reach)
    return {i: set(a) for i, a, _ in rows}


def reader_tokens(world: World, username: str) -> set[str]:
    with world.session() as s:
        return set(subject_audience(s, subject_by_username(s, username)))


def test_every_reader_shares_a_token_with_every_record_it_may_read(client: TestClient, world: World) -> None:
    made = seed(client, world)
    stored = audiences(world)
    owner = f"o:{world.subject('officer.hp').org_id}"
    for user in READERS:
        mine = reader_tokens(world, user)
        for rec in RECORDS:
            audience = stored[uuid.UUID(made[rec.n]["id"])]
            if can_read(user, rec):
                assert audience & mine, (user, rec, audience, mine)
            if rec.draft or rec.distribution == "unit":
                assert audience == {owner}, (rec, audience)


def test_the_audience_follows_submit_and_every_sharing_change(client: TestClient, world: World) -> None:
    group = make_group(client, world)
    r = client.post(
        "/api/v1/incidents", json=minimal_incident(submit=False, distribution="all"), headers=world.h("officer.hp")
    )
    inc = r.json()
    hp = world.subject("officer.hp")
    key = uuid.UUID(inc["id"])
    assert audiences(world)[key] == {f"o:{hp.org_id}"}  # a draft: its unit only

    inc = client.post(
        f"/api/v1/incidents/{inc['id']}/submit", json={"version": inc["version"]}, headers=world.h("officer.hp")
    ).json()
    assert audiences(world)[key] == {f"o:{hp.org_id}", "all"}

    changes = [
        ({"distribution": "national", "tlp": "AMBER"}, {f"c:{hp.country}"}),
        ({"distribution": "group", "sharing_group": "MEKONG", "tlp": "GREEN"}, {f"g:{group['id']}"}),
        ({"distribution": "all", "tlp": "AMBER+STRICT"}, {f"t:{hp.root_org_id}"}),
        ({"distribution": "organisation", "tlp": "RED"}, {f"t:{hp.root_org_id}"}),
        ({"distribution": "unit", "tlp": "CLEAR"}, set()),
    ]
    for change, extra in changes:
        r = client.post(
            f"/api/v1/incidents/{inc['id']}/sharing",
            json={"version": inc["version"], "share_nominal": False, **change},
            headers=world.h("officer.hp"),
        )
        assert r.status_code == 200, r.text
        inc = r.json()
        assert audiences(world)[key] == {f"o:{hp.org_id}", *extra}, change


def test_bulk_import_writes_the_audience(client: TestClient, world: World, tmp_path: Path) -> None:
    group = make_group(client, world)
    path = tmp_path / "in.csv"
    path.write_text(
        "incident_type,incident_date,country,distribution,sharing_group,tlp\n"
        "seizure,2026-01-02,VN,group,MEKONG,AMBER\n"
        "seizure,2026-01-03,VN,national,,AMBER+STRICT\n",
        encoding="utf-8",
    )
    with unit_of_work(client.app.state.sessionmaker) as s:  # type: ignore[attr-defined]
        report = importexport.import_file(s, subject_by_username(s, "officer.hp"), path)
    assert report.imported == 2, [r.message() for r in report.rejected]
    hp = world.subject("officer.hp")
    assert sorted(map(sorted, audiences(world).values())) == sorted(
        [sorted([f"o:{hp.org_id}", f"g:{group['id']}"]), sorted([f"o:{hp.org_id}", f"t:{hp.root_org_id}"])]
    )
    # The Cambodian group member finds the group record by its text, the police agency (not a member) does not.
    for user, expected in (("officer.kh", 1), ("police", 0)):
        found = client.get("/api/v1/incidents", params={"q": "seizure"}, headers=world.h(user)).json()["total"]
        assert found == expected, user
