"""A third unit for the alert scenarios: VNC-QN (Quang Ninh Customs) with an officer and a head of unit."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from interdict.accounts import service as accounts
from interdict.accounts.models import Organisation, User
from interdict.accounts.schemas import OrganisationCreate, TokenCreate, UserCreate
from interdict.notifications.models import Notification
from tests.conftest import PASSWORD, World


def ensure_unit(world: World, code: str, parent: str, users: list[tuple[str, str]]) -> None:
    """Create the unit and its users once per database (accounts live through the session)."""
    with world.session() as s:
        if accounts.get_org_by_code(s, code) is None:
            accounts.create_organisation(
                s,
                OrganisationCreate(
                    code=code, name=f"{code} Customs", kind="provincial_unit", country="VN", parent_code=parent
                ),
            )
        for username, role in users:
            if username in world.tokens:
                continue
            user = accounts.get_user_by_username(s, username) or accounts.create_user(
                s,
                UserCreate(username=username, full_name=username.title(), role=role, org_code=code, password=PASSWORD),  # type: ignore[arg-type]
            )
            token, _ = accounts.create_api_token(
                s, user, TokenCreate(name="tests", scopes=["read", "write"]), pepper=world.app.state.pepper
            )
            world.tokens[username] = token


@pytest.fixture
def qn(world: World) -> str:
    ensure_unit(world, "VNC-QN", "VNC", [("officer.qn", "officer"), ("head.qn", "officer")])
    return "VNC-QN"


def user_id(world: World, username: str) -> uuid.UUID:
    with world.session() as s:
        return s.scalars(select(User.id).where(User.username == username)).one()


def unit_usernames(world: World, code: str) -> set[str]:
    """The active users of a unit (other tests may have added some: e.g. OpenID Connect sign-ins)."""
    with world.session() as s:
        rows = s.execute(
            select(User.username)
            .join(Organisation, Organisation.id == User.org_id)
            .where(Organisation.code == code, User.is_active.is_(True))
        )
        return {r[0] for r in rows}


def told(world: World, alert_id: str, kind: str) -> set[str]:
    """Usernames told about the alert with a notification of ``kind``."""
    with world.session() as s:
        rows = s.execute(
            select(User.username)
            .join(Notification, Notification.user_id == User.id)
            .where(Notification.ref_id == uuid.UUID(alert_id), Notification.kind == kind)
        )
        return {r[0] for r in rows}


def alert_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": "Acetic anhydride in containers on MV Test Star",
        "urgency": "urgent",
        "body": "Shipment declared as acetic acid; inspect on arrival.",
        "vessel_name": "MV Test Star",
        "vessel_imo": "9074729",
        "voyage": "V123",
        "bl_awb": "SHA123456",
        "expected_arrival": "2026-03-20T14:00:00Z",
        "containers": ["CSQU3054383"],
        "companies": ["Guangzhou Huada Chemical Trading Co., Ltd"],
        "route": [{"locode": "CNSHA"}, {"country": "SG"}, {"locode": "VNHPH"}],
        "substances": ["acetic anhydride"],
        "addressees": ["VNC-HP", "VNC-HCM"],
        "distribution": "unit",
        "tlp": "AMBER",
    }
    body.update(overrides)
    return body
