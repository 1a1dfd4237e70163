"""Uploads kept for a form that came back with a problem elsewhere (a wrong mapping, a batch name too long): the
browser cannot put a file back into a file input, so the server keeps the file a short while and the form offers
it again ("file X (n kB) is kept"); resubmitting without choosing another file uses it.

A kept file lives in the jobs directory's ``held`` folder as ``<token>.bin`` with a ``<token>.json`` note (who
uploaded it, its name and size); only its uploader gets it back, for :data:`HELD_SECONDS`. Every hold removes the
expired ones. Its size is bounded by the caller's upload limit, as the upload itself."""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from interdict.accounts.subject import Subject
from interdict.config import Settings
from interdict.jobs.service import store_upload

HELD_SECONDS = 3600
_TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Held:
    token: str
    filename: str
    size: int
    path: Path


def _dir(settings: Settings) -> Path:
    return settings.jobs_dir / "held"


def hold(settings: Settings, subject: Subject, stream: BinaryIO, filename: str, limit: int) -> Held:
    """Keep ``stream`` (from its start) as ``filename`` for ``subject``; raises PayloadTooLarge past ``limit``."""
    sweep(settings)
    token = secrets.token_hex(16)
    folder = _dir(settings)
    stream.seek(0)
    path = folder / f"{token}.bin"
    written = store_upload(stream, path, limit)
    note = {"user": str(subject.user_id), "filename": filename, "size": written, "at": time.time()}
    (folder / f"{token}.json").write_text(json.dumps(note), encoding="utf-8")
    return Held(token, filename, written, path)


def get(settings: Settings, subject: Subject, token: str) -> Held | None:
    """The file kept under ``token`` for ``subject``, if it is still kept (None otherwise, never another's)."""
    if not _TOKEN_RE.match(token or ""):
        return None
    folder = _dir(settings)
    try:
        note = json.loads((folder / f"{token}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    path = folder / f"{token}.bin"
    if note.get("user") != str(subject.user_id) or time.time() - float(note.get("at", 0)) > HELD_SECONDS:
        return None
    if not path.is_file():
        return None
    return Held(token, str(note.get("filename") or "upload"), int(note.get("size") or 0), path)


def drop(settings: Settings, token: str) -> None:
    if _TOKEN_RE.match(token or ""):
        for suffix in (".bin", ".json"):
            (_dir(settings) / f"{token}{suffix}").unlink(missing_ok=True)


def sweep(settings: Settings, *, now: float | None = None) -> int:
    """Remove the kept files older than :data:`HELD_SECONDS`; returns how many."""
    folder = _dir(settings)
    if not folder.is_dir():
        return 0
    limit = (now or time.time()) - HELD_SECONDS
    removed = 0
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
                removed += path.suffix == ".bin"
        except OSError:
            continue
    return removed
