"""Two-factor authentication: TOTP (RFC 6238, pyotp) with single-use recovery codes. Never commits.

The TOTP secret is stored sealed with the server's secret key (core.security.seal, AES-256-GCM): a copy of the
database alone does not give anyone the codes. A secret the current key cannot open (the key was changed) is
treated as no secret: the code check fails and an administrator resets the user's two-factor set-up.
"""

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
PURPOSE = "totp-secret"


def enabled(user: User) -> bool:
    return user.totp_enabled_at is not None and bool(user.totp_secret)


def required(session: Session, user: User) -> bool:
    org = session.get(Organisation, user.org_id)
    return bool(org and org.require_2fa)


def secret(user: User, *, pepper: str) -> str | None:
    """The user's TOTP secret in clear; None when there is none or the current key cannot open it."""
    stored = user.totp_secret
    if not stored:
        return None
    if not security.is_sealed(stored):
        return stored  # stored before secrets were sealed (migration 0017); sealed at the next start
    try:
        return security.unseal(stored, pepper, purpose=PURPOSE)
    except security.Unsealable:
        return None


def start_enrolment(user: User, *, pepper: str) -> str:
    """A new secret, kept (sealed) on the user until a code confirms it (then 2FA is on); returns it in clear."""
    plain = pyotp.random_base32()
    user.totp_secret = security.seal(plain, pepper, purpose=PURPOSE)
    user.totp_enabled_at = None
    user.totp_last_step = None
    return plain


def seal_stored_secrets(session: Session, *, pepper: str) -> int:
    """Seal the TOTP secrets stored in clear before migration 0017 (run at start-up); returns how many."""
    sealed = 0
    for user in session.scalars(select(User).where(User.totp_secret.is_not(None))):
        if user.totp_secret and not security.is_sealed(user.totp_secret):
            user.totp_secret = security.seal(user.totp_secret, pepper, purpose=PURPOSE)
            sealed += 1
    session.flush()
    return sealed


def provisioning_uri(user: User, *, pepper: str) -> str:
    plain = secret(user, pepper=pepper)
    assert plain
    return pyotp.TOTP(plain).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code as inline SVG markup, drawn on the server (no script, no outside service)."""
    return str(segno.make(uri, error="m").svg_inline(scale=4, dark="#111", light="#fff"))


def verify_code(user: User, code: str, *, pepper: str, now: float | None = None) -> bool:
    """A current 6-digit code (±1 step for clock drift), never one already used (no replay)."""
    plain = secret(user, pepper=pepper)
    if not plain:
        return False
    digits = "".join(ch for ch in code if ch.isdigit())
    if len(digits) != 6:
        return False
    totp = pyotp.TOTP(plain)
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
    if not verify_code(user, code, pepper=pepper):
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
