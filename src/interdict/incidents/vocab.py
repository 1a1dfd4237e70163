"""Closed vocabularies of the incident record. Labels are English msgids, translated by the web layer."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, get_args

IncidentType = Literal[
    "seizure",
    "stopped_shipment",
    "suspended_shipment",
    "suspicious_shipment",
    "suspicious_order",
    "diversion",
    "illicit_laboratory",
    "equipment_seizure",
    "nps_identification",
]
Status = Literal["draft", "submitted", "updated", "closed"]
PlaceType = Literal["seaport", "airport", "land_border", "postal_centre", "inland"]
Mode = Literal["sea", "air", "road", "rail", "post", "courier"]
Unit = Literal["kg", "g", "mg", "t", "L", "mL", "tablets", "units"]
Form = Literal["powder", "crystal", "liquid", "tablet", "capsule", "paste", "plant", "blotter", "other"]
LabConfirmation = Literal["none", "presumptive", "confirmed"]
DetectionMethod = Literal["risk_profile", "random_check", "intelligence", "scanner", "detector_dog", "tip_off", "other"]
PartyRole = Literal[
    "shipper",
    "consignee",
    "notify_party",
    "forwarder",
    "customs_broker",
    "carrier",
    "declarant",
    "person_involved",
]
PartyKind = Literal["company", "person"]
Distribution = Literal["unit", "organisation", "national", "group", "all"]
Tlp = Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]

INCIDENT_TYPES: tuple[str, ...] = get_args(IncidentType)
STATUSES: tuple[str, ...] = get_args(Status)
PLACE_TYPES: tuple[str, ...] = get_args(PlaceType)
MODES: tuple[str, ...] = get_args(Mode)
UNITS: tuple[str, ...] = get_args(Unit)
FORMS: tuple[str, ...] = get_args(Form)
LAB_CONFIRMATIONS: tuple[str, ...] = get_args(LabConfirmation)
DETECTION_METHODS: tuple[str, ...] = get_args(DetectionMethod)
PARTY_ROLES: tuple[str, ...] = get_args(PartyRole)
PARTY_KINDS: tuple[str, ...] = get_args(PartyKind)
DISTRIBUTIONS: tuple[str, ...] = get_args(Distribution)
TLPS: tuple[str, ...] = get_args(Tlp)

LABELS: dict[str, str] = {
    "seizure": "Seizure",
    "stopped_shipment": "Stopped shipment",
    "suspended_shipment": "Suspended shipment",
    "suspicious_shipment": "Suspicious shipment",
    "suspicious_order": "Suspicious order or enquiry",
    "diversion": "Diversion or attempted diversion",
    "illicit_laboratory": "Illicit laboratory",
    "equipment_seizure": "Equipment seizure",
    "nps_identification": "NPS identification",
    "draft": "Draft",
    "submitted": "Submitted",
    "updated": "Updated",
    "closed": "Closed",
    "seaport": "Seaport",
    "airport": "Airport",
    "land_border": "Land border",
    "postal_centre": "Postal centre",
    "inland": "Inland",
    "sea": "Sea",
    "air": "Air",
    "road": "Road",
    "rail": "Rail",
    "post": "Post",
    "courier": "Courier",
    "powder": "Powder",
    "crystal": "Crystal",
    "liquid": "Liquid",
    "tablet": "Tablet",
    "capsule": "Capsule",
    "paste": "Paste",
    "plant": "Plant material",
    "blotter": "Blotter",
    "other": "Other",
    "none": "Not tested",
    "presumptive": "Presumptive (field test)",
    "confirmed": "Confirmed (laboratory)",
    "risk_profile": "Risk profile",
    "random_check": "Random check",
    "intelligence": "Intelligence",
    "scanner": "Scanner / X-ray",
    "detector_dog": "Detector dog",
    "tip_off": "Tip-off",
    "shipper": "Exporter / shipper",
    "consignee": "Importer / consignee",
    "notify_party": "Notify party",
    "forwarder": "Forwarder",
    "customs_broker": "Customs broker",
    "carrier": "Carrier",
    "declarant": "Declarant",
    "person_involved": "Person involved",
    "company": "Company or organisation",
    "person": "Natural person",
    "unit": "Reporting unit only",
    "organisation": "Whole organisation",
    "national": "National",
    "group": "Sharing group",
    "all": "All participants",
    # organisation kinds, channels and record fields (history)
    "agency": "Agency",
    "department": "Department",
    "provincial_unit": "Provincial unit",
    "pcu": "Port Control Unit",
    "border_gate": "Border gate",
    "partner": "Partner agency",
    "web": "Web",
    "api": "API",
    "cli": "Command line",
    "incident_type": "Type",
    "case_reference": "Case reference",
    "incident_date": "Date of the incident",
    "reported_date": "Date reported",
    "country": "Country",
    "locode": "Port, airport or border gate (UN/LOCODE)",
    "place_type": "Kind of place",
    "place_name": "Place name",
    "mode_of_transport": "Mode of transport",
    "origin_country": "Country of origin",
    "departure_country": "Departure country",
    "departure_locode": "Departure port",
    "destination_country": "Destination country",
    "destination_locode": "Destination port",
    "bl_awb": "B/L or AWB",
    "vessel_name": "Vessel",
    "vessel_imo": "IMO number",
    "voyage": "Voyage or flight",
    "vehicle_plate": "Vehicle plate",
    "parcel_tracking": "Parcel tracking no.",
    "goods_description": "Goods as declared",
    "declared_hs_code": "Declared HS code",
    "detection_method": "Detected by",
    "narrative": "Narrative",
    "distribution": "Share with",
    "tlp": "TLP",
    "transits": "Transit, in order",
    "containers": "Containers",
    "parties": "Parties",
    "modus": "Modus operandi and concealment",
    "substances": "Substances",
    "attachments": "Attachments",
    "status": "Status",
    "share_nominal": "Person data shared outside the organisation",
    "sharing_group": "Sharing group",
    "tablets": "tablets",
    "units": "units",
}

# Conversion of each unit to kilograms or litres; counts (tablets, units) have no mass or volume.
UNIT_FACTORS: dict[str, tuple[Decimal, str] | None] = {
    "kg": (Decimal(1), "kg"),
    "g": (Decimal("0.001"), "kg"),
    "mg": (Decimal("0.000001"), "kg"),
    "t": (Decimal(1000), "kg"),
    "L": (Decimal(1), "L"),
    "mL": (Decimal("0.001"), "L"),
    "tablets": None,
    "units": None,
}

UNIT_ALIASES: dict[str, str] = {
    "kg": "kg",
    "kgs": "kg",
    "kilogram": "kg",
    "kilograms": "kg",
    "g": "g",
    "gr": "g",
    "gram": "g",
    "grams": "g",
    "mg": "mg",
    "t": "t",
    "ton": "t",
    "tonne": "t",
    "tonnes": "t",
    "tấn": "t",
    "l": "L",
    "lit": "L",
    "litre": "L",
    "liter": "L",
    "litres": "L",
    "liters": "L",
    "lít": "L",
    "ml": "mL",
    "millilitre": "mL",
    "milliliter": "mL",
    "tablets": "tablets",
    "tablet": "tablets",
    "tabs": "tablets",
    "viên": "tablets",
    "vien": "tablets",
    "units": "units",
    "unit": "units",
    "pcs": "units",
    "pieces": "units",
}

# Status transitions an incident may make.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("submitted",),
    "submitted": ("updated", "closed"),
    "updated": ("updated", "closed"),
    "closed": ("updated",),
}
