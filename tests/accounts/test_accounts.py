"""Accounts: API tokens (shown once, hashed, scoped, revocable, expiring), organisations and users."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from interdict.accounts import service
from interdict.accounts.models import ApiToken, User
from interdict.accounts.schemas import TokenCreate
from interdict.core.clock import utcnow
from interdict.core.security import hash_password, verify_password
from tests.conftest import World, minimal_incident
from tests.web.test_pages import login


def web_session(client: TestClient, username: str) -> dict[str, str]:
    """Log ``client`` in as ``username``: the API then works with the session cookie and this CSRF header
    (tokens are managed from a web session, or with an admin-scoped token)."""
    return {"X-CSRF-Token": login(client, username)}


def test_me(client: TestClient, world: World) -> None:
    me = client.get("/api/v1/me", headers=world.h("officer.hp")).json()
    assert me["username"] == "officer.hp" and me["org_code"] == "VNC-HP" and me["country"] == "VN"


def test_token_lifecycle(client: TestClient, world: World) -> None:
    session = web_session(client, "officer.hp")
    r = client.post("/api/v1/tokens", json={"name": "ci", "scopes": ["read"], "expires_in_days": 30}, headers=session)
    assert r.status_code == 201
    created = r.json()
    token = created["token"]
    assert token.startswith("idt_") and created["display_prefix"] == token[:10]
    with world.session() as s:
        row = s.get(ApiToken, uuid.UUID(created["id"]))
        assert row is not None and token not in row.digest and len(row.digest) == 64  # stored only as a keyed hash
    listed = client.get("/api/v1/tokens", headers=session).json()
    assert all("token" not in t for t in listed)  # never shown again
    read_only = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/incidents", headers=read_only).status_code == 200
    write = client.post("/api/v1/incidents", json=minimal_incident(), headers=read_only)
    assert write.status_code == 403 and "write" in write.json()["error"]["message"]
    assert client.delete(f"/api/v1/tokens/{created['id']}", headers=session).status_code == 204
    assert client.get("/api/v1/incidents", headers=read_only).status_code == 401


def test_expired_token_is_refused(client: TestClient, world: World) -> None:
    session = web_session(client, "officer.hp")
    token = client.post("/api/v1/tokens", json={"name": "short", "scopes": ["read"]}, headers=session).json()
    with world.session() as s:
        row = s.get(ApiToken, uuid.UUID(token["id"]))
        row.expires_at = utcnow() - timedelta(seconds=1)
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token['token']}"})
    assert r.status_code == 401 and "expired" in r.json()["error"]["message"]


def test_token_scopes_cannot_exceed_the_creator(client: TestClient, world: World) -> None:
    r = client.post(
        "/api/v1/tokens", json={"name": "x", "scopes": ["admin"]}, headers=web_session(client, "officer.hp")
    )
    assert r.status_code == 403 and "administrators" in r.json()["error"]["message"]


def test_tokens_are_managed_from_a_web_session_or_with_an_admin_token(client: TestClient, world: World) -> None:
    """A stolen read or write token cannot mint itself successors, list the user's tokens or revoke the others:
    token management needs the web session (the page or the API with the session cookie) or an admin token."""
    created = client.post(
        "/api/v1/tokens", json={"name": "mine", "scopes": ["read"]}, headers=web_session(client, "officer.hp")
    )
    assert created.status_code == 201
    client.cookies.clear()
    with world.session() as s:
        officer = s.scalars(select(User).where(User.username == "officer.hp")).one()
        read_token, _row = service.create_api_token(
            s, officer, TokenCreate(name="read only", scopes=["read"]), pepper=world.app.state.pepper
        )
    for headers in (world.h("officer.hp"), {"Authorization": f"Bearer {read_token}"}):  # read+write, read
        assert (
            client.post("/api/v1/tokens", json={"name": "more", "scopes": ["read"]}, headers=headers).status_code == 403
        )
        assert client.get("/api/v1/tokens", headers=headers).status_code == 403
        assert client.delete(f"/api/v1/tokens/{created.json()['id']}", headers=headers).status_code == 403
    with world.session() as s:
        names = {t.name for t in service.list_api_tokens(s, officer.id) if t.revoked_at is None}
        assert "more" not in names and "mine" in names  # nothing was made or revoked
    admin = world.h("admin")  # the admin token of an administrator manages the administrator's own tokens
    made = client.post("/api/v1/tokens", json={"name": "by admin token", "scopes": ["read"]}, headers=admin)
    assert made.status_code == 201
    assert any(t["name"] == "by admin token" for t in client.get("/api/v1/tokens", headers=admin).json())
    assert client.delete(f"/api/v1/tokens/{made.json()['id']}", headers=admin).status_code == 204


def test_admins_manage_their_own_agency_only(client: TestClient, world: World) -> None:
    h = world.h("admin")
    r = client.post(
        "/api/v1/organisations",
        headers=h,
        json={
            "code": "VNC-QN-T1",
            "name": "Quang Ninh Customs",
            "kind": "provincial_unit",
            "country": "VN",
            "parent_code": "VNC",
        },
    )
    assert r.status_code == 201
    r = client.post(
        "/api/v1/users",
        headers=h,
        json={
            "username": "officer.qn.t1",
            "full_name": "QN officer",
            "role": "officer",
            "org_code": "VNC-QN-T1",
            "password": "a long enough passphrase",
        },
    )
    assert r.status_code == 201 and r.json()["role"] == "officer"
    foreign = client.post(
        "/api/v1/users",
        headers=h,
        json={
            "username": "kh.intruder.t1",
            "full_name": "x",
            "role": "admin",
            "org_code": "KHC",
            "password": "a long enough passphrase",
        },
    )
    assert foreign.status_code == 403
    weak = client.post(
        "/api/v1/users",
        headers=h,
        json={"username": "weak.t1", "full_name": "x", "role": "viewer", "org_code": "VNC-HP", "password": "short"},
    )
    assert weak.status_code == 422 and weak.json()["error"]["errors"][0]["field"] == "password"
    assert client.post("/api/v1/users", headers=world.h("officer.hp"), json={}).status_code in (403, 422)
    users = {u["username"] for u in client.get("/api/v1/users", headers=h).json()}
    assert "officer.hp" in users and "officer.kh" not in users


def test_passwords_are_argon2id_and_failed_logins_are_counted(client: TestClient, world: World) -> None:
    h = hash_password("x" * 12)
    assert h.startswith("$argon2id$") and verify_password(h, "x" * 12) and not verify_password(h, "y" * 12)
    with world.session() as s:
        assert service.authenticate(s, "viewer.hp", "wrong") is None
        user = s.scalar(select(User).where(User.username == "viewer.hp"))
        assert user is not None and user.failed_logins >= 1
