from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    seq: int
    at: datetime
    actor_user_id: uuid.UUID | None
    actor_username: str | None
    channel: str
    ip: str | None
    action: str
    object_type: str | None
    object_id: str | None
    object_label: str | None
    summary: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str
    hash: str
