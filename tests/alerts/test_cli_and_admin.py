"""`interdict alerts tick` as an operator runs it (a real subprocess on the test database), and naming a unit's
head on the administration page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

from fastapi.testclient import TestClient

from interdict.alerts import service as alerts
from interdict.alerts.schemas import AlertCreate
from interdict.core.clock import utcnow
from tests.alerts.conftest import alert_body, told, unit_usernames
from tests.conftest import World
from tests.web.test_pages import login


def test_the_cli_sends_what_is_due(client: TestClient, world: World, tmp_path: object) -> None:
    subject = world.subject("analyst")
    with world.session() as s:  # issued three hours ago (the clock is injected, not waited for)
        alert = alerts.issue_alert(
            s,
            subject,
            AlertCreate.model_validate(alert_body(addressees=["VNC-HCM"])),
            now=utcnow() - timedelta(hours=3),
        )
        ref, alert_id = alert.reference, str(alert.id)
    env = {
        **os.environ,
        "INTERDICT_DATABASE_URL": world.app.state.settings.effective_database_url,
        "INTERDICT_DATA_DIR": str(tmp_path),
        "INTERDICT_ALERT_REMIND_MINUTES": json.dumps({"urgent": 60}),
        "INTERDICT_ALERT_ESCALATE_MINUTES": json.dumps({"urgent": 120}),
    }
    run = subprocess.run(
        [sys.executable, "-m", "interdict", "alerts", "tick"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert f"reminded VNC-HCM of {ref}" in run.stdout and f"escalated {ref}: VNC-HCM" in run.stdout
    assert told(world, alert_id, "rapid_alert.reminder") == unit_usernames(world, "VNC-HCM")
    again = subprocess.run(
        [sys.executable, "-m", "interdict", "alerts", "tick"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert again.returncode == 0 and ref not in again.stdout  # each happens once
    bad = subprocess.run(
        [sys.executable, "-m", "interdict", "alerts", "tick"],
        env={**env, "INTERDICT_ALERT_REMIND_MINUTES": json.dumps({"soon": 5})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert bad.returncode != 0 and "'soon' is not an urgency" in bad.stderr


def test_admin_names_a_units_head_on_the_page(client: TestClient, world: World, qn: str) -> None:
    csrf = login(client, "admin")
    page = client.get("/admin").text
    assert 'action="/admin/organisations/VNC-QN/head"' in page
    r = client.post("/admin/organisations/VNC-QN/head", data={"csrf_token": csrf, "head_username": "officer.hp"})
    assert r.status_code == 422 and "no active user &#39;officer.hp&#39; in VNC-QN" in r.text
    ok = client.post(
        "/admin/organisations/VNC-QN/head",
        data={"csrf_token": csrf, "head_username": "officer.qn"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    orgs = {o["code"]: o for o in client.get("/api/v1/organisations", headers=world.h("admin")).json()}
    with world.session() as s:
        from interdict.accounts.service import get_user_by_username

        officer = get_user_by_username(s, "officer.qn")
        assert officer is not None and orgs["VNC-QN"]["head_user_id"] == str(officer.id)
    assert "selected>Officer.Qn (officer.qn)" in client.get("/admin").text
