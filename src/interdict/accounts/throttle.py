"""Brute-force protection: failed sign-ins counted per account name and per client address, in the
database (every app process shares them). A name that does not exist is counted the same way, so the
answers never tell which accounts exist. Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from interdict.accounts.models import LoginThrottle
from interdict.core.clock import utcnow


@dataclass(frozen=True)
class Limits:
    account_failures: int = 5
    address_failures: int = 20
    window_minutes: int = 15
    lockout_minutes: int = 15


def _keys(username: str, ip: str | None) -> list[tuple[str, str]]:
    keys = [("account", f"account:{username.strip().lower()[:150]}")]
    if ip:
        keys.append(("address", f"address:{ip[:150]}"))
    return keys


def blocked(session: Session, username: str, ip: str | None) -> bool:
    now = utcnow()
    for _kind, key in _keys(username, ip):
        row = session.get(LoginThrottle, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            return True
    return False


def failed(session: Session, username: str, ip: str | None, limits: Limits) -> bool:
    """Count a failure for the account and the address; True if one of them is now locked."""
    now = utcnow()
    window = timedelta(minutes=limits.window_minutes)
    locked = False
    for kind, key in _keys(username, ip):
        row = session.get(LoginThrottle, key)
        if row is None:
            row = LoginThrottle(key=key, failures=0, window_start=now)
            session.add(row)
        if row.window_start + window <= now:
            row.failures, row.window_start = 0, now
        row.failures += 1
        limit = limits.account_failures if kind == "account" else limits.address_failures
        if row.failures >= limit:
            row.locked_until = now + timedelta(minutes=limits.lockout_minutes)
            row.failures, row.window_start = 0, now
            locked = True
    session.flush()
    return locked


def succeeded(session: Session, username: str) -> None:
    row = session.get(LoginThrottle, _keys(username, None)[0][1])
    if row is not None:
        session.delete(row)
        session.flush()
