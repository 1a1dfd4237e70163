"""Account administration: an administrator edits, re-roles, deactivates, reactivates a user of their agency and
resets their password. The page, the API and the command line all call these functions. Each writes its audit
entry (before and after, never a secret). Never commits.

Administrators manage the users of their own agency (organisation tree, :func:`service.in_tree`); a user of
another agency is "not found". An agency always keeps one active administrator: the last one can be neither
deactivated nor given another role.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from interdict.accounts import service, throttle
from interdict.accounts.models import ApiToken, Organisation, User
from interdict.accounts.schemas import UserUpdate
from interdict.accounts.subject import Subject
from interdict.audit import service as audit
from interdict.core.errors import Conflict, FieldError, InvalidInput, NotFound
from interdict.core.i18n import N_
from interdict.sharing.service import require_admin

# Temporary passwords: 4 groups of 5 from an alphabet without look-alikes (no 0/o, 1/l/i): about 97 bits.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
LAST_ADMIN = N_("the agency's last active administrator cannot be deactivated or given another role")


def managed_user(session: Session, subject: Subject, user_id: uuid.UUID) -> User:
    """The user, if the subject is an administrator of the user's agency; a user of another agency is not found."""
    require_admin(subject, "only administrators manage users")
    user = session.get(User, user_id)
    org = session.get(Organisation, user.org_id) if user is not None else None
    if user is None or not service.in_tree(org, subject):
        raise NotFound(N_("user not found"))
    return user


def managed_user_by_username(session: Session, subject: Subject, username: str) -> User:
    require_admin(subject, "only administrators manage users")
    user = service.get_user_by_username(session, username)
    if user is None:
        raise NotFound(N_("no user '%(username)s' in your agency", username=username))
    return managed_user(session, subject, user.id)


def _root_of(session: Session, user: User) -> uuid.UUID:
    org = session.get(Organisation, user.org_id)
    assert org is not None
    return org.root_id or org.id


def _is_last_active_admin(session: Session, user: User) -> bool:
    """Whether ``user`` is an active administrator and no other active administrator is in the agency."""
    if user.role != "admin" or not user.is_active:
        return False
    others = session.scalar(
        select(func.count())
        .select_from(User)
        .join(Organisation, Organisation.id == User.org_id)
        .where(
            User.id != user.id,
            User.role == "admin",
            User.is_active.is_(True),
            func.coalesce(Organisation.root_id, Organisation.id) == _root_of(session, user),
        )
    )
    return not others


def _record(session: Session, subject: Subject, action: str, user: User, **fields: Any) -> None:
    audit.record(session, subject, action, object_type="user", object_id=user.id, object_label=user.username, **fields)


def _record_revoked(session: Session, subject: Subject, tokens: list[ApiToken], why: str) -> None:
    for token in tokens:
        audit.record(
            session,
            subject,
            "token.revoke",
            object_type="api_token",
            object_id=token.id,
            object_label=token.name,
            summary=why,
        )


def _no_longer_head(session: Session, subject: Subject, user: User) -> None:
    """A user who leaves a unit stops being its head (alerts it leaves unacknowledged escalate to its
    administrators until another head is named)."""
    for org in session.scalars(select(Organisation).where(Organisation.head_user_id == user.id)):
        if org.id != user.org_id:
            org.head_user_id = None
            audit.record(
                session,
                subject,
                "organisation.head",
                object_type="organisation",
                object_id=org.id,
                object_label=org.code,
                before={"head_user_id": user.id},
                after={"head_user_id": None},
                summary=f"{user.username} moved to another unit",
            )


def update_user(session: Session, subject: Subject, user: User, data: UserUpdate) -> User:
    """Change the user's name, e-mail address, unit, language and role (only the fields sent). Audited as
    ``user.update`` (details) and ``user.role`` (role), each with the values before and after."""
    sent = data.model_fields_set
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}

    def change(name: str, new: Any) -> None:
        old = getattr(user, name)
        if old != new:
            before[name], after[name] = old, new
            setattr(user, name, new)

    if "org_code" in sent and data.org_code:
        org = service.get_org_by_code(session, data.org_code)
        if not service.in_tree(org, subject):
            raise InvalidInput(FieldError(("org_code",), N_("no such unit in your agency"), "unknown_unit"))
        if org.id != user.org_id:
            old_org = session.get(Organisation, user.org_id)
            before["unit"], after["unit"] = (old_org.code if old_org else None), org.code
            user.org_id = org.id
            _no_longer_head(session, subject, user)
    if "full_name" in sent and data.full_name:
        change("full_name", data.full_name)
    if "email" in sent:
        change("email", data.email)
    if "locale" in sent and data.locale:
        change("locale", data.locale)
    if before:
        _record(session, subject, "user.update", user, before=before, after=after)
    if "role" in sent and data.role and data.role != user.role:
        if _is_last_active_admin(session, user):
            raise Conflict(LAST_ADMIN)
        _record(session, subject, "user.role", user, before={"role": user.role}, after={"role": data.role})
        user.role = data.role
    session.flush()
    return user


def deactivate_user(session: Session, subject: Subject, user: User) -> User:
    """The user can no longer sign in: their web sessions end and their API tokens are revoked at once (a
    reactivated account starts without them). The agency's last active administrator cannot be deactivated."""
    if not user.is_active:
        return user
    if _is_last_active_admin(session, user):
        raise Conflict(LAST_ADMIN)
    user.is_active = False
    ended = service.end_all_web_sessions(session, user.id)
    revoked = service.revoke_all_api_tokens(session, user.id)
    _record_revoked(session, subject, revoked, "revoked: the account was deactivated")
    _record(
        session,
        subject,
        "user.deactivate",
        user,
        before={"is_active": True},
        after={"is_active": False},
        summary=f"{ended} session(s) ended; {len(revoked)} API token(s) revoked",
    )
    session.flush()
    return user


def reactivate_user(session: Session, subject: Subject, user: User) -> User:
    if user.is_active:
        return user
    user.is_active = True
    user.failed_logins = 0
    _record(session, subject, "user.reactivate", user, before={"is_active": False}, after={"is_active": True})
    session.flush()
    return user


def generate_password() -> str:
    while True:
        password = "-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(4))
        try:
            service.check_password_policy(password)
        except InvalidInput:  # pragma: no cover - 97 random bits always pass; never hand out a weak one
            continue
        return password


def reset_password(session: Session, subject: Subject, user: User, password: str | None = None) -> str | None:
    """Set a temporary password (``password``, checked against the password policy, or a generated one, which
    is returned). The user must change it at their next login; their sessions end, their API tokens are revoked
    and a lockout is lifted. Audited as ``user.password_reset`` (never the password)."""
    chosen = password if password else generate_password()
    revoked = service.set_password(session, user, chosen)
    user.must_change_password = True
    throttle.unlock(session, user.username)
    _record_revoked(session, subject, revoked, "revoked by a password reset")
    _record(
        session,
        subject,
        "user.password_reset",
        user,
        after={"must_change_password": True, "generated": not password},
        summary=f"temporary password set; sessions ended; {len(revoked)} API token(s) revoked",
    )
    session.flush()
    return None if password else chosen
