"""One submit reports every problem of a form: the format errors and the checks against what is recorded (unknown
substance, unknown unit, a port in another country), each next to its field and listed in the summary at the top,
with what was typed kept."""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from interdict.alerts.models import RapidAlert
from interdict.notices.models import WarningNotice
from tests.conftest import World, run_jobs
from tests.targeting.workflow_data import GOOD, write
from tests.web.test_pages import login


def _count(world: World, model: type) -> int:
    with world.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _field_error(page: str, field: str) -> str:
    """The messages next to ``field`` (joined), or "" if there is none."""
    return " | ".join(re.findall(rf'<p class="field-error"[^>]*data-for="{re.escape(field)}"[^>]*>([^<]*)</p>', page))


def test_the_rapid_alert_form_reports_format_and_directory_problems_in_one_submit(
    client: TestClient, world: World
) -> None:
    csrf = login(client, "analyst")
    before = _count(world, RapidAlert)
    form = {
        "csrf_token": csrf,
        "subject": "P",  # too short: a format error
        "urgency": "urgent",
        "containers": "CSQU3054383, CSQU3054384",  # the second has a wrong check digit
        "vessel_imo": "9074728",  # wrong check digit
        "substances": "Zyxquorblatine\nephedrine",  # the first is not in the catalogue
        "incidents": "NO-SUCH-INCIDENT",
        "addressees": "VNC-HP, NOPE",  # the second is no unit
        "tlp": "AMBER",
        "distribution": "unit",
    }
    r = client.post("/alerts/new", data=form)
    assert r.status_code == 422
    page = r.text
    assert _field_error(page, "subject")
    assert "wrong check digit (expected 3)" in _field_error(page, "containers")
    assert "wrong check digit" in _field_error(page, "vessel_imo")
    # The checks against the catalogue and the directory speak in the same answer, not on a second submit.
    assert "Zyxquorblatine" in _field_error(page, "substances")
    assert "NOPE" in _field_error(page, "addressees")
    assert "NO-SUCH-INCIDENT" in _field_error(page, "incidents")
    # The summary at the top lists each problem as a link to its field.
    summary = re.search(r'<div[^>]*id="form-errors"[^>]*>(.*?)</div>', page, re.S)
    assert summary, "no error summary"
    for field in ("subject", "containers", "vessel_imo", "substances", "addressees", "incidents"):
        assert f'href="#{field}"' in summary.group(1), field
    # What was typed is kept.
    assert "Zyxquorblatine" in page and "CSQU3054384" in page and 'value="NOPE' not in page
    assert 'value="VNC-HP, NOPE"' in page
    assert _count(world, RapidAlert) == before


def test_the_incident_form_reports_format_and_catalogue_problems_in_one_submit(
    client: TestClient, world: World
) -> None:
    token = login(client)
    form = {
        "csrf_token": token,
        "incident_type": "seizure",
        "incident_date": "2026-01-05",
        "country": "VN",
        "locode": "KHPNH",  # a port in another country than the incident's: a check across fields
        "substances-0-substance": "unobtainium",  # not in the catalogue
        "substances-0-quantity": "5",
        "substances-0-unit": "kg",
        "substances-1-substance": "ephedrine",
        "substances-1-quantity": "-2",  # a format error on another line
        "substances-1-unit": "kg",
        "substances-2-substance": "Zyxquorblatine",  # after the malformed line: still named on its own line
        "containers-0-number": "CSQU3054384",  # wrong check digit
        "narrative": "keep <this> text",
        "action": "submit",
    }
    r = client.post("/incidents/new", data=form)
    assert r.status_code == 422
    page = r.text
    assert "expected 3" in _field_error(page, "containers-0-number")
    assert _field_error(page, "substances-1-quantity")
    assert "unknown substance" in _field_error(page, "substances-0-substance")
    assert "Zyxquorblatine" in _field_error(page, "substances-2-substance")
    assert "KHPNH" in _field_error(page, "locode")
    assert "keep &lt;this&gt; text" in page and 'value="unobtainium"' in page
    summary = re.search(r'<div[^>]*id="form-errors"[^>]*>(.*?)</div>', page, re.S)
    assert summary, "no error summary"
    for field in ("containers-0-number", "substances-1-quantity", "substances-0-substance-label", "locode"):
        assert f'href="#{field}"' in summary.group(1), field
    assert client.get("/api/v1/incidents", headers=world.h("officer.hp")).json()["total"] == 0


def test_the_incident_edit_form_reports_every_problem_in_one_submit(client: TestClient, world: World) -> None:
    token = login(client)
    created = client.post(
        "/incidents/new",
        data={
            "csrf_token": token,
            "incident_type": "seizure",
            "incident_date": "2026-01-05",
            "country": "VN",
            "action": "save",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    ref = created.headers["location"].split("/incidents/")[1].split("?")[0]
    r = client.post(
        f"/incidents/{ref}/edit",
        data={
            "csrf_token": token,
            "version": "1",
            "incident_type": "seizure",
            "incident_date": "2026-01-05",
            "country": "VN",
            "vessel_imo": "9074728",
            "substances-0-substance": "unobtainium",
        },
    )
    assert r.status_code == 422
    assert "wrong check digit" in _field_error(r.text, "vessel_imo")
    assert "unknown substance" in _field_error(r.text, "substances-0-substance")


def test_the_notice_form_reports_format_and_directory_problems_in_one_submit(client: TestClient, world: World) -> None:
    token = login(client, "analyst")
    before = _count(world, WarningNotice)
    r = client.post(
        "/notices/new",
        data={
            "csrf_token": token,
            "notice_date": "2026-01-05",
            "title": "T",  # too short
            "body": "Watch for acetic anhydride.",
            "recipients": "NOPE",
            "incidents": "NO-SUCH-INCIDENT",
            "report_deadline": "2026-01-01",  # before the notice's date
        },
    )
    assert r.status_code == 422
    assert _field_error(r.text, "title")
    assert "NOPE" in _field_error(r.text, "recipients")
    assert "NO-SUCH-INCIDENT" in _field_error(r.text, "incidents")
    assert _field_error(r.text, "report_deadline")
    assert _count(world, WarningNotice) == before


def test_a_load_for_the_wrong_mapping_gets_one_message_and_keeps_the_file_and_the_values(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    token = login(client)
    path = write(tmp_path / "manifest.csv", GOOD)
    with path.open("rb") as fh:
        r = client.post(
            "/targeting/upload",
            data={"csrf_token": token, "mapping": "kcs-customs-declarations", "batch_name": "EVER KEPT 7E"},
            files={"file": (path.name, fh, "text/csv")},
        )
    assert r.status_code == 422
    page = r.text
    # One message naming the missing columns, next to the mapping, not one per column.
    message = _field_error(page, "mapping")
    assert "manifest.csv lacks the columns" in message and message.count("lacks") == 1
    assert page.count('class="field-error"') == 1
    assert 'href="#t-mapping"' in page  # the summary links to the mapping
    # The values and the file are kept: the file is named with its size, and a new submit may leave it out.
    assert 'value="EVER KEPT 7E"' in page
    kept = re.search(r'name="kept" value="([0-9a-f]{32})"', page)
    assert kept, "the file is not kept"
    size = -(-path.stat().st_size // 1024)
    assert f"The file manifest.csv ({size} kB) is kept" in html.unescape(page)
    assert 'id="t-file" name="file" type="file" accept=".csv,.xlsx,.json" aria-describedby="t-kept"' in page

    # Another user cannot use it.
    other = login(client, "officer2.hp")
    r = client.post(
        "/targeting/upload",
        data={"csrf_token": other, "mapping": "generic-manifest", "batch_name": "x", "kept": kept.group(1)},
    )
    assert r.status_code == 422 and "choose a file to load" in r.text

    token = login(client)
    r = client.post(
        "/targeting/upload",
        data={"csrf_token": token, "mapping": "generic-manifest", "batch_name": "EVER KEPT 7E", "kept": kept.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert run_jobs(world.app) == 1
    job = client.get(r.headers["location"])
    assert 'data-status="done"' in job.text and "EVER KEPT 7E" in job.text
    # Used once: the kept file is gone.
    r = client.post(
        "/targeting/upload",
        data={"csrf_token": token, "mapping": "generic-manifest", "batch_name": "again", "kept": kept.group(1)},
    )
    assert r.status_code == 422 and "choose a file to load" in r.text


def test_a_refused_file_is_not_kept(client: TestClient, world: World, tmp_path: Path) -> None:
    token = login(client)
    bad = tmp_path / "evil.csv"
    bad.write_bytes(b"\x00\x01\x02garbage")
    with bad.open("rb") as fh:
        r = client.post(
            "/targeting/upload",
            data={"csrf_token": token, "mapping": "generic-manifest", "batch_name": "EVER BAD 1"},
            files={"file": (bad.name, fh, "text/csv")},
        )
    assert r.status_code == 422
    assert _field_error(r.text, "file") and 'name="kept"' not in r.text and 'value="EVER BAD 1"' in r.text


def test_an_incident_import_of_another_format_gets_one_message_on_the_form(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    """A targeting manifest chosen by mistake: the form says at once which columns it lacks, in one message (and
    one for the columns it does not know), not one error per column, and queues nothing."""
    token = login(client)
    path = write(tmp_path / "manifest.csv", GOOD)
    with path.open("rb") as fh:
        r = client.post(
            "/incidents/import",
            data={"csrf_token": token, "skip_invalid": "on"},
            files={"file": (path.name, fh, "text/csv")},
            follow_redirects=False,
        )
    assert r.status_code == 422
    messages = _field_error(r.text, "file").split(" | ")
    assert len(messages) == 2, messages
    assert "lacks the columns incident_type, incident_date, country" in messages[0]
    assert "does not know" in messages[1]
    assert 'href="#i-file"' in r.text
    assert 'name="skip_invalid" checked' in r.text  # the value is kept
    assert run_jobs(world.app) == 0


def test_a_refused_attachment_comes_back_on_the_incident_page_with_its_description(
    client: TestClient, world: World
) -> None:
    token = login(client)
    created = client.post(
        "/incidents/new",
        data={"csrf_token": token, "incident_type": "seizure", "incident_date": "2026-01-05", "country": "VN"},
        follow_redirects=False,
    )
    ref = created.headers["location"].split("/incidents/")[1].split("?")[0]
    r = client.post(
        f"/incidents/{ref}/attachments",
        data={"csrf_token": token, "description": "Photo of the drums <at the quay>"},
        files={"file": ("tool.exe", b"MZ\x90\x00\x03binary", "application/octet-stream")},
    )
    assert r.status_code == 422
    assert "this file type is not accepted" in _field_error(r.text, "file")
    assert 'value="Photo of the drums &lt;at the quay&gt;"' in r.text  # kept, escaped
    assert 'href="#file"' in r.text and ref in r.text
    assert client.get(f"/api/v1/incidents/{ref}/attachments", headers=world.h("officer.hp")).json() == []
