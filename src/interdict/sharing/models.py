"""Sharing groups: named sets of member organisations a record can be distributed to."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from interdict.core.clock import utcnow
from interdict.core.db import Base, UTCDateTime, new_id


class SharingGroup(Base):
    """E.g. "Mekong Dragon" (VN, CN, LA, KH, TH, MM customs) or "CECWG".

    A member organisation brings its whole tree: the units below a member agency are members too.
    The owner organisation manages the group and is always a member. With ``hide_members`` only
    the owner's tree sees the member list; other members see the group's name alone.
    """

    __tablename__ = "sharing_groups"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    owner_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    hide_members: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list[SharingGroupMember]] = relationship(cascade="all, delete-orphan")


class SharingGroupMember(Base):
    __tablename__ = "sharing_group_members"

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sharing_groups.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
