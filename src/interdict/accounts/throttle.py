"""Brute-force protection, in the database (every app process shares the counters). Never commits.

Three counters, each a row keyed by what it counts:

- ``account:<name>``: wrong passwords for an account name (at login, and the current password asked again
  before a password or two-factor change). A name that does not exist is counted the same way, so the answers
  never tell which accounts exist. A right password at login resets it.
- ``address:<ip>``: every failure from a client address, whatever the account.
- ``mfa:<name>``: wrong second-factor codes (TOTP and recovery codes). Only a right second factor (or an
  administrator's unlock or two-factor reset) resets it, never the password: otherwise whoever knows the
  password could try codes without end, logging in again before each lockout. Reaching its limit locks the
  account (the ``account:`` row too), so neither the password nor even the right code is accepted until the
  lock ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from interdict.accounts.models import LoginThrottle
from interdict.core.clock import utcnow

Kind = Literal["account", "address", "mfa"]


@dataclass(frozen=True)
class Limits:
    account_failures: int = 5
    address_failures: int = 20
    window_minutes: int = 15
    lockout_minutes: int = 15
    second_factor_failures: int = 5

    def limit(self, kind: Kind) -> int:
        if kind == "account":
            return self.account_failures
        if kind == "address":
            return self.address_failures
        return self.second_factor_failures


def _key(kind: Kind, value: str) -> str:
    if kind in ("account", "mfa"):
        value = value.strip().lower()
    return f"{kind}:{value[:150]}"


def _keys(username: str, ip: str | None) -> list[tuple[Kind, str]]:
    keys: list[tuple[Kind, str]] = [("account", _key("account", username))]
    if ip:
        keys.append(("address", _key("address", ip)))
    return keys


def blocked(session: Session, username: str, ip: str | None) -> bool:
    """Whether the account name or the client address is locked now (for any step: password or code)."""
    now = utcnow()
    for _kind, key in [*_keys(username, ip), ("mfa", _key("mfa", username))]:
        row = session.get(LoginThrottle, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            return True
    return False


def _count(session: Session, kind: Kind, key: str, limits: Limits) -> bool:
    """One more failure on ``key``; True if it now reaches the limit (the row is then locked)."""
    now = utcnow()
    row = session.get(LoginThrottle, key)
    if row is None:
        row = LoginThrottle(key=key, failures=0, window_start=now)
        session.add(row)
    if row.window_start + timedelta(minutes=limits.window_minutes) <= now:
        row.failures, row.window_start = 0, now
    row.failures += 1
    if row.failures >= limits.limit(kind):
        _lock(row, limits)
        return True
    return False


def _lock(row: LoginThrottle, limits: Limits) -> None:
    now = utcnow()
    row.locked_until = now + timedelta(minutes=limits.lockout_minutes)
    row.failures, row.window_start = 0, now


def failed(session: Session, username: str, ip: str | None, limits: Limits) -> list[Kind]:
    """Count a wrong password for the account name and the address; returns which of them are now locked."""
    locked = [kind for kind, key in _keys(username, ip) if _count(session, kind, key, limits)]
    session.flush()
    return locked


def second_factor_failed(session: Session, username: str, ip: str | None, limits: Limits) -> list[Kind]:
    """Count a wrong second-factor code for the account and the address; returns which are now locked. When
    the account's second-factor counter reaches its limit, the account is locked (password and code alike)."""
    locked: list[Kind] = []
    if _count(session, "mfa", _key("mfa", username), limits):
        account_key = _key("account", username)
        account = session.get(LoginThrottle, account_key)
        if account is None:
            account = LoginThrottle(key=account_key, failures=0, window_start=utcnow())
            session.add(account)
        _lock(account, limits)
        locked.append("account")
    if ip and _count(session, "address", _key("address", ip), limits):
        locked.append("address")
    session.flush()
    return locked


def succeeded(session: Session, username: str) -> None:
    """A right password: the account name's password failures are forgotten (not its second-factor ones)."""
    _forget(session, _key("account", username))


def second_factor_succeeded(session: Session, username: str) -> None:
    """A right second factor: the account's second-factor failures are forgotten."""
    _forget(session, _key("mfa", username))


def unlock(session: Session, username: str) -> bool:
    """An administrator unlocks the account (password and second-factor counters); True if it was locked."""
    now = utcnow()
    was_locked = False
    for key in (_key("account", username), _key("mfa", username)):
        row = session.get(LoginThrottle, key)
        if row is not None:
            was_locked = was_locked or (row.locked_until is not None and row.locked_until > now)
            session.delete(row)
    session.flush()
    return was_locked


def _forget(session: Session, key: str) -> None:
    row = session.get(LoginThrottle, key)
    if row is not None:
        session.delete(row)
        session.flush()


def locked_accounts(session: Session, usernames: list[str]) -> dict[str, datetime]:
    """Which of these account names are locked now, and until when (for the administrators' page)."""
    wanted = {name.strip().lower() for name in usernames}
    found: dict[str, datetime] = {}
    for row in session.scalars(select(LoginThrottle).where(LoginThrottle.locked_until > utcnow())):
        kind, _sep, name = row.key.partition(":")
        if kind in ("account", "mfa") and name in wanted and row.locked_until is not None:
            found[name] = max(found.get(name, row.locked_until), row.locked_until)
    return found
