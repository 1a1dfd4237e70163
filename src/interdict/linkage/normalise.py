"""Normalisation for linkage: one import for names, identifiers and contact details.

The work is split across ``text`` (folding), ``names`` (companies, persons) and ``identifiers``
(phones, e-mails, addresses, containers, IMO, placeholders); the tables they use are CSV files in
``data/`` (see ``data/SOURCES.md``).
"""

from __future__ import annotations

from interdict.linkage.identifiers import address, container, email, imo, is_placeholder, phone_e164
from interdict.linkage.names import CompanyName, PersonName, company, company_markers, person
from interdict.linkage.text import fold

__all__ = [
    "CompanyName",
    "PersonName",
    "address",
    "company",
    "company_markers",
    "container",
    "email",
    "fold",
    "imo",
    "is_placeholder",
    "person",
    "phone_e164",
]
