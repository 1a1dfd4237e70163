from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import World


def test_substance_autocomplete(client: TestClient, world: World) -> None:
    hits = client.get(
        "/api/v1/reference/substances", params={"q": "anhydrit axetic"}, headers=world.h("viewer.hp")
    ).json()
    assert hits[0]["name"] == "Acetic anhydride" and hits[0]["matched_lang"] == "vi" and hits[0]["exact"]
    detail = client.get(f"/api/v1/reference/substances/{hits[0]['id']}", headers=world.h("viewer.hp")).json()
    assert "醋酸酐" in detail["names"]["zh"] and "291524" in detail["hs_codes"]


def test_location_autocomplete_prefers_viet_nam_and_ports(client: TestClient, world: World) -> None:
    hits = client.get("/api/v1/reference/locations", params={"q": "cat lai"}, headers=world.h("viewer.hp")).json()
    assert hits[0]["code"] == "VNCLI" and hits[0]["is_seaport"]
    by_code = client.get(
        "/api/v1/reference/locations", params={"q": "VNHPH", "lang": "vi"}, headers=world.h("viewer.hp")
    ).json()
    assert by_code[0]["code"] == "VNHPH" and by_code[0]["country_name"] == "Việt Nam"


def test_inline_validation_endpoint(client: TestClient, world: World) -> None:
    h = world.h("viewer.hp")
    bad = client.get(
        "/api/v1/reference/validate", params={"kind": "container", "value": "CSQU3054384"}, headers=h
    ).json()
    assert not bad["valid"] and "expected 3" in bad["message"]
    warn = client.get("/api/v1/reference/validate", params={"kind": "locode", "value": "BNMUA"}, headers=h).json()
    assert warn["valid"] and "not in the reference list" in warn["warning"]
    hs = client.get("/api/v1/reference/validate", params={"kind": "hs", "value": "2915.99"}, headers=h).json()
    assert not hs["valid"]


def test_hs_and_taxonomy(client: TestClient, world: World) -> None:
    h = world.h("viewer.hp")
    hs = client.get("/api/v1/reference/hs", params={"q": "2915.2"}, headers=h).json()
    assert any(x["code"] == "291524" for x in hs)
    terms = client.get("/api/v1/reference/taxonomy/modus", params={"lang": "vi"}, headers=h).json()
    assert any(t["code"] == "reefer-unit" and t["label"] == "Khoang máy lạnh container" for t in terms)
