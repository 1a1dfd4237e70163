"""Account administration (issue 17 §6): administrators edit, re-role, deactivate, reactivate users of their agency
and reset their passwords (the user must then choose their own); all audited; the last administrator stays."""

from __future__ import annotations

import json
import re
import time
import uuid

from fastapi import FastAPI
from fastapi.testclient import TestClient

from interdict.accounts import service as accounts
from interdict.accounts.models import User
from interdict.accounts.schemas import OrganisationCreate, TokenCreate, UserCreate
from tests.accounts.test_hardening import _enable_2fa
from tests.audit.test_audit import entries_since, last_seq
from tests.conftest import PASSWORD, World
from tests.web.test_pages import login, post_code, post_login

ADMIN = "admin"  # of Vietnam Customs (VNC tree), the tests' only administrator there


def new_user(world: World, *, org: str = "VNC-HCM", role: str = "officer") -> tuple[str, uuid.UUID, str]:
    """A fresh user with a read-write API token: (username, id, token)."""
    name = f"u{uuid.uuid4().hex[:10]}"
    with world.session() as s:
        user = accounts.create_user(
            s,
            UserCreate(username=name, full_name="Test User", role=role, org_code=org, password=PASSWORD),  # type: ignore[arg-type]
        )
        token, _row = accounts.create_api_token(
            s, user, TokenCreate(name="t", scopes=["read", "write"]), pepper=world.app.state.pepper
        )
        return name, user.id, token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def user_row(world: World, user_id: uuid.UUID) -> User:
    with world.session() as s:
        user = s.get(User, user_id)
        assert user is not None
        s.expunge(user)
        return user


def test_admin_edits_details_and_role_with_audit_before_and_after(client: TestClient, world: World) -> None:
    name, uid, _token = new_user(world)
    mark = last_seq(world)
    body = {"full_name": "Nguyễn Thị Lan", "email": "lan@example.vn", "org_code": "VNC-HP", "role": "analyst"}
    r = client.patch(f"/api/v1/users/{uid}", json={**body, "locale": "vi"}, headers=world.h(ADMIN))
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["full_name"], got["email"], got["role"], got["locale"]) == (
        "Nguyễn Thị Lan",
        "lan@example.vn",
        "analyst",
        "vi",
    )
    with world.session() as s:
        assert accounts.get_user_by_username(s, name).org_id == accounts.get_org_by_code(s, "VNC-HP").id  # type: ignore[union-attr]
    entries = {e.action: e for e in entries_since(world, mark)}
    update, role = entries["user.update"], entries["user.role"]
    assert update.actor_username == ADMIN and update.object_label == name
    assert update.before == {"full_name": "Test User", "email": None, "unit": "VNC-HCM", "locale": "en"}
    assert update.after == {"full_name": "Nguyễn Thị Lan", "email": "lan@example.vn", "unit": "VNC-HP", "locale": "vi"}
    assert (role.before, role.after) == ({"role": "officer"}, {"role": "analyst"})
    # Only what is sent changes; an empty e-mail removes the address; an unknown unit names the field.
    r = client.patch(f"/api/v1/users/{uid}", json={"email": ""}, headers=world.h(ADMIN))
    assert r.json()["email"] is None and r.json()["full_name"] == "Nguyễn Thị Lan"
    r = client.patch(f"/api/v1/users/{uid}", json={"org_code": "VNP"}, headers=world.h(ADMIN))  # another agency
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "org_code"


def test_a_head_of_unit_moved_elsewhere_is_no_longer_its_head(client: TestClient, world: World) -> None:
    code = f"VNC-{uuid.uuid4().hex[:6]}"
    with world.session() as s:
        unit = OrganisationCreate(code=code, name="Unit", kind="pcu", country="VN", parent_code="VNC")
        accounts.create_organisation(s, unit)
    name, uid, _token = new_user(world, org=code)
    h = world.h(ADMIN)
    assert client.patch(f"/api/v1/organisations/{code}", json={"head_username": name}, headers=h).status_code == 200
    mark = last_seq(world)
    assert client.patch(f"/api/v1/users/{uid}", json={"org_code": "VNC-HP"}, headers=h).status_code == 200
    with world.session() as s:
        assert accounts.get_org_by_code(s, code).head_user_id is None  # type: ignore[union-attr]
    head = next(e for e in entries_since(world, mark) if e.action == "organisation.head")
    assert head.object_label == code and head.after == {"head_user_id": None}


def test_deactivation_stops_sessions_and_tokens_at_once_and_reactivation_restores_sign_in(
    app: FastAPI, client: TestClient, world: World
) -> None:
    name, uid, token = new_user(world)
    with TestClient(app, base_url="http://testserver") as browser:
        login(browser, name)
        assert browser.get("/dashboard", follow_redirects=False).status_code == 200
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
        mark = last_seq(world)
        r = client.post(f"/api/v1/users/{uid}/deactivate", headers=world.h(ADMIN))
        assert r.status_code == 200 and r.json()["is_active"] is False
        # The session opened before is refused at its next request, and so is the token.
        assert browser.get("/dashboard", follow_redirects=False).headers["location"].startswith("/login")
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
        assert post_login(browser, name, PASSWORD, follow_redirects=False).status_code == 401
    entries = entries_since(world, mark)
    deactivated = next(e for e in entries if e.action == "user.deactivate")
    assert deactivated.actor_username == ADMIN and deactivated.object_label == name
    assert (deactivated.before, deactivated.after) == ({"is_active": True}, {"is_active": False})
    assert "1 session(s) ended; 1 API token(s) revoked" in deactivated.summary
    assert any(e.action == "token.revoke" for e in entries)

    mark = last_seq(world)
    r = client.post(f"/api/v1/users/{uid}/reactivate", headers=world.h(ADMIN))
    assert r.status_code == 200 and r.json()["is_active"] is True
    assert [e.action for e in entries_since(world, mark)] == ["user.reactivate"]
    assert post_login(client, name, PASSWORD, follow_redirects=False).status_code == 303
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401  # revoked tokens stay revoked


def test_password_reset_forces_a_change_before_anything_else(app: FastAPI, client: TestClient, world: World) -> None:
    name, uid, token = new_user(world)
    mark = last_seq(world)
    r = client.post(f"/api/v1/users/{uid}/reset-password", headers=world.h(ADMIN))
    assert r.status_code == 200, r.text
    temporary = r.json()["temporary_password"]
    assert temporary and len(temporary) >= 12 and r.json()["user"]["must_change_password"] is True
    reset = next(e for e in entries_since(world, mark) if e.action == "user.password_reset")
    assert reset.actor_username == ADMIN and reset.after == {"must_change_password": True, "generated": True}
    assert temporary not in json.dumps([reset.before, reset.after, reset.summary])  # never the secret
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401  # a password change revokes tokens

    assert post_login(client, name, PASSWORD, follow_redirects=False).status_code == 401  # the old one is gone
    r = post_login(client, name, temporary, "/incidents", follow_redirects=False)
    assert r.status_code == 303
    # Every page leads to the change-password page; the API refuses the session.
    for path in ("/incidents", "/dashboard", "/account/security", "/account/tokens"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/account/password/new", path
    page = client.get("/account/password/new")
    assert page.status_code == 200 and "An administrator set your password" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = client.get("/api/v1/me", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403 and r.json()["error"]["code"] == "password_change_required"
    # A token (made, say, by a script with an admin token) is not held back by the pending change.
    with world.session() as s:
        user = s.get(User, uid)
        new_token, _ = accounts.create_api_token(s, user, TokenCreate(name="x"), pepper=app.state.pepper)  # type: ignore[arg-type]
    assert client.get("/api/v1/me", headers=bearer(new_token)).status_code == 200
    # The temporary password is not accepted as the new one, nor a wrong current one; then the change.
    same = {"csrf_token": csrf, "current_password": temporary, "new_password": temporary}
    assert client.post("/account/password/new", data=same).status_code == 422
    wrong = {"csrf_token": csrf, "current_password": "not it at all", "new_password": "a quite new river stone 7"}
    assert client.post("/account/password/new", data=wrong).status_code == 422
    weak = {"csrf_token": csrf, "current_password": temporary, "new_password": "password1234"}
    assert client.post("/account/password/new", data=weak).status_code == 422
    good = {"csrf_token": csrf, "current_password": temporary, "new_password": "a quite new river stone 7"}
    r = client.post("/account/password/new", data=good, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    assert client.get("/dashboard", follow_redirects=False).status_code == 200  # the same session goes on
    assert user_row(world, uid).must_change_password is False
    assert client.get("/account/password/new", follow_redirects=False).headers["location"] == "/account/security"


def test_reset_with_a_chosen_password_follows_the_password_policy(client: TestClient, world: World) -> None:
    _name, uid, _token = new_user(world)
    r = client.post(f"/api/v1/users/{uid}/reset-password", json={"password": "short"}, headers=world.h(ADMIN))
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "password"
    assert user_row(world, uid).must_change_password is False
    chosen = "larch window quietly 41"
    r = client.post(f"/api/v1/users/{uid}/reset-password", json={"password": chosen}, headers=world.h(ADMIN))
    assert r.status_code == 200 and r.json()["temporary_password"] is None


def test_the_last_active_administrator_stays(client: TestClient, world: World) -> None:
    """An agency always keeps an active administrator: its last one can be neither deactivated nor re-roled."""
    me = world.subject(ADMIN).user_id
    mark = last_seq(world)
    r = client.patch(f"/api/v1/users/{me}", json={"role": "analyst"}, headers=world.h(ADMIN))
    assert r.status_code == 409 and "last active administrator" in r.json()["error"]["message"]
    assert client.post(f"/api/v1/users/{me}/deactivate", headers=world.h(ADMIN)).status_code == 409
    assert entries_since(world, mark) == [] and user_row(world, me).role == "admin"
    # In an agency of two administrators one may go, not both.
    code = f"AG{uuid.uuid4().hex[:6]}"
    with world.session() as s:
        accounts.create_organisation(s, OrganisationCreate(code=code, name="Agency", kind="agency", country="VN"))
    a1, a1_id, _ = new_user(world, org=code, role="admin")
    _a2, a2_id, _ = new_user(world, org=code, role="admin")
    with world.session() as s:
        t1, _ = accounts.create_api_token(
            s,
            s.get(User, a1_id),
            TokenCreate(name="a", scopes=["read", "write", "admin"]),
            pepper=world.app.state.pepper,  # type: ignore[arg-type]
        )
    h1 = bearer(t1)
    assert client.post(f"/api/v1/users/{a2_id}/deactivate", headers=h1).status_code == 200
    assert client.post(f"/api/v1/users/{a1_id}/deactivate", headers=h1).status_code == 409
    assert client.patch(f"/api/v1/users/{a1_id}", json={"role": "viewer"}, headers=h1).status_code == 409
    assert client.post(f"/api/v1/users/{a2_id}/reactivate", headers=h1).status_code == 200
    r = client.patch(f"/api/v1/users/{a1_id}", json={"role": "viewer"}, headers=h1)
    assert r.status_code == 200 and r.json()["role"] == "viewer" and a1


def test_only_administrators_and_only_their_agency(client: TestClient, world: World) -> None:
    _name, uid, _token = new_user(world)
    for path in ("", "/deactivate", "/reactivate", "/reset-password"):
        method = client.get if path == "" else client.post
        assert method(f"/api/v1/users/{uid}{path}", headers=world.h("analyst")).status_code == 403, path
    assert (
        client.patch(f"/api/v1/users/{uid}", json={"role": "admin"}, headers=world.h("officer.hp")).status_code == 403
    )
    police = world.subject("police").user_id  # Viet Nam Police: another agency
    for path in ("/deactivate", "/reset-password"):
        assert client.post(f"/api/v1/users/{police}{path}", headers=world.h(ADMIN)).status_code == 404, path
    assert client.patch(f"/api/v1/users/{police}", json={"full_name": "X"}, headers=world.h(ADMIN)).status_code == 404
    assert client.get(f"/api/v1/users/{uuid.uuid4()}", headers=world.h(ADMIN)).status_code == 404
    assert user_row(world, police).is_active and user_row(world, police).full_name == "Police"
    # The pages too.
    csrf = login(client, ADMIN)
    assert client.get(f"/admin/users/{police}").status_code == 404
    r = client.post(f"/admin/users/{police}/deactivate", data={"csrf_token": csrf})
    assert r.status_code == 404 and user_row(world, police).is_active
    login(client, "analyst")
    assert client.get(f"/admin/users/{uid}").status_code == 403


def test_last_login_is_a_complete_sign_in(client: TestClient, world: World) -> None:
    """The password alone, when a second factor is on, is not a login yet; the code completes it."""
    name, uid, _token = new_user(world)
    assert user_row(world, uid).last_login_at is None
    assert post_login(client, name, "wrong password entirely", follow_redirects=False).status_code == 401
    assert user_row(world, uid).last_login_at is None
    totp, _codes = _enable_2fa(client, name)  # signs in with the password (no second factor yet)
    first = user_row(world, uid).last_login_at
    assert first is not None
    post_login(client, name, PASSWORD, "/incidents", follow_redirects=False)
    assert user_row(world, uid).last_login_at == first  # only the first factor so far
    r = post_code(client, totp.at(time.time() + 30), "/incidents", follow_redirects=False)
    assert r.status_code == 303
    second = user_row(world, uid).last_login_at
    assert second is not None and second > first
    r = client.get(f"/api/v1/users/{uid}", headers=world.h(ADMIN)).json()
    assert r["two_factor"] is True and r["last_login_at"] is not None


def test_admin_pages_edit_deactivate_and_reset(client: TestClient, world: World) -> None:
    name, uid, _token = new_user(world)
    csrf = login(client, ADMIN)
    listing = client.get("/admin").text
    assert f'href="/admin/users/{uid}"' in listing and "Hcmc Customs" not in listing and "HCMC Customs" in listing
    page = client.get(f"/admin/users/{uid}")
    assert page.status_code == 200 and name in page.text
    form = {
        "csrf_token": csrf,
        "full_name": "Trần Văn B",
        "email": "",
        "org_code": "VNC-HCM",
        "locale": "vi",
        "role": "viewer",
    }
    r = client.post(f"/admin/users/{uid}", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/admin/users/{uid}?flash=saved"
    assert (user_row(world, uid).full_name, user_row(world, uid).role) == ("Trần Văn B", "viewer")
    r = client.post(f"/admin/users/{uid}", data={**form, "full_name": ""})
    assert r.status_code == 422 and 'data-for="full_name"' in r.text
    r = client.post(f"/admin/users/{uid}/reset-password", data={"csrf_token": csrf, "password": ""})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    shown = re.search(r'id="temporary-password">([^<]+)<', r.text).group(1)  # type: ignore[union-attr]
    assert "temporary-password" not in client.get(f"/admin/users/{uid}").text  # shown once
    again = client.get(f"/admin/users/{uid}/reset-password", follow_redirects=False)  # its address opened again
    assert again.status_code == 303 and again.headers["location"] == f"/admin/users/{uid}"
    r = client.post(f"/admin/users/{uid}/deactivate", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.headers["location"] == f"/admin/users/{uid}?flash=deactivated" and not user_row(world, uid).is_active
    me = world.subject(ADMIN).user_id
    r = client.post(f"/admin/users/{me}/deactivate", data={"csrf_token": csrf})
    assert r.status_code == 409 and 'id="problem"' in r.text and user_row(world, me).is_active
    client.post(f"/admin/users/{uid}/reactivate", data={"csrf_token": csrf})
    client.cookies.clear()
    r = post_login(client, name, shown, "/incidents", follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/incidents", follow_redirects=False).headers["location"] == "/account/password/new"
