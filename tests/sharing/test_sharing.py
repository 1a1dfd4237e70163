"""Sharing groups, widening and narrowing, TLP and nominal data: what owners and readers rely on."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from interdict.accounts.service import subject_by_username
from interdict.core.db import unit_of_work
from interdict.incidents import importexport
from tests.conftest import World, minimal_incident
from tests.sharing.test_leak_matrix import make_group
from tests.web.test_pages import login


def create(client: TestClient, world: World, **overrides: object) -> dict:
    r = client.post("/api/v1/incidents", json=minimal_incident(submit=True, **overrides), headers=world.h("officer.hp"))
    assert r.status_code == 201, r.text
    return r.json()


def share(client: TestClient, world: World, inc: dict, **change: object) -> dict:
    body = {"version": inc["version"], "distribution": "all", "tlp": "GREEN", "share_nominal": False, **change}
    r = client.post(f"/api/v1/incidents/{inc['id']}/sharing", json=body, headers=world.h("officer.hp"))
    assert r.status_code == 200, r.text
    return r.json()


def visible_to(client: TestClient, world: World, user: str, inc: dict) -> bool:
    detail = client.get(f"/api/v1/incidents/{inc['id']}", headers=world.h(user)).status_code
    found = client.get("/api/v1/incidents", params={"q": "uniqueword"}, headers=world.h(user)).json()["total"]
    assert (detail == 200) == (found == 1), (detail, found)
    return detail == 200


def test_narrowing_takes_effect_at_once_everywhere(client: TestClient, world: World) -> None:
    inc = create(client, world, distribution="all", narrative="uniqueword")
    assert visible_to(client, world, "officer.kh", inc) and visible_to(client, world, "police", inc)
    inc = share(client, world, inc, distribution="national")
    assert not visible_to(client, world, "officer.kh", inc) and visible_to(client, world, "police", inc)
    inc = share(client, world, inc, distribution="organisation")
    assert not visible_to(client, world, "police", inc) and visible_to(client, world, "officer.hcm", inc)
    inc = share(client, world, inc, distribution="unit")
    assert not visible_to(client, world, "officer.hcm", inc) and visible_to(client, world, "officer2.hp", inc)
    inc = share(client, world, inc, distribution="all")
    assert visible_to(client, world, "officer.kh", inc)
    history = client.get(f"/api/v1/incidents/{inc['id']}/history", headers=world.h("officer.hp")).json()
    shares = [v for v in history if v["action"] == "shared"]
    assert len(shares) == 4
    assert {"field": "distribution", "old": "unit", "new": "all"} in shares[0]["changes"]


def test_group_members_read_and_leaving_the_group_ends_it(client: TestClient, world: World) -> None:
    group = make_group(client, world)
    inc = create(client, world, distribution="group", sharing_group="MEKONG", narrative="uniqueword")
    assert inc["sharing_group"]["code"] == "MEKONG"
    assert visible_to(client, world, "officer.kh", inc)  # member KHC
    assert visible_to(client, world, "officer.hcm", inc)  # member VNC brings its units
    assert not visible_to(client, world, "police", inc)  # not a member
    r = client.put(f"/api/v1/sharing-groups/{group['id']}/members", json={"members": ["VNC"]}, headers=world.h("admin"))
    assert r.status_code == 200, r.text
    assert not visible_to(client, world, "officer.kh", inc)
    assert client.get(f"/api/v1/sharing-groups/{group['id']}", headers=world.h("officer.kh")).status_code == 404


def test_hidden_member_list_and_who_manages_a_group(client: TestClient, world: World) -> None:
    group = make_group(client, world)
    mine = client.get("/api/v1/sharing-groups", headers=world.h("analyst")).json()
    assert [m["code"] for m in mine[0]["members"]] == ["KHC", "VNC", "VNC-ASID"]
    theirs = client.get("/api/v1/sharing-groups", headers=world.h("officer.kh")).json()
    assert theirs[0]["code"] == "MEKONG" and theirs[0]["members"] is None and not theirs[0]["can_manage"]
    assert client.get("/api/v1/sharing-groups", headers=world.h("police")).json() == []
    r = client.put(
        f"/api/v1/sharing-groups/{group['id']}/members", json={"members": ["KHC"]}, headers=world.h("officer.kh")
    )
    assert r.status_code == 403
    r = client.post("/api/v1/sharing-groups", json={"code": "X1", "name": "Nope"}, headers=world.h("officer.hp"))
    assert r.status_code == 403
    r = client.post(
        "/api/v1/sharing-groups", json={"code": "X2", "name": "Typo", "members": ["NOPE"]}, headers=world.h("admin")
    )
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["loc"] == ["members", 0]
    assert "no organisation with code 'NOPE'" in r.json()["error"]["errors"][0]["msg"]


def test_sharing_with_a_group_you_are_not_in_is_refused_like_an_unknown_one(client: TestClient, world: World) -> None:
    make_group(client, world)
    msgs = []
    for group in ("MEKONG", "NO-SUCH-GROUP"):
        body = minimal_incident(distribution="group", sharing_group=group)
        r = client.post("/api/v1/incidents", json=body, headers=world.h("police"))
        assert r.status_code == 422
        err = r.json()["error"]["errors"][0]
        assert err["loc"] == ["sharing_group"]
        msgs.append(err["msg"].replace(group, "?"))
    assert msgs[0] == msgs[1]  # no probing for the names of other agencies' groups
    r = client.post("/api/v1/incidents", json=minimal_incident(distribution="group"), headers=world.h("officer.hp"))
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["loc"] == ["sharing_group"]
    assert client.get("/api/v1/incidents", headers=world.h("police")).json()["total"] == 0  # nothing half-written


def test_amber_strict_stays_in_the_organisation_and_red_is_never_exported(client: TestClient, world: World) -> None:
    strict = create(client, world, distribution="all", tlp="AMBER+STRICT", narrative="uniqueword")
    assert visible_to(client, world, "officer.hcm", strict)
    assert not visible_to(client, world, "police", strict)
    red = create(client, world, distribution="all", tlp="RED")
    for user in ("officer.hp", "officer.kh"):
        assert client.get(f"/api/v1/incidents/{red['id']}", headers=world.h(user)).json()["tlp"] == "RED"
        csv_text = client.get("/api/v1/incidents/export", headers=world.h(user)).content.decode("utf-8-sig")
        assert red["reference"] not in csv_text


def test_owner_sees_persons_partners_only_when_shared_nominally(client: TestClient, world: World) -> None:
    person = {"role": "person_involved", "kind": "person", "name": "Trần Thị Bích", "phone": "0903 123 456"}
    inc = create(client, world, distribution="all", parties=[person])
    kh = client.get(f"/api/v1/incidents/{inc['id']}", headers=world.h("officer.kh")).json()
    assert kh["parties"] == [] and kh["persons_withheld"] == 1
    hcm = client.get(f"/api/v1/incidents/{inc['id']}", headers=world.h("officer.hcm")).json()
    assert hcm["parties"][0]["name"] == "Trần Thị Bích"  # same organisation: nominal data is national
    assert (
        client.get("/api/v1/incidents", params={"q": "tran thi bich"}, headers=world.h("officer.kh")).json()["total"]
        == 0
    )
    share(client, world, inc, share_nominal=True)
    kh = client.get(f"/api/v1/incidents/{inc['id']}", headers=world.h("officer.kh")).json()
    assert kh["parties"][0]["name"] == "Trần Thị Bích" and kh["persons_withheld"] == 0
    assert (
        client.get("/api/v1/incidents", params={"q": "tran thi bich"}, headers=world.h("officer.kh")).json()["total"]
        == 1
    )


def test_words_of_withheld_persons_never_match_but_the_same_words_elsewhere_do(
    client: TestClient, world: World
) -> None:
    """A reader who may not see a record's persons finds it by a word only if the word is in the rest of the
    record: in both (found), in the persons only (not found), or one word of the query in each (not found)."""
    records = {
        "both": ("Sample ref qxalpha taken", "Qxalpha Nguyen"),
        "persons only": ("Nothing to see", "Qxbeta Tran"),
        "split": ("Seen near qxgamma wharf", "Qxdelta Le"),
    }
    made = {
        key: create(
            client,
            world,
            distribution="all",
            narrative=narrative,
            parties=[{"role": "person_involved", "kind": "person", "name": person}],
        )
        for key, (narrative, person) in records.items()
    }
    expected = {
        "qxalpha": {"both"},
        "qxbeta": {"persons only"},
        "qxgamma": {"split"},
        "qxgamma qxdelta": {"split"},
        "qxdel": {"split"},  # the last word is a prefix, in the persons only
        "qxgamma qxdel": {"split"},
    }
    public = {"qxalpha": {"both"}, "qxgamma": {"split"}}  # what the foreign reader may find
    for user, allowed in (("officer.hcm", expected), ("officer.kh", public)):
        for q, keys in expected.items():
            found = client.get("/api/v1/incidents", params={"q": q}, headers=world.h(user)).json()["items"]
            want = keys if user == "officer.hcm" else allowed.get(q, set())
            assert {i["reference"] for i in found} == {made[k]["reference"] for k in want}, (user, q)


def test_import_shares_only_with_the_importers_groups(client: TestClient, world: World, tmp_path: Path) -> None:
    make_group(client, world)
    path = tmp_path / "in.csv"
    path.write_text(
        "incident_type,incident_date,country,distribution,sharing_group,tlp,share_nominal\n"
        "seizure,2026-01-02,VN,group,MEKONG,AMBER,true\n",
        encoding="utf-8",
    )
    with unit_of_work(client.app.state.sessionmaker) as s:  # type: ignore[attr-defined]
        report = importexport.import_file(s, subject_by_username(s, "police"), path)
    assert report.imported == 0 and report.rejected[0].errors[0].loc == ("sharing_group",)
    with unit_of_work(client.app.state.sessionmaker) as s:  # type: ignore[attr-defined]
        report = importexport.import_file(s, subject_by_username(s, "officer.hp"), path)
    assert report.imported == 1, [r.message() for r in report.rejected]
    listed = client.get("/api/v1/incidents", headers=world.h("officer.kh")).json()["items"]
    assert len(listed) == 1
    full = client.get(f"/api/v1/incidents/{listed[0]['id']}", headers=world.h("officer.kh")).json()
    assert full["sharing_group"]["code"] == "MEKONG" and full["share_nominal"] is True


def test_owner_changes_sharing_on_the_incident_page(client: TestClient, world: World) -> None:
    make_group(client, world)
    inc = create(client, world, distribution="unit")
    csrf = login(client, "officer.hp")
    page = client.get(f"/incidents/{inc['reference']}").text
    assert 'action="/incidents/' + inc["reference"] + '/sharing"' in page and "Mekong Dragon" in page
    group_id = client.get("/api/v1/sharing-groups", headers=world.h("officer.hp")).json()[0]["id"]
    r = client.post(
        f"/incidents/{inc['reference']}/sharing",
        data={
            "csrf_token": csrf,
            "version": inc["version"],
            "distribution": "group",
            "sharing_group": group_id,
            "tlp": "AMBER",
            "share_nominal": "on",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    kh = client.get(f"/api/v1/incidents/{inc['id']}", headers=world.h("officer.kh")).json()
    assert kh["distribution"] == "group" and kh["share_nominal"] is True
    r = client.post(
        f"/incidents/{inc['reference']}/sharing",
        data={"version": kh["version"], "distribution": "all", "tlp": "AMBER"},
        follow_redirects=False,
    )
    assert r.status_code == 403  # no CSRF token
    client.cookies.clear()
    login(client, "officer.kh")
    assert (
        'action="/incidents/' + inc["reference"] + '/sharing"' not in client.get(f"/incidents/{inc['reference']}").text
    )
    groups_page = client.get("/sharing-groups").text
    assert "Mekong Dragon" in groups_page and "keeps the member list confidential" in groups_page
