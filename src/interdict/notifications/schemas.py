"""Request and response shapes of the notifications API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from interdict.core.fields import Line
from interdict.core.schemas import Input


class Strict(Input):
    model_config = ConfigDict(extra="forbid")


# Notification ids are 64-bit integers.
NotificationId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class MarkRead(Strict):
    ids: list[NotificationId] | None = Field(
        default=None, max_length=1000, description="Notification ids; or all=true."
    )
    all: bool = False


class PreferencesIn(Strict):
    email_urgencies: list[Line] = Field(default_factory=lambda: ["urgent", "immediate"], max_length=3)
    digest: Line = "daily"
    digest_hour: int = 1


class PreferencesOut(BaseModel):
    email_urgencies: list[str]
    digest: str
    digest_hour: int
    email_enabled: bool


class EndpointIn(Strict):
    name: Line = Field(max_length=200)
    url: Line = Field(max_length=4000)
    kinds: list[Line] | None = Field(default=None, max_length=50)


class EndpointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    url: str
    kinds: list[str] | None
    active: bool
    created_at: datetime
    disabled_at: datetime | None


class EndpointCreated(EndpointOut):
    secret: str = Field(description="The signing secret (whsec_...): shown once, keep it in the receiving system.")


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel: str
    kind: str
    notification_id: int | None
    endpoint_id: uuid.UUID | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class NotificationPage(BaseModel):
    items: list[dict[str, Any]]
    next_before_id: int | None
