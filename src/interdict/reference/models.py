"""Reference data tables: loaded from versioned files by `interdict reference load`."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from interdict.core.clock import utcnow
from interdict.core.db import Base, UTCDateTime


class ReferenceDataset(Base):
    __tablename__ = "reference_datasets"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    version: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Country(Base):
    __tablename__ = "countries"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    alpha3: Mapped[str] = mapped_column(String(3), unique=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_vi: Mapped[str] = mapped_column(String(120))


class Location(Base):
    """A UN/LOCODE entry."""

    __tablename__ = "locations"

    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    name: Mapped[str] = mapped_column(String(120))
    name_ascii: Mapped[str] = mapped_column(String(120))
    subdivision: Mapped[str | None] = mapped_column(String(5))
    function: Mapped[str] = mapped_column(String(8))
    status: Mapped[str | None] = mapped_column(String(2))
    iata: Mapped[str | None] = mapped_column(String(3))
    coordinates: Mapped[str | None] = mapped_column(String(16))
    is_seaport: Mapped[bool] = mapped_column(Boolean, default=False)
    is_airport: Mapped[bool] = mapped_column(Boolean, default=False)
    is_border: Mapped[bool] = mapped_column(Boolean, default=False)


class HsCode(Base):
    __tablename__ = "hs_codes"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    description: Mapped[str] = mapped_column(Text)
    parent: Mapped[str | None] = mapped_column(String(6))
    level: Mapped[int] = mapped_column(Integer)
    section: Mapped[str | None] = mapped_column(String(5))


class Substance(Base):
    """A canonical substance. ``id`` is derived from its key, so reloading keeps references valid."""

    __tablename__ = "substances"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    cas: Mapped[str | None] = mapped_column(String(16), index=True)
    is_nps: Mapped[bool] = mapped_column(Boolean, default=False)
    is_precursor: Mapped[bool] = mapped_column(Boolean, default=False)


class SubstanceName(Base):
    __tablename__ = "substance_names"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    substance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("substances.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    lang: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(60))


class SubstanceControl(Base):
    """A substance's entry on a control list (UN 1988 Table I/II, Viet Nam List IVA, China catalogues)."""

    __tablename__ = "substance_controls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    substance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("substances.id", ondelete="CASCADE"), index=True)
    list_code: Mapped[str] = mapped_column(String(40), index=True)
    entry: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)


class SubstanceHs(Base):
    __tablename__ = "substance_hs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    substance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("substances.id", ondelete="CASCADE"), index=True)
    hs_code: Mapped[str] = mapped_column(String(6))
    national_code: Mapped[str | None] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(String(60))


class SubstanceClass(Base):
    __tablename__ = "substance_classes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    class_code: Mapped[str] = mapped_column(String(60), index=True)
    label_en: Mapped[str] = mapped_column(String(200))
    label_vi: Mapped[str] = mapped_column(String(200))
    substance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("substances.id", ondelete="CASCADE"), index=True)


class TaxonomyTerm(Base):
    __tablename__ = "taxonomy_terms"

    scheme: Mapped[str] = mapped_column(String(30), primary_key=True)
    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    parent: Mapped[str | None] = mapped_column(String(60))
    label_en: Mapped[str] = mapped_column(String(200))
    label_vi: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort: Mapped[int] = mapped_column(Integer, default=0)
