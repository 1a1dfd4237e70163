"""`interdict demo`: a realistic, clearly labelled demo data set built from the real reference data.

Organisations (Vietnam Customs' anti-smuggling department, provincial units, the four Port Control
Units, three partner administrations), one user per role, and several hundred generated incidents: three years of
history, already linked and told about (and read), and a last week of a few incidents that the server's workers link
and tell about when it starts, with the week's sharing group, watch rules, rapid alerts and warning notices
(:mod:`interdict.demo.activity`). Every generated incident has ``is_demo`` set and says so in its narrative. Running it
twice does not duplicate anything.
"""

from __future__ import annotations

import random
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from stdnum import iso6346

from interdict.accounts import service as accounts
from interdict.accounts.models import User
from interdict.accounts.schemas import OrganisationCreate, UserCreate
from interdict.config import Settings
from interdict.core.clock import today
from interdict.core.db import unit_of_work
from interdict.demo.targeting import TargetingDemo
from interdict.incidents import service as incidents
from interdict.incidents.models import Incident
from interdict.incidents.schemas import IncidentCreate
from interdict.notifications.models import Notification
from interdict.reference.catalogue import ReferenceIndex, get_index

ORGS: list[dict[str, Any]] = [
    {
        "code": "VNC",
        "name": "General Department of Vietnam Customs",
        "name_local": "Tổng cục Hải quan",
        "kind": "agency",
        "country": "VN",
    },
    {
        "code": "VNC-ASID",
        "name": "Anti-Smuggling and Investigation Department",
        "name_local": "Cục Điều tra chống buôn lậu",
        "kind": "department",
        "country": "VN",
        "parent_code": "VNC",
    },
    {
        "code": "VNC-HP",
        "name": "Hai Phong Customs Department",
        "name_local": "Cục Hải quan Hải Phòng",
        "kind": "provincial_unit",
        "country": "VN",
        "parent_code": "VNC",
    },
    {
        "code": "VNC-HCM",
        "name": "Ho Chi Minh City Customs Department",
        "name_local": "Cục Hải quan TP. Hồ Chí Minh",
        "kind": "provincial_unit",
        "country": "VN",
        "parent_code": "VNC",
    },
    {
        "code": "VNC-QN",
        "name": "Quang Ninh Customs Department",
        "name_local": "Cục Hải quan Quảng Ninh",
        "kind": "provincial_unit",
        "country": "VN",
        "parent_code": "VNC",
    },
    {
        "code": "VNC-LS",
        "name": "Lang Son Customs Department",
        "name_local": "Cục Hải quan Lạng Sơn",
        "kind": "provincial_unit",
        "country": "VN",
        "parent_code": "VNC",
    },
    {
        "code": "VNC-LC",
        "name": "Lao Cai Customs Department",
        "name_local": "Cục Hải quan Lào Cai",
        "kind": "provincial_unit",
        "country": "VN",
        "parent_code": "VNC",
    },
    {
        "code": "VNC-DN",
        "name": "Da Nang Customs Department",
        "name_local": "Cục Hải quan Đà Nẵng",
        "kind": "provincial_unit",
        "country": "VN",
        "parent_code": "VNC",
    },
    {
        "code": "VNC-BRVT",
        "name": "Ba Ria-Vung Tau Customs Department",
        "name_local": "Cục Hải quan Bà Rịa - Vũng Tàu",
        "kind": "provincial_unit",
        "country": "VN",
        "parent_code": "VNC",
    },
    {
        "code": "VNC-PCU-HP",
        "name": "Port Control Unit Hai Phong",
        "name_local": "Tổ kiểm soát cảng Hải Phòng",
        "kind": "pcu",
        "country": "VN",
        "parent_code": "VNC-HP",
    },
    {
        "code": "VNC-PCU-HCM",
        "name": "Port Control Unit Ho Chi Minh City",
        "name_local": "Tổ kiểm soát cảng TP. Hồ Chí Minh",
        "kind": "pcu",
        "country": "VN",
        "parent_code": "VNC-HCM",
    },
    {
        "code": "VNC-PCU-DN",
        "name": "Port Control Unit Da Nang",
        "name_local": "Tổ kiểm soát cảng Đà Nẵng",
        "kind": "pcu",
        "country": "VN",
        "parent_code": "VNC-DN",
    },
    {
        "code": "VNC-PCU-BRVT",
        "name": "Port Control Unit Ba Ria-Vung Tau",
        "name_local": "Tổ kiểm soát cảng Bà Rịa - Vũng Tàu",
        "kind": "pcu",
        "country": "VN",
        "parent_code": "VNC-BRVT",
    },
    {
        "code": "KHC",
        "name": "General Department of Customs and Excise of Cambodia (demo partner)",
        "kind": "agency",
        "country": "KH",
    },
    {"code": "LAC", "name": "Lao Customs Department (demo partner)", "kind": "agency", "country": "LA"},
    {"code": "THC", "name": "Thai Customs Department (demo partner)", "kind": "agency", "country": "TH"},
]

USERS: list[dict[str, str]] = [
    {
        "username": "admin",
        "full_name": "Demo Administrator",
        "role": "admin",
        "org_code": "VNC-ASID",
        "locale": "en",
    },
    {
        "username": "analyst",
        "full_name": "Nguyễn Thị Lan (demo analyst)",
        "role": "analyst",
        "org_code": "VNC-ASID",
        "locale": "vi",
    },
    {
        "username": "officer.hp",
        "full_name": "Trần Văn Minh (demo officer)",
        "role": "officer",
        "org_code": "VNC-HP",
        "locale": "vi",
    },
    {
        "username": "officer.hcm",
        "full_name": "Lê Thị Hoa (demo officer)",
        "role": "officer",
        "org_code": "VNC-HCM",
        "locale": "vi",
    },
    {
        "username": "pcu.hp",
        "full_name": "Phạm Quốc Huy (demo PCU analyst)",
        "role": "analyst",
        "org_code": "VNC-PCU-HP",
        "locale": "vi",
    },
    {"username": "viewer", "full_name": "Demo Viewer", "role": "viewer", "org_code": "VNC", "locale": "en"},
    {
        "username": "officer.kh",
        "full_name": "Sok Dara (demo partner officer)",
        "role": "officer",
        "org_code": "KHC",
        "locale": "en",
    },
]

# Where each unit records incidents: (country, UN/LOCODE, place type, mode).
UNIT_PLACES: dict[str, list[tuple[str, str, str, str]]] = {
    "VNC-HP": [("VN", "VNHPH", "seaport", "sea"), ("VN", "VNDVU", "seaport", "sea")],
    "VNC-PCU-HP": [("VN", "VNHPH", "seaport", "sea"), ("VN", "VNDVU", "seaport", "sea")],
    "VNC-HCM": [
        ("VN", "VNCLI", "seaport", "sea"),
        ("VN", "VNSGN", "seaport", "sea"),
        ("VN", "VNTSN", "airport", "air"),
        ("VN", "VNSGN", "postal_centre", "courier"),
    ],
    "VNC-PCU-HCM": [("VN", "VNCLI", "seaport", "sea"), ("VN", "VNSPC", "seaport", "sea")],
    "VNC-QN": [("VN", "VNMOC", "land_border", "road"), ("VN", "VNQNH", "seaport", "sea")],
    "VNC-LS": [("VN", "VNLGS", "land_border", "road")],
    "VNC-LC": [("VN", "VNLCA", "land_border", "rail"), ("VN", "VNLCA", "land_border", "road")],
    "VNC-DN": [("VN", "VNDAD", "seaport", "sea"), ("VN", "VNDAD", "airport", "air")],
    "VNC-PCU-DN": [("VN", "VNDAD", "seaport", "sea")],
    "VNC-BRVT": [("VN", "VNCMT", "seaport", "sea"), ("VN", "VNVUT", "seaport", "sea")],
    "VNC-PCU-BRVT": [("VN", "VNCMT", "seaport", "sea"), ("VN", "VNTOT", "seaport", "sea")],
    "KHC": [("KH", "KHPNH", "seaport", "sea")],
}
ORIGINS: list[tuple[str, str | None]] = [
    ("CN", "CNSHA"),
    ("CN", "CNSZX"),
    ("CN", "CNNGB"),
    ("CN", "CNCAN"),
    ("CN", "CNXMN"),
    ("CN", "CNQZH"),
    ("IN", "INNSA"),
    ("KR", "KRPUS"),
    ("TW", "TWKHH"),
    ("TH", "THLCH"),
    ("MY", "MYPKG"),
    ("SG", "SGSIN"),
    ("NL", "NLRTM"),
    ("US", "USLAX"),
    ("LA", None),
    ("KH", "KHPNH"),
    ("MM", None),
]
TRANSITS = [("SG", "SGSIN"), ("MY", "MYPKG"), ("KR", "KRPUS"), ("TW", "TWKHH"), ("TH", "THLCH")]
CARRIER_PREFIXES = [
    "CSQU",
    "EGHU",
    "MSCU",
    "MAEU",
    "OOLU",
    "TGHU",
    "HLXU",
    "CMAU",
    "SEGU",
    "TCLU",
    "WHLU",
    "YMLU",
]
VESSELS = [
    "(demo) MV Lotus Star",
    "(demo) MV Red River",
    "(demo) MV Mekong Pearl",
    "(demo) MV Halong Trader",
    "(demo) MV Saigon Spirit",
    "(demo) MV Eastern Dawn",
]
VN_COMPANY_WORDS = [
    "Hoàng Phát",
    "Minh Anh",
    "Thành Đạt",
    "Phú Quý",
    "Tân Thịnh",
    "An Khang",
    "Việt Hưng",
    "Đại Dương",
    "Kim Long",
    "Hải Âu",
    "Phương Nam",
    "Thiên Phúc",
]
VN_SECTORS = ["Thương mại", "Xuất nhập khẩu", "Hóa chất", "Thương mại và Dịch vụ", "Dược phẩm", "Logistics"]
VN_FORMS = ["CÔNG TY TNHH", "CÔNG TY CỔ PHẦN", "CÔNG TY TNHH MTV"]
CN_COMPANIES = [
    "广州市华联化工贸易有限公司",
    "深圳市恒信进出口有限公司",
    "Jiangsu Tianhe Chemical Co., Ltd",
    "Shandong Ruida Pharmaceutical Trading Co., Ltd",
    "Hebei Xinyuan Chemical Co., Ltd",
    "南宁市宏达化工有限公司",
]
OTHER_COMPANIES = [
    "Mumbai Fine Chemicals Pvt Ltd",
    "Rotterdam Chemical Logistics B.V.",
    "Bangkok Solvent Supply Co., Ltd",
    "Phnom Penh Trading Co., Ltd",
    "Seoul Chemical Industry Co., Ltd",
]
PERSONS = [
    "Nguyễn Văn Hùng",
    "Trần Thị Mai",
    "Lê Văn Tâm",
    "Phạm Minh Tuấn",
    "Vũ Thị Hằng",
    "Đỗ Quang Vinh",
    "Wang Wei",
    "Li Na",
    "Zhang Jun",
    "Sok Vanna",
]
GOODS = {
    "precursor": [
        "Industrial chemicals",
        "Solvent for paint production",
        "Organic chemical intermediate",
        "Cleaning agent",
        "Pharmaceutical raw material",
        "Hóa chất công nghiệp",
    ],
    "drug": [
        "Tea",
        "Frozen seafood",
        "Ceramic tiles",
        "Machinery parts",
        "Dried fruit",
        "Furniture",
        "Plastic granules",
    ],
}
PRECURSOR_CAS = [
    "108-24-7",
    "103-79-7",
    "16648-44-5",
    "4468-48-8",
    "80532-66-7",
    "25547-51-7",
    "13605-48-6",
    "4676-39-5",
    "120-57-0",
    "94-59-7",
    "7722-64-7",
    "67-64-1",
    "7664-93-9",
    "7647-01-0",
    "108-88-3",
    "78-93-3",
    "299-42-3",
    "90-82-4",
    "39742-60-4",
    "21409-26-7",
    "23056-29-3",
    "79099-07-3",
    "125541-22-2",
    "6740-85-8",
    "6740-87-0",
    "103-82-2",
]
DRUG_CAS = ["537-46-2", "561-27-3", "50-36-2", "6740-88-1", "42542-10-9", "300-62-9", "437-38-7"]
TYPE_WEIGHTS = [
    ("stopped_shipment", 16),
    ("suspended_shipment", 8),
    ("suspicious_shipment", 14),
    ("seizure", 34),
    ("suspicious_order", 7),
    ("diversion", 5),
    ("illicit_laboratory", 4),
    ("equipment_seizure", 3),
    ("nps_identification", 9),
]


@dataclass
class DemoResult:
    password: str
    created_incidents: int
    users: list[str]
    already_seeded: bool
    targeting: TargetingDemo | None = None


def container_number(rng: random.Random) -> str:
    body = rng.choice(CARRIER_PREFIXES) + f"{rng.randrange(10**6):06d}"
    return body + iso6346.calc_check_digit(body)


# Distinctive parts of one-off traders' names (two syllables each, as Vietnamese and Chinese company names go):
# most incidents involve traders seen once; a few recurring ones (the lists above) link incidents across units.
VN_SYLLABLES = (
    ["Hoàng", "Minh", "Thành", "Phú", "Tân", "Việt", "Đại", "Kim", "Hải", "Phương", "Thiên", "Bảo", "Đức", "Gia"],
    ["Phát", "Anh", "Đạt", "Quý", "Thịnh", "Khang", "Hưng", "Dương", "Long", "Phúc", "Lộc", "Tín", "Lợi", "Tiến"],
)
CN_SYLLABLES = (
    ["Tian", "Rui", "Xin", "Heng", "Hua", "Hong", "Jin", "Dong", "Kang", "Sheng", "Feng", "Yong", "Bao", "Zhong"],
    ["he", "da", "yuan", "lian", "tai", "fa", "cheng", "yu", "an", "mao", "tong", "xing", "rong", "kai"],
)
CN_PLACES = ["Guangzhou", "Shenzhen", "Jiangsu", "Shandong", "Hebei", "Zhejiang", "Fujian", "Guangxi"]
CN_TRADES = ["Chemical Co., Ltd", "Trading Co., Ltd", "Import and Export Co., Ltd", "Pharmaceutical Co., Ltd"]
RECURRING_SHARE = 0.12  # share of parties that are one of the recurring traders
RECURRING_SHARE_WEEK = 0.5  # the last week's cases, what the demo shows first, involve known traders more often


def _company(rng: random.Random, country: str, recurring_share: float = RECURRING_SHARE) -> tuple[str, str]:
    recurring = rng.random() < recurring_share
    if country == "VN":
        words = (
            rng.choice(VN_COMPANY_WORDS)
            if recurring
            else f"{rng.choice(VN_SYLLABLES[0])} {rng.choice(VN_SYLLABLES[1])} {rng.choice(VN_SYLLABLES[1])}"
        )
        name = f"{rng.choice(VN_FORMS)} {rng.choice(VN_SECTORS).upper()} {words.upper()}"
        return name, f"{rng.randrange(10**9, 10**10)}"
    if country == "CN":
        if recurring:
            return rng.choice(CN_COMPANIES), f"91{rng.randrange(10**15, 10**16)}"
        word = f"{rng.choice(CN_SYLLABLES[0])}{rng.choice(CN_SYLLABLES[1])}"
        return f"{rng.choice(CN_PLACES)} {word} {rng.choice(CN_TRADES)}", f"91{rng.randrange(10**15, 10**16)}"
    if recurring:
        return rng.choice(OTHER_COMPANIES), ""
    word = f"{rng.choice(CN_SYLLABLES[0])}{rng.choice(CN_SYLLABLES[1])}".capitalize()
    return f"{word} {rng.choice(['Global', 'Asia', 'Pacific', 'Chemicals', 'Logistics'])} {rng.choice(CN_TRADES)}", ""


def _substance(index: ReferenceIndex, cas: str) -> str | None:
    found, _ = index.resolve_substance(cas)
    return str(found.id) if found else None


def generate_incident(
    rng: random.Random,
    index: ReferenceIndex,
    unit_code: str,
    n: int,
    *,
    days_ago: tuple[int, int] = (1, 3 * 365),
    recurring_share: float = RECURRING_SHARE,
) -> IncidentCreate:
    itype = rng.choices([t for t, _ in TYPE_WEIGHTS], weights=[w for _, w in TYPE_WEIGHTS])[0]
    country, locode, place_type, mode = rng.choice(UNIT_PLACES.get(unit_code, UNIT_PLACES["VNC-HP"]))
    incident_date = today() - timedelta(days=rng.randrange(*days_ago))
    origin_country, origin_port = rng.choice(ORIGINS)
    is_precursor = itype in (
        "stopped_shipment",
        "suspended_shipment",
        "suspicious_shipment",
        "suspicious_order",
        "diversion",
    ) or (itype == "seizure" and rng.random() < 0.4)
    lines: list[dict[str, Any]] = []
    if itype == "nps_identification":
        nps = [s for s in index.substances.values() if s.is_nps]
        s = rng.choice(nps)
        lines.append(
            {
                "substance": str(s.id),
                "quantity": round(rng.uniform(0.05, 25), 3),
                "unit": "kg",
                "form": rng.choice(["powder", "liquid", "blotter", "plant"]),
                "lab_confirmation": "confirmed",
            }
        )
    elif itype == "equipment_seizure":
        lines.append(
            {
                "other_description": rng.choice(["Tablet press", "Reaction vessel 500 L", "Hydrogenation apparatus"]),
                "quantity": rng.randrange(1, 4),
                "unit": "units",
            }
        )
    else:
        pool = PRECURSOR_CAS if is_precursor or itype == "illicit_laboratory" else DRUG_CAS
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            sid = _substance(index, rng.choice(pool))
            if sid is None or any(line.get("substance") == sid for line in lines):
                continue
            if is_precursor:
                liquid = rng.random() < 0.5
                qty, unit = (
                    (round(rng.uniform(200, 24000), 0), "L") if liquid else (round(rng.uniform(25, 20000), 0), "kg")
                )
            elif rng.random() < 0.25:
                qty, unit = rng.randrange(1000, 400000), "tablets"
            else:
                qty, unit = round(rng.uniform(0.2, 350), 2), rng.choice(["kg", "kg", "g"])
            lines.append(
                {
                    "substance": sid,
                    "quantity": qty,
                    "unit": unit,
                    "purity_percent": round(rng.uniform(60, 99.5), 1),
                    "form": "liquid" if unit == "L" else rng.choice(["powder", "crystal", "tablet"]),
                    "lab_confirmation": rng.choice(["presumptive", "confirmed", "confirmed"]),
                    "declared_as": rng.choice(GOODS["precursor"]) if is_precursor else None,
                }
            )
        if not lines:
            lines.append({"other_description": "Unidentified white powder", "quantity": 1, "unit": "kg"})
    containers = []
    if mode == "sea":
        containers = [
            {"number": container_number(rng), "seal_numbers": f"S{rng.randrange(10**6, 10**7)}"}
            for _ in range(rng.choice([1, 1, 2, 3]))
        ]
    shipper, shipper_tax = _company(rng, origin_country, recurring_share)
    consignee, consignee_tax = _company(rng, country, recurring_share)
    parties = [
        {
            "role": "shipper",
            "kind": "company",
            "name": shipper,
            "country": origin_country,
            "tax_id": shipper_tax or None,
        },
        {
            "role": "consignee",
            "kind": "company",
            "name": consignee,
            "country": country,
            "tax_id": consignee_tax or None,
            "phone": f"+84 {rng.randrange(200, 299)} {rng.randrange(1000000, 9999999)}",
        },
    ]
    if itype in ("seizure", "illicit_laboratory") and rng.random() < 0.6:
        parties.append(
            {
                "role": "person_involved",
                "kind": "person",
                "name": rng.choice(PERSONS),
                "country": rng.choice([country, origin_country]),
            }
        )
    transits = (
        [dict(zip(("country", "locode"), rng.choice(TRANSITS), strict=True))]
        if mode == "sea" and rng.random() < 0.4
        else []
    )
    transits = [t for t in transits if t["country"] != origin_country]
    declared_hs = rng.choice(["2915.24", "2914.31", "2902.30", "3824.99", "0902.10", "6907.21", "8479.89"])
    modus = rng.sample(
        [
            "misdeclaration-goods",
            "misdeclaration-hs",
            "false-consignee",
            "within-cargo",
            "false-compartment",
            "reefer-unit",
            "door-end-rip-on",
            "route-deflection",
            "split-shipment",
            "postal-item",
            "luggage",
        ],
        k=rng.choice([0, 1, 1, 2]),
    )
    data = {
        "incident_type": itype,
        "incident_date": incident_date,
        "reported_date": min(today(), incident_date + timedelta(days=rng.randrange(0, 10))),
        "case_reference": f"DEMO/{incident_date.year}/{n:04d}" if rng.random() < 0.5 else None,
        "country": country,
        "locode": locode,
        "place_type": place_type,
        "mode_of_transport": mode,
        "origin_country": origin_country if origin_country != country else None,
        "departure_country": origin_country if origin_country != country else None,
        "departure_locode": origin_port if origin_country != country else None,
        "transits": transits,
        "destination_country": country,
        "destination_locode": locode if place_type == "seaport" else None,
        "containers": containers,
        "bl_awb": f"DEMO{rng.randrange(10**8, 10**9)}" if mode in ("sea", "air") else None,
        "vessel_name": rng.choice(VESSELS) if mode == "sea" else None,
        "voyage": f"{rng.randrange(100, 999)}{rng.choice('NSEW')}" if mode in ("sea", "air") else None,
        "vehicle_plate": f"{rng.randrange(11, 99)}C-{rng.randrange(10000, 99999)}" if mode == "road" else None,
        "parcel_tracking": f"EE{rng.randrange(10**8, 10**9)}VN" if mode == "courier" else None,
        "goods_description": rng.choice(GOODS["precursor" if is_precursor else "drug"]),
        "declared_hs_code": declared_hs,
        "substances": lines,
        "parties": parties,
        "detection_method": rng.choice(
            ["risk_profile", "random_check", "intelligence", "scanner", "detector_dog", "tip_off"]
        ),
        "modus": modus,
        "narrative": "[DEMO DATA — generated, not a real case] "
        + rng.choice(
            [
                "Consignment declared as industrial chemicals; field test positive; samples sent to the customs laboratory.",
                "Shipment stopped after a pre-export notification check found no licence for the consignee.",
                "Container selected by the PCU risk profile; X-ray image showed anomalies behind the door-end cargo.",
                "Tip-off from a partner administration about the consignee; goods held pending verification.",
                "Passenger luggage screened at arrival; detector dog indicated; substance concealed in food packaging.",
            ]
        ),
        "distribution": rng.choice(["organisation", "organisation", "national", "all", "unit"]),
        "tlp": rng.choice(["GREEN", "AMBER", "AMBER", "CLEAR"]),
    }
    return IncidentCreate.model_validate(data)


def credentials_path(data_dir: Path) -> Path:
    return data_dir / "demo-credentials.txt"


def demo_password(data_dir: Path) -> str:
    path = credentials_path(data_dir)
    if path.exists():
        return path.read_text().strip()
    alphabet = string.ascii_letters + string.digits
    password = "demo-" + "".join(secrets.choice(alphabet) for _ in range(12))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password + "\n")
    path.chmod(0o600)
    return password


# The demo is an agency that has used Interdict for years: its history (incidents older than a week) was linked and
# told about long ago, and what it was told it has read. Its last week is what the workers link and tell about when
# the server starts, so a demo officer opens a realistic week of notifications (a few a day, not hundreds).
WEEK_DAYS = 7


def week_size(incidents_count: int) -> int:
    """How many of the demo's incidents fall in its last week: about what a national customs service records."""
    return min(incidents_count, max(5, incidents_count // 50))


def seed(session: Session, *, data_dir: Path, incidents_count: int = 400, seed_value: int = 1988) -> DemoResult:
    """Create the demo organisations, users and history (incidents dated more than a week ago) if they are not there
    yet. Never commits. :func:`run` then settles the history and adds the last week (:func:`seed_week`)."""
    password = demo_password(data_dir)
    for org in ORGS:
        if accounts.get_org_by_code(session, org["code"]) is None:
            accounts.create_organisation(session, OrganisationCreate.model_validate(org))
    for u in USERS:
        existing = accounts.get_user_by_username(session, u["username"])
        if existing is None:
            accounts.create_user(session, UserCreate.model_validate({**u, "password": password}))
        elif not accounts.service_password_matches(existing, password):
            accounts.set_password(session, existing, password)
    session.flush()
    already = session.scalar(select(func.count()).select_from(Incident).where(Incident.is_demo.is_(True))) or 0
    if already:
        return DemoResult(password, 0, [u["username"] for u in USERS], True)
    history = incidents_count - week_size(incidents_count)
    created = _create(
        session, password, range(history), random.Random(seed_value), (WEEK_DAYS + 1, 3 * 365), RECURRING_SHARE
    )
    return DemoResult(password, created, [u["username"] for u in USERS], False)


def seed_week(session: Session, *, data_dir: Path, incidents_count: int = 400, seed_value: int = 1988) -> int:
    """The demo's last week: incidents dated within the last seven days, left for the linkage and watch workers
    (their notifications are the demo users' unread ones). Never commits; returns how many were created."""
    password = demo_password(data_dir)
    history = incidents_count - week_size(incidents_count)
    rng = random.Random(seed_value + 1)
    return _create(session, password, range(history, incidents_count), rng, (0, WEEK_DAYS), RECURRING_SHARE_WEEK)


def _create(
    session: Session,
    password: str,
    numbers: range,
    rng: random.Random,
    days_ago: tuple[int, int],
    recurring_share: float,
) -> int:
    index = get_index(session)
    units = [c for c in UNIT_PLACES if c != "KHC"]
    created = 0
    by_unit: dict[str, list[incidents.BulkItem]] = {}
    for n in numbers:
        unit = "KHC" if n % 40 == 0 else rng.choice(units)
        data = generate_incident(rng, index, unit, n, days_ago=days_ago, recurring_share=recurring_share)
        checked = incidents.check(index, data)
        status = rng.choices(["submitted", "updated", "closed", "draft"], weights=[55, 20, 20, 5])[0]
        by_unit.setdefault(unit, []).append(incidents.BulkItem(data, checked, status))
    for unit, items in by_unit.items():
        user = _unit_user(session, unit, password)
        subject = accounts.subject_for_user(session, user, channel="cli")
        created += len(incidents.bulk_create(session, subject, items, is_demo=True))
    return created


def settle_history(factory: sessionmaker[Session]) -> None:
    """Link the history and run the watch rules over it as the workers would have, in their own transactions (a
    consumer reads only committed events), then mark what it told everyone as read."""
    from interdict.linkage.tasks import drain
    from interdict.watch.service import process_events

    drain(factory)
    while True:
        with unit_of_work(factory) as session:
            if not process_events(session):
                break
    with unit_of_work(factory) as session:
        session.execute(
            update(Notification).where(Notification.read_at.is_(None)).values(read_at=Notification.updated_at)
        )


def run(
    factory: sessionmaker[Session], *, data_dir: Path, incidents_count: int = 400, settings: Settings | None = None
) -> DemoResult:
    """The demo data set, once: the history (settled: linked, told and read), then the last week (for the workers);
    with ``settings``, container targeting too (demo/targeting.py: a model, risk profiles, a scored arrival)."""
    with unit_of_work(factory) as session:
        result = seed(session, data_dir=data_dir, incidents_count=incidents_count)
    if not result.already_seeded:
        settle_history(factory)
        with unit_of_work(factory) as session:
            result.created_incidents += seed_week(session, data_dir=data_dir, incidents_count=incidents_count)
        seed_week_activity(factory, data_dir=data_dir, result=result)
    with unit_of_work(factory) as session:
        seed_last_logins(session)
    if settings is not None:
        from interdict.core.clock import utcnow
        from interdict.demo.targeting import seed_targeting

        with unit_of_work(factory) as session:
            result.targeting = seed_targeting(session, settings, now=utcnow())
    return result


def seed_last_logins(session: Session, *, now: datetime | None = None, seed_value: int = 1988) -> int:
    """Each demo user last signed in some time in the last week, in working hours (the agency has used Interdict
    for years); a user who has signed in keeps their real last login. Never commits; returns how many were set."""
    from interdict.core.clock import utcnow

    now = now or utcnow()
    rng = random.Random(seed_value + 3)
    names = [u["username"] for u in USERS]
    users = session.scalars(
        select(User).where(or_(User.username.in_(names), User.username.like("demo.%"))).order_by(User.username)
    )
    set_ = 0
    for user in users:
        if user.last_login_at is not None:
            continue
        # 1 to 7 days ago (the newest an hour or more ago, before the week's last alert), 01:00-10:00 UTC (08:00-17:00
        # in Vietnam), never in the future
        at = now - timedelta(days=rng.randint(1, 6))
        at = at.replace(hour=rng.randint(1, 9), minute=rng.randint(0, 59), second=rng.randint(0, 59), microsecond=0)
        user.last_login_at = min(at, now - timedelta(hours=1))
        set_ += 1
    return set_


def seed_week_activity(factory: sessionmaker[Session], *, data_dir: Path, result: DemoResult) -> None:
    """The week's work between the demo organisations (interdict.demo.activity): the Mekong Dragon group and its
    incidents, watch rules, rapid alerts and warning notices."""
    from interdict.demo.activity import seed_activity

    with unit_of_work(factory) as session:
        result.created_incidents += seed_activity(session, password=demo_password(data_dir))


def _unit_user(session: Session, unit: str, password: str, *, full_name: str | None = None, locale: str = "vi") -> User:
    """Each unit's incidents are recorded by a (demo) officer of that unit (``demo.<unit>``, made if missing)."""
    username = f"demo.{unit.lower()}"
    user = accounts.get_user_by_username(session, username)
    if user is None:
        user = accounts.create_user(
            session,
            UserCreate(
                username=username,
                full_name=full_name or f"Demo officer {unit}",
                role="officer",
                org_code=unit,
                password=password,
                locale=locale,
            ),
        )
    return user
