"""Messages the web layer translates at render time but that no template spells out as a literal.

Static extraction (``scripts/i18n-update``) only sees string literals inside ``_()`` calls, so the
labels of the closed vocabularies (``interdict.incidents.vocab.LABELS``, looked up by ``label(code)``),
the role codes shown in the header (``label(subject.role)``) and the history actions
(``_(ver.action)`` in incidents/detail.html) are listed here. Nothing imports this module at run time.

``LABEL_MESSAGES`` must hold exactly the values of ``LABELS``; tests/web/test_i18n.py checks it.
"""

from __future__ import annotations


def _(message: str) -> str:
    """Marks ``message`` for extraction; returns it unchanged."""
    return message


LABEL_MESSAGES: tuple[str, ...] = (
    _("Seizure"),
    _("Stopped shipment"),
    _("Suspended shipment"),
    _("Suspicious shipment"),
    _("Suspicious order or enquiry"),
    _("Diversion or attempted diversion"),
    _("Illicit laboratory"),
    _("Equipment seizure"),
    _("NPS identification"),
    _("Draft"),
    _("Submitted"),
    _("Updated"),
    _("Closed"),
    _("Seaport"),
    _("Airport"),
    _("Land border"),
    _("Postal centre"),
    _("Inland"),
    _("Sea"),
    _("Air"),
    _("Road"),
    _("Rail"),
    _("Post"),
    _("Courier"),
    _("Powder"),
    _("Crystal"),
    _("Liquid"),
    _("Tablet"),
    _("Capsule"),
    _("Paste"),
    _("Plant material"),
    _("Blotter"),
    _("Other"),
    _("Not tested"),
    _("Presumptive (field test)"),
    _("Confirmed (laboratory)"),
    _("Risk profile"),
    _("Random check"),
    _("Intelligence"),
    _("Scanner / X-ray"),
    _("Detector dog"),
    _("Tip-off"),
    _("Exporter / shipper"),
    _("Importer / consignee"),
    _("Notify party"),
    _("Forwarder"),
    _("Customs broker"),
    _("Carrier"),
    _("Declarant"),
    _("Person involved"),
    _("Company or organisation"),
    _("Natural person"),
    _("Reporting unit only"),
    _("Whole organisation"),
    _("National"),
    _("Sharing group"),
    _("All participants"),
    _("Agency"),
    _("Department"),
    _("Provincial unit"),
    _("Port Control Unit"),
    _("Border gate"),
    _("Partner agency"),
    _("Web"),
    _("API"),
    _("Command line"),
    _("Type"),
    _("Case reference"),
    _("Date of the incident"),
    _("Date reported"),
    _("Country"),
    _("Port, airport or border gate (UN/LOCODE)"),
    _("Kind of place"),
    _("Place name"),
    _("Mode of transport"),
    _("Country of origin"),
    _("Departure country"),
    _("Departure port"),
    _("Destination country"),
    _("Destination port"),
    _("B/L or AWB"),
    _("Vessel"),
    _("IMO number"),
    _("Voyage or flight"),
    _("Vehicle plate"),
    _("Parcel tracking no."),
    _("Goods as declared"),
    _("Declared HS code"),
    _("Detected by"),
    _("Narrative"),
    _("Share with"),
    _("TLP"),
    _("Transit, in order"),
    _("Containers"),
    _("Parties"),
    _("Modus operandi and concealment"),
    _("Substances"),
    _("Attachments"),
)

# label(subject.role) falls back to gettext(role code) as roles have no entry in LABELS.
ROLE_MESSAGES: tuple[str, ...] = (
    _("admin"),
    _("analyst"),
    _("officer"),
    _("viewer"),
    _("auditor"),
)

# IncidentVersion.action values, shown in the history of an incident.
HISTORY_ACTION_MESSAGES: tuple[str, ...] = (
    _("created"),
    _("updated"),
    _("submitted"),
    _("closed"),
    _("reopened"),
    _("imported"),
    _("shared"),
)


# The risk-profile form's field descriptions (``targeting.profiles.FIELDS_DOC``, shown as ``_(doc)``).
PROFILE_FIELD_MESSAGES: tuple[str, ...] = (
    _("HS code by prefix (eq, ne, in, not_in, exists)"),
    _("HS code of a substance of a reference list: precursor, nps, a class or control list (eq)"),
    _("country of origin (ISO code)"),
    _("country of departure (ISO code)"),
    _("port of loading (UN/LOCODE)"),
    _("port of discharge (UN/LOCODE)"),
    _("a port of transshipment (UN/LOCODE)"),
    _("a phone of the record's parties, with its country code (eq, in, exists)"),
    _("consignee name contains (no diacritics, any case)"),
    _("shipper name contains"),
    _("importer name contains"),
    _("declarant name contains"),
    _("days since the consignee first appeared in the agency's loads"),
    _("goods description has these words"),
    _("description mentions a chemical while HS chapter is not 28/29/38"),
    _("declared value per kg (net weight, else gross)"),
    _("gross weight (kg)"),
    _("customs office code"),
    _("vessel name (upper case)"),
)
