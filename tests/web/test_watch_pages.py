"""Watch pages as a duty officer uses them: a search becomes a watch rule in one click, a rule written in the
filter language is checked with its errors shown, and a watch list's values, errors and hits are on its page."""

from __future__ import annotations

from fastapi.testclient import TestClient

from interdict.watch.tasks import drain
from tests.conftest import World, minimal_incident
from tests.web.test_pages import login


def test_a_search_becomes_a_watch_rule(client: TestClient, world: World) -> None:
    csrf = login(client, "officer.hcm")
    page = client.get("/incidents", params={"substance": "acetic anhydride", "route_country": "CN", "q": "solvent"})
    assert 'id="watch-search"' in page.text
    r = client.post(
        "/watch/rules",
        data={
            "csrf_token": csrf,
            "name": "AA from China",
            "urgency": "urgent",
            "substance": "acetic anhydride",
            "route_country": "CN",
            "q": "solvent",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    rules = client.get("/api/v1/watch/rules", headers=world.h("officer.hcm")).json()
    assert [(x["name"], x["urgency"]) for x in rules] == [("AA from China", "urgent")]
    conditions = {(c["field"], c["op"], c["value"]) for c in rules[0]["filter"]["all"][0]["all"]}
    assert conditions == {("substance", "eq", "acetic anhydride"), ("route_country", "eq", "CN")}
    assert rules[0]["filter"]["all"][1] == {"field": "text", "op": "match", "value": "solvent"}
    watch = client.get("/watch").text
    assert (
        "AA from China" in watch
        and "Country on the route = China and Substance = acetic anhydride and Text contains solvent" in watch
    )
    # The rule works: the incident (it mentions an "Industrial solvent") is notified to the rule's owner.
    body = minimal_incident(submit=True, distribution="national")
    assert client.post("/api/v1/incidents", json=body, headers=world.h("officer.hp")).status_code == 201
    drain(world.app.state.sessionmaker)
    assert client.get("/api/v1/watch/rules", headers=world.h("officer.hcm")).json()[0]["fired"] == 1


def test_a_rule_in_the_filter_language_shows_its_errors(client: TestClient, world: World) -> None:
    csrf = login(client, "officer.hp")
    r = client.post("/watch/rules", data={"csrf_token": csrf, "name": "x", "filter": "{not json"})
    assert r.status_code == 422 and "is not valid JSON" in r.text
    r = client.post(
        "/watch/rules",
        data={"csrf_token": csrf, "name": "x", "filter": '{"field": "port", "op": "gte", "value": "VNHPH"}'},
    )
    assert r.status_code == 422 and "operator &#39;gte&#39; is not allowed on &#39;port&#39;" in r.text
    r = client.post("/watch/rules", data={"csrf_token": csrf, "name": "x", "filter": "", "scope": "unit"})
    assert r.status_code == 422 and "choose at least one search condition" in r.text


def test_a_watch_list_page_adds_values_shows_errors_and_hits(client: TestClient, world: World) -> None:
    csrf = login(client, "analyst")
    r = client.post("/watch/lists", data={"csrf_token": csrf, "list_name": "Hoang Phat group"}, follow_redirects=False)
    assert r.status_code == 303
    url = r.headers["location"]
    r = client.post(
        f"{url}/entries", data={"csrf_token": csrf, "kind": "container", "value": "CSQU3054384", "reason": "tip"}
    )
    assert r.status_code == 422 and "valid ISO 6346 check digit" in r.text
    assert 'value="CSQU3054384"' in r.text  # what was typed is kept
    for kind, value in (("company", "Hoang Phat Import Export Co., Ltd"), ("container", "CSQU 305438-3")):
        r = client.post(
            f"{url}/entries",
            data={"csrf_token": csrf, "kind": kind, "value": value, "reason": "tip-off"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
    body = minimal_incident(submit=True, distribution="national")
    incident = client.post("/api/v1/incidents", json=body, headers=world.h("officer.hp")).json()
    drain(world.app.state.sessionmaker)
    page = client.get(url).text
    hits = page[page.index('id="hits"') :]
    assert incident["reference"] in hits and "CÔNG TY TNHH XNK HOÀNG PHÁT" in hits and "CSQU3054383" in hits
    # Another unit cannot open the list.
    client.cookies.clear()
    login(client, "officer.hp")
    assert client.get(url).status_code == 404
