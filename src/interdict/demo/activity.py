"""The demo's last week of work between its organisations, done through the services as their users would do it.

A "Mekong Dragon" sharing group of Vietnam Customs and the partner administrations, with a few incidents the
partners shared to it (and one a Vietnamese unit widened to it); watch rules of the demo officers and analysts that
the week's incidents fire a few times; rapid alerts issued, acknowledged, answered and one left unanswered past its
escalation; warning notices at each stage (draft, submitted for approval, approved, issued with reports filed,
overdue, closed). Times are spread over the seven days before "now" wherever a service takes the time (alerts,
issue and reports of notices); the rest happens when the seed runs. Every incident, alert and notice is synthetic
and says so. Never commits.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from interdict.accounts import service as accounts
from interdict.accounts.subject import Subject
from interdict.alerts import service as alerts
from interdict.alerts.schemas import AlertCreate
from interdict.config import Settings
from interdict.core.clock import utcnow
from interdict.core.pagination import PageParams
from interdict.entities.models import Entity
from interdict.incidents import service as incidents
from interdict.incidents.schemas import IncidentCreate
from interdict.linkage.graph import visible_entities
from interdict.notices import service as notices
from interdict.notices import tasks as notice_tasks
from interdict.notices.schemas import NoticeCreate, ReportBody
from interdict.notifications import service as notifications
from interdict.notifications.models import Notification
from interdict.sharing import groups
from interdict.sharing.schemas import SharingChange, SharingGroupCreate
from interdict.watch import service as watch
from interdict.watch.schemas import RuleCreate

GROUP_CODE = "MEKONG-DRAGON"
GROUP_NAME = "Mekong Dragon"
GROUP_MEMBERS = ["VNC", "KHC", "LAC", "THC"]  # Vietnam Customs brings all its units
DEMO = "[DEMO DATA — generated, not a real case] "

# Partner units that record the group's incidents, and who records them (created like the seed's unit officers).
PARTNER_RECORDERS = {"LAC": "Demo officer LAC", "THC": "Demo officer THC"}


def _user(session: Session, username: str) -> Subject:
    user = accounts.get_user_by_username(session, username)
    assert user is not None, username
    return accounts.subject_for_user(session, user, channel="web")


def _recorder(session: Session, org_code: str, password: str) -> Subject:
    """The (demo) officer of a partner administration that has no named demo user."""
    from interdict.demo.seed import _unit_user

    user = _unit_user(session, org_code, password, full_name=PARTNER_RECORDERS[org_code], locale="en")
    return accounts.subject_for_user(session, user, channel="web")


def _officer(session: Session, unit: str, password: str) -> Subject:
    """The (demo) officer of a Vietnamese unit, who records its incidents (made by the seed if it is not there yet)."""
    from interdict.demo.seed import _unit_user

    return accounts.subject_for_user(session, _unit_user(session, unit, password), channel="web")


def _read(session: Session, subject: Subject, ref_id: uuid.UUID) -> None:
    """The user opened what they were told about this record (they acted on it)."""
    ids = session.scalars(
        select(Notification.id).where(
            Notification.user_id == subject.user_id, Notification.ref_id == ref_id, Notification.read_at.is_(None)
        )
    ).all()
    if ids:
        notifications.mark_read(session, subject, ids)


def seed_activity(session: Session, *, password: str, now: datetime | None = None, seed_value: int = 1988) -> int:
    """The week's sharing, watching, alerting and notices. Returns the number of incidents it recorded."""
    now = now or utcnow()
    rng = random.Random(seed_value + 2)
    seed_group(session, _user(session, "admin"))
    recorded = seed_group_incidents(session, password, now, rng)
    seed_watch_rules(session)
    share_to_group(session, now)
    seed_alerts(session, now, recorded, password)
    seed_notices(session, now, recorded, password)
    return len(recorded)


# --- the sharing group ----------------------------------------------------------------------------------------------


def seed_group(session: Session, admin: Subject) -> uuid.UUID:
    data = SharingGroupCreate(
        code=GROUP_CODE,
        name=GROUP_NAME,
        description=(
            "Demo sharing group of Vietnam Customs and partner customs administrations of the Mekong region "
            "(synthetic demo data): precursor and drug incidents on the region's land and sea routes."
        ),
        members=GROUP_MEMBERS,
    )
    return groups.create_group(session, admin, data).id


def _incident(**fields: Any) -> IncidentCreate:
    base: dict[str, Any] = {
        "distribution": "group",
        "sharing_group": GROUP_CODE,
        "tlp": "AMBER",
        "submit": True,
    }
    return IncidentCreate.model_validate({**base, **fields})


def seed_group_incidents(session: Session, password: str, now: datetime, rng: random.Random) -> dict[str, str]:
    """Three partner incidents shared to the group (synthetic, each says so). Returns their references by key."""
    day = now.date()
    container = _container(rng)
    items = {
        "lao": (
            _recorder(session, "LAC", password),
            _incident(
                incident_type="stopped_shipment",
                incident_date=day - timedelta(days=5),
                reported_date=day - timedelta(days=4),
                country="LA",
                locode="LATHK",
                place_type="land_border",
                mode_of_transport="road",
                origin_country="CN",
                departure_country="CN",
                transits=[{"country": "VN", "locode": "VNHPH"}],
                destination_country="LA",
                vehicle_plate="(demo) LA 7421",
                goods_description="Industrial solvent",
                declared_hs_code="2915.24",
                substances=[
                    {
                        "substance": "108-24-7",
                        "quantity": 2400,
                        "unit": "L",
                        "form": "liquid",
                        "lab_confirmation": "presumptive",
                        "declared_as": "Industrial solvent",
                    }
                ],
                parties=[
                    {"role": "shipper", "kind": "company", "name": "Hebei Xinyuan Chemical Co., Ltd", "country": "CN"},
                    {
                        "role": "consignee",
                        "kind": "company",
                        "name": "(demo) Savan Solvent Trading Sole Co., Ltd",
                        "country": "LA",
                    },
                ],
                detection_method="risk_profile",
                narrative=DEMO
                + "Truck stopped at the border crossing: acetic anhydride declared as industrial solvent, landed in "
                "Hai Phong and trucked on; the consignee holds no import licence for it.",
            ),
        ),
        "cambodia": (
            _user(session, "officer.kh"),
            _incident(
                incident_type="seizure",
                incident_date=day - timedelta(days=3),
                reported_date=day - timedelta(days=3),
                country="KH",
                locode="KHPNH",
                place_type="seaport",
                mode_of_transport="sea",
                origin_country="MM",
                departure_country="MY",
                departure_locode="MYPKG",
                transits=[{"country": "VN", "locode": "VNCMT"}],
                destination_country="KH",
                destination_locode="KHPNH",
                containers=[{"number": container}],
                vessel_name="(demo) MV Mekong Pearl",
                voyage="(demo) 214S",
                goods_description="Dried fruit",
                declared_hs_code="0813.40",
                substances=[
                    {
                        "substance": "537-46-2",
                        "quantity": 118,
                        "unit": "kg",
                        "form": "crystal",
                        "purity_percent": 81.5,
                        "lab_confirmation": "confirmed",
                    }
                ],
                parties=[
                    {"role": "shipper", "kind": "company", "name": "Bangkok Solvent Supply Co., Ltd", "country": "TH"},
                    {"role": "consignee", "kind": "company", "name": "Phnom Penh Trading Co., Ltd", "country": "KH"},
                ],
                modus=["within-cargo"],
                detection_method="scanner",
                narrative=DEMO
                + "Container of dried fruit transhipped at Cai Mep; the X-ray image showed dense packages among the "
                "cartons; crystalline methamphetamine found in vacuum bags.",
            ),
        ),
        "thailand": (
            _recorder(session, "THC", password),
            _incident(
                incident_type="suspicious_shipment",
                incident_date=day - timedelta(days=2),
                reported_date=day - timedelta(days=1),
                country="TH",
                locode="THLCH",
                place_type="seaport",
                mode_of_transport="sea",
                origin_country="CN",
                departure_country="TH",
                departure_locode="THLCH",
                destination_country="VN",
                destination_locode="VNCLI",
                containers=[{"number": _container(rng)}],
                vessel_name="(demo) MV Eastern Dawn",
                goods_description="Pharmaceutical raw material",
                declared_hs_code="2932.99",
                substances=[
                    {
                        "substance": "13605-48-6",
                        "quantity": 1600,
                        "unit": "kg",
                        "form": "powder",
                        "lab_confirmation": "presumptive",
                        "declared_as": "Pharmaceutical raw material",
                    }
                ],
                parties=[
                    {"role": "shipper", "kind": "company", "name": "Jiangsu Tianhe Chemical Co., Ltd", "country": "CN"},
                    {
                        "role": "consignee",
                        "kind": "company",
                        "name": "CÔNG TY TNHH HÓA CHẤT PHÚ QUÝ",
                        "country": "VN",
                    },
                ],
                detection_method="intelligence",
                narrative=DEMO
                + "Transhipment container for Cat Lai flagged by a partner's intelligence; documents name a PMK "
                "glycidate as a pharmaceutical raw material. Held for the destination administration.",
            ),
        ),
    }
    out: dict[str, str] = {}
    for key, (subject, data) in items.items():
        incident, _ = incidents.create_incident(session, subject, data, is_demo=True)
        out[key] = incident.reference
    return out


def _container(rng: random.Random) -> str:
    from interdict.demo.seed import container_number

    return container_number(rng)


def share_to_group(session: Session, now: datetime) -> str | None:
    """A Hai Phong officer widens one of the unit's recent incidents to the group (the partners now read it)."""
    officer = _user(session, "officer.hp")
    recent = incidents.search_incidents(
        session, officer, sort="-incident_date", page=PageParams(page=1, page_size=20)
    ).items
    for incident in recent:
        if incident.owner_org_id == officer.org_id and incident.status == "submitted" and incident.tlp != "RED":
            change = SharingChange(
                version=incident.version,
                distribution="group",
                sharing_group=GROUP_CODE,
                tlp="AMBER",
                share_nominal=False,
            )
            return incidents.change_sharing(session, officer, incident.id, change).reference
    return None


# --- watch rules ----------------------------------------------------------------------------------------------------

WATCH_RULES: list[tuple[str, dict[str, Any]]] = [
    (
        "officer.hp",
        {
            "name": "Precursors on the way to Laos or Cambodia",
            "filter": {
                "all": [
                    {"field": "substance_class", "op": "eq", "value": "precursor"},
                    {"field": "route_country", "op": "in", "value": ["LA", "KH"]},
                ]
            },
            "urgency": "urgent",
        },
    ),
    (
        "officer.hcm",
        {
            "name": "Precursors for Cat Lai",
            "filter": {
                "all": [
                    {"field": "substance_class", "op": "eq", "value": "precursor"},
                    {"field": "port", "op": "eq", "value": "VNCLI"},
                ]
            },
        },
    ),
    (
        "analyst",
        {
            "name": "MDMA precursors, any unit",
            "scope": "unit",
            "filter": {"field": "substance_class", "op": "eq", "value": "precursor-mdma"},
            "urgency": "urgent",
        },
    ),
    (
        "pcu.hp",
        {
            "name": "Vessel (demo) MV Mekong Pearl",
            "filter": {"field": "text", "op": "match", "value": "Mekong Pearl"},
        },
    ),
    (
        "officer.kh",
        {
            "name": "Acetic anhydride in the region",
            "filter": {"field": "substance", "op": "eq", "value": "108-24-7"},
        },
    ),
]


def seed_watch_rules(session: Session) -> None:
    for username, body in WATCH_RULES:
        watch.create_rule(session, _user(session, username), RuleCreate.model_validate(body))


# --- rapid alerts ---------------------------------------------------------------------------------------------------


def seed_alerts(session: Session, now: datetime, recorded: dict[str, str], password: str) -> None:
    analyst = _user(session, "analyst")
    officer_hp = _user(session, "officer.hp")
    officer_hcm = _user(session, "officer.hcm")
    officer_kh = _user(session, "officer.kh")
    pcu_hp = _user(session, "pcu.hp")

    # Five days ago: Hai Phong asks its PCU, Quang Ninh and Cambodia about a vessel; two answer, one acknowledges.
    t = now - timedelta(days=5, hours=3)
    answered = alerts.issue_alert(
        session,
        officer_hp,
        AlertCreate(
            subject="(demo) MV Mekong Pearl calling at Hai Phong: containers of dried fruit to check",
            urgency="immediate",
            body=(
                "Synthetic demo alert. The vessel is expected at Dinh Vu within two days; its previous call carried "
                "a transhipment container in which a partner found drugs. Check the dried fruit containers on "
                "board and tell us what you find."
            ),
            vessel_name="(demo) MV Mekong Pearl",
            voyage="(demo) 219N",
            expected_arrival=t + timedelta(days=2),
            route=[{"locode": "MYPKG"}, {"locode": "KHPNH"}, {"locode": "VNDVU"}],
            companies=["Bangkok Solvent Supply Co., Ltd"],
            substances=["537-46-2"],
            addressees=["VNC-PCU-HP", "VNC-QN", "KHC"],
            distribution="organisation",
        ),
        now=t,
    )
    alerts.acknowledge(session, _officer(session, "VNC-QN", password), answered.id, now=t + timedelta(minutes=12))
    alerts.respond(
        session,
        pcu_hp,
        answered.id,
        "Four dried fruit containers of that voyage selected for X-ray at Dinh Vu; images clean, one opened: "
        "nothing found. We keep the consignee on our watch list.",
        now=t + timedelta(hours=20),
    )
    alerts.respond(
        session,
        officer_kh,
        answered.id,
        "Same shipper as in our Phnom Penh seizure of this week; see the incident shared with the Mekong Dragon group.",
        now=t + timedelta(days=1, hours=2),
    )
    for subject in (pcu_hp, officer_kh, _officer(session, "VNC-QN", password)):
        _read(session, subject, answered.id)

    # Four days ago: the national department warns Ho Chi Minh City; both addressed units acknowledge.
    t = now - timedelta(days=4, hours=6)
    acknowledged = alerts.issue_alert(
        session,
        analyst,
        AlertCreate(
            subject="Precursor consignments for Cat Lai declared as pharmaceutical raw material",
            urgency="urgent",
            body=(
                "Synthetic demo alert. Partners report powders declared as pharmaceutical raw material on the "
                "Laem Chabang – Cat Lai route. Check such declarations of the coming weeks against the licence "
                "register."
            ),
            route=[{"locode": "THLCH"}, {"locode": "VNCLI"}],
            substances=["13605-48-6"],
            addressees=["VNC-HCM", "VNC-PCU-HCM"],
            distribution="organisation",
        ),
        now=t,
    )
    alerts.acknowledge(session, officer_hcm, acknowledged.id, now=t + timedelta(minutes=25))
    alerts.acknowledge(
        session, _officer(session, "VNC-PCU-HCM", password), acknowledged.id, now=t + timedelta(minutes=50)
    )
    _read(session, officer_hcm, acknowledged.id)

    # Two days ago: the national department alerts the partners; Cambodia answers, Laos and Thailand do not
    # acknowledge: reminded, then escalated (the server's alerts worker did it then).
    t = now - timedelta(days=2, hours=1)
    overdue = alerts.issue_alert(
        session,
        analyst,
        AlertCreate(
            subject="Acetic anhydride trucked from Hai Phong towards the Lao border",
            urgency="urgent",
            body=(
                "Synthetic demo alert. After the stopped shipment at the border crossing, further trucks of the same "
                "consignee may be on the road. Please acknowledge and tell us of any consignment to the consignee."
            ),
            incidents=[recorded["lao"]],
            companies=["(demo) Savan Solvent Trading Sole Co., Ltd"],
            substances=["108-24-7"],
            addressees=["KHC", "LAC", "THC"],
            distribution="group",
            sharing_group=GROUP_CODE,
        ),
        now=t,
    )
    alerts.respond(
        session,
        officer_kh,
        overdue.id,
        "No consignment to that consignee in our declarations of the last month. We will tell you if one comes.",
        now=t + timedelta(minutes=40),
    )
    _read(session, officer_kh, overdue.id)
    alerts.tick(session, t + timedelta(hours=3), alerts.Delays.from_settings(Settings()))

    # Just now: Cambodia alerts Hai Phong — what a demo officer finds unread, to acknowledge and answer.
    t = now - timedelta(minutes=25)
    alerts.issue_alert(
        session,
        officer_kh,
        AlertCreate(
            subject="Container from Phnom Penh to Hai Phong: same shipper as this week's seizure",
            urgency="urgent",
            body=(
                "Synthetic demo alert. A container of the shipper in our methamphetamine seizure of this week is "
                "booked to Hai Phong. Please check it on arrival and answer here."
            ),
            containers=[_container(random.Random(7))],
            companies=["Bangkok Solvent Supply Co., Ltd"],
            route=[{"locode": "KHPNH"}, {"locode": "VNHPH"}],
            expected_arrival=now + timedelta(days=1),
            incidents=[recorded["cambodia"]],
            addressees=["VNC-HP"],
            distribution="group",
            sharing_group=GROUP_CODE,
        ),
        now=t,
    )


# --- warning notices ------------------------------------------------------------------------------------------------


def _linked_entities(session: Session, subject: Subject, limit: int = 2) -> list[uuid.UUID]:
    """The companies seen most often that the drafter may see (what a notice's risk indicators are about)."""
    ids = list(
        session.scalars(
            select(Entity.id)
            .where(Entity.kind == "company", Entity.canonical_id.is_(None))
            .order_by(Entity.incident_count.desc(), Entity.id)
            .limit(20)
        )
    )
    seen = visible_entities(session, subject, ids)
    return [i for i in ids if i in seen][:limit]


def _recent(session: Session, subject: Subject, n: int) -> list[str]:
    found = incidents.search_incidents(session, subject, sort="-incident_date", page=PageParams(page=1, page_size=n))
    return [i.reference for i in found.items]


def _notice(
    session: Session,
    drafter: Subject,
    *,
    day: date,
    title: str,
    body: str,
    indicators: list[dict[str, str]],
    incident_refs: list[str],
    entity_ids: list[uuid.UUID],
    recipients: list[str],
    deadline: date,
) -> Any:
    return notices.create_notice(
        session,
        drafter,
        NoticeCreate(
            notice_date=day,
            place="Hà Nội",
            title=title,
            body="Synthetic demo notice (not a real case).\n\n" + body,
            risk_indicators=indicators,
            incidents=incident_refs,
            entities=entity_ids,
            recipients=recipients,
            report_deadline=deadline,
            distribution="organisation",
        ),
    )


def _approve(session: Session, drafter: Subject, approver: Subject, notice: Any) -> Any:
    notice = notices.submit(session, drafter, notice.id, notice.version)
    notice = notices.approve(session, approver, notice.id, notice.version, "Checked; approved.")
    _read(session, approver, notice.id)
    return notice


def seed_notices(session: Session, now: datetime, recorded: dict[str, str], password: str) -> None:
    analyst = _user(session, "analyst")
    admin = _user(session, "admin")
    officer_hp = _user(session, "officer.hp")
    officer_hcm = _user(session, "officer.hcm")
    day = now.date()
    entity_ids = _linked_entities(session, analyst)
    recent = _recent(session, analyst, 4)
    rng = random.Random(2026)

    def report(subject: Subject, notice: Any, at: datetime, result: str, findings: str) -> None:
        notices.file_report(
            session,
            subject,
            notice.id,
            ReportBody(
                checked_what="Import declarations of the listed HS codes and consignees since the notice.",
                shipments_checked=rng.randrange(8, 40),
                declarations_checked=rng.randrange(20, 120),
                findings=findings,
                result=result,
            ),
            now=at,
        )

    # Closed: issued six days ago, every unit reported, the department closed the follow-up.
    issued_at = now - timedelta(days=6, hours=4)
    closed = _notice(
        session,
        analyst,
        day=issued_at.date(),
        title="Acetic anhydride declared as solvents at northern seaports",
        body="Check declarations under HS 2915.24 and 3814 of the consignees below against the licence register.",
        indicators=[{"kind": "hs_code", "value": "2915.24"}, {"kind": "method", "value": "Declared as solvents"}],
        incident_refs=recent[:2],
        entity_ids=entity_ids[:1],
        recipients=["VNC-HP", "VNC-QN"],
        deadline=issued_at.date() + timedelta(days=3),
    )
    closed = _approve(session, analyst, admin, closed)
    closed = notices.issue(session, analyst, closed.id, closed.version, now=issued_at)
    report(officer_hp, closed, issued_at + timedelta(days=2), "nothing_found", "No such declaration in the period.")
    report(
        _officer(session, "VNC-QN", password),
        closed,
        issued_at + timedelta(days=2, hours=5),
        "irregularity",
        "One declaration under 3814 without a licence; goods held for laboratory analysis.",
    )
    closed = notices.close(session, analyst, closed.id, closed.version)
    for subject in (analyst, officer_hp, _officer(session, "VNC-QN", password)):
        _read(session, subject, closed.id)

    # Overdue: issued five days ago to Lang Son and Lao Cai with a deadline two days ago; Lang Son has not reported.
    issued_at = now - timedelta(days=5, hours=2)
    overdue = _notice(
        session,
        analyst,
        day=issued_at.date(),
        title="Trucks of chemicals to the Lao border: check the road border gates",
        body="Check trucks declared to carry industrial solvents to Lao PDR; report what you checked.",
        indicators=[
            {"kind": "route", "value": "VNHPH → LATHK"},
            {"kind": "company", "value": "(demo) Savan Solvent Trading Sole Co., Ltd"},
        ],
        incident_refs=[recorded["lao"]],
        entity_ids=[],
        recipients=["VNC-LS", "VNC-LC"],
        deadline=day - timedelta(days=2),
    )
    overdue = _approve(session, analyst, admin, overdue)
    overdue = notices.issue(session, analyst, overdue.id, overdue.version, now=issued_at)
    report(
        _officer(session, "VNC-LC", password),
        overdue,
        issued_at + timedelta(days=2),
        "nothing_found",
        "No such truck at Lao Cai in the period.",
    )
    notices.acknowledge(session, _officer(session, "VNC-LS", password), overdue.id, now=issued_at + timedelta(hours=6))
    notice_tasks.tick(session, now - timedelta(days=1))  # the notices worker found Lang Son overdue yesterday
    _read(session, analyst, overdue.id)

    # Issued two days ago, open: Hai Phong reported, Ho Chi Minh City acknowledged, the Hai Phong PCU not yet.
    issued_at = now - timedelta(days=2, hours=3)
    open_notice = _notice(
        session,
        analyst,
        day=issued_at.date(),
        title="PMK glycidate declared as pharmaceutical raw material on routes from Laem Chabang",
        body="Select containers from Laem Chabang declared under HS 2932 for inspection; report what you checked "
        "and found.",
        indicators=[
            {"kind": "hs_code", "value": "2932.99"},
            {"kind": "route", "value": "THLCH → VNCLI"},
            {"kind": "company", "value": "Jiangsu Tianhe Chemical Co., Ltd"},
        ],
        incident_refs=[recorded["thailand"]],
        entity_ids=entity_ids[:2],
        recipients=["VNC-HP", "VNC-HCM", "VNC-PCU-HP"],
        deadline=day + timedelta(days=5),
    )
    open_notice = _approve(session, analyst, admin, open_notice)
    open_notice = notices.issue(session, analyst, open_notice.id, open_notice.version, now=issued_at)
    report(
        officer_hp,
        open_notice,
        issued_at + timedelta(days=1),
        "nothing_found",
        "Six containers checked at Dinh Vu; nothing found.",
    )
    notices.acknowledge(session, officer_hcm, open_notice.id, now=issued_at + timedelta(hours=3))
    for subject in (officer_hp, officer_hcm):
        _read(session, subject, open_notice.id)

    # Approved yesterday, to be issued; submitted today, waiting for the administrator; a draft being written.
    approved = _notice(
        session,
        analyst,
        day=day - timedelta(days=1),
        title="Methamphetamine in dried fruit containers transhipped at Cai Mep",
        body="Check dried fruit containers transhipped at Cai Mep for Cambodia; report what you checked and found.",
        indicators=[{"kind": "vessel", "value": "(demo) MV Mekong Pearl"}, {"kind": "hs_code", "value": "0813.40"}],
        incident_refs=[recorded["cambodia"]],
        entity_ids=[],
        recipients=["VNC-BRVT", "VNC-PCU-BRVT"],
        deadline=day + timedelta(days=10),
    )
    _approve(session, analyst, admin, approved)
    submitted = _notice(
        session,
        analyst,
        day=day,
        title="Fentanyl precursors in courier parcels at Tan Son Nhat",
        body="Screen courier parcels declared as chemical samples; report what you checked and found.",
        indicators=[{"kind": "method", "value": "Courier parcels"}, {"kind": "other", "value": "Declared as samples"}],
        incident_refs=recent[2:4],
        entity_ids=[],
        recipients=["VNC-HCM"],
        deadline=day + timedelta(days=14),
    )
    notices.submit(session, analyst, submitted.id, submitted.version)
    _notice(
        session,
        analyst,
        day=day,
        title="Sassafras oil and safrole-rich oils at land border gates",
        body="(Draft being written.) Check declarations of essential oils at the northern land border gates.",
        indicators=[{"kind": "hs_code", "value": "3301.29"}],
        incident_refs=recent[:1],
        entity_ids=entity_ids[:1],
        recipients=["VNC-LS", "VNC-QN"],
        deadline=day + timedelta(days=21),
    )
