"""The network graph and its FollowTheMoney export on both databases: what a reader sees (incidents it may read,
entities only through them, persons only where visible), filters, depth, the size cap, 404 for what it may not
read; every exported line is a valid FollowTheMoney entity, relations point at exported entities, TLP:RED and
hidden persons stay out."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from followthemoney import model
from followthemoney.exc import InvalidData
from sqlalchemy import select

from interdict.audit.models import AuditEntry
from interdict.entities.models import Entity
from tests.conftest import World
from tests.linkage.test_service import company, link_now, report

PERSON = {"role": "person_involved", "kind": "person", "name": "Nguyễn Văn Hùng", "phone": "0903 123 456"}


def graph(client: TestClient, world: World, start: str, user: str = "officer.hp", **params: Any) -> dict[str, Any]:
    r = client.get("/api/v1/graph", params={"start": start, **params}, headers=world.h(user))
    assert r.status_code == 200, r.text
    return r.json()


def labels(g: dict[str, Any], type_: str | None = None) -> set[str]:
    return {n["label"] for n in g["nodes"] if type_ is None or n["type"] == type_}


def entity_id(world: World, kind: str, name: str) -> uuid.UUID:
    with world.session() as s:
        found = s.scalar(select(Entity.id).where(Entity.kind == kind, Entity.name == name))
    assert found is not None, (kind, name)
    return found


@pytest.fixture
def network(client: TestClient, world: World) -> dict[str, dict[str, Any]]:
    """A (Hai Phong, shared with all, persons not shared) links to B through the same company written in
    English, to P (HCMC, same agency) through a person, to R (the police's, unit only) through a container,
    and to X (TLP:RED) through the vessel."""
    a = report(
        client,
        world,
        distribution="all",
        share_nominal=False,
        containers=[{"number": "CSQU3054383"}],
        vessel_imo="9074729",
        vessel_name="MV Test Star",
        parties=[
            company(
                "consignee",
                "CÔNG TY TNHH XNK HOÀNG PHÁT",
                country="VN",
                phone="+84 28 3822 1234",
                tax_id="0312345678",
                address="12 Le Thanh Tong Street, Ngo Quyen District, Hai Phong",
            ),
            PERSON,
        ],
    )
    b = report(
        client,
        world,
        distribution="all",
        incident_date="2026-01-10",
        parties=[company("shipper", "Hoang Phat Import Export Co., Ltd", country="VN")],
    )
    p = report(client, world, user="officer.hcm", distribution="all", incident_date="2026-02-01", parties=[PERSON])
    r = report(
        client,
        world,
        user="police",
        distribution="unit",
        containers=[{"number": "CSQU3054383"}],
        parties=[company("shipper", "Secret Police Source Trading Co., Ltd")],
    )
    x = report(client, world, distribution="all", tlp="RED", vessel_imo="9074729", vessel_name="Red Star")
    link_now(world)
    return {"A": a, "B": b, "P": p, "R": r, "X": x}


def test_a_reader_sees_incidents_it_may_read_and_persons_only_where_visible(
    client: TestClient, world: World, network: dict[str, dict[str, Any]]
) -> None:
    a, b, p, r, x = (network[k] for k in "ABPRX")
    g = graph(client, world, a["id"], depth=2)
    assert g["start"] == a["id"] and g["start_type"] == "incident" and not g["truncated"]
    assert labels(g, "incident") == {a["reference"], b["reference"], p["reference"], x["reference"]}
    assert {"CÔNG TY TNHH XNK HOÀNG PHÁT", "Hoang Phat Import Export Co., Ltd", "Nguyễn Văn Hùng"} <= labels(g)
    assert "Secret Police Source Trading Co., Ltd" not in labels(g) and r["reference"] not in labels(g)
    by_label = {n["label"]: n for n in g["nodes"]}
    # The container is mentioned by A and by the police's record: the reader counts only what it may read.
    assert by_label["CSQU3054383"]["incidents"] == 1
    assert by_label[a["reference"]]["start"] and by_label[a["reference"]]["url"] == f"/incidents/{a['reference']}"
    ids = {n["id"] for n in g["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in g["edges"])
    mention = next(
        e for e in g["edges"] if e["type"] == "mention" and e["target"] == by_label["CÔNG TY TNHH XNK HOÀNG PHÁT"]["id"]
    )
    assert mention["source"] == a["id"] and mention["role"] == "consignee"
    link = next(e for e in g["edges"] if e["type"] == "link")
    assert link["status"] == "auto" and link["score"] >= 0.85
    assert {link["source"], link["target"]} == {
        by_label["CÔNG TY TNHH XNK HOÀNG PHÁT"]["id"],
        by_label["Hoang Phat Import Export Co., Ltd"]["id"],
    }

    # Cambodia reads A, B, P and X (shared with all) but none of their persons: no person, no path through one.
    kh = graph(client, world, a["id"], user="officer.kh", depth=3)
    assert "Nguyễn Văn Hùng" not in labels(kh) and "0903 123 456" not in labels(kh)
    assert labels(kh, "incident") == {a["reference"], b["reference"], x["reference"]}
    assert all(n["kind"] != "person" for n in kh["nodes"])

    # The police reach A from their own record through the container, never A's persons.
    police = graph(client, world, r["id"], user="police", depth=2)
    assert labels(police, "incident") == {r["reference"], a["reference"]}
    assert "Nguyễn Văn Hùng" not in labels(graph(client, world, a["id"], user="police", depth=3))


def test_persons_shown_in_the_graph_are_audited_reads(
    client: TestClient, world: World, network: dict[str, dict[str, Any]]
) -> None:
    with world.session() as s:
        last = s.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0
    graph(client, world, network["A"]["id"], user="analyst", depth=2)
    with world.session() as s:
        reads = list(
            s.scalars(select(AuditEntry).where(AuditEntry.seq > last, AuditEntry.action == "incident.read_nominal"))
        )
    assert {e.object_label for e in reads} == {network["A"]["reference"], network["P"]["reference"]}


def test_what_a_reader_may_not_read_does_not_exist(
    client: TestClient, world: World, network: dict[str, dict[str, Any]]
) -> None:
    r = network["R"]
    secret = entity_id(world, "company", "Secret Police Source Trading Co., Ltd")
    person = entity_id(world, "person", "Nguyễn Văn Hùng")
    answers = []
    for start in (r["id"], r["reference"], str(secret), str(uuid.uuid4()), "no-such-thing"):
        resp = client.get("/api/v1/graph", params={"start": start}, headers=world.h("officer.hp"))
        assert resp.status_code == 404, (start, resp.text)
        answers.append(resp.json())
    assert all(a == answers[0] for a in answers)  # indistinguishable
    # A person entity: found by whoever may see its persons, not by Cambodia that reads the same records.
    assert client.get("/api/v1/graph", params={"start": person}, headers=world.h("officer.kh")).status_code == 404
    assert graph(client, world, str(person))["start_type"] == "entity"
    # The RED incident is readable on screen (only exports leave it out).
    assert graph(client, world, network["X"]["reference"])["start"] == network["X"]["id"]


def test_kinds_and_dates_filter_the_walk(client: TestClient, world: World, network: dict[str, dict[str, Any]]) -> None:
    a, b, p, x = (network[k] for k in "ABPX")
    only_companies = graph(client, world, a["id"], depth=3, kinds="company")
    assert {n["kind"] for n in only_companies["nodes"] if n["type"] == "entity"} == {"company"}
    assert labels(only_companies, "incident") == {a["reference"], b["reference"]}  # P and X were reached otherwise
    two = graph(client, world, a["id"], depth=2, kinds=["person", "vessel"])
    assert labels(two, "incident") == {a["reference"], p["reference"], x["reference"]}
    assert graph(client, world, a["id"], depth=2, kinds="")["nodes"] == [
        n for n in graph(client, world, a["id"], depth=1)["nodes"] if n["type"] == "incident"
    ]

    recent = graph(client, world, a["id"], depth=2, date_from="2026-03-01")
    assert labels(recent, "incident") == {a["reference"], x["reference"]}  # B (January) and P (February) out
    early = graph(client, world, a["id"], depth=2, date_to="2026-01-31")
    assert labels(early, "incident") == {a["reference"], b["reference"]}  # the start always stays


def test_depth_truncation_and_expanding_a_node(
    client: TestClient, world: World, network: dict[str, dict[str, Any]]
) -> None:
    a, b = network["A"], network["B"]
    one = graph(client, world, a["id"], depth=1)
    assert labels(one, "incident") == {a["reference"]} and len(one["nodes"]) > 5
    assert {n["hop"] for n in one["nodes"]} == {0, 1}
    three = graph(client, world, b["id"], depth=3)  # B -> its company and A's (one cluster) -> A -> A's entities
    assert a["reference"] in labels(three) and "CSQU3054383" in labels(three)
    assert "CSQU3054383" not in labels(graph(client, world, b["id"], depth=2))

    small = graph(client, world, a["id"], depth=3, limit=4)
    assert small["truncated"] and len(small["nodes"]) == 4
    assert any(n["start"] for n in small["nodes"])

    # Expanding the container: the incidents the reader may read that mention it (not the police's).
    container = entity_id(world, "container", "CSQU3054383")
    expanded = graph(client, world, str(container), depth=1)
    assert expanded["start_type"] == "entity" and labels(expanded) == {"CSQU3054383", a["reference"]}

    for bad in ({"depth": 0}, {"depth": 4}, {"date_from": "yesterday"}, {"limit": 0}):
        resp = client.get("/api/v1/graph", params={"start": a["id"], **bad}, headers=world.h("officer.hp"))
        assert resp.status_code == 422, bad


# --- FollowTheMoney ------------------------------------------------------------------------------


def export(client: TestClient, world: World, start: str, user: str = "officer.hp", **params: Any) -> list[Any]:
    r = client.get("/api/v1/graph/export.ftm.json", params={"start": start, **params}, headers=world.h(user))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json+ftm")
    assert r.headers["content-disposition"] == 'attachment; filename="interdict-graph.ftm.json"'
    lines = [json.loads(line) for line in r.text.splitlines()]
    validate(lines)
    return lines


def validate(lines: list[dict[str, Any]]) -> None:
    """Each line loads with followthemoney from untrusted input, its schema exists and is concrete, its values
    are valid for their types, required properties are present and every relation points at an exported entity."""
    ids = [line["id"] for line in lines]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for data in lines:
        proxy = model.get_proxy(data, cleaned=False)  # re-cleans every value as from an untrusted source
        schema = model.get(data["schema"])
        assert schema is not None and not schema.abstract, data
        schema.validate(data)  # raises InvalidData on an invalid value
        assert proxy.to_dict()["properties"] == data["properties"], data  # nothing was dropped by cleaning
        assert set(schema.required) <= set(data["properties"]), (schema.name, data)
        for prop, value in proxy.itervalues():
            if prop.type.name == "entity":
                assert value in ids, (data["schema"], prop.name, value)
                target = model.get(next(x["schema"] for x in lines if x["id"] == value))
                assert target is not None and prop.range is not None and target.is_a(prop.range), (prop.name, target)


def test_validation_catches_a_broken_line() -> None:
    with pytest.raises(InvalidData):
        model.get("Company").validate({"schema": "Company", "properties": {"name": [], "country": ["vn"]}})  # type: ignore[union-attr]
    with pytest.raises(AssertionError):
        validate([{"id": "x", "schema": "UnknownLink", "properties": {"subject": ["y"], "object": ["z"]}}])


def by_schema(lines: list[dict[str, Any]], schema: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["schema"] == schema]


def names(lines: list[dict[str, Any]], schema: str) -> set[str]:
    return {n for line in by_schema(lines, schema) for n in line["properties"].get("name", [])}


def test_the_export_is_valid_followthemoney_without_red_incidents(
    client: TestClient, world: World, network: dict[str, dict[str, Any]]
) -> None:
    a, b, p, x = (network[k] for k in "ABPX")
    lines = export(client, world, a["id"], depth=2)
    assert names(lines, "Event") == {a["reference"], b["reference"], p["reference"]}  # X is TLP:RED, R unreadable
    assert "Red Star" not in json.dumps(lines, ensure_ascii=False)
    (hoang_phat,) = [
        c for c in by_schema(lines, "Company") if c["properties"]["name"] == ["CÔNG TY TNHH XNK HOÀNG PHÁT"]
    ]
    props = hoang_phat["properties"]
    assert props["taxNumber"] == ["0312345678"] and props["phone"] == ["+842838221234"] and props["country"] == ["vn"]
    assert props["alias"] == ["Hoang Phat Import Export Co., Ltd"]  # the other name of its cluster
    (address,) = by_schema(lines, "Address")
    assert props["addressEntity"] == [address["id"]]
    assert names(lines, "Person") == {"Nguyễn Văn Hùng"}
    (person,) = by_schema(lines, "Person")
    assert person["properties"]["phone"] == ["+84903123456"]
    (vessel,) = by_schema(lines, "Vessel")
    assert vessel["properties"]["imoNumber"] == ["IMO9074729"] and vessel["properties"]["name"] == ["MV Test Star"]
    assert names(lines, "Asset") == {"CSQU3054383"}
    event_a = next(e for e in by_schema(lines, "Event") if e["properties"]["name"] == [a["reference"]])
    assert (
        event_a["properties"]["date"] == ["2026-03-14"]
        and "Container: CSQU3054383" in event_a["properties"]["notes"][0]
    )
    links = by_schema(lines, "UnknownLink")
    roles = {
        (line["properties"]["subject"][0], line["properties"]["object"][0]): line["properties"]["role"]
        for line in links
    }
    assert roles[(hoang_phat["id"], event_a["id"])] == ["consignee"]
    (same,) = [line for line in links if line["properties"].get("status") == ["auto"]]
    assert set(same["properties"]["subject"] + same["properties"]["object"]) == {
        c["id"]
        for c in by_schema(lines, "Company")
        if "Hoang Phat" in c["properties"]["name"][0] or "HOÀNG" in c["properties"]["name"][0]
    }
    assert same["properties"]["description"][0].startswith("score 0.9")
    # Deterministic: the same graph exports the same ids (Aleph merges repeated exports).
    assert [line["id"] for line in export(client, world, a["id"], depth=2)] == [line["id"] for line in lines]
    # A RED start exports nothing of itself.
    red = export(client, world, x["id"], depth=1)
    assert x["reference"] not in json.dumps(red) and by_schema(red, "Event") == []


def test_the_export_leaves_out_persons_that_are_hidden_or_non_nominal(
    client: TestClient, world: World, network: dict[str, dict[str, Any]]
) -> None:
    a = network["A"]
    kh = export(client, world, a["id"], user="officer.kh", depth=3)
    assert by_schema(kh, "Person") == [] and "Nguyễn Văn Hùng" not in json.dumps(kh, ensure_ascii=False)
    assert "+84903123456" not in json.dumps(kh) and "description" not in by_schema(kh, "Event")[0]["properties"]
    assert by_schema(kh, "Company")  # the rest of the network is there

    non_nominal = export(client, world, a["id"], depth=3, nominal="false")
    text = json.dumps(non_nominal, ensure_ascii=False)
    assert by_schema(non_nominal, "Person") == [] and "Nguyễn Văn Hùng" not in text and "+84903123456" not in text
    assert all("description" not in e["properties"] for e in by_schema(non_nominal, "Event"))

    with world.session() as s:
        entry = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "linkage.export_ftm").order_by(AuditEntry.seq.desc())
        ).first()
    assert entry is not None and entry.after is not None
    assert entry.after["nominal"] is False and entry.after["entities"] == len(non_nominal)
    assert (
        client.get(
            "/api/v1/graph/export.ftm.json", params={"start": network["R"]["id"]}, headers=world.h("officer.hp")
        ).status_code
        == 404
    )


def test_the_graph_page_is_linked_from_incident_and_entity_pages(
    client: TestClient, world: World, network: dict[str, dict[str, Any]]
) -> None:
    from tests.web.test_pages import login

    a, r = network["A"], network["R"]
    login(client, "officer.hp")
    incident_page = client.get(f"/incidents/{a['reference']}").text
    assert f'href="/graph?start={a["id"]}"' in incident_page
    container = entity_id(world, "container", "CSQU3054383")
    assert f'href="/graph?start={container}"' in client.get(f"/entities/{container}").text

    page = client.get("/graph", params={"start": a["reference"]})
    assert page.status_code == 200
    html = page.text
    assert f'data-start="{a["id"]}"' in html and '<script src="/static/graph.js' in html
    assert 'value="container"' in html and "<script>" not in html  # no inline script (CSP)
    assert f'href="/api/v1/graph/export.ftm.json?start={a["id"]}&amp;depth=2"' in html
    entity_page = client.get("/graph", params={"start": str(container)})
    assert entity_page.status_code == 200 and "CSQU3054383" in entity_page.text
    person = entity_id(world, "person", "Nguyễn Văn Hùng")
    assert "Nguyễn Văn Hùng" in client.get("/graph", params={"start": str(person)}).text
    assert client.get("/graph", params={"start": r["reference"]}).status_code == 404
    assert client.get("/graph", params={"start": r["id"]}).status_code == 404
    form = client.get("/graph").text
    assert 'id="graph-start-form"' in form and "graph.js" not in form
    assert client.get("/static/graph.js").status_code == 200
    # The graph is drawn by Cytoscape.js, served by Interdict itself with its licence beside it.
    assert '<script src="/static/vendor/cytoscape/cytoscape.min.js?v=3.35.0"' in html
    library = client.get("/static/vendor/cytoscape/cytoscape.min.js")
    assert library.status_code == 200 and "Cytoscape Consortium" in library.text
    assert "Permission is hereby granted" in client.get("/static/vendor/cytoscape/LICENSE").text
    assert 'id="graph-list"' in html  # the keyboard's way in: a list of the nodes with buttons
