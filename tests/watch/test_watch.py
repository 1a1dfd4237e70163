"""Watch rules and watch lists on both databases, as duty officers and analysts use them: a saved filter
or a watched company fires on new incidents they may read (name variants included), once per incident,
never about what they may not read or about person data they may not see, and bad input is named."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from interdict.accounts.models import User
from interdict.notifications import service as notifications
from interdict.notifications.models import Notification
from interdict.watch.tasks import drain
from tests.conftest import World, minimal_incident

_serial = iter(range(10_000))


def report(client: TestClient, world: World, user: str = "officer.hp", **overrides: Any) -> dict[str, Any]:
    n = next(_serial)
    body = minimal_incident(**{"narrative": f"Watch test record {n}.", **overrides})
    r = client.post("/api/v1/incidents", json={"submit": True, **body}, headers=world.h(user))
    assert r.status_code == 201, r.text
    return r.json()


def fire(world: World) -> None:
    drain(world.app.state.sessionmaker)


def told(world: World, username: str) -> list[tuple[Notification, notifications.Rendered]]:
    subject = world.subject(username)
    with world.session() as s:
        return notifications.visible(s, subject)


def rule(client: TestClient, world: World, user: str, filt: dict[str, Any], **extra: Any) -> dict[str, Any]:
    r = client.post(
        "/api/v1/watch/rules", json={"name": f"rule {next(_serial)}", "filter": filt, **extra}, headers=world.h(user)
    )
    assert r.status_code == 201, r.text
    return r.json()


ACETIC = {"field": "substance", "op": "eq", "value": "acetic anhydride"}


def test_a_rule_on_a_substance_tells_its_owner_about_a_new_incident_once(client: TestClient, world: World) -> None:
    mine = rule(client, world, "officer.hcm", {"all": [ACETIC, {"field": "route_country", "op": "eq", "value": "CN"}]})
    incident = report(client, world, distribution="national")
    report(client, world, distribution="national", substances=[{"substance": "safrole", "quantity": "5", "unit": "kg"}])
    fire(world)
    got = told(world, "officer.hcm")
    assert [n.ref_id for n, _ in got] == [uuid.UUID(incident["id"])]
    note, shown = got[0]
    assert note.kind == "watch.rule" and mine["name"] in shown.text
    assert incident["reference"] in shown.title and shown.url == f"/incidents/{incident['id']}"
    # The reporting officer is not told about their own incident; a trivial edit re-alerts nobody.
    assert told(world, "officer.hp") == []
    r = client.patch(
        f"/api/v1/incidents/{incident['id']}",
        json={"version": incident["version"], "narrative": "Corrected a typo."},
        headers=world.h("officer.hp"),
    )
    assert r.status_code == 200, r.text
    fire(world)
    assert len(told(world, "officer.hcm")) == 1
    assert client.get(f"/api/v1/watch/rules/{mine['id']}", headers=world.h("officer.hcm")).json()["fired"] == 1


def test_a_rule_never_tells_about_an_incident_its_owner_may_not_read_until_it_is_shared(
    client: TestClient, world: World
) -> None:
    rule(client, world, "officer.kh", ACETIC)
    incident = report(client, world, distribution="organisation")
    fire(world)
    assert told(world, "officer.kh") == []
    r = client.post(
        f"/api/v1/incidents/{incident['id']}/sharing",
        json={"version": incident["version"], "distribution": "all", "tlp": "GREEN", "share_nominal": False},
        headers=world.h("officer.hp"),
    )
    assert r.status_code == 200, r.text
    fire(world)
    assert [n.ref_id for n, _ in told(world, "officer.kh")] == [uuid.UUID(incident["id"])]
    # Narrowing again hides the notification already listed.
    r = client.post(
        f"/api/v1/incidents/{incident['id']}/sharing",
        json={"version": r.json()["version"], "distribution": "organisation", "tlp": "AMBER", "share_nominal": False},
        headers=world.h("officer.hp"),
    )
    assert r.status_code == 200, r.text
    assert told(world, "officer.kh") == []


def test_a_person_condition_only_fires_where_the_owner_may_see_person_data(client: TestClient, world: World) -> None:
    who = {"field": "company", "op": "contains", "value": "Tran Van Khoa"}
    rule(client, world, "officer.kh", who)
    rule(client, world, "officer.hcm", who)
    person = {"role": "person_involved", "kind": "person", "name": "Trần Văn Khoa", "country": "VN"}
    report(client, world, distribution="all", tlp="GREEN", share_nominal=False, parties=[person])
    fire(world)
    assert told(world, "officer.kh") == []  # another country: the incident without its persons
    assert len(told(world, "officer.hcm")) == 1  # same agency: sees person data


def test_unit_rules_tell_every_user_of_the_unit_and_only_analysts_make_them(client: TestClient, world: World) -> None:
    r = client.post(
        "/api/v1/watch/rules",
        json={"name": "unit", "scope": "unit", "filter": ACETIC},
        headers=world.h("officer.hcm"),
    )
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "scope"
    unit_rule = rule(client, world, "analyst", ACETIC, scope="unit", urgency="urgent")
    # Another user of the unit sees it but cannot change it; a user elsewhere does not see it at all.
    assert client.get(f"/api/v1/watch/rules/{unit_rule['id']}", headers=world.h("admin")).status_code == 200
    assert client.get(f"/api/v1/watch/rules/{unit_rule['id']}", headers=world.h("officer.hp")).status_code == 404
    report(client, world, distribution="national")
    fire(world)
    for user in ("analyst", "admin"):
        got = told(world, user)
        assert len(got) == 1 and got[0][0].urgency == "urgent", user


def test_bad_filters_are_refused_naming_the_condition(client: TestClient, world: World) -> None:
    r = client.post(
        "/api/v1/watch/rules",
        json={
            "name": "bad",
            "filter": {"all": [{"field": "substance", "op": "eq", "value": "unobtainium"}, {"field": "colour"}]},
        },
        headers=world.h("officer.hp"),
    )
    assert r.status_code == 422
    fields = {e["field"]: e["msg"] for e in r.json()["error"]["errors"]}
    assert "unknown substance 'unobtainium'" in fields["filter.all[0].value"]
    assert "unknown filter field 'colour'" in fields["filter.all[1].field"]
    assert client.get("/api/v1/watch/rules", headers=world.h("officer.hp")).json() == []


def _list(client: TestClient, world: World, user: str = "analyst") -> str:
    r = client.post("/api/v1/watch/lists", json={"name": f"list {next(_serial)}"}, headers=world.h(user))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_a_watched_company_fires_on_a_name_variant_in_another_language(client: TestClient, world: World) -> None:
    list_id = _list(client, world)
    r = client.post(
        f"/api/v1/watch/lists/{list_id}/entries",
        json={"kind": "company", "value": "Hoang Phat Import Export Co., Ltd", "reason": "Tip-off 2026/17"},
        headers=world.h("analyst"),
    )
    assert r.status_code == 201, r.text
    incident = report(client, world, distribution="national")  # consignee CÔNG TY TNHH XNK HOÀNG PHÁT
    fire(world)
    got = told(world, "analyst")
    assert [n.ref_id for n, _ in got] == [uuid.UUID(incident["id"])]
    assert "CÔNG TY TNHH XNK HOÀNG PHÁT" in got[0][1].text and "Hoang Phat Import Export Co., Ltd" in got[0][1].text
    assert got[0][0].urgency == "urgent"
    hits = client.get(f"/api/v1/watch/lists/{list_id}", headers=world.h("analyst")).json()["hits"]
    assert [(h["incident_reference"], h["role"]) for h in hits] == [(incident["reference"], "consignee")]


def test_expired_entries_and_unreadable_or_non_nominal_matches_fire_nothing(client: TestClient, world: World) -> None:
    kh_list = _list(client, world, "officer.kh")
    for kind, value in (("person", "Tran Van Khoa"), ("container", "CSQU3054383")):
        r = client.post(
            f"/api/v1/watch/lists/{kh_list}/entries",
            json={"kind": kind, "value": value, "reason": "partner request"},
            headers=world.h("officer.kh"),
        )
        assert r.status_code == 201, r.text
    person = {"role": "person_involved", "kind": "person", "name": "Trần Văn Khoa", "country": "VN"}
    report(client, world, distribution="organisation", parties=[person])  # Cambodia may not read it
    fire(world)
    assert told(world, "officer.kh") == []
    shared = report(client, world, distribution="all", tlp="GREEN", share_nominal=False, parties=[person])
    fire(world)
    got = told(world, "officer.kh")
    assert [n.ref_id for n, _ in got] == [uuid.UUID(shared["id"])]  # through the container only
    assert "Khoa" not in got[0][1].text and "CSQU3054383" in got[0][1].text


def test_watch_list_entries_are_checked(client: TestClient, world: World) -> None:
    list_id = _list(client, world)
    for body, field, words in (
        ({"kind": "container", "value": "CSQU3054384"}, "value", "check digit"),
        ({"kind": "company", "value": "Trading Co., Ltd"}, "value", "nothing distinctive"),
        ({"kind": "vessel", "value": "IMO 1234568"}, "value", "IMO number"),
        ({"kind": "company", "value": "Hoang Phat JSC", "expires_on": "2020-01-01"}, "expires_on", "past"),
    ):
        r = client.post(
            f"/api/v1/watch/lists/{list_id}/entries", json={"reason": "r", **body}, headers=world.h("analyst")
        )
        assert r.status_code == 422, body
        err = r.json()["error"]["errors"][0]
        assert err["field"] == field and words in err["msg"], err
    # Another unit neither sees nor changes the list.
    assert client.get(f"/api/v1/watch/lists/{list_id}", headers=world.h("officer.hp")).status_code == 404
    r = client.post(
        f"/api/v1/watch/lists/{list_id}/entries",
        json={"kind": "company", "value": "Hoang Phat JSC", "reason": "r"},
        headers=world.h("officer.hp"),
    )
    assert r.status_code == 404


def test_each_event_is_told_once_even_when_the_batch_is_repeated(client: TestClient, world: World) -> None:
    rule(client, world, "officer.hcm", ACETIC)
    report(client, world, distribution="national")
    fire(world)
    # Rewind the consumer as if the batch had been rolled back after a crash: nothing is told twice.
    from interdict.core.outbox import ConsumerOffset

    with world.session() as s:
        offset = s.get(ConsumerOffset, "watch")
        assert offset is not None
        offset.last_event_id, offset.last_xid = 0, 0
    fire(world)
    assert len(told(world, "officer.hcm")) == 1
    with world.session() as s:
        hcm = s.scalars(select(User.id).where(User.username == "officer.hcm")).one()
        assert len(s.scalars(select(Notification).where(Notification.user_id == hcm)).all()) == 1


def test_a_rapid_alert_that_names_a_watched_value_tells_the_watchers_who_may_read_it(
    client: TestClient, world: World
) -> None:
    from tests.alerts.conftest import alert_body

    hcm_list = _list(client, world, "officer.hcm")
    kh_list = _list(client, world, "officer.kh")
    for user, list_id in (("officer.hcm", hcm_list), ("officer.kh", kh_list)):
        r = client.post(
            f"/api/v1/watch/lists/{list_id}/entries",
            json={"kind": "company", "value": "Huada Chemical Trading (Guangzhou)", "reason": "known supplier"},
            headers=world.h(user),
        )
        assert r.status_code == 201, r.text
    # Issued by Hai Phong to the national department only: HCMC may read it (same agency, national), Cambodia not.
    r = client.post(
        "/api/v1/alerts",
        json=alert_body(addressees=["VNC-ASID"], distribution="national"),
        headers=world.h("officer.hp"),
    )
    assert r.status_code == 201, r.text
    alert = r.json()
    fire(world)
    got = told(world, "officer.hcm")
    assert [(n.kind, n.ref_id) for n, _ in got] == [("watch.list", uuid.UUID(alert["id"]))]
    assert "Huada Chemical Trading (Guangzhou)" in got[0][1].text and alert["reference"] in got[0][1].title
    assert told(world, "officer.kh") == []
    fire(world)  # nothing twice
    assert len(told(world, "officer.hcm")) == 1
