"""Incident references (security review, issue 16): the server numbers each unit's incidents; nobody can take
another unit's numbers, a taken number never blocks a counter, and no answer tells whether a reference exists."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import update

from interdict.accounts.service import subject_by_username
from interdict.core.db import unit_of_work
from interdict.incidents import importexport
from interdict.incidents.models import Incident
from tests.conftest import World, minimal_incident

HEADER = ["reference", "incident_type", "incident_date", "country", "locode", "party_1_role", "party_1_name", "status"]


def _create(client: TestClient, world: World, user: str, **overrides: object) -> tuple[int, dict]:
    r = client.post("/api/v1/incidents", json=minimal_incident(**overrides), headers=world.h(user))
    return r.status_code, r.json()


def _import(client: TestClient, tmp_path: Path, user: str, references: list[str]) -> importexport.ImportReport:
    path = tmp_path / "historic.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for ref in references:
            w.writerow([ref, "seizure", "2026-01-02", "VN", "VNHPH", "consignee", "Công ty A", "submitted"])
    with unit_of_work(client.app.state.sessionmaker) as s:  # type: ignore[attr-defined]
        return importexport.import_file(s, subject_by_username(s, user), path)


def test_a_client_cannot_take_another_units_numbers(client: TestClient, world: World) -> None:
    """The review's attack: Hai Phong creates KHC-2026-00001 and Cambodia's next create failed for ever."""
    status, body = _create(client, world, "officer.hp", reference="KHC-2026-00001")
    assert status == 422
    assert [e["field"] for e in body["error"]["errors"]] == ["reference"]
    assert "assigned by the server" in body["error"]["errors"][0]["msg"]
    for n in (1, 2):
        status, theirs = _create(client, world, "officer.kh")
        assert status == 201 and theirs["reference"] == f"KHC-2026-{n:05d}"
    # Not even within one's own numbering: a single create always takes the next number.
    status, body = _create(client, world, "officer.hp", reference="VNC-HP-2026-00007")
    assert status == 422 and [e["field"] for e in body["error"]["errors"]] == ["reference"]


def test_no_answer_tells_whether_a_reference_exists(client: TestClient, world: World, tmp_path: Path) -> None:
    """422 "already exists" against 201 told a reader about records it may not read (existence oracle)."""
    _, secret = _create(client, world, "officer.kh", distribution="unit")
    answers = []
    for ref in (secret["reference"], "KHC-2026-09999"):
        status, body = _create(client, world, "officer.hp", reference=ref)
        answers.append((status, body["error"]["errors"]))
    assert answers[0] == answers[1]
    # Imports the same: a reference outside one's numbering is refused alike, whether it exists or not.
    report = _import(client, tmp_path, "officer.hp", [secret["reference"], "KHC-2026-09999"])
    refs = (secret["reference"], "KHC-2026-09999")
    msgs = [e.msg.replace(ref, "REF") for r, ref in zip(report.rejected, refs, strict=True) for e in r.errors]
    assert len(msgs) == 2 and msgs[0] == msgs[1] and "not in your unit's numbering" in msgs[0]


def test_an_import_keeps_only_references_of_the_units_own_numbering(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    # The agency (VNC) may not take the numbers of its unit Hai Phong (VNC-HP), though they start with "VNC-".
    report = _import(client, tmp_path, "admin", ["VNC-HP-2019-00012"])
    assert report.imported == 0 and report.rejected[0].errors[0].path == "reference"
    assert client.get("/api/v1/incidents", headers=world.h("officer.hp")).json()["total"] == 0
    report = _import(client, tmp_path, "officer.hp", ["VNC-HP-2019-00012", "VNC-HP-2026-00002"])
    assert report.rejected == [] and report.imported == 2
    # The same numbers again: taken in one's own numbering (which only one's own unit can fill).
    again = _import(client, tmp_path, "officer.hp", ["VNC-HP-2026-00002"])
    assert again.imported == 0 and "already used in your unit's numbering" in again.rejected[0].errors[0].msg


def test_taken_numbers_are_skipped_never_blocking_the_counter(client: TestClient, world: World, tmp_path: Path) -> None:
    # Hai Phong's historic records hold numbers 2 and 3 of 2026; its next creates skip them.
    assert _import(client, tmp_path, "officer.hp", ["VNC-HP-2026-00002", "VNC-HP-2026-00003"]).imported == 2
    refs = [_create(client, world, "officer.hp")[1]["reference"] for _ in range(3)]
    assert refs == ["VNC-HP-2026-00001", "VNC-HP-2026-00004", "VNC-HP-2026-00005"]
    # A number taken by a record that is not the unit's (left by the old code, before references were
    # checked) is skipped too, and so is every retry after a failure: the counter never sticks.
    _, other = _create(client, world, "officer.kh")
    with unit_of_work(client.app.state.sessionmaker) as s:  # type: ignore[attr-defined]
        s.execute(update(Incident).where(Incident.id == uuid.UUID(other["id"])).values(reference="VNC-HP-2026-00006"))
    status, sixth = _create(client, world, "officer.hp")
    assert status == 201 and sixth["reference"] == "VNC-HP-2026-00007"


def test_an_import_numbers_its_rows_around_the_files_own_references(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    report = _import(client, tmp_path, "officer.hp", ["", "VNC-HP-2026-00001", "", "VNC-HP-2026-00003", ""])
    assert report.rejected == [] and report.imported == 5
    items = client.get("/api/v1/incidents", params={"sort": "reference"}, headers=world.h("officer.hp")).json()
    assert [i["reference"] for i in items["items"]] == [f"VNC-HP-2026-{n:05d}" for n in range(1, 6)]
