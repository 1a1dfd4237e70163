"""The leak matrix: for every (user, record, path), exactly what the sharing model allows is visible.

Organisations (tests/conftest.py): the Vietnam Customs tree (VNC → VNC-ASID, VNC-HP, VNC-HCM), a second
Vietnamese agency (VNP, the police) and Cambodia Customs (KHC). The sharing group MEKONG (owned by
VNC-ASID) has VNC and KHC as members. Every record is reported by VNC-HP and carries one combination of
distribution x TLP x nominal sharing, plus a draft. The expected visibility comes from an oracle written
here from the rules, independently of the code under test; every path is checked against it: detail
(API and web), list and full-text search (hits and counts), search by a person's name, the company
filter, history, attachments, exports (CSV and JSON), and 404-versus-403 on writes.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.conftest import World, minimal_incident
from tests.web.test_pages import login

DISTRIBUTIONS = ["unit", "organisation", "national", "group", "all"]
TLPS = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]

# user -> (organisation, agency at the top of its tree, country)
READERS = {
    "officer.hp": ("VNC-HP", "VNC", "VN"),  # the reporting unit
    "officer.hcm": ("VNC-HCM", "VNC", "VN"),  # another unit of the same agency
    "analyst": ("VNC-ASID", "VNC", "VN"),  # the national department, same agency
    "police": ("VNP", "VNP", "VN"),  # another agency of the same country, not in the group
    "officer.kh": ("KHC", "KHC", "KH"),  # a foreign agency, member of the group
}
GROUP_MEMBERS = {"VNC", "KHC"}  # whole trees


@dataclass(frozen=True)
class Rec:
    n: int
    distribution: str
    tlp: str
    share_nominal: bool
    draft: bool = False

    @property
    def word(self) -> str:
        return f"leakprobe{self.n:03d}"

    @property
    def person(self) -> str:
        return f"Zyxperson{self.n:03d}"


def can_read(user: str, rec: Rec) -> bool:
    org, root, country = READERS[user]
    if org == "VNC-HP":
        return True
    if rec.draft:
        return False
    if rec.tlp == "AMBER+STRICT" and root != "VNC":
        return False
    return {
        "unit": False,
        "organisation": root == "VNC",
        "national": country == "VN",
        "group": root in GROUP_MEMBERS,
        "all": True,
    }[rec.distribution]


def can_see_persons(user: str, rec: Rec) -> bool:
    return can_read(user, rec) and (READERS[user][1] == "VNC" or rec.share_nominal)


def can_export(user: str, rec: Rec) -> bool:
    return can_read(user, rec) and rec.tlp != "RED"


RECORDS = [
    Rec(n, d, t, nominal)
    for n, (d, t, nominal) in enumerate(itertools.product(DISTRIBUTIONS, TLPS, [False, True]), start=1)
]
RECORDS.append(Rec(len(RECORDS) + 1, "all", "CLEAR", True, draft=True))


def make_group(client: TestClient, world: World) -> dict:
    r = client.post(
        "/api/v1/sharing-groups",
        json={"code": "MEKONG", "name": "Mekong Dragon", "members": ["VNC", "KHC"], "hide_members": True},
        headers=world.h("admin"),
    )
    assert r.status_code == 201, r.text
    return r.json()


def seed(client: TestClient, world: World) -> dict[int, dict]:
    make_group(client, world)
    made = {}
    for rec in RECORDS:
        body = minimal_incident(
            submit=not rec.draft,
            distribution=rec.distribution,
            sharing_group="MEKONG" if rec.distribution == "group" else None,
            tlp=rec.tlp,
            share_nominal=rec.share_nominal,
            narrative=f"Record {rec.word} of the leak matrix.",
            parties=[
                *minimal_incident()["parties"],
                {
                    "role": "person_involved",
                    "kind": "person",
                    "name": f"{rec.person} Nguyễn",
                    "id_document": f"0790{rec.n:08d}",
                    "phone": "+84 912 000 111",
                },
            ],
        )
        r = client.post("/api/v1/incidents", json=body, headers=world.h("officer.hp"))
        assert r.status_code == 201, r.text
        made[rec.n] = r.json()
    return made


@pytest.fixture
def matrix(client: TestClient, world: World) -> dict[int, dict]:
    return seed(client, world)


def test_detail_history_and_attachments_follow_the_rules(client: TestClient, world: World, matrix: dict) -> None:
    for rec in RECORDS:
        inc = matrix[rec.n]
        client.post(
            f"/api/v1/incidents/{inc['id']}/attachments",
            files={"file": ("note.txt", b"lab note", "text/plain")},
            headers=world.h("officer.hp"),
        )
    for user, rec in itertools.product(READERS, RECORDS):
        inc = matrix[rec.n]
        h = world.h(user)
        detail = client.get(f"/api/v1/incidents/{inc['id']}", headers=h)
        by_ref = client.get(f"/api/v1/incidents/{inc['reference']}", headers=h)
        hist = client.get(f"/api/v1/incidents/{inc['id']}/history", headers=h)
        atts = client.get(f"/api/v1/incidents/{inc['id']}/attachments", headers=h)
        case = (user, rec)
        if not can_read(user, rec):
            # Indistinguishable from a record that does not exist.
            for r in (detail, by_ref, hist, atts):
                assert r.status_code == 404, case
                assert r.json()["error"]["message"] == "incident not found", case
            continue
        assert detail.status_code == 200 and by_ref.status_code == 200 and hist.status_code == 200, case
        body = detail.json()
        names = [p["name"] for p in body["parties"]]
        text = json.dumps(body) + hist.text
        if can_see_persons(user, rec):
            assert any(rec.person in n for n in names) and body["persons_withheld"] == 0, case
        else:
            assert body["persons_withheld"] == 1, case
            assert rec.person not in text and f"0790{rec.n:08d}" not in text, case
            assert [p["kind"] for p in body["parties"]] == ["company", "company"], case
        assert body["tlp"] == rec.tlp and body["share_nominal"] == rec.share_nominal
        if rec.distribution == "group":
            assert body["sharing_group"]["code"] == "MEKONG"
        assert atts.status_code == 200 and len(atts.json()) == 1, case


def test_search_hits_counts_and_person_names(client: TestClient, world: World, matrix: dict) -> None:
    for user in READERS:
        h = world.h(user)
        visible = {matrix[r.n]["reference"] for r in RECORDS if can_read(user, r)}
        listed = client.get(
            "/api/v1/incidents", params={"q": "leakprobe", "page_size": 100, "exact_total": "true"}, headers=h
        ).json()
        assert {i["reference"] for i in listed["items"]} == visible, user
        assert listed["total"] == len(visible) and listed["total_exact"], user
        everything = client.get("/api/v1/incidents", params={"exact_total": "true"}, headers=h).json()
        assert everything["total"] == len(visible), user
        for rec in RECORDS:
            ref = matrix[rec.n]["reference"]
            by_word = client.get("/api/v1/incidents", params={"q": rec.word}, headers=h).json()
            assert by_word["total"] == int(can_read(user, rec)), (user, rec)
            if by_word["items"]:
                assert rec.person not in json.dumps(by_word) or can_see_persons(user, rec)
            # A person's name, identity number or phone finds the record only for readers who may see it.
            for probe in (rec.person, f"0790{rec.n:08d}"):
                hits = client.get("/api/v1/incidents", params={"q": probe}, headers=h).json()
                assert [i["reference"] for i in hits["items"]] == ([ref] if can_see_persons(user, rec) else []), (
                    user,
                    rec,
                    probe,
                )
            company = client.get("/api/v1/incidents", params={"company": rec.person}, headers=h).json()
            assert company["total"] == int(can_see_persons(user, rec)), (user, rec)
            tree = client.post(
                "/api/v1/incidents/search",
                json={"filter": {"all": [{"field": "text", "op": "match", "value": rec.person}]}},
                headers=h,
            ).json()
            assert tree["total"] == int(can_see_persons(user, rec)), (user, rec)


def test_exports_leave_out_what_may_not_leave(client: TestClient, world: World, matrix: dict) -> None:
    for user in READERS:
        h = world.h(user)
        exportable = {matrix[r.n]["reference"] for r in RECORDS if can_export(user, r)}
        r = client.get("/api/v1/incidents/export", params={"format": "csv"}, headers=h)
        assert r.status_code == 200
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert {row["reference"] for row in rows} == exportable, user
        by_ref = {row["reference"]: row for row in rows}
        for rec in RECORDS:
            row = by_ref.get(matrix[rec.n]["reference"])
            if row is None:
                continue
            assert row["tlp"] == rec.tlp  # every exported row carries its marking
            assert (rec.person in json.dumps(row)) == can_see_persons(user, rec), (user, rec)
        non_nominal = client.get("/api/v1/incidents/export", params={"format": "csv", "nominal": "false"}, headers=h)
        assert "Zyxperson" not in non_nominal.content.decode("utf-8-sig")
        js = client.get("/api/v1/incidents/export", params={"format": "json"}, headers=h).json()
        assert {x["reference"] for x in js} == exportable, user
        for x in js:
            rec = next(r for r in RECORDS if matrix[r.n]["reference"] == x["reference"])
            assert (rec.person in json.dumps(x)) == can_see_persons(user, rec), (user, rec)


def test_writes_answer_404_for_unreadable_and_403_for_readable(client: TestClient, world: World, matrix: dict) -> None:
    for user, rec in itertools.product(["officer.hcm", "police", "officer.kh"], RECORDS):
        inc = matrix[rec.n]
        h = world.h(user)
        expected = 403 if can_read(user, rec) else 404
        patch = client.patch(f"/api/v1/incidents/{inc['id']}", json={"version": 1, "narrative": "x"}, headers=h)
        share = client.post(
            f"/api/v1/incidents/{inc['id']}/sharing",
            json={"version": 1, "distribution": "all", "tlp": "CLEAR", "share_nominal": True},
            headers=h,
        )
        close = client.post(f"/api/v1/incidents/{inc['id']}/close", json={"version": 1}, headers=h)
        for r in (patch, share, close):
            assert r.status_code == expected, (user, rec, r.status_code, r.text)


def test_web_pages_show_the_same_as_the_api(client: TestClient, world: World, matrix: dict) -> None:
    sample = [r for r in RECORDS if r.tlp in ("AMBER", "AMBER+STRICT")] + [RECORDS[-1]]
    for user in READERS:
        login(client, user)
        for rec in sample:
            ref = matrix[rec.n]["reference"]
            page = client.get(f"/incidents/{ref}")
            listing = client.get("/incidents", params={"q": rec.word}).text
            if not can_read(user, rec):
                assert page.status_code == 404, (user, rec)
                assert ref not in listing
                continue
            assert page.status_code == 200 and ref in listing, (user, rec)
            assert (rec.person in page.text) == can_see_persons(user, rec), (user, rec)
            if not can_see_persons(user, rec):
                assert re.search(r'id="persons-withheld"', page.text)
        found = client.get("/incidents", params={"q": RECORDS[0].person}).text
        assert (matrix[1]["reference"] in found) == can_see_persons(user, RECORDS[0])
        client.cookies.clear()
