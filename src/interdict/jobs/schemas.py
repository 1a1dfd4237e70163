"""What the API says about a background job."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class JobProgress(BaseModel):
    stage: str | None = Field(
        description="reading, saving, scoring (targeting loads); checking, importing (incident imports); done"
    )
    done: int
    total: int | None = Field(description="unknown while the file is being counted")


class JobRead(BaseModel):
    id: uuid.UUID
    kind: str = Field(description="targeting.load, targeting.rescore or incidents.import")
    status: str = Field(description="queued, running, done or failed")
    filename: str
    progress: JobProgress
    result: dict[str, Any] | None = Field(
        description="done: the load's or import's summary; failed: the refused file's errors, if any"
    )
    error: str | None = Field(description="failed: why, in words")
    url: str = Field(description="this job in the API (poll it until the status is done or failed)")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
