"""Bidirectional formatting characters never reach a name (issue 16): an override (U+202E) makes
"scan\u202egpj.exe" read as "scanexe.jpg" and a party's name read as another. They are removed on every input channel
— the API, the web forms, imports, uploaded file names, targeting loads — so what comes back (API, page, export) is
what it reads as."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from fastapi.testclient import TestClient

from interdict.accounts.service import subject_by_username
from interdict.core.db import unit_of_work
from interdict.core.text import BIDI_CONTROLS, strip_bidi, strip_bidi_deep
from interdict.incidents import importexport
from interdict.targeting.mapping import Mapping, load_records
from tests.conftest import World, clean, minimal_incident
from tests.web.test_pages import login

RLO = "\u202e"
SPOOFED = f"CÔNG TY TNHH {RLO}TÁHP GNÀOH"  # reads "CÔNG TY TNHH HOÀNG PHÁT"
PLAIN = "CÔNG TY TNHH TÁHP GNÀOH"
PERSON = f"Lê Văn {RLO}máT"


def no_bidi(text: str) -> bool:
    return not any(c in text for c in BIDI_CONTROLS)


def test_the_normaliser_removes_every_bidi_control_and_nothing_else() -> None:
    controls = "".join(sorted(BIDI_CONTROLS))
    assert {f"{ord(c):04X}" for c in controls} == {
        *(f"{c:04X}" for c in range(0x202A, 0x202F)),
        *(f"{c:04X}" for c in range(0x2066, 0x206A)),
        "200E",
        "200F",
        "061C",
    }
    assert strip_bidi(f"a{controls}b") == "ab"
    # Scripts that need no controls are untouched, and so are joiners (Persian, Indic scripts, emoji need them).
    for text in ("Nguyễn Văn Hùng", "华强化工贸易有限公司", "محمد علي", "שלום", "می\u200cخواهم", "ខ្មែរ"):
        assert strip_bidi(text) == text
    assert strip_bidi_deep({"a": [f"x{RLO}y", {"b": (RLO,)}], "password": RLO}, frozenset({"password"})) == {
        "a": ["xy", {"b": ("",)}],
        "password": RLO,
    }


def test_party_names_lose_bidi_controls_through_the_api_the_form_and_an_import(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    h = world.h("officer.hp")
    parties = [
        {"role": "consignee", "kind": "company", "name": SPOOFED, "address": f"12 {RLO}Street"},
        {"role": "person_involved", "kind": "person", "name": PERSON},
    ]
    r = client.post("/api/v1/incidents", json=minimal_incident(parties=parties, submit=True), headers=h)
    assert r.status_code == 201, r.text
    inc = r.json()
    assert [p["name"] for p in inc["parties"]] == [PLAIN, "Lê Văn máT"] and inc["parties"][0]["address"] == "12 Street"
    # API read, page, CSV and JSON exports: what was stored has none.
    assert no_bidi(client.get(f"/api/v1/incidents/{inc['id']}", headers=h).text)
    for fmt in ("csv", "json"):
        export = client.get("/api/v1/incidents/export", params={"format": fmt}, headers=h)
        assert export.status_code == 200 and PLAIN in export.content.decode("utf-8-sig")
        assert no_bidi(export.content.decode("utf-8-sig"))
    csrf = login(client, "officer.hp")
    page = client.get(f"/incidents/{inc['reference']}")
    assert PLAIN in page.text and no_bidi(page.text)
    # The web form.
    form = {"csrf_token": csrf, "action": "save", **_form_fields(minimal_incident())}
    form.update({"parties-0-role": "consignee", "parties-0-kind": "company", "parties-0-name": SPOOFED})
    r = client.post("/incidents/new", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"])
    assert PLAIN in page.text and no_bidi(page.text)
    # An import file written elsewhere.
    export = client.get("/api/v1/incidents/export", params={"format": "csv"}, headers=h).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(export)))
    for row in rows:
        for key, value in row.items():
            if key.endswith("_name") and value == PLAIN:
                row[key] = SPOOFED
    path = tmp_path / "from-a-partner.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert SPOOFED in path.read_text(encoding="utf-8")
    clean(client.app)  # type: ignore[arg-type]
    with unit_of_work(client.app.state.sessionmaker) as s:  # type: ignore[attr-defined]
        report = importexport.import_file(s, subject_by_username(s, "officer.hp"), path)
    assert report.imported == len(rows) and report.rejected == []
    items = client.get("/api/v1/incidents", headers=h).json()["items"]
    names = [p["name"] for i in items for p in client.get(f"/api/v1/incidents/{i['id']}", headers=h).json()["parties"]]
    assert PLAIN in names and all(no_bidi(n) for n in names)


def _form_fields(body: dict[str, object]) -> dict[str, str]:
    """The incident form's fields for the scalar values of an API body (lists are added by the caller)."""
    return {k: str(v) for k, v in body.items() if isinstance(v, str)}


def test_attachment_file_names_lose_bidi_controls(client: TestClient, world: World) -> None:
    h = world.h("officer.hp")
    inc = client.post("/api/v1/incidents", json=minimal_incident(), headers=h).json()
    r = client.post(
        f"/api/v1/incidents/{inc['id']}/attachments",
        headers=h,
        files={"file": (f"scan{RLO}gpj.txt", b"plain notes of the search", "text/plain")},
        data={"description": f"notes {RLO}dehcaef"},
    )
    assert r.status_code == 201, r.text
    att = r.json()
    assert att["filename"] == "scangpj.txt"
    listed = client.get(f"/api/v1/incidents/{inc['id']}/attachments", headers=h)
    assert "scangpj.txt" in listed.text and no_bidi(listed.text)
    dl = client.get(f"/api/v1/attachments/{att['id']}", headers=h)
    assert dl.status_code == 200 and no_bidi(dl.headers["content-disposition"])
    login(client, "officer.hp")
    page = client.get(f"/incidents/{inc['reference']}")
    assert "scangpj.txt" in page.text and no_bidi(page.text)


def test_other_names_lose_bidi_controls_too(client: TestClient, world: World, tmp_path: Path) -> None:
    h = world.h("analyst")
    wl = client.post("/api/v1/watch/lists", json={"name": f"Hoang {RLO}tahP"}, headers=h).json()
    assert wl["name"] == "Hoang tahP"
    entry = client.post(
        f"/api/v1/watch/lists/{wl['id']}/entries",
        json={"kind": "person", "value": PERSON, "reason": f"tip {RLO}ffo"},
        headers=h,
    ).json()
    assert (entry["value"], entry["reason"]) == ("Lê Văn máT", "tip ffo")
    # A targeting load (declarations from the customs system) keeps names without them as well.
    mapping = Mapping.model_validate({"name": "t", "fields": {"id": "ID", "date": "Date", "consignee": "Consignee"}})
    path = tmp_path / "declarations.csv"
    path.write_text(f"ID,Date,Consignee\nD1,2026-03-14,{SPOOFED}\n", encoding="utf-8")
    records, rejections = load_records(path, mapping)
    assert rejections == []
    assert [r.consignee for r in records] == [PLAIN]
