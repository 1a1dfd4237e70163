"""Who is who in the demo and what to try first: shown on the login page and the dashboard while Interdict runs as
the demo (``INTERDICT_DEMO``, set by ``interdict demo``), and in the README's table."""

from __future__ import annotations

from dataclasses import dataclass

from interdict.demo.seed import ORGS, USERS


def _(message: str) -> str:
    """Marks ``message`` for extraction (scripts/i18n-update); translated where it is shown."""
    return message


# What each demo user tries first, in the order the README lists them.
TRY_FIRST: dict[str, str] = {
    "officer.hp": _(
        "Open the unread rapid alert from Cambodia, acknowledge it and respond; then read the responses to your own "
        "alert about the MV Mekong Pearl."
    ),
    "analyst": _(
        "Open the incidents the partners shared with the Mekong Dragon group this week (from Laos, Cambodia and "
        "Thailand, among the newest incidents), then your rapid alert that Laos and Thailand have not acknowledged, "
        "then Warning notices: one overdue, one to issue."
    ),
    "pcu.hp": _(
        "Acknowledge the warning notice issued to your unit, then open Targeting and the worklist of the latest load."
    ),
    "officer.hcm": _(
        "Open the watch hit for Cat Lai in the notifications, then the warning notice your unit must report on."
    ),
    "admin": _(
        "Approve the warning notice waiting for you (Warning notices), then look at the users and units under "
        "Administration."
    ),
    "officer.kh": _(
        "Partner view: open the watch hit about the stopped shipment in Laos, then Incidents: what Vietnam Customs "
        "and the other partners share with the Mekong Dragon group."
    ),
    "viewer": _(
        "Read-only: search the incidents (try “anhydrit axetic” or “P2P”) and open the network graph from an incident."
    ),
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    org_code: str
    org_name: str
    org_name_local: str | None
    try_first: str


def demo_users() -> list[DemoUser]:
    orgs = {o["code"]: o for o in ORGS}
    users = {u["username"]: u for u in USERS}
    return [
        DemoUser(
            username=name,
            role=users[name]["role"],
            org_code=users[name]["org_code"],
            org_name=orgs[users[name]["org_code"]]["name"],
            org_name_local=orgs[users[name]["org_code"]].get("name_local"),
            try_first=text,
        )
        for name, text in TRY_FIRST.items()
    ]
