"""Organisations, users, logins, web sessions and API tokens. Never commits."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from typing import TypeGuard

from sqlalchemy import select
from sqlalchemy.orm import Session

from interdict.accounts.models import ApiToken, Organisation, User, WebSession
from interdict.accounts.schemas import OrganisationCreate, TokenCreate, UserCreate
from interdict.accounts.subject import Channel, Subject
from interdict.core import security
from interdict.core.clock import utcnow
from interdict.core.db import new_id
from interdict.core.errors import Conflict, FieldError, InvalidInput, NotFound
from interdict.core.i18n import N_
from interdict.core.localtime import default_zone

MIN_PASSWORD_LENGTH = 12
MIN_PASSWORD_SCORE = 3  # zxcvbn 0-4: 3 = "safely unguessable: moderate protection from offline attacks"
TOKEN_PREFIX = "idt"  # noqa: S105 (a display prefix, not a secret)
SESSION_PREFIX = "ids"


def check_password_policy(
    password: str, *, username: str = "", full_name: str = "", loc: tuple[str | int, ...] = ("password",)
) -> None:
    """At least 12 characters, not built on the user's names, not repetitive, and not a common or breached
    pattern (zxcvbn: dictionaries of common passwords, names and words, keyboard walks, dates, l33t)."""
    problems: list[str] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if username and username.lower() in password.lower():
        problems.append("must not contain the username")
    if len(set(password)) < 5:
        problems.append("is too repetitive")
    if not problems:
        from zxcvbn import zxcvbn

        words = [w for w in [username, *full_name.split()] if len(w) >= 3]
        result = zxcvbn(password[:100], user_inputs=words)
        if result["score"] < MIN_PASSWORD_SCORE:
            hint = result["feedback"].get("warning") or "it is too easy to guess"
            tips = " ".join(result["feedback"].get("suggestions") or [])
            problems.append(f"is too easy to guess ({hint.rstrip('.')}){': ' + tips if tips else ''}")
    if problems:
        raise InvalidInput(FieldError(loc, "password " + " and ".join(problems), "weak_password"))


# --- organisations -------------------------------------------------------------------------


def get_org_by_code(session: Session, code: str) -> Organisation | None:
    return session.scalar(select(Organisation).where(Organisation.code == code))


def create_organisation(session: Session, data: OrganisationCreate) -> Organisation:
    if get_org_by_code(session, data.code) is not None:
        raise Conflict(N_("organisation code '%(code)s' already exists", code=data.code))
    parent: Organisation | None = None
    if data.parent_code:
        parent = get_org_by_code(session, data.parent_code)
        if parent is None:
            raise InvalidInput(
                FieldError(
                    ("parent_code",), N_("no organisation with code '%(parent_code)s'", parent_code=data.parent_code)
                )
            )
    org = Organisation(
        id=new_id(),
        code=data.code,
        name=data.name,
        name_local=data.name_local,
        kind=data.kind,
        country=data.country,
        parent_id=parent.id if parent else None,
        contact_email=data.contact_email,
        time_zone=data.time_zone or default_zone(data.country),
    )
    org.root_id = parent.root_id if parent and parent.root_id else (parent.id if parent else org.id)
    session.add(org)
    session.flush()
    return org


def in_tree(org: Organisation | None, subject: Subject) -> TypeGuard[Organisation]:
    """Whether ``org`` belongs to the subject's agency (organisation tree): what its administrators manage."""
    return org is not None and (org.root_id or org.id) == subject.root_org_id


def tree_organisations(session: Session, subject: Subject) -> list[Organisation]:
    return [o for o in list_organisations(session) if in_tree(o, subject)]


def list_organisations(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).order_by(Organisation.country, Organisation.code)))


def set_time_zone(target: Organisation | User, name: str | None) -> str | None:
    """Set an organisation's time zone (None: its country's) or a user's own (None: their organisation's);
    returns the previous value. The name is an IANA zone, checked by the caller's schema."""
    before = target.time_zone
    if isinstance(target, Organisation):
        target.time_zone = name or default_zone(target.country)
    else:
        target.time_zone = name or None
    return before


def set_head(session: Session, org: Organisation, username: str | None) -> uuid.UUID | None:
    """Name the unit's head (an active user of the unit) or remove it; returns the previous head's id."""
    before = org.head_user_id
    if username and username.strip():
        user = get_user_by_username(session, username)
        if user is None or user.org_id != org.id or not user.is_active:
            raise InvalidInput(
                FieldError(
                    ("head_username",),
                    N_("no active user '%(strip)s' in %(code)s", strip=username.strip(), code=org.code),
                    "unknown_user",
                )
            )
        org.head_user_id = user.id
    else:
        org.head_user_id = None
    session.flush()
    return before


# --- users ---------------------------------------------------------------------------------


def get_user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip().lower()))


def create_user(session: Session, data: UserCreate) -> User:
    org = get_org_by_code(session, data.org_code)
    if org is None:
        raise InvalidInput(
            FieldError(("org_code",), N_("no organisation with code '%(org_code)s'", org_code=data.org_code))
        )
    if get_user_by_username(session, data.username) is not None:
        raise Conflict(N_("username '%(username)s' is taken", username=data.username))
    check_password_policy(data.password, username=data.username, full_name=data.full_name)
    user = User(
        username=data.username,
        full_name=data.full_name,
        email=data.email,
        role=data.role,
        org_id=org.id,
        password_hash=security.hash_password(data.password),
        locale=data.locale,
        is_active=True,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    return user


def set_password(
    session: Session, user: User, password: str, *, keep_session_id: uuid.UUID | None = None
) -> list[ApiToken]:
    """Set a new password; every web session of the user ends (but ``keep_session_id``, the one in use) and
    every API token of the user is revoked (a token taken with the old password must not outlive it). Returns
    the tokens revoked, for the audit trail."""
    check_password_policy(password, username=user.username, full_name=user.full_name)
    user.password_hash = security.hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    end_all_web_sessions(session, user.id, keep=keep_session_id)
    revoked = revoke_all_api_tokens(session, user.id)
    session.flush()
    return revoked


def set_locale(session: Session, user_id: uuid.UUID, locale: str) -> None:
    """The user's language, remembered for every later session and for what is sent to them (e-mails)."""
    user = session.get(User, user_id)
    if user is not None and user.locale != locale:
        user.locale = locale
        session.flush()


def list_users(session: Session, *, org_ids: list[uuid.UUID] | None = None) -> list[User]:
    stmt = select(User).order_by(User.username)
    if org_ids is not None:
        stmt = stmt.where(User.org_id.in_(org_ids))
    return list(session.scalars(stmt))


_ANCESTORS: dict[uuid.UUID, tuple[uuid.UUID, ...]] = {}


def org_ancestors(session: Session, org: Organisation) -> tuple[uuid.UUID, ...]:
    """``org`` and every organisation above it, nearest first. Organisations never move: cached."""
    found = _ANCESTORS.get(org.id)
    if found is None:
        chain = [org.id]
        parent_id = org.parent_id
        while parent_id is not None and parent_id not in chain and len(chain) < 20:
            chain.append(parent_id)
            parent = session.get(Organisation, parent_id)
            parent_id = parent.parent_id if parent is not None else None
        found = _ANCESTORS[org.id] = tuple(chain)
    return found


def ancestors_of(session: Session, org_id: uuid.UUID) -> tuple[uuid.UUID, ...]:
    """Like :func:`org_ancestors`, by id (no query once cached)."""
    found = _ANCESTORS.get(org_id)
    if found is None:
        org = session.get(Organisation, org_id)
        found = org_ancestors(session, org) if org is not None else (org_id,)
    return found


def subject_for(
    user: User,
    org: Organisation,
    *,
    channel: Channel,
    scopes: frozenset[str] | None = None,
    ip: str | None = None,
    ancestors: tuple[uuid.UUID, ...] = (),
) -> Subject:
    return Subject(
        user_id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        org_id=org.id,
        org_code=org.code,
        org_name=org.name,
        root_org_id=org.root_id or org.id,
        country=org.country,
        locale=user.locale,
        time_zone=user.time_zone or org.time_zone or "UTC",
        channel=channel,
        scopes=scopes if scopes is not None else frozenset({"read", "write", "admin"}),
        ip=ip,
        ancestor_ids=ancestors or (org.id,),
    )


def subject_for_user(
    session: Session, user: User, *, channel: Channel, scopes: frozenset[str] | None = None, ip: str | None = None
) -> Subject:
    org = session.get(Organisation, user.org_id)
    assert org is not None
    return subject_for(user, org, channel=channel, scopes=scopes, ip=ip, ancestors=org_ancestors(session, org))


def subject_by_username(session: Session, username: str, *, channel: Channel = "cli") -> Subject:
    user = get_user_by_username(session, username)
    if user is None or not user.is_active:
        raise NotFound(N_("no active user '%(username)s'", username=username))
    return subject_for_user(session, user, channel=channel)


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user if the credentials are right and the account active; None otherwise (one message for all)."""
    user = get_user_by_username(session, username) if username else None
    ok = security.verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        if user is not None and not ok:
            user.failed_logins += 1
        return None
    user.failed_logins = 0
    if user.password_hash and security.password_needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(password)
    return user


def record_login(user: User) -> None:
    """A complete sign-in (the password and, when on, the second factor; or the identity provider): what
    administrators see as the last login."""
    user.last_login_at = utcnow()


# --- web sessions --------------------------------------------------------------------------


def start_web_session(
    session: Session,
    user: User,
    *,
    pepper: str,
    absolute_hours: int,
    ip: str | None,
    user_agent: str | None,
    stage: str = "full",
) -> tuple[str, WebSession]:
    """A new session with a new random token (never reusing one from before the login: no fixation).
    A second-step session ("mfa", "enrol") lives 5 minutes and grants nothing else."""
    token = security.new_token(SESSION_PREFIX)
    now = utcnow()
    ws = WebSession(
        digest=security.token_digest(token, pepper),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + (timedelta(hours=absolute_hours) if stage == "full" else timedelta(minutes=5)),
        ip=ip,
        user_agent=(user_agent or "")[:300],
        stage=stage,
    )
    session.add(ws)
    session.flush()
    return token, ws


def resolve_web_session(
    session: Session, token: str, *, pepper: str, idle_minutes: int, stage: str = "full"
) -> tuple[WebSession, User] | None:
    """The session and its user if the token is valid, unexpired and at ``stage`` ("full" grants access;
    "mfa" / "enrol" only the second login step)."""
    ws = session.scalar(select(WebSession).where(WebSession.digest == security.token_digest(token, pepper)))
    if ws is None or ws.stage != stage:
        return None
    now = utcnow()
    if ws.expires_at <= now or ws.last_seen_at + timedelta(minutes=idle_minutes) <= now:
        session.delete(ws)
        return None
    user = session.get(User, ws.user_id)
    if user is None or not user.is_active:
        return None
    if (now - ws.last_seen_at).total_seconds() > 60:
        ws.last_seen_at = now
    return ws, user


def end_all_web_sessions(session: Session, user_id: uuid.UUID, *, keep: uuid.UUID | None = None) -> int:
    """Log the user out everywhere (all browsers), except the session ``keep``."""
    n = 0
    for ws in session.scalars(select(WebSession).where(WebSession.user_id == user_id)):
        if ws.id != keep:
            session.delete(ws)
            n += 1
    session.flush()
    return n


def end_web_session(session: Session, token: str, *, pepper: str) -> None:
    ws = session.scalar(select(WebSession).where(WebSession.digest == security.token_digest(token, pepper)))
    if ws is not None:
        session.delete(ws)


# --- API tokens ----------------------------------------------------------------------------


def create_api_token(session: Session, user: User, data: TokenCreate, *, pepper: str) -> tuple[str, ApiToken]:
    token = security.new_token(TOKEN_PREFIX)
    now = utcnow()
    row = ApiToken(
        user_id=user.id,
        name=data.name,
        digest=security.token_digest(token, pepper),
        display_prefix=token[:10],
        scopes=",".join(sorted(set(data.scopes))),
        created_at=now,
        expires_at=now + timedelta(days=data.expires_in_days) if data.expires_in_days else None,
    )
    session.add(row)
    session.flush()
    return token, row


def resolve_api_token(session: Session, token: str, *, pepper: str) -> tuple[ApiToken, User, Organisation] | None:
    """The token, its user and the user's organisation, in one query; None if invalid, expired or revoked."""
    row = session.execute(
        select(ApiToken, User, Organisation)
        .join(User, User.id == ApiToken.user_id)
        .join(Organisation, Organisation.id == User.org_id)
        .where(ApiToken.digest == security.token_digest(token, pepper))
    ).first()
    now = utcnow()
    if row is None:
        return None
    api_token, user, org = row
    if api_token.revoked_at is not None or (api_token.expires_at is not None and api_token.expires_at <= now):
        return None
    if not user.is_active:
        return None
    if api_token.last_used_at is None or (now - api_token.last_used_at).total_seconds() > 60:
        api_token.last_used_at = now
    return api_token, user, org


def list_api_tokens(session: Session, user_id: uuid.UUID) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at)))


def revoke_api_token(session: Session, user_id: uuid.UUID, token_id: uuid.UUID) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id:
        raise NotFound(N_("token not found"))
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def active_api_tokens(session: Session, user_id: uuid.UUID) -> list[ApiToken]:
    """The user's tokens that still work (neither revoked nor expired)."""
    now = utcnow()
    return [
        t
        for t in list_api_tokens(session, user_id)
        if t.revoked_at is None and (t.expires_at is None or t.expires_at > now)
    ]


def revoke_all_api_tokens(session: Session, user_id: uuid.UUID) -> list[ApiToken]:
    """Revoke every token of the user that still works; returns them."""
    revoked = active_api_tokens(session, user_id)
    now = utcnow()
    for token in revoked:
        token.revoked_at = now
    session.flush()
    return revoked


def service_password_matches(user: User, password: str) -> bool:
    return security.verify_password(user.password_hash, password)
