"""Messages made by the server (validation, service errors, history) shown in the reader's language."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.conftest import World, minimal_incident
from tests.web.test_pages import login


def _field_errors(html: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, text in re.findall(r'<p class="field-error" data-for="([^"]+)">([^<]*)</p>', html):
        out.setdefault(name, []).append(text)
    return out


def test_framework_validation_messages_are_in_vietnamese_with_the_field_label(client: TestClient, world: World) -> None:
    token = login(client)
    client.get("/lang/vi?next=/login")
    form = {
        "csrf_token": token,
        "incident_type": "seizure",
        "incident_date": "05/01/2026",
        "country": "VN",
        "substances-0-substance": "heroin",
        "substances-0-quantity": "nhiều",
        "substances-0-unit": "kg",
        "action": "submit",
    }
    r = client.post("/incidents/new", data=form)
    assert r.status_code == 422
    assert "Đăng xuất" in r.text
    errors = _field_errors(r.text)
    assert errors["incident_date"] == ["Ngày xảy ra vụ việc: hãy nhập ngày theo dạng YYYY-MM-DD"], errors
    assert any("hãy nhập một số" in m for m in errors["substances-0-quantity"]), errors
    assert "Input should" not in r.text and "valid date" not in r.text
    # The same form in English says the same in English.
    client.get("/lang/en?next=/login")
    r = client.post("/incidents/new", data=form)
    assert _field_errors(r.text)["incident_date"] == ["Date of the incident: enter a date as YYYY-MM-DD"]


def test_the_api_keeps_field_names_and_english_messages(client: TestClient, world: World) -> None:
    r = client.post(
        "/api/v1/incidents",
        json={"incident_type": "seizure", "incident_date": "soon", "country": "VN"},
        headers={**world.h("officer.hp"), "Accept-Language": "vi"},
    )
    assert r.status_code == 422
    fields = {e["field"]: e["msg"] for e in r.json()["error"]["errors"]}
    assert fields["incident_date"] == "Date of the incident: enter a date as YYYY-MM-DD"


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_the_history_shows_labels_names_and_yes_no_never_codes_or_ids(client: TestClient, world: World) -> None:
    admin = world.h("admin")
    group = client.post(
        "/api/v1/sharing-groups",
        json={"code": "VI-HIST", "name": "Nhóm Hải Phòng", "members": ["VNC-HP"]},
        headers=admin,
    )
    assert group.status_code == 201, group.text
    h = world.h("officer.hp")
    inc = client.post(
        "/api/v1/incidents",
        json={
            **minimal_incident(),
            "mode_of_transport": "sea",
            "substances": [{"substance": "heroin", "quantity": 2, "unit": "tablets"}],
        },
        headers=h,
    ).json()
    ref, version = inc["reference"], inc["version"]
    r = client.post(f"/api/v1/incidents/{inc['id']}/submit", json={"version": version}, headers=h)
    assert r.status_code == 200, r.text
    body = {"version": r.json()["version"], "mode_of_transport": "air"}
    r = client.patch(f"/api/v1/incidents/{inc['id']}", json=body, headers=h)
    assert r.status_code == 200, r.text
    share = {"version": r.json()["version"], "distribution": "group", "sharing_group": "VI-HIST", "tlp": "AMBER"}
    r = client.post(f"/api/v1/incidents/{inc['id']}/sharing", json={**share, "share_nominal": True}, headers=h)
    assert r.status_code == 200, r.text
    login(client)
    client.get("/lang/vi?next=/login")
    page = client.get(f"/incidents/{ref}")
    history = page.text[page.text.index('id="history"') :]
    assert "Nhóm Hải Phòng" in history
    assert not UUID.search(history), UUID.search(history)
    for code in (
        "submitted",
        "updated",
        ">sea<",
        ">air<",
        ">group<",
        "True",
        "False",
        "share_nominal",
        "sharing_group",
    ):
        assert code not in history, code
    assert "Đường biển" in history and "Đường hàng không" in history  # the modes of transport, by label
    assert ">Có<" in history  # person data shared: yes
    assert "viên" in page.text  # the unit "tablets" by its Vietnamese name


def test_inline_checks_of_the_form_answer_in_the_language_the_page_is_shown_in(
    client: TestClient, world: World
) -> None:
    h = world.h("officer.hp")
    url = "/api/v1/reference/validate"
    bad = client.get(url, params={"kind": "container", "value": "CSQU3054384", "lang": "vi"}, headers=h).json()
    assert bad["message"] == "container 'CSQU3054384' có chữ số kiểm tra sai (đúng phải là 3)"
    port = client.get(url, params={"kind": "locode", "value": "BNMUA"}, headers=h, cookies={"interdict_lang": "vi"})
    assert port.json()["warning"].startswith("mã UN/LOCODE BNMUA không có trong danh mục tham chiếu")
    english = client.get(url, params={"kind": "locode", "value": "BNMUA"}, headers=h).json()
    assert english["warning"] == "UN/LOCODE BNMUA is not in the reference list; it will be accepted as typed"


def test_watch_rule_conditions_read_in_words_without_codes(client: TestClient, world: World) -> None:
    filt = {
        "all": [
            {"field": "substance_class", "op": "in", "value": ["precursor-ats", "nps"]},
            {"field": "type", "op": "eq", "value": "stopped_shipment"},
            {"field": "route_country", "op": "eq", "value": "CN"},
        ]
    }
    r = client.post("/api/v1/watch/rules", json={"name": "Tiền chất ATS", "filter": filt}, headers=world.h("analyst"))
    assert r.status_code == 201, r.text
    login(client, "analyst")
    client.get("/lang/vi?next=/login")
    page = client.get("/watch").text
    row = page[page.index("Tiền chất ATS") :]
    row = row[: row.index("</tr>")]
    assert "Tiền chất ma túy tổng hợp nhóm amphetamin" in row and "Các chất tác động tâm thần mới (NPS)" in row
    assert "Lô hàng bị dừng" in row and "Trung Quốc" in row
    for code in ("precursor-ats", "stopped_shipment", ">nps", " CN"):
        assert code not in row, code
