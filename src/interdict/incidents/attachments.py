"""Attachments: bounded, type-sniffed by content (not by name or declared type), stored outside the web
root under random names, served with the sniffed type and as a download."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import filetype
from sqlalchemy import select
from sqlalchemy.orm import Session

from interdict.accounts.subject import Subject
from interdict.core.clock import utcnow
from interdict.core.db import new_id
from interdict.core.errors import FieldError, InvalidInput, NotFound, PayloadTooLarge
from interdict.core.i18n import N_
from interdict.core.text import strip_bidi
from interdict.incidents.models import Attachment, Incident
from interdict.incidents.service import get_incident, record_attachment_change
from interdict.sharing.service import readable, require_editable

ALLOWED_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/tiff": ".tif",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "text/plain": ".txt",
    "text/csv": ".csv",
}
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>:\"/\\|?*]")


def safe_filename(name: str | None) -> str:
    """The last path component, without control, reserved or bidirectional formatting characters (an override
    makes "x\u202efdp.exe" read as "xexe.pdf"); never empty, never a dot file."""
    name = strip_bidi(unicodedata.normalize("NFC", name or ""))
    name = name.replace("\\", "/").split("/")[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name:
        name = "attachment"
    stem, dot, ext = name.rpartition(".")
    if dot and len(ext) <= 10:
        return stem[:190] + "." + ext
    return name[:200]


def sniff(head: bytes, filename: str) -> str | None:
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime if kind.mime in ALLOWED_TYPES else None
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext in ("txt", "csv") and b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # a multi-byte character cut at the end of the sample is fine
                return None
        return "text/csv" if ext == "csv" else "text/plain"
    return None


@dataclass(frozen=True)
class Storage:
    root: Path

    def path(self, key: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}", key):
            raise ValueError("bad storage key")
        return self.root / key[:2] / key

    def write(self, key: str, data: bytes) -> None:
        p = self.path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(".part")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(p)


def read_bounded(stream: BinaryIO, limit: int) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(N_("the file is larger than the limit of %(value)s MiB", value=limit // (1024 * 1024)))
    return data


@dataclass(frozen=True)
class CheckedUpload:
    """An uploaded file that passed the checks: bounded, not empty, of an accepted type sniffed from its content."""

    filename: str
    content_type: str
    data: bytes
    sha256: str


def check_upload(filename: str | None, stream: BinaryIO, limit: int) -> CheckedUpload:
    """Read and check an upload (every record type's attachments go through here); InvalidInput on ``file``."""
    data = read_bounded(stream, limit)
    if not data:
        raise InvalidInput(FieldError(("file",), N_("the file is empty")))
    name = safe_filename(filename)
    content_type = sniff(data[:8192], name)
    if content_type is None:
        raise InvalidInput(
            FieldError(
                ("file",),
                N_(
                    "this file type is not accepted: upload a photo (JPEG, PNG, GIF, WebP, "
                    "TIFF), a PDF, a Word/Excel/PowerPoint document, or a text/CSV file"
                ),
                "unsupported_type",
            )
        )
    return CheckedUpload(name, content_type, data, hashlib.sha256(data).hexdigest())


def store_upload(storage: Storage, upload: CheckedUpload) -> str:
    """Write a checked upload under a new random name outside the web root; returns its storage key."""
    key = uuid.uuid4().hex
    storage.write(key, upload.data)
    return key


def add_attachment(
    session: Session,
    subject: Subject,
    storage: Storage,
    incident_id: uuid.UUID | str,
    *,
    filename: str | None,
    stream: BinaryIO,
    limit: int,
    description: str | None = None,
) -> Attachment:
    incident = get_incident(session, subject, incident_id)
    require_editable(incident, subject)
    upload = check_upload(filename, stream, limit)
    name = upload.filename
    att = Attachment(
        id=new_id(),
        incident_id=incident.id,
        filename=name,
        content_type=upload.content_type,
        size=len(upload.data),
        sha256=upload.sha256,
        storage_key=store_upload(storage, upload),
        description=strip_bidi(description or "").strip()[:300] or None,
        created_by_id=subject.user_id,
        created_at=utcnow(),
    )
    session.add(att)
    record_attachment_change(session, subject, incident, {"field": "attachments", "old": None, "new": name})
    return att


def list_attachments(session: Session, subject: Subject, incident_id: uuid.UUID | str) -> list[Attachment]:
    incident = get_incident(session, subject, incident_id)
    return list(
        session.scalars(select(Attachment).where(Attachment.incident_id == incident.id).order_by(Attachment.created_at))
    )


def get_attachment(session: Session, subject: Subject, attachment_id: uuid.UUID) -> tuple[Attachment, Incident]:
    """The attachment and its incident, if the subject may read the incident; NotFound otherwise (same answer
    for an attachment that does not exist and one of an incident the subject may not read)."""
    stmt = (
        select(Attachment).join(Incident, Incident.id == Attachment.incident_id).where(Attachment.id == attachment_id)
    )
    att = session.scalar(readable(stmt, subject, Incident))
    if att is None:
        raise NotFound(N_("attachment not found"))
    return att, get_incident(session, subject, att.incident_id)


def delete_attachment(session: Session, subject: Subject, storage: Storage, attachment_id: uuid.UUID) -> None:
    att, incident = get_attachment(session, subject, attachment_id)
    require_editable(incident, subject)
    session.delete(att)
    record_attachment_change(session, subject, incident, {"field": "attachments", "old": att.filename, "new": None})
    # The stored file is kept: the record's history still names it, and a failed commit must not lose it.
