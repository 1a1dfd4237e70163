"""The linkage engine on both databases, as analysts use it through the API: incidents linked across scripts
and languages with their reasons, exact identifiers, sharing respected (restricted matches counted per owner,
person data only where visible), suggestions confirmed or rejected for good, noise control."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from interdict.app import create_app
from interdict.config import Settings
from interdict.entities.models import Entity, EntityLink, EntityLinkJudgement
from interdict.linkage import service as linkage
from interdict.linkage.tasks import drain
from tests.conftest import World, minimal_incident

_serial = iter(range(10_000))


def company(role: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"role": role, "kind": "company", "name": name, **extra}


def report(client: TestClient, world: World, user: str = "officer.hp", **overrides: Any) -> dict[str, Any]:
    """A submitted incident with no container, vessel or B/L of its own unless given (so only what the test
    puts in links)."""
    n = next(_serial)
    base: dict[str, Any] = {
        "containers": [],
        "vessel_imo": None,
        "vessel_name": None,
        "bl_awb": None,
        "parties": [],
        "narrative": f"Linkage test record {n}.",
    }
    body = minimal_incident(**{**base, **overrides})
    r = client.post("/api/v1/incidents", json={"submit": True, **body}, headers=world.h(user))
    assert r.status_code == 201, r.text
    return r.json()


def link_now(world: World) -> None:
    drain(world.app.state.sessionmaker)


def links(client: TestClient, world: World, incident: dict[str, Any], user: str = "officer.hp") -> dict[str, Any]:
    r = client.get(f"/api/v1/incidents/{incident['id']}/links", headers=world.h(user))
    assert r.status_code == 200, r.text
    return r.json()


def linked_refs(view: dict[str, Any]) -> set[str]:
    return {li["incident"]["reference"] for li in view["linked"]}


def test_a_consignee_links_to_the_same_company_written_in_english(client: TestClient, world: World) -> None:
    a = report(client, world, parties=[company("consignee", "CÔNG TY TNHH XNK HOÀNG PHÁT", country="VN")])
    b = report(client, world, parties=[company("shipper", "Hoang Phat Import Export Co., Ltd", country="VN")])
    c = report(client, world, parties=[company("shipper", "Minh Phat Import Export Co., Ltd", country="VN")])
    link_now(world)
    view = links(client, world, a)
    assert linked_refs(view) == {b["reference"]}, view
    reason = view["linked"][0]["reasons"][0]
    assert reason["text"].startswith("same consignee 0.9")
    assert "'CÔNG TY TNHH XNK HOÀNG PHÁT' ~ 'Hoang Phat Import Export Co., Ltd'" in reason["text"]
    assert linked_refs(links(client, world, c)) == set()


def test_chinese_characters_link_to_pinyin_and_identifiers_link_at_once(client: TestClient, world: World) -> None:
    a = report(
        client,
        world,
        parties=[company("shipper", "深圳市华强贸易有限公司", country="CN")],
        containers=[{"number": "MSKU1234565"}],
    )
    b = report(client, world, parties=[company("shipper", "Shenzhen Huaqiang Trading Co., Ltd", country="CN")])
    c = report(client, world, containers=[{"number": "MSKU 123456-5"}], vessel_imo="9074729")
    d = report(client, world, vessel_imo="IMO 9074729")
    link_now(world)
    view = links(client, world, a)
    assert linked_refs(view) == {b["reference"], c["reference"]}
    by_ref = {li["incident"]["reference"]: li for li in view["linked"]}
    assert by_ref[c["reference"]]["reasons"][0]["text"] == "same container 1.00: 'MSKU1234565'"  # stored normalised
    assert by_ref[b["reference"]]["score"] >= 0.85
    assert linked_refs(links(client, world, d)) == {c["reference"]}


def test_placeholders_and_excluded_carriers_never_link(client: TestClient, world: World) -> None:
    noise = [company("notify_party", "TO ORDER"), company("carrier", "Maersk Line"), company("forwarder", "N/A")]
    a = report(client, world, parties=noise)
    report(client, world, parties=noise)
    link_now(world)
    assert links(client, world, a)["linked"] == []


def test_a_value_shared_by_too_many_incidents_does_not_link_them(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(linkage, "MAX_INCIDENTS_PER_VALUE", 2)
    phone = [company("consignee", "Cong ty TNHH Van Tai Bien Xanh", phone="+84 28 3822 9999")]
    made = [report(client, world, parties=phone) for _ in range(3)]
    link_now(world)
    view = links(client, world, made[0])
    assert view["linked"] == []
    assert any("+84 28 3822 9999" in c for c in view["common"]), view["common"]


def test_matches_the_reader_may_not_read_are_counted_per_owner_without_details(
    client: TestClient, world: World
) -> None:
    mine = report(client, world, containers=[{"number": "CSQU3054383"}])
    theirs = report(client, world, user="police", distribution="unit", containers=[{"number": "CSQU3054383"}])
    link_now(world)
    view = links(client, world, mine)
    assert view["linked"] == [] and view["restricted"] == {"Viet Nam Police (other agency)": 1}
    police_view = links(client, world, theirs, user="police")
    assert police_view["linked"] == [] and police_view["restricted"] == {"Hai Phong Customs": 1}
    # The record itself stays invisible to the other side.
    assert client.get(f"/api/v1/incidents/{theirs['id']}", headers=world.h("officer.hp")).status_code == 404


def test_links_through_persons_only_where_the_reader_may_see_persons(client: TestClient, world: World) -> None:
    person = {"role": "person_involved", "kind": "person", "name": "Nguyễn Văn Hùng", "phone": "0903 123 456"}
    a = report(client, world, parties=[person], distribution="all", share_nominal=False)
    b = report(client, world, parties=[{**person, "name": "HUNG NGUYEN VAN", "phone": None}], distribution="all")
    link_now(world)
    inside = links(client, world, a, user="analyst")  # same agency: sees persons
    assert linked_refs(inside) == {b["reference"]}
    assert inside["linked"][0]["reasons"][0]["text"] == (
        "same person involved 0.98: 'Nguyễn Văn Hùng' ~ 'HUNG NGUYEN VAN'"
    )
    outside = links(client, world, a, user="officer.kh")  # reads both records but not their persons
    assert outside["linked"] == [] and outside["restricted"] == {}


def test_a_phone_a_person_gives_is_nominal_even_if_a_company_gave_it_first(client: TestClient, world: World) -> None:
    """The register's nominal flag does not stay with the first mention: a phone first seen as a company's
    and then as a person's links only for readers who may see that person."""
    a = report(
        client, world, parties=[company("consignee", "Cong ty Minh Long", phone="0903 555 777")], distribution="all"
    )
    person = {"role": "person_involved", "kind": "person", "name": "Trần Thị Mai", "phone": "0903 555 777"}
    b = report(client, world, parties=[person], distribution="all", share_nominal=False)
    link_now(world)
    with world.app.state.sessionmaker() as s:
        assert s.scalar(select(Entity.nominal).where(Entity.kind == "phone", Entity.key == "+84903555777")) is True
    assert linked_refs(links(client, world, a, user="analyst")) == {b["reference"]}  # same agency: sees persons
    outside = links(client, world, a, user="officer.kh")  # reads both records but not b's persons
    assert outside["linked"] == [] and outside["restricted"] == {}


def test_a_suggestion_is_confirmed_or_rejected_for_good(client: TestClient, world: World) -> None:
    a = report(client, world, parties=[company("consignee", "Công ty TNHH Thương mại Hoàng Anh")])
    b = report(client, world, parties=[company("consignee", "Hoang Anh Construction Co., Ltd")])
    link_now(world)
    view = links(client, world, a, user="analyst")
    assert view["linked"] == [] and len(view["suggestions"]) == 1, view
    suggestion = view["suggestions"][0]
    assert 0.70 <= suggestion["score"] < 0.85 and suggestion["theirs"] == "Hoang Anh Construction Co., Ltd"

    # Officers may not judge; an unknown link is 404.
    assert (
        client.post(f"/api/v1/entity-links/{suggestion['link_id']}/confirm", headers=world.h("officer.hp")).status_code
        == 403
    )
    assert client.post(f"/api/v1/entity-links/{uuid.uuid4()}/confirm", headers=world.h("analyst")).status_code == 404

    r = client.post(f"/api/v1/entity-links/{suggestion['link_id']}/confirm", headers=world.h("analyst"))
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    confirmed = links(client, world, a, user="analyst")
    assert linked_refs(confirmed) == {b["reference"]} and confirmed["suggestions"] == []

    r = client.post(f"/api/v1/entity-links/{suggestion['link_id']}/reject", headers=world.h("analyst"))
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert links(client, world, a, user="analyst") == {
        "linked": [],
        "suggestions": [],
        "restricted": {},
        "common": [],
        "deconfliction": [],
    }
    # A rebuild re-links everything but never brings a rejected pair back.
    with world.session() as s:
        linkage.rebuild(s)
    assert links(client, world, a, user="analyst")["suggestions"] == []
    with world.session() as s:
        # The judgement is the analyst's agency's; the link stays as the register found it.
        link_id = uuid.UUID(suggestion["link_id"])
        assert s.scalar(select(EntityLink.status).where(EntityLink.id == link_id)) == "suggested"
        judged = s.execute(
            select(EntityLinkJudgement.verdict, EntityLinkJudgement.binding).where(
                EntityLinkJudgement.link_id == link_id
            )
        ).all()
        assert judged == [("rejected", True)]  # Vietnam Customs owns both records: its judgement binds everyone


def test_an_edit_relinks_and_events_are_linked_once(client: TestClient, world: World) -> None:
    a = report(client, world, parties=[company("consignee", "Tianhe Chemical Co., Ltd")])
    b = report(client, world, parties=[company("shipper", "Tianhe Chemicals Company Limited")])
    link_now(world)
    assert linked_refs(links(client, world, a)) == {b["reference"]}
    assert drain(world.app.state.sessionmaker) == 0  # the position moved past what was linked

    r = client.patch(
        f"/api/v1/incidents/{b['id']}",
        json={"version": b["version"], "parties": [company("shipper", "Golden River Plastics Co., Ltd")]},
        headers=world.h("officer.hp"),
    )
    assert r.status_code == 200, r.text
    link_now(world)
    assert links(client, world, a)["linked"] == []
    with world.session() as s:
        # "Tianhe Chemical Co., Ltd" and "Tianhe Chemicals Company Limited" normalise to one entity.
        assert s.scalar(select(func.count()).select_from(Entity).where(Entity.kind == "company")) == 2


def test_a_worker_step_past_its_time_budget_commits_what_it_linked_and_the_next_step_goes_on(
    client: TestClient, world: World
) -> None:
    """The server's linkage worker keeps its transactions short: on PostgreSQL, alerts about incidents committed
    while a linkage transaction runs wait for it to end (issue 16: fan-out p95)."""
    link_now(world)
    made = [report(client, world, parties=[company("shipper", f"Budget Trading {n} Co., Ltd")]) for n in range(3)]
    factory = world.app.state.sessionmaker
    from interdict.core.db import unit_of_work

    steps = []
    while True:
        with unit_of_work(factory) as s:
            read = linkage.process_events(s, budget=0.0)  # past its budget after each incident
        if not read:
            break
        steps.append(read)
    assert len(steps) == 3  # one incident a transaction; nothing skipped, nothing twice
    with world.session() as s:
        names = set(s.scalars(select(Entity.name).where(Entity.name.like("Budget Trading %"))))
    assert names == {f"Budget Trading {n} Co., Ltd" for n in range(3)}, names
    assert len(made) == 3


def test_the_entity_page_shows_names_and_incidents_to_readers_only(client: TestClient, world: World) -> None:
    a = report(client, world, parties=[company("consignee", "CÔNG TY TNHH XNK HOÀNG PHÁT", phone="0903 123 456")])
    report(client, world, parties=[company("shipper", "Hoang Phat Import Export Co., Ltd")])
    report(
        client, world, user="police", distribution="unit", parties=[company("shipper", "Hoang Phat Import Export JSC")]
    )
    link_now(world)
    with world.session() as s:
        entity_id = s.scalar(select(Entity.id).where(Entity.name == "CÔNG TY TNHH XNK HOÀNG PHÁT"))
    r = client.get(f"/api/v1/entities/{entity_id}", headers=world.h("officer.hp"))
    assert r.status_code == 200, r.text
    page = r.json()
    assert {n["name"] for n in page["names"]} == {"CÔNG TY TNHH XNK HOÀNG PHÁT", "Hoang Phat Import Export Co., Ltd"}
    assert len(page["appearances"]) == 2 and {c["kind"] for c in page["co_mentioned"]} == {"phone"}
    assert page["first_seen"] == "2026-03-14" and a["reference"] in {x["reference"] for x in page["appearances"]}
    # Cambodia reads none of these records (distribution: organisation): the entity does not exist for it.
    assert client.get(f"/api/v1/entities/{entity_id}", headers=world.h("officer.kh")).status_code == 404
    assert client.get("/api/v1/entities/not-an-id", headers=world.h("officer.hp")).status_code == 404


def test_the_server_links_a_new_incident_within_seconds(client: TestClient, world: World) -> None:
    """The worker thread of a running server (INTERDICT_LINKAGE_WORKER, on by default) is the consumer."""
    base: Settings = world.app.state.settings
    settings = base.model_copy(update={"linkage_worker": True, "linkage_interval_seconds": 0.2})
    app = create_app(settings)
    try:
        with TestClient(app) as live:
            a = report(live, world, parties=[company("consignee", "Sao Mai Logistics Co., Ltd")])
            b = report(live, world, parties=[company("consignee", "CÔNG TY TNHH GIAO NHẬN SAO MAI")])
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if linked_refs(links(live, world, a)) == {b["reference"]}:
                    break
                time.sleep(0.2)
            assert linked_refs(links(live, world, a)) == {b["reference"]}
    finally:
        app.state.engine.dispose()


def test_the_incident_page_shows_links_and_suggestions_an_analyst_judges(client: TestClient, world: World) -> None:
    from tests.web.test_pages import login

    a = report(
        client,
        world,
        parties=[
            company("consignee", "CÔNG TY TNHH XNK HOÀNG PHÁT"),
            company("notify_party", "Công ty TNHH Thương mại Hoàng Anh"),
        ],
    )
    b = report(client, world, parties=[company("shipper", "Hoang Phat Import Export Co., Ltd")])
    report(client, world, parties=[company("shipper", "Hoang Anh Construction Co., Ltd")])
    report(client, world, user="police", distribution="unit", parties=[company("shipper", "Hoàng Phát XNK")])
    link_now(world)
    csrf = login(client, "analyst")
    page = client.get(f"/incidents/{a['reference']}").text
    links_section = page[page.index('id="links"') : page.index('id="sharing"')]
    assert b["reference"] in links_section
    assert (
        "same consignee 0.98: &#39;CÔNG TY TNHH XNK HOÀNG PHÁT&#39; ~ &#39;Hoang Phat Import Export Co., Ltd&#39;"
        in links_section
    )
    assert "Viet Nam Police (other agency)" in links_section and "Hoàng Phát XNK" not in links_section
    assert "Hoang Anh Construction Co., Ltd" in links_section  # a suggestion to review
    view = links(client, world, a, user="analyst")
    print("VIEW", view)
    with world.session() as s:
        print(
            "LINKS",
            s.execute(select(EntityLink.status, EntityLink.score)).all(),
            s.execute(select(Entity.name, Entity.key, Entity.incident_count)).all(),
        )
    suggestion = view["suggestions"][0]
    r = client.post(
        f"/entity-links/{suggestion['link_id']}/reject",
        data={"csrf_token": csrf, "next": f"/incidents/{a['reference']}#links"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/incidents/{a['reference']}#links"
    assert "Hoang Anh Construction Co., Ltd" not in client.get(f"/incidents/{a['reference']}").text
    # Without the form's CSRF token nothing is judged.
    assert client.post(f"/entity-links/{suggestion['link_id']}/confirm", data={}).status_code == 403

    entity_id = suggestion["their_entity_id"]
    page = client.get(f"/entities/{entity_id}").text
    assert "Hoang Anh Construction Co., Ltd" in page and "Incidents" in page


def test_the_owner_is_told_of_a_match_it_cannot_see_and_learns_only_whom_to_contact(
    client: TestClient, world: World
) -> None:
    from tests.web.test_pages import login

    ours = report(client, world, user="police", distribution="unit", containers=[{"number": "CSQU3054383"}])
    theirs = report(
        client,
        world,
        distribution="unit",
        parties=[company("consignee", "Cong ty TNHH Hai Au")],
        containers=[{"number": "CSQU3054383"}],
    )
    link_now(world)
    link_now(world)  # nothing is told twice
    notices = links(client, world, ours, user="police")["deconfliction"]
    assert [(n["contact"], n["kinds"]) for n in notices] == [("Hai Phong Customs", ["container"])]
    # The newcomer sees the restricted match on its own record (whom to contact); it is not "told" a notice,
    # and readers outside the owning organisation never see notices.
    view = links(client, world, theirs)
    assert view["restricted"] == {"Viet Nam Police (other agency)": 1} and view["deconfliction"] == []
    login(client, "police")
    page = client.get(f"/incidents/{ours['reference']}").text
    assert 'id="deconfliction"' in page and "Hai Phong Customs" in page
    assert theirs["reference"] not in page and "Hai Au" not in page
    # The police unit is also notified (once), about its own incident: whom to contact, nothing of theirs.
    from interdict.notifications import service as notifications

    with world.session() as s:
        told = notifications.visible(s, world.subject("police"))
    assert [(n.kind, n.ref_id) for n, _ in told] == [("linkage.deconfliction", uuid.UUID(ours["id"]))]
    shown = told[0][1]
    assert "Hai Phong Customs" in shown.text and "container" in shown.text
    assert theirs["reference"] not in shown.title + shown.text and "Hai Au" not in shown.text


def test_the_consumer_waits_for_open_transactions_of_its_database_only(
    client: TestClient, world: World, database_url: str
) -> None:
    """PostgreSQL: an event written by a transaction that commits after a later one must not be skipped, so
    the consumer stops below the oldest running transaction of its own database; transactions in other
    databases of the same server do not hold it back."""
    import sqlalchemy as sa

    if not database_url.startswith("postgresql"):
        pytest.skip("transaction ids and snapshots are PostgreSQL's; SQLite has one writer")
    engine = world.app.state.engine
    other_db = sa.create_engine(engine.url.set(database="test"))
    try:
        with other_db.connect() as elsewhere:
            elsewhere.execute(sa.text("SELECT pg_current_xact_id()"))  # an open transaction in another database
            a = report(client, world, containers=[{"number": "CSQU3054383"}])
            with engine.connect() as here:
                here.execute(sa.text("SELECT pg_current_xact_id()"))  # an open transaction in ours, older...
                b = report(client, world, containers=[{"number": "CSQU3054383"}])  # ...than this event
                assert drain(world.app.state.sessionmaker) == 1  # a (committed before) only; b waits
                here.rollback()
            link_now(world)
            assert linked_refs(links(client, world, a)) == {b["reference"]}
    finally:
        other_db.dispose()


def test_rebuild_finds_in_batch_what_the_token_index_did_not_propose(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interactive matching proposes only entities sharing a rare token; the batch rebuild (Splink on DuckDB,
    re-scored by the same scorer) compares every name, and keeps analysts' judgements."""
    monkeypatch.setattr(linkage, "TOKEN_POSTINGS_CAP", 0)  # the token index proposes nothing
    a = report(client, world, parties=[company("consignee", "CÔNG TY TNHH XNK HOÀNG PHÁT")])
    b = report(client, world, parties=[company("shipper", "Hoang Phat Import Export Co., Ltd")])
    link_now(world)
    assert links(client, world, a)["linked"] == []
    with world.session() as s:
        assert linkage.rebuild(s) == 2
    view = links(client, world, a)
    assert linked_refs(view) == {b["reference"]}
    assert view["linked"][0]["reasons"][0]["score"] >= 0.85
    with world.session() as s:
        reasons = s.scalars(select(EntityLink.reasons)).one()
    assert any(r.startswith("batch: Splink") for r in reasons) and any("hoang phat" in r for r in reasons)


def test_names_are_shown_as_written_in_records_the_reader_may_read(client: TestClient, world: World) -> None:
    """One entity can hold a value first written in a record the reader may not read (here the police's
    upper-case spelling): suggestions and entity pages show it as written in readable records only."""
    secret = "HOANG ANH CONSTRUCTION CO LTD"
    report(client, world, user="police", distribution="unit", parties=[company("shipper", secret)])
    report(client, world, parties=[company("shipper", "Hoang Anh Construction Co., Ltd")])
    a = report(client, world, parties=[company("consignee", "Công ty TNHH Thương mại Hoàng Anh")])
    link_now(world)
    suggestion = links(client, world, a, user="analyst")["suggestions"][0]
    assert suggestion["theirs"] == "Hoang Anh Construction Co., Ltd"
    page = client.get(f"/api/v1/entities/{suggestion['their_entity_id']}", headers=world.h("analyst")).json()
    assert [n["name"] for n in page["names"]] == ["Hoang Anh Construction Co., Ltd"]
    assert secret not in str(page)
    with world.session() as s:  # the register does hold the police's spelling
        assert s.scalar(select(Entity.name).where(Entity.id == uuid.UUID(suggestion["their_entity_id"]))) == secret


def _nominal_reads(world: World, mark: int) -> list[tuple[str | None, str]]:
    from tests.audit.test_audit import entries_since

    return [(e.object_label, e.summary) for e in entries_since(world, mark) if e.action == "incident.read_nominal"]


def test_links_through_a_persons_phone_or_a_suggested_person_are_audited_reads(
    client: TestClient, world: World
) -> None:
    """A link through a person's phone shows that phone as written in the other incident, and a suggestion the other
    person's name: both are person data of the other incident (issue 16), and the reasons show this incident's own."""
    from tests.audit.test_audit import last_seq

    person = {"role": "person_involved", "kind": "person", "name": "Nguyễn Văn Hùng", "phone": "0903 123 456"}
    a = report(client, world, parties=[person], distribution="all", share_nominal=False)
    b = report(client, world, parties=[{**person, "name": "Trần Thị Mai"}], distribution="all", share_nominal=False)
    c = report(client, world, parties=[{**person, "name": "Nguyễn Văn Hưng", "phone": None}], distribution="all")
    link_now(world)
    mark = last_seq(world)
    inside = links(client, world, a, user="analyst")
    assert [r["kind"] for li in inside["linked"] for r in li["reasons"]] == ["phone"]
    assert [(s["mine"], s["theirs"]) for s in inside["suggestions"]] == [("Nguyễn Văn Hùng", "Nguyễn Văn Hưng")]
    assert sorted(_nominal_reads(world, mark)) == sorted(
        [
            (b["reference"], "1 natural person(s) shown in links"),
            (c["reference"], "1 natural person(s) shown in links"),
            (a["reference"], "2 natural person(s) shown in its links"),
        ]
    )
    mark = last_seq(world)
    outside = links(client, world, a, user="officer.kh")  # reads the records, not their persons
    assert outside["linked"] == [] and outside["suggestions"] == []
    assert _nominal_reads(world, mark) == []


def test_persons_mentioned_alongside_a_company_on_its_page_are_audited_reads(client: TestClient, world: World) -> None:
    from tests.audit.test_audit import last_seq

    person = {"role": "person_involved", "kind": "person", "name": "Trần Thị Mai"}
    a = report(
        client,
        world,
        parties=[company("consignee", "Cong ty Minh Long Trading"), person],
        distribution="all",
        share_nominal=False,
    )
    link_now(world)
    with world.session() as s:
        entity_id = s.scalar(
            select(Entity.id).where(Entity.kind == "company", Entity.name == "Cong ty Minh Long Trading")
        )
    mark = last_seq(world)
    page = client.get(f"/api/v1/entities/{entity_id}", headers=world.h("analyst")).json()
    assert [c["name"] for c in page["co_mentioned"] if c["kind"] == "person"] == ["Trần Thị Mai"]
    assert _nominal_reads(world, mark) == [(a["reference"], "1 natural person(s) shown in an entity page")]
    mark = last_seq(world)
    page = client.get(f"/api/v1/entities/{entity_id}", headers=world.h("officer.kh")).json()
    assert [c["kind"] for c in page["co_mentioned"]] == []
    assert _nominal_reads(world, mark) == []


def test_deconfliction_folds_into_one_routine_item_per_own_record_and_organisation(
    client: TestClient, world: World
) -> None:
    """One notification per own record and organisation that matched it: a further matching record of that
    organisation counts one more (unread again), a later edit of matched records tells nobody, another
    organisation is another item; routine, not urgent (issue 17)."""
    from stdnum import iso6346

    from interdict.notifications import service as notifications

    body = f"TGHU{uuid.uuid4().int % 10**6:06d}"
    container = [{"number": body + iso6346.calc_check_digit(body)}]
    ours = report(client, world, user="police", distribution="unit", containers=container)
    police = world.subject("police")

    def told() -> list[tuple[Any, Any]]:
        with world.session() as s:
            return [
                (n, r) for n, r in notifications.visible(s, police, limit=1000) if n.ref_id == uuid.UUID(ours["id"])
            ]

    report(client, world, distribution="unit", containers=container)  # Hai Phong Customs
    link_now(world)
    [(first, shown)] = told()
    assert (first.kind, first.urgency, first.count, first.read_at) == ("linkage.deconfliction", "routine", 1, None)
    assert "Hai Phong Customs recorded an incident that matches this one" in shown.text
    with world.session() as s:
        notifications.mark_read(s, police)

    second = report(client, world, distribution="unit", containers=container)  # Hai Phong Customs again
    link_now(world)
    [(again, shown)] = told()
    assert (again.id, again.count, again.read_at) == (first.id, 2, None)  # the same item, unread again
    assert "Hai Phong Customs recorded 2 incidents that match this one (through: container)" in shown.text
    with world.session() as s:
        notifications.mark_read(s, police)

    # Later edits of the records already matched tell nobody again.
    r = client.patch(
        f"/api/v1/incidents/{second['id']}",
        json={"version": second["version"], "case_reference": "EDITED"},
        headers=world.h("officer.hp"),
    )
    assert r.status_code == 200, r.text
    link_now(world)
    [(edited, _)] = told()
    assert (edited.count, edited.read_at is not None) == (2, True)

    # Another organisation matching the same record is another item (another unit to contact).
    report(client, world, user="officer.hcm", distribution="unit", containers=container)
    link_now(world)
    items = told()
    assert sorted((n.count, n.read_at is None) for n, _ in items) == [(1, True), (2, False)]
    assert any("HCMC Customs" in r.text for n, r in items if n.count == 1)


def test_the_linking_status_says_running_until_the_worker_linked_the_incident(client: TestClient, world: World) -> None:
    from tests.web.test_pages import login

    link_now(world)  # what earlier tests left
    a = report(client, world, containers=[{"number": "CSQU3054383"}])
    link_now(world)
    b = report(client, world, containers=[{"number": "CSQU3054383"}])
    status = f"/api/v1/incidents/{b['id']}/linking"
    assert client.get(status, headers=world.h("officer.hp")).json() == {"done": False, "linked": None}
    # The status is read through sharing: an incident the caller may not read is a plain 404.
    theirs = report(client, world, user="police", distribution="unit")
    assert client.get(f"/api/v1/incidents/{theirs['id']}/linking", headers=world.h("officer.hp")).status_code == 404

    login(client, "officer.hp")
    page = client.get(f"/incidents/{b['reference']}").text
    assert 'id="linking-status"' in page and "Linking is running" in page
    assert '<script src="/static/linking.js' in page and f'data-url="{status}"' in page
    assert client.get("/static/linking.js").status_code == 200

    link_now(world)
    assert client.get(status, headers=world.h("officer.hp")).json() == {"done": True, "linked": 1}
    assert client.get(f"/api/v1/incidents/{a['id']}/linking", headers=world.h("officer.hp")).json()["done"] is True
    page = client.get(f"/incidents/{b['reference']}").text
    assert 'id="linking-status"' not in page and "linking.js" not in page and a["reference"] in page

    # A draft has nothing to link; an edit of a submitted incident is linked again.
    draft = client.post(
        "/api/v1/incidents", json={"submit": False, **minimal_incident(parties=[])}, headers=world.h("officer.hp")
    ).json()
    assert 'id="linking-status"' not in client.get(f"/incidents/{draft['reference']}").text
    r = client.patch(
        f"/api/v1/incidents/{b['id']}",
        json={"version": b["version"], "narrative": "Corrected narrative."},
        headers=world.h("officer.hp"),
    )
    assert r.status_code == 200, r.text
    assert client.get(status, headers=world.h("officer.hp")).json()["done"] is False
    link_now(world)
    assert client.get(status, headers=world.h("officer.hp")).json()["done"] is True
