"""Signed checkpoints of the audit trail: an anchor kept outside the system.

The hash chain shows any edit, deletion or reordering *inside* the trail, but someone who controls the database
can delete the newest entries and set ``audit_head`` back to match, or recompute the whole chain. A checkpoint
says "entry N had hash H" at a given time; printed or stored off the system it cannot be changed with the
database, and ``interdict audit verify --checkpoint FILE`` fails when the trail no longer holds entry N with hash H
(and the chain from the first entry to N is intact, so entries 1..N are exactly as they were).

A checkpoint is signed with **Ed25519**. The private key is derived from the server's secret key (HKDF-SHA256,
like ``core.security.seal``; never stored), so nothing new has to be kept; the public key is printed with every
checkpoint and can be handed to whoever keeps them (an inspector, a court) to check a checkpoint's signature
without the server's secret. An HMAC would need that secret to check, and whoever can check an HMAC can also
forge one. The signature stops a forged or edited checkpoint file from being taken for a real one; it does not
stop someone holding the secret key from signing a *new* checkpoint of a rewritten trail, which is why the
checkpoints that count are the ones already kept outside.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select
from sqlalchemy.orm import Session

from interdict.audit.models import GENESIS, AuditEntry, AuditHead
from interdict.audit.service import record

log = logging.getLogger("interdict.audit")
FORMAT = "interdict-audit-checkpoint/1"
SIGNED_FIELDS = ("format", "seq", "hash", "entry_at", "made_at", "public_key")


class BadCheckpoint(ValueError):
    """A checkpoint file that is not one, or whose signature does not hold."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signing_key(secret_key: str) -> Ed25519PrivateKey:
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"interdict-audit-checkpoint").derive(
        secret_key.encode()
    )
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key(secret_key: str) -> str:
    """The checkpoints' public key (raw Ed25519, URL-safe base64): what a third party needs to check them."""
    return _b64(signing_key(secret_key).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def _message(doc: dict[str, Any]) -> bytes:
    return json.dumps({k: doc[k] for k in SIGNED_FIELDS}, sort_keys=True, separators=(",", ":")).encode()


def make(session: Session, secret_key: str, *, now: datetime) -> dict[str, Any]:
    """A signed checkpoint of the trail's newest entry (as ``audit_head`` names it)."""
    head = session.execute(select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == 1)).one()
    entry_at = None
    if head.last_seq:
        entry = session.execute(select(AuditEntry.hash, AuditEntry.at).where(AuditEntry.seq == head.last_seq)).first()
        if entry is None or entry.hash != head.last_hash:
            raise BadCheckpoint(f"the trail's head names entry {head.last_seq}, which is missing or differs: verify it")
        entry_at = entry.at.isoformat()
    key = signing_key(secret_key)
    doc: dict[str, Any] = {
        "format": FORMAT,
        "seq": int(head.last_seq),
        "hash": head.last_hash if head.last_seq else GENESIS,
        "entry_at": entry_at,
        "made_at": now.isoformat(),
        "public_key": public_key(secret_key),
    }
    doc["signature"] = _b64(key.sign(_message(doc)))
    return doc


def take(session: Session, secret_key: str, *, now: datetime) -> dict[str, Any]:
    """:func:`make`, recorded in the trail itself (the entry after the one checkpointed)."""
    doc = make(session, secret_key, now=now)
    record(
        session,
        None,
        "audit.checkpoint",
        actor_username="system",
        summary=f"checkpoint of entry {doc['seq']} ({doc['hash'][:16]}…)",
        after={"seq": doc["seq"], "hash": doc["hash"], "public_key": doc["public_key"]},
    )
    return doc


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def load(path: Path, *, expected_key: str) -> dict[str, Any]:
    """A checkpoint file, its signature checked against ``expected_key`` (the public key of :func:`public_key`)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadCheckpoint(f"{path.name}: not a checkpoint file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not all(k in doc for k in SIGNED_FIELDS):
        raise BadCheckpoint(f"{path.name}: not a checkpoint file ({FORMAT})")
    if not isinstance(doc["seq"], int) or not isinstance(doc["hash"], str):
        raise BadCheckpoint(f"{path.name}: not a checkpoint file (seq, hash)")
    if doc["public_key"] != expected_key:
        raise BadCheckpoint(
            f"{path.name}: signed with another key ({doc['public_key']}), not this server's ({expected_key}); "
            "give the key it was made with: --public-key"
        )
    try:
        Ed25519PublicKey.from_public_bytes(_unb64(expected_key)).verify(_unb64(str(doc["signature"])), _message(doc))
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        raise BadCheckpoint(f"{path.name}: the signature does not match: the checkpoint was edited or forged") from None
    return doc


@dataclass
class Finding:
    seq: int
    message: str


def check(session: Session, doc: dict[str, Any]) -> Finding | None:
    """Whether the trail still holds the checkpoint's entry, with the same hash; None if it does. (That the chain
    up to that entry is intact is the ordinary verification's part.)"""
    seq, made = doc["seq"], doc["made_at"]
    if seq == 0:
        return None
    row = session.execute(select(AuditEntry.hash).where(AuditEntry.seq == seq)).first()
    if row is None:
        last = session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0
        return Finding(
            seq,
            f"entry {seq}, in the checkpoint of {made}, is missing: the trail now ends at entry {last} "
            "(entries at the end were deleted and the head rewritten)",
        )
    if row.hash != doc["hash"]:
        return Finding(
            seq,
            f"entry {seq} differs from the checkpoint of {made}: the trail up to it was rewritten",
        )
    return None


def write(directory: Path, doc: dict[str, Any]) -> Path:
    """Write ``doc`` into ``directory`` as audit-checkpoint-<seq>-<time>.json (never over an existing file)."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = doc["made_at"][:19].replace(":", "").replace("-", "")
    path = directory / f"audit-checkpoint-{doc['seq']:012d}-{stamp}.json"
    with path.open("x", encoding="utf-8") as fh:
        fh.write(dumps(doc))
    return path


def make_worker(factory: Any, directory: Path, secret_key: str, *, hours: float) -> Any:
    """The server's thread that writes a checkpoint into ``directory`` at start and then every ``hours``."""
    from interdict.core.clock import utcnow
    from interdict.core.worker import Worker

    def step(session: Session) -> int:
        path = write(directory, take(session, secret_key, now=utcnow()))
        log.info("audit checkpoint written to %s", path)
        return 0

    return Worker("audit-checkpoint", factory, step, interval=hours * 3600)
