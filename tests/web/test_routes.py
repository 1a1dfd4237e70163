"""Every route is behind authentication, and no page loads anything from outside Interdict."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from tests.conftest import World
from tests.web.test_pages import login

# Reachable without logging in, each for a stated reason.
PUBLIC = {
    ("GET", "/healthz"),  # load-balancer probe; says only "ok"
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/lang/{lang}"),  # display-language preference cookie, so the login page can be read in Vietnamese
    # The second login step: reachable only with the 5-minute cookie of a checked password (else back to /login).
    ("GET", "/login/2fa"),
    ("POST", "/login/2fa"),
    ("GET", "/login/2fa/setup"),
    ("POST", "/login/2fa/setup"),
    # OpenID Connect: the redirect to the agency's provider, and its callback (grants a login only for a
    # provider-signed ID token matching this browser's signed state cookie; see tests/accounts/test_oidc.py).
    ("GET", "/login/oidc"),
    ("GET", "/login/oidc/callback"),
}
PUBLIC_MOUNTS = {"/static", "/api/docs/assets"}  # CSS, JS and the Swagger UI bundle: no data


def _path(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", template)


def all_routes(routes: list[Any]) -> Iterator[tuple[str, set[str], Any]]:
    """(path, methods, route) for every route, including those of included routers (FastAPI >= 0.16x)."""
    for route in routes:
        if hasattr(route, "effective_route_contexts"):
            for ctx in route.effective_route_contexts():
                original = ctx.original_route
                yield ctx.path or original.path, set(getattr(original, "methods", set())), original
        else:
            yield route.path, set(getattr(route, "methods", None) or set()), route


def test_every_route_requires_authentication(client: TestClient, world: World) -> None:
    seen = 0
    for path, methods, route in all_routes(client.app.routes):  # type: ignore[attr-defined]
        if isinstance(route, Mount):
            assert path in PUBLIC_MOUNTS, path
            continue
        assert isinstance(route, APIRoute), route
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            if (method, path) in PUBLIC:
                continue
            seen += 1
            r = client.request(method, _path(path), follow_redirects=False)
            if path.startswith("/api/") and path != "/api/docs":
                assert r.status_code == 401, (method, path, r.status_code)
            else:
                assert r.status_code == 303 and r.headers["location"].startswith("/login"), (
                    method,
                    path,
                    r.status_code,
                )
    assert seen >= 40


def test_pages_load_nothing_from_outside(client: TestClient, world: World) -> None:
    login(client)
    for path in ["/login", "/dashboard", "/incidents", "/incidents/new", "/account/tokens", "/api/docs", "/graph"]:
        html = client.get(path).text
        for attr in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not re.match(r"^(https?:)?//", attr), (path, attr)
    assert client.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "Interdict"


# Bodies that get each API route past request validation, so its handler (and its decision) runs.
API_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/targeting/profiles"): {
        "name": "p2",
        "criteria": {"field": "country_origin", "op": "eq", "value": "CN"},
        "weight": 0.2,
        "rationale": "r",
    },
    ("PATCH", "/api/v1/targeting/profiles/{profile_id}"): {"weight": 0.3},
    ("POST", "/api/v1/targeting/records/{record_id}/outcome"): {"outcome": "nothing_found"},
    ("POST", "/api/v1/targeting/records/{record_id}/assign"): {"username": "admin"},
    ("POST", "/api/v1/tokens"): {"name": "route test", "scopes": ["read"]},
    ("POST", "/api/v1/organisations"): {
        "code": "RT-UNIT",
        "name": "Route test unit",
        "kind": "department",
        "country": "VN",
        "parent_code": "VNC",
    },
    ("POST", "/api/v1/users"): {
        "username": "route.test",
        "full_name": "Route Test",
        "role": "viewer",
        "org_code": "VNC-ASID",
        "password": "a long enough passphrase 42",
    },
    ("POST", "/api/v1/incidents/search"): {},
    ("PATCH", "/api/v1/incidents/{incident_id}"): {"version": 1, "narrative": "route test"},
    ("POST", "/api/v1/incidents/{incident_id}/submit"): {"version": 1},
    ("POST", "/api/v1/incidents/{incident_id}/close"): {"version": 1},
    ("POST", "/api/v1/incidents/{incident_id}/reopen"): {"version": 1},
    ("POST", "/api/v1/incidents/{incident_id}/sharing"): {
        "version": 1,
        "distribution": "unit",
        "tlp": "AMBER",
        "share_nominal": False,
    },
    ("POST", "/api/v1/sharing-groups"): {"code": "RT-GROUP", "name": "Route test group"},
    ("PUT", "/api/v1/sharing-groups/{group_id}/members"): {"members": []},
    ("POST", "/api/v1/watch/rules"): {"name": "rt", "filter": {"field": "type", "op": "eq", "value": "seizure"}},
    ("PATCH", "/api/v1/watch/rules/{rule_id}"): {"name": "rt2"},
    ("POST", "/api/v1/watch/lists"): {"name": "rt"},
    ("POST", "/api/v1/watch/lists/{list_id}/entries"): {"kind": "company", "value": "Minh Long JSC", "reason": "rt"},
    ("PATCH", "/api/v1/notices/{notice_id}"): {"version": 1, "place": "Hà Nội"},
    ("PUT", "/api/v1/notices/numbering"): {"number_pattern": "{seq}/{year}/RT"},
    **{
        ("POST", f"/api/v1/notices/{{notice_id}}/{step}"): {"version": 1}
        for step in ("submit", "approve", "return", "issue", "close")
    },
    ("POST", "/api/v1/notices/{notice_id}/report"): {
        "checked_what": "route test",
        "shipments_checked": 0,
        "declarations_checked": 0,
        "result": "nothing_found",
    },
    ("PATCH", "/api/v1/organisations/{code}"): {"head_username": None},
    ("PATCH", "/api/v1/users/{user_id}"): {"full_name": "Route Target"},
    ("PATCH", "/api/v1/me"): {"time_zone": None},
    ("POST", "/api/v1/alerts"): {"subject": "Route test", "addressees": ["VNC-HP"]},
    ("POST", "/api/v1/alerts/{alert_id}/responses"): {"text": "route test"},
    ("POST", "/api/v1/alerts/{alert_id}/close"): {"status": "closed"},
    ("POST", "/api/v1/notifications/read"): {"all": True},
    ("PUT", "/api/v1/notifications/preferences"): {"email_urgencies": ["urgent"], "digest": "daily", "digest_hour": 1},
    ("POST", "/api/v1/webhooks"): {"name": "route test", "url": "http://127.0.0.1:9/hook"},
}
# Query parameters that a route requires (filled like path parameters).
API_PARAMS: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/api/v1/graph"): {"start": "{incident_id}"},
    ("GET", "/api/v1/graph/export.ftm.json"): {"start": "{incident_id}"},
}


def test_every_route_makes_an_authorisation_decision(client: TestClient, world: World) -> None:
    """Authenticated is not enough: each route must also decide what this user may see or do (through
    sharing.readable/editable or an explicit rule: own account, administrators, any participant)."""
    from sqlalchemy import select

    from interdict.entities.models import Entity, EntityLink
    from interdict.linkage.tasks import drain
    from interdict.sharing.service import observe_decisions
    from tests.conftest import minimal_incident
    from tests.notices.conftest import notice_body

    h = world.h("admin")
    incident = client.post("/api/v1/incidents", json=minimal_incident(), headers=h).json()
    attachment = client.post(
        f"/api/v1/incidents/{incident['id']}/attachments", files={"file": ("a.txt", b"x", "text/plain")}, headers=h
    ).json()
    token = client.post("/api/v1/tokens", json={"name": "t", "scopes": ["read"]}, headers=h).json()
    group = client.post("/api/v1/sharing-groups", json={"code": "RT-G0", "name": "Group"}, headers=h).json()
    with world.session() as s:
        from interdict.accounts.models import User
        from interdict.notifications import service as notifications

        admin_id = s.scalars(select(User.id).where(User.username == "admin")).one()
        [note] = notifications.notify(
            s,
            user_ids=[admin_id],
            kind="watch.rule",
            ref_type="incident",
            ref_id=uuid.UUID(incident["id"]),
            event_key="route-test",
        )
        note_id = note.id
    from tests.notifications.conftest import webhook_networks

    with webhook_networks(world.app, ["127.0.0.1/32"]):  # an internal receiver, as the operator may allow
        endpoint = client.post("/api/v1/webhooks", json={"name": "RT", "url": "http://127.0.0.1:9/"}, headers=h).json()
    substance = client.get("/api/v1/reference/substances", params={"q": "P2P"}, headers=h).json()[0]
    alert = client.post("/api/v1/alerts", json={"subject": "Route test", "addressees": ["VNC-HP"]}, headers=h).json()
    for name in ("CÔNG TY TNHH XNK HOÀNG PHÁT", "Hoang Phat Import Export Co., Ltd"):  # two linked records
        body = minimal_incident(submit=True, parties=[{"role": "shipper", "name": name}])
        assert client.post("/api/v1/incidents", json=body, headers=h).status_code == 201
    notice = client.post("/api/v1/notices", json=notice_body(), headers=h).json()
    drain(world.app.state.sessionmaker)
    watch_rule = client.post(
        "/api/v1/watch/rules",
        json={"name": "r", "filter": {"field": "type", "op": "eq", "value": "seizure"}},
        headers=h,
    ).json()
    watch_list = client.post("/api/v1/watch/lists", json={"name": "l"}, headers=h).json()
    entry = client.post(
        f"/api/v1/watch/lists/{watch_list['id']}/entries",
        json={"kind": "company", "value": "Hoang Phat JSC", "reason": "r"},
        headers=h,
    ).json()
    profile = client.post(
        "/api/v1/targeting/profiles",
        json={
            "name": "p",
            "criteria": {"field": "hs_code", "op": "eq", "value": "29"},
            "weight": 0.5,
            "rationale": "r",
        },
        headers=h,
    ).json()
    import tempfile
    from pathlib import Path

    from tests.targeting.workflow_data import GOOD, load, write

    with tempfile.TemporaryDirectory() as tmp:
        loaded = load(world, write(Path(tmp) / "m.csv", GOOD), user="admin")
    with world.session() as s:
        from interdict.targeting.models import TargetingRecord

        target_id = s.scalars(select(TargetingRecord.id).where(TargetingRecord.batch_id == loaded["batch_id"])).first()
    job = client.post(
        "/api/v1/incidents/import",
        files={"file": ("in.csv", b"incident_type,incident_date,country\n", "text/csv")},
        headers=h,
    ).json()
    with world.session() as s:
        link_id = s.scalars(select(EntityLink.id)).first()
        entity_id = s.scalars(select(Entity.id)).first()
    assert link_id and entity_id
    values = {
        "link_id": link_id,
        "entity_id": entity_id,
        "verdict": "reject",
        "incident_id": incident["id"],
        "ref": incident["reference"],
        "attachment_id": attachment["id"],
        "token_id": token["id"],
        "group_id": group["id"],
        "endpoint_id": endpoint["id"],
        "notification_id": note_id,
        "action": "disable",
        "substance_id": substance["id"],
        "scheme": "modus",
        # A user of its own: the walk deactivates it and resets its password (the shared test users stay as they are).
        "user_id": client.post(
            "/api/v1/users",
            json={
                "username": f"route.target.{uuid.uuid4().hex[:6]}",
                "full_name": "Route Target",
                "role": "viewer",
                "org_code": "VNC-HP",
                "password": "a long enough passphrase 42",
            },
            headers=h,
        ).json()["id"],
        "code": "VNC-ASID",
        "rule_id": watch_rule["id"],
        "list_id": watch_list["id"],
        "entry_id": entry["id"],
        "notice_id": notice["id"],
        "alert_id": alert["id"],
        "profile_id": profile["id"],
        "batch_id": loaded["batch_id"],
        "record_id": target_id,
        "job_id": job["id"],
        "lang": "en",
    }

    def fill(template: str) -> str:
        return re.sub(r"\{([^}]+)\}", lambda m: str(values[m.group(1)]), template)

    decisions: list[str] = []
    stop = observe_decisions(decisions.append)
    undecided = []
    try:
        csrf = login(client, "admin")
        routes = sorted(
            ((p, m, r) for p, ms, r in all_routes(client.app.routes) for m in ms - {"HEAD", "OPTIONS"}),  # type: ignore[attr-defined]
            key=lambda x: x[0] in ("/logout", "/account/logout-everywhere"),  # last: they end the session
        )
        checked = 0
        for path, method, route in routes:
            if isinstance(route, Mount) or (method, path) in PUBLIC:
                continue
            decisions.clear()
            url = fill(path)
            if path.startswith("/api/") and path != "/api/docs":
                if (method, path) == ("POST", "/api/v1/incidents/{incident_id}/attachments"):
                    r = client.post(url, files={"file": ("b.txt", b"y", "text/plain")}, headers=h)
                elif (method, path) == ("POST", "/api/v1/notices/{notice_id}/attachments"):
                    r = client.post(url, files={"file": ("c.txt", b"z", "text/plain")}, headers=h)
                elif (method, path) == ("POST", "/api/v1/incidents"):
                    r = client.post(url, json=minimal_incident(), headers=h)
                elif (method, path) == ("POST", "/api/v1/targeting/batches"):
                    manifest = b"record_id,date\nX1,2026-03-10\n"
                    data = {"mapping": "generic-manifest"}
                    r = client.post(url, data=data, files={"file": ("m.csv", manifest, "text/csv")}, headers=h)
                elif (method, path) == ("POST", "/api/v1/incidents/import"):
                    files = {"file": ("in.csv", b"incident_type,incident_date,country\n", "text/csv")}
                    r = client.post(url, files=files, headers=h)
                elif (method, path) == ("POST", "/api/v1/targeting/batches/{batch_id}/select"):
                    r = client.post(url, json={"record_ids": [str(values["record_id"])]}, headers=h)
                elif (method, path) == ("POST", "/api/v1/notices"):
                    r = client.post(url, json=notice_body(), headers=h)
                else:
                    params = {k: fill(v) for k, v in API_PARAMS.get((method, path), {}).items()}
                    r = client.request(method, url, json=API_BODIES.get((method, path)), params=params, headers=h)
            else:
                if path in ("/logout", "/account/logout-everywhere"):
                    csrf = login(client, "admin")  # each of them ends the session
                data = {"csrf_token": csrf} if method == "POST" else None
                r = client.request(method, url, data=data, follow_redirects=False)
            checked += 1
            if not decisions:
                undecided.append((method, path, r.status_code))
    finally:
        stop()
    assert checked >= 50
    assert undecided == []


# POST routes that change nothing (a search whose filter tree travels in the body): the read scope suffices.
READ_ONLY_POSTS = {("POST", "/api/v1/incidents/search")}
# Administration: only an admin-scoped token (or a web session of an administrator) gets past the scope check.
ADMINISTRATION = {
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("POST", "/api/v1/organisations"),
    ("PATCH", "/api/v1/organisations/{code}"),
    ("GET", "/api/v1/users/{user_id}"),
    ("PATCH", "/api/v1/users/{user_id}"),
    ("POST", "/api/v1/users/{user_id}/deactivate"),
    ("POST", "/api/v1/users/{user_id}/reactivate"),
    ("POST", "/api/v1/users/{user_id}/reset-password"),
    ("POST", "/api/v1/sharing-groups"),
    ("PUT", "/api/v1/sharing-groups/{group_id}/members"),
    # API tokens are managed from a web session or with an admin-scoped token.
    ("GET", "/api/v1/tokens"),
    ("POST", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/{token_id}"),
}


def _token(world: World, username: str, scopes: list[str]) -> dict[str, str]:
    from interdict.accounts import service as accounts
    from interdict.accounts.schemas import TokenCreate

    with world.session() as s:
        user = accounts.get_user_by_username(s, username)
        assert user is not None
        token, _row = accounts.create_api_token(
            s,
            user,
            TokenCreate(name=f"scope test {uuid.uuid4().hex[:6]}", scopes=scopes),  # type: ignore[arg-type]
            pepper=world.app.state.pepper,
        )
    return {"Authorization": f"Bearer {token}"}


def test_token_scopes_are_enforced_on_every_api_route(client: TestClient, world: World) -> None:
    """A read token (of an administrator, whose role would allow everything) may only read: every API route with
    another method than GET or HEAD is refused (403) before it runs, except the searches that change nothing.
    Without the admin scope, no administration route (token management included) answers."""
    read = _token(world, "admin", ["read"])
    read_write = _token(world, "admin", ["read", "write"])
    walked, administration = 0, set()
    for path, methods, route in all_routes(client.app.routes):  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute) or not path.startswith("/api/") or path == "/api/docs":
            continue
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            url = _path(path)
            body = API_BODIES.get((method, path))
            if method != "GET":
                walked += 1
                r = client.request(method, url, json=body, headers=read)
                if (method, path) in READ_ONLY_POSTS:
                    assert r.status_code == 200, (method, path, r.status_code, r.text)
                else:
                    assert r.status_code == 403, (method, path, r.status_code, r.text)
                    assert "scope" in r.json()["error"]["message"], (method, path, r.text)
            if (method, path) in ADMINISTRATION:
                administration.add((method, path))
                r = client.request(method, url, json=body, headers=read_write)
                assert r.status_code == 403, (method, path, r.status_code, r.text)
    assert walked >= 50
    assert administration == ADMINISTRATION  # every listed route still exists
    assert client.get("/api/v1/incidents", headers=read).status_code == 200  # reading is what it is for
