"""Warning notices on both databases: from draft to every unit's report, the overdue view and deadline
notifications at an injected time, the Vietnamese DOCX export, access (404 for units not addressed, drafts
inside the issuing unit), search without diacritics, field errors and numbering."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import docx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from interdict.accounts.models import Organisation, User
from interdict.audit.models import AuditEntry
from interdict.notices import service as svc
from interdict.notices import tasks
from interdict.notices.models import WarningNotice
from interdict.notifications import service as notifications
from interdict.notifications.models import Notification
from tests.conftest import World, minimal_incident
from tests.notices.conftest import BODY, TITLE, notice_body
from tests.web.test_pages import login


def _post(client: TestClient, world: World, user: str, path: str, body: dict[str, Any] | None = None) -> Any:
    r = client.post(path, json=body, headers=world.h(user))
    assert r.status_code in (200, 201), (path, user, r.status_code, r.text)
    return r.json()


def _issued(client: TestClient, world: World, **overrides: Any) -> dict[str, Any]:
    """A notice drafted by the analyst, approved by the administrator and issued (the arrange step)."""
    n = _post(client, world, "analyst", "/api/v1/notices", notice_body(**overrides))
    n = _post(client, world, "analyst", f"/api/v1/notices/{n['id']}/submit", {"version": n["version"]})
    n = _post(client, world, "admin", f"/api/v1/notices/{n['id']}/approve", {"version": n["version"]})
    return _post(client, world, "analyst", f"/api/v1/notices/{n['id']}/issue", {"version": n["version"]})  # type: ignore[no-any-return]


def _user_ids(world: World, *usernames: str) -> set[uuid.UUID]:
    with world.session() as s:
        return set(s.scalars(select(User.id).where(User.username.in_(usernames))))


def _unit_ids(world: World, *codes: str, roles: tuple[str, ...] | None = None) -> set[uuid.UUID]:
    """The active users of units (other tests may have added some, e.g. OpenID Connect sign-ins)."""
    with world.session() as s:
        stmt = (
            select(User.id)
            .join(Organisation, Organisation.id == User.org_id)
            .where(Organisation.code.in_(codes), User.is_active.is_(True))
        )
        if roles is not None:
            stmt = stmt.where(User.role.in_(roles))
        return set(s.scalars(stmt))


def _told(world: World, notice_id: str, kind: str) -> set[uuid.UUID]:
    with world.session() as s:
        return set(
            s.scalars(
                select(Notification.user_id).where(
                    Notification.ref_id == uuid.UUID(notice_id), Notification.kind == kind
                )
            )
        )


def _report(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "checked_what": "Kiểm tra hồ sơ các lô hàng hóa chất nhập khẩu qua cảng Hải Phòng",
        "shipments_checked": 12,
        "declarations_checked": 30,
        "findings": "Không phát hiện vi phạm",
        "result": "nothing_found",
    }
    body.update(overrides)
    return body


def test_a_notice_from_draft_to_every_report_filed(client: TestClient, world: World) -> None:
    incident = _post(client, world, "officer.hp", "/api/v1/incidents", minimal_incident(submit=True))
    deadline = date.today() + timedelta(days=10)
    draft = _post(
        client,
        world,
        "analyst",
        "/api/v1/notices",
        notice_body(incidents=[incident["reference"]], report_deadline=deadline.isoformat()),
    )
    nid = draft["id"]
    assert draft["status"] == "draft" and draft["number"] == f"1/{date.today().year}/VNC-ASID"
    assert [i["reference"] for i in draft["incidents"]] == [incident["reference"]]
    # A draft is the issuing unit's own paper: the units it will go to do not see it yet.
    assert client.get(f"/api/v1/notices/{nid}", headers=world.h("officer.hp")).status_code == 404

    submitted = _post(client, world, "analyst", f"/api/v1/notices/{nid}/submit", {"version": draft["version"]})
    assert submitted["status"] == "submitted"
    assert _told(world, nid, "notice.approval_requested") == (
        _unit_ids(world, "VNC-ASID", roles=("analyst", "admin")) - _user_ids(world, "analyst")
    )  # the unit's supervisors, not the drafter
    assert client.get(f"/api/v1/notices/{nid}", headers=world.h("officer.hcm")).status_code == 404

    # The drafter cannot approve their own notice; an officer is no supervisor.
    own = client.post(f"/api/v1/notices/{nid}/approve", json={"version": 2}, headers=world.h("analyst"))
    assert own.status_code == 403 and "another supervisor" in own.json()["error"]["message"]
    assert (
        client.post(f"/api/v1/notices/{nid}/approve", json={"version": 2}, headers=world.h("officer.hp")).status_code
        == 404
    )
    approved = _post(client, world, "admin", f"/api/v1/notices/{nid}/approve", {"version": 2, "comment": "Đồng ý"})
    assert approved["status"] == "approved" and approved["approved_by"]["username"] == "admin"
    assert client.get(f"/api/v1/notices/{nid}", headers=world.h("officer.hp")).status_code == 404  # not yet issued

    issued = _post(client, world, "analyst", f"/api/v1/notices/{nid}/issue", {"version": approved["version"]})
    assert issued["status"] == "issued" and issued["issued_at"]
    assert {r["org"]["code"] for r in issued["recipients"]} == {"VNC-HP", "VNC-HCM"}
    assert all(r["delivered_at"] for r in issued["recipients"])
    recipients_users = _unit_ids(world, "VNC-HP", "VNC-HCM")
    assert _told(world, nid, "notice.issued") == recipients_users
    with world.session() as s:
        urgencies = set(s.scalars(select(Notification.urgency).where(Notification.kind == "notice.issued")))
    assert urgencies == {"urgent"}

    # Each unit acknowledges; a viewer cannot act for the unit.
    assert client.post(f"/api/v1/notices/{nid}/acknowledge", headers=world.h("viewer.hp")).status_code == 403
    for user in ("officer.hp", "officer.hcm"):
        mine = _post(client, world, user, f"/api/v1/notices/{nid}/acknowledge")
        assert [r["acknowledged_at"] is not None for r in mine["recipients"]] == [True]  # only its own unit shown

    # Hai Phong reports before the deadline, linking a new incident; the issuer is told.
    new_incident = _post(client, world, "officer.hp", "/api/v1/incidents", minimal_incident(submit=True))
    hp = _post(
        client, world, "officer.hp", f"/api/v1/notices/{nid}/report", _report(incidents=[new_incident["reference"]])
    )
    assert hp["recipients"][0]["report"]["shipments_checked"] == 12
    assert [i["reference"] for i in hp["recipients"][0]["report"]["incidents"]] == [new_incident["reference"]]
    assert _user_ids(world, "analyst", "admin") <= _told(world, nid, "notice.report_filed")
    # HCMC sees its own row only, not Hai Phong's report.
    hcm_view = client.get(f"/api/v1/notices/{nid}", headers=world.h("officer.hcm")).json()
    assert [r["org"]["code"] for r in hcm_view["recipients"]] == ["VNC-HCM"]

    # Two days before the deadline, HCMC (which has not reported) is reminded, once; Hai Phong is not.
    before = datetime.combine(deadline - timedelta(days=1), datetime.min.time(), UTC)
    after = datetime.combine(deadline + timedelta(days=1), datetime.min.time(), UTC)
    with world.session() as s:
        assert tasks.tick(s, before, remind_days=2).reminded == 1
        assert tasks.tick(s, before, remind_days=2).reminded == 0
    assert _told(world, nid, "notice.reminder") == _unit_ids(world, "VNC-HCM")

    # After the deadline HCMC is overdue: the overdue view, the dashboard and one notice to it and the issuer.
    analyst, hcm = world.subject("analyst"), world.subject("officer.hcm")
    with world.session() as s:
        late = svc.unit_rows(s, analyst, now=after, overdue_only=True)
        assert [(r.notice.number, r.recipient.org_id) for r in late] == [(issued["number"], _org_id(world, "VNC-HCM"))]
        assert svc.unit_rows(s, analyst, now=before, overdue_only=True) == []
        [year] = svc.year_counts(s, analyst, now=after)
        assert (year.issued, year.fully_reported, year.overdue) == (1, 0, 1)
        assert len(svc.unit_rows(s, world.subject("officer.hp"), now=after, overdue_only=True)) == 0  # HP's is done
        assert tasks.tick(s, after, remind_days=2).overdue == 1
        assert tasks.tick(s, after, remind_days=2).overdue == 0
    assert _told(world, nid, "notice.overdue") == _unit_ids(world, "VNC-HCM", "VNC-ASID")
    with world.session() as s:
        shown = [r.title for _, r in notifications.visible(s, hcm) if "overdue" in r.title]
        assert shown == [f"Results report on warning notice {issued['number']} is overdue (VNC-HCM)"]
        assert notifications.visible(s, world.subject("police")) == []

    # HCMC reports late: every unit has reported.
    _post(client, world, "officer.hcm", f"/api/v1/notices/{nid}/report", _report(result="irregularity"))
    with world.session() as s:
        assert svc.unit_rows(s, analyst, now=after, overdue_only=True) == []
        [year] = svc.year_counts(s, analyst, now=after)
        assert (year.issued, year.fully_reported, year.overdue) == (1, 1, 0)
    board = client.get("/api/v1/notices/dashboard", headers=world.h("analyst")).json()
    assert [(u["org"]["code"], bool(u["reported_at"])) for u in board["units"]] == [("VNC-HP", True), ("VNC-HCM", True)]
    assert board["notices"][0]["reported"] == 2

    # A correction is allowed until the issuer closes the notice; then nothing more is taken.
    corrected = _post(client, world, "officer.hcm", f"/api/v1/notices/{nid}/report", _report(result="seizure"))
    assert corrected["recipients"][0]["report"]["report_revision"] == 2
    version = client.get(f"/api/v1/notices/{nid}", headers=world.h("analyst")).json()["version"]
    assert _post(client, world, "analyst", f"/api/v1/notices/{nid}/close", {"version": version})["status"] == "closed"
    refused = client.post(f"/api/v1/notices/{nid}/report", json=_report(), headers=world.h("officer.hcm"))
    assert refused.status_code == 409

    with world.session() as s:
        actions = set(
            s.scalars(
                select(AuditEntry.action).where(AuditEntry.object_id == nid, AuditEntry.object_type == "warning_notice")
            )
        )
    assert {"notice.create", "notice.submit", "notice.approve", "notice.issue", "notice.acknowledge"} <= actions
    assert {"notice.report", "notice.report_correct", "notice.close"} <= actions


def _org_id(world: World, code: str) -> uuid.UUID:
    from interdict.accounts.models import Organisation

    with world.session() as s:
        return s.scalars(select(Organisation.id).where(Organisation.code == code)).one()


def test_the_docx_export_opens_and_holds_the_notice_in_vietnamese(client: TestClient, world: World) -> None:
    hidden = _post(
        client, world, "analyst", "/api/v1/incidents", minimal_incident(submit=True, distribution="unit")
    )  # the issuing unit's own incident: Hai Phong may not read it
    shared = _post(client, world, "officer.hp", "/api/v1/incidents", minimal_incident(submit=True))
    n = _issued(client, world, incidents=[hidden["reference"], shared["reference"]], report_deadline="2027-03-30")
    r = client.get(f"/api/v1/notices/{n['id']}/export.docx", headers=world.h("officer.hp"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
    document = docx.Document(io.BytesIO(r.content))
    text = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(c.text for t in document.tables for row in t.rows for c in row.cells)
    assert TITLE in text
    for paragraph in BODY.split("\n\n"):
        assert paragraph in text  # diacritics intact
    assert f"Số: {n['number']}" in cells
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in cells and "Độc lập - Tự do - Hạnh phúc" in cells
    assert re.search(r"Hà Nội, ngày \d{2} tháng \d{1,2} năm \d{4}", cells)
    assert "Nơi nhận:" in cells and "Hai Phong Customs" in cells and "HCMC Customs" in cells
    assert "CÔNG TY TNHH XNK HOÀNG PHÁT" in cells and "Mã HS" in cells  # risk indicators as a table
    assert "chậm nhất ngày 30 tháng 3 năm 2027" in text
    assert shared["reference"] in text and hidden["reference"] not in text  # only what Hai Phong may read
    assert "TLP:AMBER" in document.sections[0].header.paragraphs[0].text
    assert "TLP:AMBER" in document.sections[0].footer.paragraphs[0].text
    assert "Admin" in cells  # the approver signs
    with world.session() as s:
        assert s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "notice.export", AuditEntry.object_id == n["id"])
        )


def test_a_red_notice_is_never_exported(client: TestClient, world: World) -> None:
    n = _issued(client, world, tlp="RED")
    r = client.get(f"/api/v1/notices/{n['id']}/export.docx", headers=world.h("analyst"))
    assert r.status_code == 403 and "TLP:RED" in r.json()["error"]["message"]
    assert client.get(f"/api/v1/notices/{n['id']}", headers=world.h("officer.hp")).json()["tlp"] == "RED"


def test_units_not_addressed_get_404_and_no_search_hit(client: TestClient, world: World) -> None:
    n = _issued(client, world, recipients=["VNC-HP"])
    for user in ("officer.hcm", "police", "officer.kh"):  # another unit of the same tree, another agency, abroad
        assert client.get(f"/api/v1/notices/{n['id']}", headers=world.h(user)).status_code == 404
        assert client.get(f"/api/v1/notices/{n['id']}/export.docx", headers=world.h(user)).status_code == 404
        assert client.get("/api/v1/notices", params={"q": "canh bao"}, headers=world.h(user)).json()["total"] == 0
        assert client.get("/api/v1/notices/dashboard", headers=world.h(user)).json()["notices"] == []
        assert client.post(f"/api/v1/notices/{n['id']}/acknowledge", headers=world.h(user)).status_code == 404
    assert client.get("/api/v1/notices", params={"q": "canh bao"}, headers=world.h("officer.hp")).json()["total"] == 1
    # Widened to the agency tree, HCMC reads it (but is no recipient: it cannot acknowledge).
    wide = _issued(client, world, recipients=["VNC-HP"], distribution="organisation", title="Cảnh báo mở rộng")
    assert client.get(f"/api/v1/notices/{wide['id']}", headers=world.h("officer.hcm")).status_code == 200
    assert client.post(f"/api/v1/notices/{wide['id']}/acknowledge", headers=world.h("officer.hcm")).status_code == 403
    assert client.get(f"/api/v1/notices/{wide['id']}", headers=world.h("police")).status_code == 404
    # The web pages answer the same.
    login(client, "officer.hcm")
    assert client.get(f"/notices/{n['id']}").status_code == 404
    assert n["number"] not in client.get("/notices").text


def test_drafts_and_approved_notices_stay_inside_the_issuing_unit(client: TestClient, world: World) -> None:
    n = _post(client, world, "analyst", "/api/v1/notices", notice_body(distribution="all"))
    for user in ("officer.hp", "officer.hcm", "police"):
        assert client.get(f"/api/v1/notices/{n['id']}", headers=world.h(user)).status_code == 404
        assert client.get("/api/v1/notices", headers=world.h(user)).json()["total"] == 0
    n = _post(client, world, "analyst", f"/api/v1/notices/{n['id']}/submit", {"version": n["version"]})
    n = _post(client, world, "admin", f"/api/v1/notices/{n['id']}/approve", {"version": n["version"]})
    assert client.get(f"/api/v1/notices/{n['id']}", headers=world.h("officer.hp")).status_code == 404
    # Only a draft is edited, and only by the drafting unit.
    patched = client.patch(
        f"/api/v1/notices/{n['id']}", json={"version": n["version"], "title": "Khác"}, headers=world.h("analyst")
    )
    assert patched.status_code == 409


def test_search_finds_vietnamese_without_diacritics_and_filters(client: TestClient, world: World) -> None:
    n = _issued(client, world, recipients=["VNC-HP"])
    other = _post(
        client,
        world,
        "analyst",
        "/api/v1/notices",
        notice_body(title="Thông báo về ma túy tổng hợp", body="Heroin", risk_indicators=[], recipients=["VNC-HCM"]),
    )
    h = world.h("analyst")

    def found(**params: Any) -> list[str]:
        r = client.get("/api/v1/notices", params=params, headers=h)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    assert found(q="canh bao") == [n["id"]]
    assert found(q="CÁT LÁI") == [n["id"]]
    assert found(q="hoang phat") == [n["id"]]  # a risk indicator
    assert found(q="2915") == [n["id"]]
    assert found(q="ma tuy tong hop") == [other["id"]]
    assert found(q="canh bao xyzzy") == []
    assert found(status="draft") == [other["id"]]
    assert found(recipient="VNC-HP") == [n["id"]]
    assert found(recipient="vnc-hcm") == [other["id"]]
    assert set(found(year=date.today().year)) == {n["id"], other["id"]}
    assert found(year=2016) == []
    assert found(overdue=True) == [] and n["id"] in found(overdue=False)
    bad = client.get("/api/v1/notices", params={"recipient": "NOPE"}, headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["errors"][0]["field"] == "recipient"


def test_bad_input_names_the_field_and_writes_nothing(client: TestClient, world: World) -> None:
    h = world.h("analyst")
    r = client.post(
        "/api/v1/notices", json=notice_body(title="", risk_indicators=[{"kind": "planet", "value": "x"}]), headers=h
    )
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["error"]["errors"]} == {"title", "risk_indicators[0].kind"}
    r = client.post(
        "/api/v1/notices",
        json=notice_body(
            recipients=["VNC-HP", "NOPE", "VNC-ASID"],
            incidents=["VNC-HP-1999-00001"],
            entities=[str(uuid.uuid4())],
            report_deadline="2000-01-01",
        ),
        headers=h,
    )
    assert r.status_code == 422
    errors = {e["field"]: e["msg"] for e in r.json()["error"]["errors"]}
    assert set(errors) == {"recipients[1]", "recipients[2]", "incidents[0]", "entities[0]", "report_deadline"}
    assert "NOPE" in errors["recipients[1]"] and "itself" in errors["recipients[2]"]
    with world.session() as s:
        assert s.scalar(select(func.count()).select_from(WarningNotice)) == 0
    # An issue without recipients or deadline is refused naming both.
    n = _post(client, world, "analyst", "/api/v1/notices", notice_body(recipients=[], report_deadline=None))
    n = _post(client, world, "analyst", f"/api/v1/notices/{n['id']}/submit", {"version": n["version"]})
    n = _post(client, world, "admin", f"/api/v1/notices/{n['id']}/approve", {"version": n["version"]})
    r = client.post(f"/api/v1/notices/{n['id']}/issue", json={"version": n["version"]}, headers=h)
    assert r.status_code == 422 and {e["field"] for e in r.json()["error"]["errors"]} == {
        "recipients",
        "report_deadline",
    }
    # A report without its counts; a return to draft without a comment.
    bad = client.post(
        "/api/v1/notices/" + n["id"] + "/return", json={"version": n["version"]}, headers=world.h("admin")
    )
    assert bad.status_code == 409  # approved already: nothing to review
    # The web form shows each message next to its field.
    csrf = login(client, "analyst")
    page = client.post(
        "/notices/new",
        data={
            "csrf_token": csrf,
            "notice_date": "2026-03-14",
            "title": "Cảnh báo",
            "body": "Nội dung",
            "recipients": ["NOPE"],
            "report_deadline": "2026-01-01",
        },
    )
    assert page.status_code == 422
    shown = dict(re.findall(r'class="field-error" data-for="([^"]+)">([^<]+)<', page.text))
    assert set(shown) == {"recipients", "report_deadline"}
    assert 'value="Cảnh báo"' in page.text  # what was typed is kept


def test_edits_use_the_version_read(client: TestClient, world: World) -> None:
    n = _post(client, world, "analyst", "/api/v1/notices", notice_body())
    h = world.h("analyst")
    ok = client.patch(f"/api/v1/notices/{n['id']}", json={"version": n["version"], "title": "Cảnh báo mới"}, headers=h)
    assert ok.status_code == 200 and ok.json()["version"] == 2 and ok.json()["title"] == "Cảnh báo mới"
    stale = client.patch(f"/api/v1/notices/{n['id']}", json={"version": 1, "title": "Cảnh báo cũ"}, headers=h)
    assert stale.status_code == 409 and "version 1" in stale.json()["error"]["message"]
    other_unit = client.patch(
        f"/api/v1/notices/{n['id']}", json={"version": 2, "title": "Cảnh báo X"}, headers=world.h("officer.hp")
    )
    assert other_unit.status_code == 404


def test_numbering_follows_the_organisation_pattern(client: TestClient, world: World) -> None:
    year = date.today().year
    h, admin = world.h("analyst"), world.h("admin")
    assert client.get("/api/v1/notices/numbering", headers=h).json()["next_number"] == f"1/{year}/VNC-ASID"
    refused = client.put("/api/v1/notices/numbering", json={"number_pattern": "{seq}/CBL"}, headers=h)
    assert refused.status_code == 403
    bad = client.put("/api/v1/notices/numbering", json={"number_pattern": "CBL-{year}"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["error"]["errors"][0]["field"] == "number_pattern"
    set_ = client.put(
        "/api/v1/notices/numbering", json={"number_pattern": "{seq}/CBL-ĐTCBL", "place": "Hà Nội"}, headers=admin
    )
    assert set_.status_code == 200 and set_.json()["next_number"] == "1/CBL-ĐTCBL"
    first = _post(client, world, "analyst", "/api/v1/notices", notice_body())
    typed = _post(client, world, "analyst", "/api/v1/notices", notice_body(number="2/CBL-ĐTCBL"))
    assert (first["number"], typed["number"]) == ("1/CBL-ĐTCBL", "2/CBL-ĐTCBL")
    assert (
        client.get("/api/v1/notices/numbering", headers=h).json()["next_number"] == "3/CBL-ĐTCBL"
    )  # typed one skipped
    dup = client.post("/api/v1/notices", json=notice_body(number="1/CBL-ĐTCBL"), headers=h)
    assert dup.status_code == 422 and dup.json()["error"]["errors"][0]["field"] == "number"


def test_attachments_and_a_return_to_draft(client: TestClient, world: World) -> None:
    h = world.h("analyst")
    n = _post(client, world, "analyst", "/api/v1/notices", notice_body(recipients=["VNC-HP"]))
    url = f"/api/v1/notices/{n['id']}/attachments"
    ok = client.post(
        url, files={"file": ("danh-sach.csv", "Công ty,Mã HS\nHoàng Phát,2915.24\n".encode(), "text/plain")}, headers=h
    )
    assert ok.status_code == 201 and ok.json()["content_type"] == "text/csv"
    exe = client.post(url, files={"file": ("x.pdf", b"MZ\x90\x00" + b"\x00" * 200, "application/pdf")}, headers=h)
    assert exe.status_code == 422 and exe.json()["error"]["errors"][0]["field"] == "file"
    # The supervisor returns it with a comment (required); the drafter is told and may edit again.
    n = _post(client, world, "analyst", f"/api/v1/notices/{n['id']}/submit", {"version": n["version"]})
    bare = client.post(f"/api/v1/notices/{n['id']}/return", json={"version": n["version"]}, headers=world.h("admin"))
    assert bare.status_code == 422 and bare.json()["error"]["errors"][0]["field"] == "comment"
    n = _post(
        client,
        world,
        "admin",
        f"/api/v1/notices/{n['id']}/return",
        {"version": n["version"], "comment": "Bổ sung số liệu"},
    )
    assert n["status"] == "draft" and n["review_comment"] == "Bổ sung số liệu"
    assert _told(world, n["id"], "notice.returned") == _user_ids(world, "analyst")
    n = _post(client, world, "analyst", f"/api/v1/notices/{n['id']}/submit", {"version": n["version"]})
    n = _post(client, world, "admin", f"/api/v1/notices/{n['id']}/approve", {"version": n["version"]})
    n = _post(client, world, "analyst", f"/api/v1/notices/{n['id']}/issue", {"version": n["version"]})
    late = client.post(url, files={"file": ("b.txt", b"b", "text/plain")}, headers=h)
    assert late.status_code == 409  # attachments belong to the draft
    att = n["attachments"][0]
    got = client.get(f"{url}/{att['id']}", headers=world.h("officer.hp"))
    assert got.status_code == 200 and "Hoàng Phát" in got.content.decode()
    assert client.get(f"{url}/{att['id']}", headers=world.h("officer.hcm")).status_code == 404
    with world.session() as s:
        assert s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "notice.attachment_download")
        )


def test_a_linked_persons_name_is_shown_with_an_audited_read(client: TestClient, world: World) -> None:
    """A notice's linked entities are named as written in an incident the reader may read; a person's name is that
    incident's person data, and showing it records the read (issue 16). A reader who may not see the persons sees
    only the company, and nothing is recorded."""
    from interdict.entities.models import Entity
    from interdict.linkage.tasks import drain
    from tests.audit.test_audit import entries_since, last_seq

    person = {"role": "person_involved", "kind": "person", "name": "Trần Thị Mai"}
    parties = [{"role": "consignee", "kind": "company", "name": "Cong ty Minh Long Trading"}, person]
    inc = _post(
        client,
        world,
        "officer.hp",
        "/api/v1/incidents",
        minimal_incident(submit=True, distribution="all", tlp="GREEN", share_nominal=False, parties=parties),
    )
    drain(world.app.state.sessionmaker)
    with world.session() as s:
        ids = {e.kind: str(e.id) for e in s.scalars(select(Entity).where(Entity.kind.in_(["company", "person"])))}
    notice = _issued(client, world, entities=[ids["person"], ids["company"]], distribution="all", tlp="GREEN")

    def nominal_reads(mark: int) -> list[tuple[str | None, str]]:
        return [(e.object_label, e.summary) for e in entries_since(world, mark) if e.action == "incident.read_nominal"]

    mark = last_seq(world)
    read = client.get(f"/api/v1/notices/{notice['id']}", headers=world.h("officer.hcm")).json()
    assert sorted(e["name"] for e in read["entities"]) == ["Cong ty Minh Long Trading", "Trần Thị Mai"]
    assert nominal_reads(mark) == [(inc["reference"], "1 natural person(s) shown in a warning notice")]
    mark = last_seq(world)
    read = client.get(f"/api/v1/notices/{notice['id']}", headers=world.h("officer.kh")).json()
    assert [e["name"] for e in read["entities"]] == ["Cong ty Minh Long Trading"]
    assert nominal_reads(mark) == []
