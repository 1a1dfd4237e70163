"""Analysts' judgements of entity links belong to their agency (issue 16): a partner's "not the same" or "same"
changes what the partner's users see, never what the owning agency sees; a judgement by the agency that owns
every record on both sides decides for every reader; the owners' auditors see the judgement; judgements made
before they were kept per agency are given to their judge's agency by the migration."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import or_, select, text

from interdict.accounts import service as accounts
from interdict.accounts.schemas import OrganisationCreate, TokenCreate, UserCreate
from interdict.audit import service as audit
from interdict.audit.models import AuditEntry
from interdict.core.clock import utcnow
from interdict.entities.models import Entity, EntityLink
from tests.conftest import BACKENDS, PASSWORD, World, minimal_incident, prepared_database
from tests.linkage.test_service import company, link_now, linked_refs, links, report

PARTNER_ANALYST = "analyst.police"  # Viet Nam Police: another agency
OWNER_AUDITOR = "auditor.customs"  # Vietnam Customs: the agency whose units own the records below
POLICE_AUDITOR = "auditor.police"
OTHER_AUDITOR = "auditor.cambodia"

HOANG_PHAT_VN = "CÔNG TY TNHH XNK HOÀNG PHÁT"
HOANG_PHAT_EN = "Hoang Phat Import Export Co., Ltd"
HOANG_ANH_VN = "Công ty TNHH Thương mại Hoàng Anh"
HOANG_ANH_EN = "Hoang Anh Construction Co., Ltd"


def ensure_user(world: World, username: str, role: str, org: str) -> None:
    with world.session() as s:
        if accounts.get_user_by_username(s, username) is not None:
            return
        user = accounts.create_user(
            s, UserCreate(username=username, full_name=username, role=role, org_code=org, password=PASSWORD)
        )
        scopes = ["read"] if role == "auditor" else ["read", "write"]
        token, _ = accounts.create_api_token(
            s, user, TokenCreate(name="t", scopes=scopes), pepper=world.app.state.pepper
        )
        world.tokens[username] = token


@pytest.fixture
def people(world: World) -> None:
    ensure_user(world, PARTNER_ANALYST, "analyst", "VNP")
    ensure_user(world, OWNER_AUDITOR, "auditor", "VNC")
    ensure_user(world, POLICE_AUDITOR, "auditor", "VNP")
    ensure_user(world, OTHER_AUDITOR, "auditor", "KHC")


def link_between(world: World, name_a: str, name_b: str) -> tuple[str, str]:
    """(link id, register status) of the register's link between the two company names."""
    with world.session() as s:
        ids = [s.scalar(select(Entity.id).where(Entity.kind == "company", Entity.name == n)) for n in (name_a, name_b)]
        row = s.execute(
            select(EntityLink.id, EntityLink.status).where(
                or_(
                    (EntityLink.entity_a_id == ids[0]) & (EntityLink.entity_b_id == ids[1]),
                    (EntityLink.entity_a_id == ids[1]) & (EntityLink.entity_b_id == ids[0]),
                )
            )
        ).one()
    return str(row[0]), str(row[1])


def judge(client: TestClient, world: World, link_id: str, verdict: str, user: str) -> None:
    r = client.post(f"/api/v1/entity-links/{link_id}/{verdict}", headers=world.h(user))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == {"confirm": "confirmed", "reject": "rejected"}[verdict]


def trail(client: TestClient, world: World, auditor: str, link_id: str) -> list[dict[str, Any]]:
    r = client.get("/api/v1/audit", params={"action": "linkage.", "object": link_id}, headers=world.h(auditor))
    assert r.status_code == 200, r.text
    return list(r.json())


def graph_link_statuses(client: TestClient, world: World, start: str, user: str) -> list[str]:
    r = client.get("/api/v1/graph", params={"start": start}, headers=world.h(user))
    assert r.status_code == 200, r.text
    return [e["status"] for e in r.json()["edges"] if e["type"] == "link"]


def test_a_partner_rejecting_an_automatic_link_between_our_records_changes_only_its_own_view(
    client: TestClient, world: World, people: None
) -> None:
    a = report(client, world, distribution="all", parties=[company("consignee", HOANG_PHAT_VN, country="VN")])
    b = report(client, world, distribution="all", parties=[company("shipper", HOANG_PHAT_EN, country="VN")])
    link_now(world)
    link_id, status = link_between(world, HOANG_PHAT_VN, HOANG_PHAT_EN)
    assert status == "auto"
    for user in ("officer.hp", "analyst", PARTNER_ANALYST, "officer.kh"):
        assert linked_refs(links(client, world, a, user=user)) == {b["reference"]}, user

    judge(client, world, link_id, "reject", PARTNER_ANALYST)

    # The owning agency (every unit of it) and a third agency still see the register's link...
    for user in ("officer.hp", "analyst", "officer.kh"):
        assert linked_refs(links(client, world, a, user=user)) == {b["reference"]}, user
    assert graph_link_statuses(client, world, a["id"], "officer.hp") == ["auto"]
    # ...the partner, whose analyst said "not the same", no longer does.
    assert linked_refs(links(client, world, a, user=PARTNER_ANALYST)) == set()
    assert links(client, world, a, user="police")["linked"] == []  # every user of the partner agency
    assert graph_link_statuses(client, world, a["id"], PARTNER_ANALYST) == []

    # The owners' auditors see the judgement of their records; an unconcerned agency's auditors do not.
    seen = trail(client, world, OWNER_AUDITOR, link_id)
    assert [(e["action"], e["actor_username"]) for e in seen] == [("linkage.reject", PARTNER_ANALYST)]
    assert trail(client, world, OTHER_AUDITOR, link_id) == []
    with world.session() as s:
        assert audit.verify(s).intact


def test_the_owner_of_both_records_decides_for_everyone_a_one_sided_owner_only_for_itself(
    client: TestClient, world: World, people: None
) -> None:
    a = report(client, world, distribution="all", parties=[company("consignee", HOANG_PHAT_VN, country="VN")])
    b = report(client, world, distribution="all", parties=[company("shipper", HOANG_PHAT_EN, country="VN")])
    link_now(world)
    link_id, _ = link_between(world, HOANG_PHAT_VN, HOANG_PHAT_EN)

    # Vietnam Customs owns every record mentioning either company: its "not the same" holds for every reader.
    judge(client, world, link_id, "reject", "analyst")
    for user in ("officer.hp", "analyst", PARTNER_ANALYST, "officer.kh"):
        assert links(client, world, a, user=user)["linked"] == [], user

    # The police now record the English name too: Customs no longer owns every record on that side, so its
    # judgement is Customs' own again; the police see the register's link from their record to both.
    p = report(
        client, world, user="police", distribution="all", parties=[company("shipper", HOANG_PHAT_EN, country="VN")]
    )
    link_now(world)
    assert links(client, world, a, user="analyst")["linked"] == []
    assert linked_refs(links(client, world, p, user="analyst")) == {b["reference"]}  # the same entity, not the link
    assert linked_refs(links(client, world, a, user=PARTNER_ANALYST)) == {b["reference"], p["reference"]}
    assert linked_refs(links(client, world, a, user="officer.kh")) == {b["reference"], p["reference"]}

    # A judgement on a link whose records are held by two agencies is only ever the judging agency's own.
    judge(client, world, link_id, "confirm", "analyst")
    judge(client, world, link_id, "reject", "analyst")
    assert links(client, world, a, user="analyst")["linked"] == []
    assert linked_refs(links(client, world, a, user=PARTNER_ANALYST)) == {b["reference"], p["reference"]}
    # Customs' auditors see all three judgements; the police's auditors the two made since the police own a
    # record they concern.
    assert [e["action"] for e in trail(client, world, OWNER_AUDITOR, link_id)] == [
        "linkage.reject",
        "linkage.confirm",
        "linkage.reject",
    ]
    assert [e["action"] for e in trail(client, world, POLICE_AUDITOR, link_id)] == ["linkage.reject", "linkage.confirm"]


def test_a_partners_confirmation_merges_only_its_own_view_the_owners_merges_everyones(
    client: TestClient, world: World, people: None
) -> None:
    a = report(client, world, distribution="all", parties=[company("consignee", HOANG_ANH_VN)])
    b = report(client, world, distribution="all", parties=[company("consignee", HOANG_ANH_EN)])
    link_now(world)
    link_id, status = link_between(world, HOANG_ANH_VN, HOANG_ANH_EN)
    assert status == "suggested"
    for user in ("analyst", PARTNER_ANALYST, "officer.kh"):
        view = links(client, world, a, user=user)
        assert view["linked"] == [] and [s["link_id"] for s in view["suggestions"]] == [link_id], user

    judge(client, world, link_id, "confirm", PARTNER_ANALYST)
    partner = links(client, world, a, user=PARTNER_ANALYST)
    assert linked_refs(partner) == {b["reference"]} and partner["suggestions"] == []
    with world.session() as s:
        entity_id = s.scalar(select(Entity.id).where(Entity.name == HOANG_ANH_VN))
    names = client.get(f"/api/v1/entities/{entity_id}", headers=world.h(PARTNER_ANALYST)).json()["names"]
    assert {n["name"] for n in names} == {HOANG_ANH_VN, HOANG_ANH_EN}  # one cluster for the partner
    for user in ("analyst", "officer.kh"):  # not for anyone else
        view = links(client, world, a, user=user)
        assert view["linked"] == [] and [s["link_id"] for s in view["suggestions"]] == [link_id], user
    names = client.get(f"/api/v1/entities/{entity_id}", headers=world.h("analyst")).json()["names"]
    assert {n["name"] for n in names} == {HOANG_ANH_VN}
    assert graph_link_statuses(client, world, a["id"], PARTNER_ANALYST) == ["confirmed"]

    # The owner of both records confirms: merged for every reader; the partner's own judgement stays its own.
    judge(client, world, link_id, "confirm", "analyst")
    for user in ("analyst", "officer.hp", "officer.kh", PARTNER_ANALYST):
        view = links(client, world, a, user=user)
        assert linked_refs(view) == {b["reference"]} and view["suggestions"] == [], user
    judge(client, world, link_id, "reject", PARTNER_ANALYST)
    assert links(client, world, a, user=PARTNER_ANALYST)["linked"] == []
    assert linked_refs(links(client, world, a, user="officer.kh")) == {b["reference"]}
    assert [e["actor_username"] for e in trail(client, world, OWNER_AUDITOR, link_id)] == [
        PARTNER_ANALYST,
        "analyst",
        PARTNER_ANALYST,
    ]


# --- judgements made before they belonged to an agency (migration 0019) --------------------------------------


@pytest.mark.parametrize("kind", BACKENDS)
def test_judgements_made_before_are_given_to_their_judges_agency(kind: str, tmp_path: Path) -> None:
    """Before 0019 a judgement was the link's status. The upgrade gives each to its judge's agency (from the
    judge on the link, else from the audit trail), puts the register's status back on the link and decides which
    bind everyone; the audit entries written before still verify; a downgrade puts them back on the links."""
    from interdict.core import migrate
    from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
    from interdict.entities.models import EntityLinkJudgement
    from interdict.incidents import service as incidents
    from interdict.incidents.schemas import IncidentCreate
    from interdict.linkage import service as linkage

    database = prepared_database(kind, tmp_path)
    engine = make_engine(next(database))
    factory = make_sessionmaker(engine)
    try:
        with unit_of_work(factory) as s:
            for code in ("OWN", "PART"):
                accounts.create_organisation(
                    s, OrganisationCreate(code=code, name=f"Agency {code}", kind="agency", country="VN")
                )
            accounts.create_organisation(
                s,
                OrganisationCreate(
                    code="OWN-U", name="A unit", kind="provincial_unit", country="VN", parent_code="OWN"
                ),
            )
            for username, role, org in (
                ("own.officer", "officer", "OWN-U"),
                ("own.analyst", "analyst", "OWN-U"),  # a unit's judgements are its agency's
                ("part.analyst", "analyst", "PART"),
            ):
                accounts.create_user(
                    s, UserCreate(username=username, full_name=username, role=role, org_code=org, password=PASSWORD)
                )
            officer = accounts.subject_by_username(s, "own.officer")
            made = {}
            for name in (HOANG_PHAT_VN, HOANG_PHAT_EN, HOANG_ANH_VN, HOANG_ANH_EN):
                body = minimal_incident(
                    submit=True,
                    distribution="all",
                    containers=[],
                    vessel_imo=None,
                    vessel_name=None,
                    bl_awb=None,
                    parties=[company("consignee", name)],
                )
                made[name] = incidents.create_incident(s, officer, IncidentCreate.model_validate(body))[0].id
        with unit_of_work(factory) as s:
            linkage.process_events(s)
            ids = {name: s.scalar(select(Entity.id).where(Entity.name == name)) for name in made}
            phat, anh = (
                s.scalar(
                    select(EntityLink.id).where(
                        or_(
                            (EntityLink.entity_a_id == ids[x]) & (EntityLink.entity_b_id == ids[y]),
                            (EntityLink.entity_a_id == ids[y]) & (EntityLink.entity_b_id == ids[x]),
                        )
                    )
                )
                for x, y in ((HOANG_PHAT_VN, HOANG_PHAT_EN), (HOANG_ANH_VN, HOANG_ANH_EN))
            )
            people = {u: accounts.get_user_by_username(s, u) for u in ("own.analyst", "part.analyst")}
            judge_ids = {u: p.id for u, p in people.items() if p is not None}
            own_root = accounts.subject_by_username(s, "own.analyst").root_org_id
            part_root = accounts.subject_by_username(s, "part.analyst").root_org_id
            own_unit = accounts.subject_by_username(s, "own.officer").org_id

        migrate.downgrade(engine, "0018")
        old_links = sa.table(
            "entity_links",
            sa.column("id", sa.Uuid()),
            sa.column("status", sa.String()),
            sa.column("decided_by_id", sa.Uuid()),
            sa.column("decided_at", sa.DateTime(timezone=True)),
        )
        with engine.begin() as conn:
            # The partner's analyst rejected the automatic link between the owner's records (the judge is on the
            # link); the owner's analyst confirmed the suggestion (only the audit trail says who).
            conn.execute(
                old_links.update()
                .where(old_links.c.id == phat)
                .values(status="rejected", decided_by_id=judge_ids["part.analyst"], decided_at=utcnow())
            )
            conn.execute(old_links.update().where(old_links.c.id == anh).values(status="confirmed"))
            head = conn.execute(text("SELECT last_seq, last_hash FROM audit_head")).one()
            row = {
                "seq": head[0] + 1,
                "at": utcnow(),
                "actor_user_id": judge_ids["own.analyst"],
                "actor_username": "own.analyst",
                "actor_org_id": own_unit,
                "channel": "web",
                "ip": None,
                "action": "linkage.confirm",
                "object_type": "entity_link",
                "object_id": str(anh),
                "object_label": None,
                "summary": "",
                "before": {"status": "suggested"},
                "after": {"status": "confirmed"},
                "prev_hash": head[1],
            }
            row["hash"] = audit.entry_hash(row)  # written as before 0019: no org_ids
            conn.execute(AuditEntry.__table__.insert(), row)  # the columns of 0018 only
            conn.execute(
                text("UPDATE audit_head SET last_seq = :s, last_hash = :h"), {"s": row["seq"], "h": row["hash"]}
            )

        migrate.upgrade(engine)

        def state() -> tuple[set[tuple[Any, ...]], dict[uuid.UUID, str]]:
            with unit_of_work(factory) as s:
                judged = {
                    tuple(r)
                    for r in s.execute(
                        select(
                            EntityLinkJudgement.link_id,
                            EntityLinkJudgement.org_id,
                            EntityLinkJudgement.verdict,
                            EntityLinkJudgement.binding,
                            EntityLinkJudgement.judged_by_id,
                        )
                    )
                }
                return judged, dict(s.execute(select(EntityLink.id, EntityLink.status)).tuples().all())

        judged, statuses = state()
        assert judged == {
            (phat, part_root, "rejected", False, judge_ids["part.analyst"]),  # the partner owns none of the records
            (anh, own_root, "confirmed", True, None),  # the owner of every record: binds everyone
        }
        assert statuses == {phat: "auto", anh: "suggested"}  # as the register found them

        def linked(username: str, name: str) -> set[uuid.UUID]:
            with unit_of_work(factory) as s:
                subject = accounts.subject_by_username(s, username)
                found = linkage.linked_incidents(s, subject, incidents.get_incident(s, subject, made[name]))
                return {li.incident.id for li in found.linked}

        assert linked("own.officer", HOANG_PHAT_VN) == {made[HOANG_PHAT_EN]}  # the partner's no longer holds here
        assert linked("part.analyst", HOANG_PHAT_VN) == set()  # ...but still for the partner
        assert linked("part.analyst", HOANG_ANH_VN) == linked("own.officer", HOANG_ANH_VN) == {made[HOANG_ANH_EN]}
        with unit_of_work(factory) as s:
            assert audit.verify(s).intact  # entries written before 0019 hash as they did

        # Down again: each link carries its judgement as before (the binding one, else the latest); up: the same.
        migrate.downgrade(engine, "0018")
        with engine.begin() as conn:
            back = {
                r[0]: (r[1], r[2])
                for r in conn.execute(sa.select(old_links.c.id, old_links.c.status, old_links.c.decided_by_id))
            }
        assert back == {phat: ("rejected", judge_ids["part.analyst"]), anh: ("confirmed", None)}
        migrate.upgrade(engine)
        assert state() == (judged, statuses)
    finally:
        engine.dispose()
        database.close()
