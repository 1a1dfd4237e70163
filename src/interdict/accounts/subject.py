"""Who is acting: the identity every service call and every access decision receives."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

Channel = Literal["web", "api", "cli", "system"]

# "auditor" reads the audit trail; for records it ranks as a viewer.
ROLE_RANK = {"auditor": 0, "viewer": 0, "officer": 1, "analyst": 2, "admin": 3}


@dataclass(frozen=True)
class Subject:
    user_id: uuid.UUID
    username: str
    full_name: str
    role: str
    org_id: uuid.UUID
    org_code: str
    org_name: str
    root_org_id: uuid.UUID
    country: str
    locale: str = "en"
    # The IANA time zone in which this user sees times: their own choice, else their organisation's.
    time_zone: str = "UTC"
    channel: Channel = "web"
    scopes: frozenset[str] = field(default_factory=lambda: frozenset({"read", "write", "admin"}))
    # The subject's organisation and every organisation above it (for sharing-group membership).
    ancestor_ids: tuple[uuid.UUID, ...] = ()
    # Where the request came from (client address for web and API), for the audit trail.
    ip: str | None = None

    def has_role(self, minimum: str) -> bool:
        return ROLE_RANK.get(self.role, -1) >= ROLE_RANK[minimum]

    @property
    def can_write(self) -> bool:
        return self.has_role("officer") and "write" in self.scopes

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" and "admin" in self.scopes
