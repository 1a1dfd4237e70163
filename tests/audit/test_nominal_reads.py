"""Every surface that shows person data records the read (issue 16): incident history (API and page), the edit
form, watch lists (API and page: watched persons' values, persons as written in a hit), linked entities of warning
notices and entity pages. A reader who is shown no person data leaves no entry."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from interdict.audit.models import AuditEntry
from interdict.watch.tasks import drain
from tests.audit.test_audit import entries_since, last_seq
from tests.conftest import World, minimal_incident
from tests.web.test_pages import login

PERSON = {"role": "person_involved", "kind": "person", "name": "Lê Văn Tám", "id_document": "B1234567"}


def reads(world: World, mark: int, action: str = "incident.read_nominal") -> list[AuditEntry]:
    return [e for e in entries_since(world, mark) if e.action == action]


def shared_then_person_removed(client: TestClient, world: World) -> dict[str, Any]:
    """A record shared with everyone without its persons; its person was then removed (only history shows it)."""
    h = world.h("officer.hp")
    body = minimal_incident(
        submit=True,
        distribution="all",
        tlp="GREEN",
        share_nominal=False,
        parties=[*minimal_incident()["parties"], PERSON],
    )
    r = client.post("/api/v1/incidents", json=body, headers=h)
    assert r.status_code == 201, r.text
    inc = r.json()
    r = client.patch(
        f"/api/v1/incidents/{inc['id']}",
        json={"version": inc["version"], "parties": minimal_incident()["parties"]},
        headers=h,
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_history_shows_persons_only_with_an_audited_read(client: TestClient, world: World) -> None:
    inc = shared_then_person_removed(client, world)
    # API: the owner's unit sees the removed person in the history diff, and the read is recorded.
    mark = last_seq(world)
    r = client.get(f"/api/v1/incidents/{inc['id']}/history", headers=world.h("officer.hp"))
    assert r.status_code == 200 and "Lê Văn Tám" in r.text
    got = reads(world, mark)
    assert [(e.object_id, e.object_label, e.actor_username, e.channel) for e in got] == [
        (inc["id"], inc["reference"], "officer.hp", "api")
    ]
    assert got[0].summary == "1 natural person(s) shown in history"
    # Cambodia reads the record without its persons: the history shows none, and nothing is recorded.
    mark = last_seq(world)
    r = client.get(f"/api/v1/incidents/{inc['id']}/history", headers=world.h("officer.kh"))
    assert r.status_code == 200 and "Lê Văn Tám" not in r.text
    assert reads(world, mark) == []
    # Page: the record has no person any more, but its history on the page does.
    login(client, "officer.hp")
    mark = last_seq(world)
    page = client.get(f"/incidents/{inc['reference']}")
    assert page.status_code == 200 and "Lê Văn Tám" in page.text
    got = reads(world, mark)
    assert [(e.object_label, e.channel) for e in got] == [(inc["reference"], "web")]
    client.cookies.clear()
    login(client, "officer.kh")
    mark = last_seq(world)
    page = client.get(f"/incidents/{inc['reference']}")
    assert page.status_code == 200 and "Lê Văn Tám" not in page.text
    assert reads(world, mark) == []


def test_the_edit_form_shows_persons_with_an_audited_read(client: TestClient, world: World) -> None:
    h = world.h("officer.hp")
    with_person = client.post(
        "/api/v1/incidents", json=minimal_incident(parties=[*minimal_incident()["parties"], PERSON]), headers=h
    ).json()
    without = client.post("/api/v1/incidents", json=minimal_incident(), headers=h).json()
    login(client, "officer.hp")
    mark = last_seq(world)
    page = client.get(f"/incidents/{with_person['reference']}/edit")
    assert page.status_code == 200 and "Lê Văn Tám" in page.text
    assert [e.object_label for e in reads(world, mark)] == [with_person["reference"]]
    mark = last_seq(world)
    assert client.get(f"/incidents/{without['reference']}/edit").status_code == 200
    assert reads(world, mark) == []


def _watch_list(client: TestClient, world: World, user: str, entries: list[tuple[str, str]]) -> str:
    r = client.post("/api/v1/watch/lists", json={"name": f"list of {user}"}, headers=world.h(user))
    assert r.status_code == 201, r.text
    list_id = str(r.json()["id"])
    for kind, value in entries:
        r = client.post(
            f"/api/v1/watch/lists/{list_id}/entries",
            json={"kind": kind, "value": value, "reason": "tip-off"},
            headers=world.h(user),
        )
        assert r.status_code == 201, r.text
    return list_id


def test_watch_lists_show_persons_only_with_an_audited_read(client: TestClient, world: World) -> None:
    persons = _watch_list(client, world, "analyst", [("person", "Le Van Tam"), ("container", "CSQU3054383")])
    things = _watch_list(client, world, "officer.kh", [("container", "CSQU3054383")])
    body = minimal_incident(
        submit=True,
        distribution="all",
        tlp="GREEN",
        share_nominal=False,
        parties=[*minimal_incident()["parties"], PERSON],
    )
    inc = client.post("/api/v1/incidents", json=body, headers=world.h("officer.hp")).json()
    drain(world.app.state.sessionmaker)

    # API: the national department sees its watched person and the person as written in the incident.
    mark = last_seq(world)
    r = client.get(f"/api/v1/watch/lists/{persons}", headers=world.h("analyst"))
    assert r.status_code == 200 and "Lê Văn Tám" in r.text
    listed = reads(world, mark, "watch_list.read_nominal")
    assert [(e.object_id, e.object_label) for e in listed] == [(persons, "list of analyst")]
    entry = next(e for e in r.json()["entries"] if e["kind"] == "person")
    assert listed[0].after == {"entries": [entry["id"]]}
    assert [(e.object_label, e.summary) for e in reads(world, mark)] == [
        (inc["reference"], "1 natural person(s) shown in watch-list hits")
    ]
    mark = last_seq(world)
    client.get("/api/v1/watch/lists", headers=world.h("analyst"))
    assert [e.object_id for e in reads(world, mark, "watch_list.read_nominal")] == [persons]
    assert [e.object_label for e in reads(world, mark)] == [inc["reference"]]
    # Cambodia's list holds a container only, and the incident's persons are withheld from it: no entry at all.
    mark = last_seq(world)
    r = client.get(f"/api/v1/watch/lists/{things}", headers=world.h("officer.kh"))
    assert [h["incident_reference"] for h in r.json()["hits"]] == [inc["reference"]]
    assert entries_since(world, mark) == []

    # The pages: the same reads, through the web.
    login(client, "analyst")
    mark = last_seq(world)
    page = client.get(f"/watch/lists/{persons}")
    assert page.status_code == 200 and "Lê Văn Tám" in page.text
    assert [(e.action, e.channel) for e in entries_since(world, mark)] == [
        ("watch_list.read_nominal", "web"),
        ("incident.read_nominal", "web"),
    ]
    client.cookies.clear()
    login(client, "officer.kh")
    mark = last_seq(world)
    assert client.get(f"/watch/lists/{things}").status_code == 200
    assert entries_since(world, mark) == []
