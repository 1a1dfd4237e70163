"""Two-factor authentication: TOTP (RFC 6238, pyotp) with single-use recovery codes. Never commits."""

from __future__ import annotations

import secrets
import time

import pyotp
import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from interdict.accounts.models import Organisation, RecoveryCode, User
from interdict.core import security
from interdict.core.clock import utcnow

ISSUER = "Interdict"
RECOVERY_CODES = 10


def enabled(user: User) -> bool:
    return user.totp_enabled_at is not None and bool(user.totp_secret)


def required(session: Session, user: User) -> bool:
    org = session.get(Organisation, user.org_id)
    return bool(org and org.require_2fa)


def start_enrolment(user: User) -> str:
    """A new secret, kept on the user until a code confirms it (then 2FA is on)."""
    user.totp_secret = pyotp.random_base32()
    user.totp_enabled_at = None
    user.totp_last_step = None
    return user.totp_secret


def provisioning_uri(user: User) -> str:
    assert user.totp_secret
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code as inline SVG markup, drawn on the server (no script, no outside service)."""
    return str(segno.make(uri, error="m").svg_inline(scale=4, dark="#111", light="#fff"))


def verify_code(user: User, code: str, *, now: float | None = None) -> bool:
    """A current 6-digit code (±1 step for clock drift), never one already used (no replay)."""
    if not user.totp_secret:
        return False
    digits = "".join(ch for ch in code if ch.isdigit())
    if len(digits) != 6:
        return False
    totp = pyotp.TOTP(user.totp_secret)
    t = time.time() if now is None else now
    step = int(t // totp.interval)
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.at(candidate * totp.interval), digits):
            if user.totp_last_step is not None and candidate <= user.totp_last_step:
                return False
            user.totp_last_step = candidate
            return True
    return False


def confirm_enrolment(session: Session, user: User, code: str, *, pepper: str) -> list[str] | None:
    """Turn 2FA on if ``code`` is right; returns the new recovery codes (shown once) or None."""
    if not verify_code(user, code):
        return None
    user.totp_enabled_at = utcnow()
    return new_recovery_codes(session, user, pepper=pepper)


def new_recovery_codes(session: Session, user: User, *, pepper: str) -> list[str]:
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    for c in codes:
        session.add(RecoveryCode(user_id=user.id, digest=security.token_digest(c, pepper)))
    session.flush()
    return codes


def use_recovery_code(session: Session, user: User, code: str, *, pepper: str) -> bool:
    digest = security.token_digest(code.strip().lower(), pepper)
    row = session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.digest == digest, RecoveryCode.used_at.is_(None)
        )
    )
    if row is None:
        return False
    row.used_at = utcnow()
    return True


def disable(session: Session, user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)
    session.flush()
