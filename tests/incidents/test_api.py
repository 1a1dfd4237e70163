"""The incident registry through the REST API, as agencies' systems and the web UI use it."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from tests.conftest import World, minimal_incident


def create(client: TestClient, world: World, user: str = "officer.hp", **overrides: object) -> dict:
    r = client.post("/api/v1/incidents", json=minimal_incident(**overrides), headers=world.h(user))
    assert r.status_code == 201, r.text
    return r.json()


def test_create_resolves_substance_normalises_quantity_and_warns_on_unknown_port(
    client: TestClient, world: World
) -> None:
    inc = create(client, world)
    assert inc["status"] == "draft"
    assert inc["reference"].startswith("VNC-HP-2026-")
    assert inc["owner_org"]["code"] == "VNC-HP"
    assert inc["created_by"]["username"] == "officer.hp"
    line = inc["substances"][0]
    assert line["substance"]["name"] == "Acetic anhydride"
    assert line["substance"]["cas"] == "108-24-7"
    assert "UN1988-I" in line["substance"]["controls"]
    assert Decimal(line["quantity_normalised"]) == Decimal("1200") and line["unit_normalised"] == "L"
    assert inc["containers"][0]["number"] == "CSQU3054383"
    assert inc["parties"][1]["email"] == "info@hoangphat.example"
    # CNSHA, SGSIN and VNCLI are in the shipped UN/LOCODE list: no warning.
    assert inc["warnings"] == []


def test_grams_become_kilograms_and_tablets_stay_counts(client: TestClient, world: World) -> None:
    inc = create(
        client,
        world,
        substances=[
            {"substance": "P2P", "quantity": "2500", "unit": "g"},
            {"substance": "Metamfetamine", "quantity": "12000", "unit": "viên"},
            {"other_description": "Unknown brown liquid", "quantity": "350", "unit": "mL"},
        ],
    )
    p2p, meth, other = inc["substances"]
    assert p2p["substance"]["cas"] == "103-79-7" and Decimal(p2p["quantity_normalised"]) == Decimal("2.5")
    assert meth["unit"] == "tablets" and meth["quantity_normalised"] is None
    assert other["substance"] is None and other["other_description"] == "Unknown brown liquid"
    assert Decimal(other["quantity_normalised"]) == Decimal("0.35") and other["unit_normalised"] == "L"


def test_read_by_id_and_by_reference(client: TestClient, world: World) -> None:
    inc = create(client, world)
    by_id = client.get(f"/api/v1/incidents/{inc['id']}", headers=world.h("officer.hp")).json()
    by_ref = client.get(f"/api/v1/incidents/{inc['reference']}", headers=world.h("officer.hp")).json()
    assert by_id == by_ref
    assert by_id["narrative"].startswith("Declared as acetic acid")


def test_references_are_sequential_per_unit_and_year(client: TestClient, world: World) -> None:
    refs = [create(client, world)["reference"] for _ in range(3)]
    assert refs == [f"VNC-HP-2026-{n:05d}" for n in (1, 2, 3)]
    other = create(client, world, user="officer.hcm", incident_date="2025-12-31")
    assert other["reference"] == "VNC-HCM-2025-00001"


def test_update_records_a_version_with_the_changes(client: TestClient, world: World) -> None:
    inc = create(client, world)
    r = client.patch(
        f"/api/v1/incidents/{inc['id']}",
        headers=world.h("officer.hp"),
        json={
            "version": inc["version"],
            "narrative": "Laboratory confirmed acetic anhydride 99%.",
            "containers": [{"number": "CSQU3054383"}, {"number": "MSCU 123456 6"}],
        },
    )
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["version"] == 2
    assert [c["number"] for c in updated["containers"]] == ["CSQU3054383", "MSCU1234566"]
    history = client.get(f"/api/v1/incidents/{inc['id']}/history", headers=world.h("officer.hp")).json()
    assert [v["version"] for v in history] == [2, 1]
    assert history[0]["changed_by"]["username"] == "officer.hp"
    changed = {c["field"]: c for c in history[0]["changes"]}
    assert set(changed) == {"narrative", "containers"}
    assert changed["narrative"]["new"] == "Laboratory confirmed acetic anhydride 99%."
    assert history[1]["action"] == "created"


def test_stale_version_is_a_conflict_and_changes_nothing(client: TestClient, world: World) -> None:
    inc = create(client, world)
    ok = client.patch(
        f"/api/v1/incidents/{inc['id']}", headers=world.h("officer.hp"), json={"version": 1, "case_reference": "A"}
    )
    assert ok.status_code == 200
    stale = client.patch(
        f"/api/v1/incidents/{inc['id']}", headers=world.h("officer2.hp"), json={"version": 1, "case_reference": "B"}
    )
    assert stale.status_code == 409
    assert "version" in stale.json()["error"]["message"]
    assert client.get(f"/api/v1/incidents/{inc['id']}", headers=world.h("officer.hp")).json()["case_reference"] == "A"


def test_no_op_update_does_not_create_a_version(client: TestClient, world: World) -> None:
    inc = create(client, world)
    r = client.patch(
        f"/api/v1/incidents/{inc['id']}", headers=world.h("officer.hp"), json={"version": 1, "country": "vn"}
    )
    assert r.json()["version"] == 1


def test_status_workflow(client: TestClient, world: World) -> None:
    inc = create(client, world)
    h = world.h("officer.hp")
    r = client.post(f"/api/v1/incidents/{inc['id']}/submit", json={"version": 1}, headers=h)
    assert r.json()["status"] == "submitted" and r.json()["submitted_at"]
    again = client.post(f"/api/v1/incidents/{inc['id']}/submit", json={"version": 2}, headers=h)
    assert again.status_code == 409
    r = client.patch(f"/api/v1/incidents/{inc['id']}", json={"version": 2, "case_reference": "X"}, headers=h)
    assert r.json()["status"] == "updated"
    r = client.post(f"/api/v1/incidents/{inc['id']}/close", json={"version": 3}, headers=h)
    assert r.json()["status"] == "closed"
    blocked = client.patch(f"/api/v1/incidents/{inc['id']}", json={"version": 4, "case_reference": "Y"}, headers=h)
    assert blocked.status_code == 409 and "reopen" in blocked.json()["error"]["message"]
    r = client.post(f"/api/v1/incidents/{inc['id']}/reopen", json={"version": 4}, headers=h)
    assert r.json()["status"] == "updated"
    actions = [v["action"] for v in client.get(f"/api/v1/incidents/{inc['id']}/history", headers=h).json()]
    assert actions == ["reopened", "closed", "updated", "submitted", "created"]


def test_submit_at_creation(client: TestClient, world: World) -> None:
    inc = create(client, world, submit=True)
    assert inc["status"] == "submitted"


# --- validation --------------------------------------------------------------------------------


def errors_of(r) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert r.status_code == 422, r.text
    body = r.json()["error"]
    assert body["code"] == "invalid_input"
    return {e["field"]: e["msg"] for e in body["errors"]}


def test_bad_cas_check_digit_names_the_field(client: TestClient, world: World) -> None:
    r = client.post(
        "/api/v1/incidents",
        headers=world.h("officer.hp"),
        json=minimal_incident(substances=[{"substance": "108-24-8", "quantity": 1, "unit": "kg"}]),
    )
    errs = errors_of(r)
    assert errs == {"substances[0].substance": "CAS RN '108-24-8' has a wrong check digit (expected 7)"}


def test_bad_container_check_digit(client: TestClient, world: World) -> None:
    r = client.post(
        "/api/v1/incidents",
        headers=world.h("officer.hp"),
        json=minimal_incident(containers=[{"number": "CSQU3054384"}]),
    )
    assert errors_of(r) == {"containers[0].number": "container 'CSQU3054384' has a wrong check digit (expected 3)"}


def test_unknown_substance_suggests_and_wrong_unit_is_rejected(client: TestClient, world: World) -> None:
    r = client.post(
        "/api/v1/incidents",
        headers=world.h("officer.hp"),
        json=minimal_incident(
            substances=[
                {"substance": "acetic anhydrid", "quantity": 1, "unit": "kg"},
            ]
        ),
    )
    errs = errors_of(r)
    assert "unknown or ambiguous substance 'acetic anhydrid'" in errs["substances[0].substance"]
    assert "Acetic anhydride (108-24-7)" in errs["substances[0].substance"]
    r = client.post(
        "/api/v1/incidents",
        headers=world.h("officer.hp"),
        json=minimal_incident(
            substances=[
                {"substance": "P2P", "quantity": 1, "unit": "bags"},
            ]
        ),
    )
    assert errors_of(r) == {
        "substances[0].unit": "unit 'bags' is not recognised; use one of kg, g, mg, t, L, mL, tablets, units"
    }


def test_every_problem_is_reported_at_once_and_nothing_is_written(client: TestClient, world: World) -> None:
    body = minimal_incident(
        incident_type="smuggling",
        country="XX",
        vessel_imo="9074728",
        declared_hs_code="2915.99",
        parties=[{"role": "consignee", "name": "A", "email": "not-an-email"}],
    )
    errs = errors_of(client.post("/api/v1/incidents", headers=world.h("officer.hp"), json=body))
    assert set(errs) >= {"incident_type", "country", "vessel_imo", "parties[0].email"}
    assert "'XX' is not an ISO 3166 country code" in errs["country"]
    assert client.get("/api/v1/incidents", headers=world.h("officer.hp")).json()["total"] == 0


def test_reference_data_checks(client: TestClient, world: World) -> None:
    body = minimal_incident(
        declared_hs_code="2915.99", locode="CNSHA", modus=["no-such-modus"], incident_date="2099-01-01"
    )
    errs = errors_of(client.post("/api/v1/incidents", headers=world.h("officer.hp"), json=body))
    assert errs["declared_hs_code"] == "HS code 291599 does not exist in HS 2022 (291599 is unknown)"
    assert errs["locode"] == "UN/LOCODE CNSHA is in CN, but the country is VN"
    assert errs["modus[0]"] == "unknown modus operandi / concealment code 'no-such-modus'"
    assert errs["incident_date"] == "the incident date is in the future"


def test_malformed_locode_is_rejected_but_unknown_wellformed_is_accepted(client: TestClient, world: World) -> None:
    errs = errors_of(
        client.post("/api/v1/incidents", headers=world.h("officer.hp"), json=minimal_incident(locode="VN-1"))
    )
    assert "is not a UN/LOCODE" in errs["locode"]
    ok = client.post("/api/v1/incidents", headers=world.h("officer.hp"), json=minimal_incident(locode="VNZZZ"))
    assert ok.status_code == 201
    assert any(w["field"] == "locode" for w in ok.json()["warnings"])


def test_unknown_json_fields_are_rejected(client: TestClient, world: World) -> None:
    errs = errors_of(
        client.post("/api/v1/incidents", headers=world.h("officer.hp"), json=minimal_incident(colour="red"))
    )
    assert errs == {"colour": "unknown field"}


# --- search ---------------------------------------------------------------------------------------


def test_search_by_filters_and_text(client: TestClient, world: World) -> None:
    h = world.h("officer.hp")
    a = create(client, world)
    b = create(
        client,
        world,
        incident_type="seizure",
        incident_date="2025-06-01",
        locode="VNHPH",
        containers=[{"number": "MSCU1234566"}],
        departure_country="KR",
        departure_locode="KRPUS",
        origin_country="KR",
        transits=[],
        substances=[{"substance": "NPP", "quantity": 3, "unit": "kg"}],
        parties=[{"role": "consignee", "name": "Hoàng Anh Trading Co., Ltd", "country": "VN"}],
        narrative="Fentanyl precursor found behind reefer unit.",
    )

    def refs(**params: object) -> list[str]:
        r = client.get("/api/v1/incidents", params=params, headers=h)
        assert r.status_code == 200, r.text
        return sorted(i["reference"] for i in r.json()["items"])

    both = sorted([a["reference"], b["reference"]])
    assert refs() == both
    assert refs(type="seizure") == [b["reference"]]
    assert refs(type="seizure,stopped_shipment") == both
    assert refs(substance="acetic anhydride") == [a["reference"]]
    assert refs(substance="108-24-7") == [a["reference"]]
    assert refs(substance_class="precursor-fentanyl") == [b["reference"]]
    assert refs(substance_class="UN1988-I") == both
    assert refs(port="VNHPH") == [b["reference"]]
    assert refs(port="SGSIN") == [a["reference"]]
    assert refs(route_country="KR") == [b["reference"]]
    assert refs(route_country="SG") == [a["reference"]]
    assert refs(date_from="2026-01-01") == [a["reference"]]
    assert refs(date_to="2025-12-31") == [b["reference"]]
    assert refs(container="MSCU1234566") == [b["reference"]]
    assert refs(container="CSQU305") == [a["reference"]]
    assert refs(company="hoang anh") == [b["reference"]]
    assert refs(company="HOÀNG PHÁT") == [a["reference"]]
    assert refs(q="reefer") == [b["reference"]]
    assert refs(q="hai phong") == [a["reference"]]  # diacritics folded: "Hải Phòng" in the narrative
    assert refs(q="CSQU3054383") == [a["reference"]]
    assert refs(q="fentanyl precursor", type="seizure") == [b["reference"]]
    assert refs(q="fentanyl precursor", type="stopped_shipment") == []
    assert refs(q="醋酸酐") == [a["reference"]]  # Chinese name of the substance on the line
    # Two text conditions in one query keep their own words (company + free text).
    assert refs(company="hoang anh", q="reefer") == [b["reference"]]
    assert refs(company="hoang anh", q="laboratory") == []
    assert refs(company="hoang phat", q="reefer") == []


def test_search_rejects_bad_filter_values_with_the_reason(client: TestClient, world: World) -> None:
    r = client.get("/api/v1/incidents", params={"substance": "unobtainium"}, headers=world.h("officer.hp"))
    assert r.status_code == 422
    assert "unknown substance 'unobtainium'" in r.json()["error"]["message"]
    r = client.get("/api/v1/incidents", params={"type": "smuggling"}, headers=world.h("officer.hp"))
    assert r.status_code == 422 and "'smuggling' is not one of" in r.json()["error"]["message"]


def test_search_with_a_filter_tree(client: TestClient, world: World) -> None:
    a = create(client, world)
    create(client, world, incident_type="seizure")
    body = {
        "filter": {
            "all": [
                {"field": "type", "op": "eq", "value": "stopped_shipment"},
                {
                    "any": [
                        {"field": "route_country", "op": "eq", "value": "SG"},
                        {"field": "country", "op": "eq", "value": "KH"},
                    ]
                },
            ]
        }
    }
    r = client.post("/api/v1/incidents/search", json=body, headers=world.h("officer.hp"))
    assert r.status_code == 200, r.text
    assert [i["reference"] for i in r.json()["items"]] == [a["reference"]]
    bad = client.post(
        "/api/v1/incidents/search",
        json={"filter": {"all": [{"field": "colour", "op": "eq", "value": 1}]}},
        headers=world.h("officer.hp"),
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["errors"][0]["field"] == "filter.all[0].field"


def test_pagination(client: TestClient, world: World) -> None:
    for _ in range(5):
        create(client, world)
    r = client.get(
        "/api/v1/incidents", params={"page_size": 2, "page": 3, "sort": "reference"}, headers=world.h("officer.hp")
    )
    body = r.json()
    assert body["total"] == 5 and body["page"] == 3 and len(body["items"]) == 1
    assert body["items"][0]["reference"].endswith("00005")


def test_sql_metacharacters_in_filters_are_just_text(client: TestClient, world: World) -> None:
    create(client, world)
    for value in ["' OR 1=1 --", '"; DROP TABLE incidents; --', "%", "_", "\\", "a:*|b", "!&("]:
        for param in ("q", "company", "container"):
            r = client.get("/api/v1/incidents", params={param: value}, headers=world.h("officer.hp"))
            if r.status_code == 422:  # too long, or no word in it: rejected with the reason, never run
                assert param in r.json()["error"]["message"]
                continue
            assert r.status_code == 200, (param, value, r.text)
            has_words = any(ch.isalnum() for ch in value)
            # Text without any word is no text filter at all; text with words matches nothing here.
            expected = 0 if has_words or param != "q" else 1
            assert r.json()["total"] == expected, (param, value)
    assert client.get("/api/v1/incidents", headers=world.h("officer.hp")).json()["total"] == 1


# --- access -----------------------------------------------------------------------------------------


def test_authentication_is_required(client: TestClient, world: World) -> None:
    assert client.get("/api/v1/incidents").status_code == 401
    assert client.get("/api/v1/incidents", headers={"Authorization": "Bearer idt_nope"}).status_code == 401


def test_only_the_reporting_unit_edits_and_viewers_cannot_write(client: TestClient, world: World) -> None:
    inc = create(client, world, submit=True)
    other = client.patch(
        f"/api/v1/incidents/{inc['id']}", json={"version": 2, "case_reference": "X"}, headers=world.h("officer.hcm")
    )
    assert other.status_code == 403
    viewer = client.post("/api/v1/incidents", json=minimal_incident(), headers=world.h("viewer.hp"))
    assert viewer.status_code == 403


def test_drafts_are_private_and_distribution_limits_readers(client: TestClient, world: World) -> None:
    draft = create(client, world)
    unit = create(client, world, submit=True, distribution="unit")
    org = create(client, world, submit=True, distribution="organisation")
    national = create(client, world, submit=True, distribution="national")
    everyone = create(client, world, submit=True, distribution="all")

    def visible(user: str) -> set[str]:
        items = client.get("/api/v1/incidents", params={"page_size": 100}, headers=world.h(user)).json()["items"]
        return {i["reference"] for i in items}

    r = lambda i: i["reference"]  # noqa: E731
    assert visible("officer2.hp") == {r(draft), r(unit), r(org), r(national), r(everyone)}
    assert visible("officer.hcm") == {r(org), r(national), r(everyone)}
    assert visible("police") == {r(national), r(everyone)}
    assert visible("officer.kh") == {r(everyone)}
    hidden = client.get(f"/api/v1/incidents/{draft['id']}", headers=world.h("officer.hcm"))
    missing = client.get("/api/v1/incidents/00000000-0000-0000-0000-000000000000", headers=world.h("officer.hcm"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["message"] == missing.json()["error"]["message"]


def test_broad_searches_report_a_lower_bound_instead_of_counting_everything(client: TestClient, world: World) -> None:
    from interdict.core.pagination import PageParams
    from interdict.incidents import service

    for _ in range(4):
        create(client, world)
    subject = world.subject("officer.hp")
    with world.session() as s:
        capped = service.search_incidents(s, subject, count_cap=3, page=PageParams(page=1, page_size=2))
        exact = service.search_incidents(s, subject, count_cap=10, page=PageParams(page=1, page_size=2))
    assert (capped.total, capped.total_exact, len(capped.items)) == (3, False, 2)
    assert (exact.total, exact.total_exact) == (4, True)
    body = client.get("/api/v1/incidents", headers=world.h("officer.hp")).json()
    assert body["total"] == 4 and body["total_exact"] is True


def test_codes_of_the_wrong_json_type_are_field_errors_not_crashes(client: TestClient, world: World) -> None:
    for field, value in [("country", 5), ("country", ["VN"]), ("country", None), ("locode", 7), ("vessel_imo", [])]:
        r = client.post("/api/v1/incidents", json=minimal_incident(**{field: value}), headers=world.h("officer.hp"))
        assert r.status_code == 422, (field, value, r.text)
        assert field in [e["field"] for e in r.json()["error"]["errors"]], (field, r.json())


def test_huge_page_numbers_are_field_errors(client: TestClient, world: World) -> None:
    h = world.h("officer.hp")
    r = client.post("/api/v1/incidents/search", json={"page": 10**19}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "page"
    assert client.get("/api/v1/incidents", params={"page": 10**12}, headers=h).status_code == 422


def test_a_broad_search_over_the_count_cap_still_lists_the_newest_first(client: TestClient, world: World) -> None:
    """More than 1,000 matches: the count stops at the cap and the page comes from the newest-first plan."""
    from datetime import date, timedelta

    from interdict.incidents import service as svc
    from interdict.incidents.schemas import IncidentCreate
    from interdict.reference.catalogue import get_index

    with world.session() as s:
        subject = world.subject("officer.hp")
        index = get_index(s)
        items = []
        for n in range(1005):
            body = minimal_incident(incident_date=(date(2026, 1, 1) - timedelta(days=n)).isoformat())
            data = IncidentCreate.model_validate(body)
            items.append(svc.BulkItem(data, svc.check(index, data), "submitted"))
        svc.bulk_create(s, subject, items)
    r = client.get("/api/v1/incidents", params={"q": "hoang phat", "page_size": 50}, headers=world.h("officer.hcm"))
    body = r.json()
    assert r.status_code == 200 and body["total"] == 1000 and body["total_exact"] is False
    dates = [i["incident_date"] for i in body["items"]]
    assert len(dates) == 50 and dates == sorted(dates, reverse=True) and dates[0] == "2026-01-01"
    page2 = client.get(
        "/api/v1/incidents", params={"q": "hoang phat", "page_size": 50, "page": 2}, headers=world.h("officer.hcm")
    ).json()
    assert page2["items"][0]["incident_date"] < dates[-1]
    exact = client.get("/api/v1/incidents", params={"q": "hoang", "exact_total": "true"}, headers=world.h("analyst"))
    assert exact.json()["total"] == 1005


def test_search_results_say_why_they_matched_with_the_words_highlighted(client: TestClient, world: World) -> None:
    from tests.web.test_pages import login

    parties = [
        {"role": "consignee", "kind": "company", "name": "CÔNG TY <b>TNHH</b> XNK Hoàng Phát Quỳnh", "country": "VN"},
        {"role": "person_involved", "kind": "person", "name": "Hoàng Văn Quỳnh"},
    ]
    a = create(client, world, parties=parties, distribution="all", share_nominal=False, submit=True)

    def matched(user: str, **params: object) -> list[dict[str, object]]:
        r = client.get("/api/v1/incidents", params=params, headers=world.h(user))
        assert r.status_code == 200, r.text
        rows = [it for it in r.json()["items"] if it["id"] == a["id"]]
        assert len(rows) == 1, r.json()
        return rows[0]["matched"]  # type: ignore[no-any-return]

    def marked(reason: dict[str, object]) -> list[str]:
        return [p["text"] for p in reason["parts"] if p["mark"]]  # type: ignore[attr-defined, index]

    # The company, with the query's words marked as written (diacritics and case ignored).
    owner = matched("officer.hp", q="hoang quynh")
    assert [(r["field"], r["role"]) for r in owner] == [("company", "consignee"), ("person", "person_involved")]
    assert marked(owner[0]) == ["Hoàng", "Quỳnh"] and marked(owner[1]) == ["Hoàng", "Quỳnh"]
    # Another agency reads the record without its persons: the person is never a reason there.
    other = matched("police", q="hoang quynh")
    assert [r["field"] for r in other] == ["company"]
    # The company filter is a reason too.
    assert marked(matched("officer.hp", company="phat")[0]) == ["Phát"]

    login(client, "officer.hp")
    html = client.get("/incidents", params={"q": "hoang quynh"}).text
    assert "<mark>Hoàng</mark> Phát <mark>Quỳnh</mark>" in html
    assert "&lt;b&gt;TNHH&lt;/b&gt;" in html and "<b>TNHH</b>" not in html  # the name is escaped, only <mark> added
    assert "Importer / consignee:" in html
