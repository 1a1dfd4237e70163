"""OpenID Connect sign-in: the authorization code flow with PKCE (Authlib), ID tokens checked with joserfc.

An agency with its own identity provider registers Interdict as a confidential client. The provider proves
who the person is; Interdict still decides what they may do: an OpenID Connect identity only ever signs in
to an account that the agency's administrator created (with its organisation and role). The first sign-in
binds the provider identity (issuer, subject) to the account found by a verified e-mail address (or by the
username, if so configured); later sign-ins use that binding only.

Never commits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.errors import ClaimError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from interdict.accounts.models import User
from interdict.config import Settings

# Asymmetric signatures only: "none" and HMAC with the client secret are refused.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
STATE_MAX_AGE = 600  # seconds between leaving for the provider and coming back
CLOCK_LEEWAY = 60  # seconds of clock difference tolerated on exp / iat
METADATA_TTL = 3600.0
JWKS_MIN_REFRESH = 60.0  # an unknown key id refetches the key set at most this often


class OidcError(Exception):
    """Sign-in refused. The reason goes to the audit trail; the person sees one general message."""


@dataclass(frozen=True)
class PendingLogin:
    """What the browser carries (signed) between the redirect to the provider and the callback."""

    state: str
    nonce: str
    code_verifier: str
    next: str
    issued_at: int


def _sign(payload: bytes, pepper: str) -> str:
    return hmac.new(("oidc-state:" + pepper).encode(), payload, hashlib.sha256).hexdigest()


def pack(pending: PendingLogin, pepper: str) -> str:
    payload = base64.urlsafe_b64encode(
        json.dumps(
            {
                "s": pending.state,
                "n": pending.nonce,
                "v": pending.code_verifier,
                "x": pending.next,
                "t": pending.issued_at,
            }
        ).encode()
    )
    return payload.decode() + "." + _sign(payload, pepper)


def unpack(cookie: str | None, pepper: str, *, now: float | None = None) -> PendingLogin:
    if not cookie or "." not in cookie:
        raise OidcError("no sign-in in progress in this browser (missing or expired state cookie)")
    payload, signature = cookie.rsplit(".", 1)
    if not hmac.compare_digest(signature, _sign(payload.encode(), pepper)):
        raise OidcError("state cookie signature does not match")
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode()))
        pending = PendingLogin(data["s"], data["n"], data["v"], data["x"], int(data["t"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise OidcError("state cookie unreadable") from exc
    if (now if now is not None else time.time()) - pending.issued_at > STATE_MAX_AGE:
        raise OidcError("sign-in took too long (state older than 10 minutes)")
    return pending


class Provider:
    """One configured identity provider: its discovery document and signing keys, cached."""

    def __init__(self, settings: Settings) -> None:
        if not settings.oidc_issuer or not settings.oidc_client_id:
            raise OidcError("OpenID Connect is not configured")
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret
        self.scopes = settings.oidc_scopes
        self.timeout = settings.oidc_timeout_seconds
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = 0.0

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=self.timeout, follow_redirects=False)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(f"identity provider unreachable or answered badly at {url}: {exc}") from exc
        if not isinstance(data, dict):
            raise OidcError(f"identity provider answered badly at {url}: not a JSON object")
        return data

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_TTL:
                data = self._get_json(self.issuer + "/.well-known/openid-configuration")
                if str(data.get("issuer", "")).rstrip("/") != self.issuer:  # OpenID Connect Discovery 1.0, 4.3
                    raise OidcError(f"discovery document names issuer {data.get('issuer')!r}, not {self.issuer!r}")
                for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(data.get(key), str):
                        raise OidcError(f"discovery document has no {key}")
                self._metadata, self._metadata_at = data, time.monotonic()
            return self._metadata

    def keys(self, *, refresh: bool = False) -> KeySet:
        uri = self.metadata()["jwks_uri"]
        with self._lock:
            stale = self._keys is None or (refresh and time.monotonic() - self._keys_at > JWKS_MIN_REFRESH)
            if stale:
                try:
                    self._keys = KeySet.import_key_set(self._get_json(uri))  # type: ignore[arg-type]
                except (JoseError, ValueError, TypeError) as exc:
                    raise OidcError(f"identity provider's key set is unusable: {exc}") from exc
                self._keys_at = time.monotonic()
            assert self._keys is not None
            return self._keys

    def _client(self, redirect_uri: str) -> OAuth2Client:
        return OAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            scope=self.scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if self.client_secret else "none",
            timeout=self.timeout,
        )

    def begin(self, redirect_uri: str, next_url: str) -> tuple[str, PendingLogin]:
        """The provider's authorization URL to send the browser to, and what to remember until it returns."""
        pending = PendingLogin(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            code_verifier=secrets.token_urlsafe(48),
            next=next_url,
            issued_at=int(time.time()),
        )
        with self._client(redirect_uri) as client:
            url, _state = client.create_authorization_url(
                self.metadata()["authorization_endpoint"],
                state=pending.state,
                code_verifier=pending.code_verifier,
                nonce=pending.nonce,
            )
        return url, pending

    def finish(
        self, pending: PendingLogin, *, state: str | None, code: str | None, redirect_uri: str
    ) -> dict[str, Any]:
        """Exchange the code for tokens and return the checked ID token's claims."""
        if not state or not hmac.compare_digest(state, pending.state):
            raise OidcError("state parameter does not match this browser's sign-in")
        if not code:
            raise OidcError("provider returned no authorization code")
        try:
            with self._client(redirect_uri) as client:
                token = client.fetch_token(
                    self.metadata()["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending.code_verifier,
                )
        except OidcError:
            raise
        except Exception as exc:  # Authlib raises OAuthError, httpx errors, ValueError on bad JSON
            raise OidcError(f"code exchange failed: {exc}") from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("provider returned no ID token")
        return self.check_id_token(id_token, pending.nonce)

    def check_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """OpenID Connect Core 1.0, 3.1.3.7: signature, issuer, audience (and azp), expiry, issue time, nonce."""
        try:
            try:
                decoded = jwt.decode(id_token, self.keys(), algorithms=ALGORITHMS)
            except InvalidKeyIdError:  # the provider rotated its keys: fetch them again (rate-limited)
                decoded = jwt.decode(id_token, self.keys(refresh=True), algorithms=ALGORITHMS)
            claims = dict(decoded.claims)
            jwt.JWTClaimsRegistry(
                leeway=CLOCK_LEEWAY,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(claims)
        except ClaimError as exc:
            raise OidcError(f"ID token refused: claim {exc.claim}: {exc.error}: {exc.description}") from exc
        except JoseError as exc:
            raise OidcError(f"ID token refused: {exc.error}: {exc.description or exc}") from exc
        except ValueError as exc:
            raise OidcError(f"ID token unreadable: {exc}") from exc
        audience = claims["aud"]
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != self.client_id:
            raise OidcError("ID token for several audiences without this client as authorised party")
        if not isinstance(claims["sub"], str) or not claims["sub"] or len(claims["sub"]) > 255:
            raise OidcError("ID token subject is empty or too long")
        return claims


def account_for(session: Session, settings: Settings, claims: dict[str, Any]) -> tuple[User, bool]:
    """The Interdict account for checked claims, and whether this sign-in bound it (first provider sign-in).

    Raises OidcError when no active account matches, when the match is ambiguous, or when the account is
    already bound to another identity at the provider."""
    issuer, subject = str(claims["iss"]).rstrip("/"), str(claims["sub"])
    user = session.scalar(select(User).where(User.oidc_issuer == issuer, User.oidc_subject == subject))
    if user is not None:
        if not user.is_active:
            raise OidcError(f"account {user.username} is disabled")
        return user, False
    if settings.oidc_match_claim == "email":
        email = claims.get("email")
        if not isinstance(email, str) or not email.strip():
            raise OidcError("provider gave no e-mail address to find the account by")
        if claims.get("email_verified") is not True:
            raise OidcError(f"provider has not verified the e-mail address {email}")
        candidates = list(
            session.scalars(select(User).where(func.lower(User.email) == email.strip().lower(), User.is_active))
        )
    else:
        name = claims.get("preferred_username")
        if not isinstance(name, str) or not name.strip():
            raise OidcError("provider gave no preferred_username to find the account by")
        candidates = list(session.scalars(select(User).where(User.username == name.strip().lower(), User.is_active)))
    if not candidates:
        raise OidcError(
            f"no active Interdict account for {settings.oidc_match_claim} {claims.get(settings.oidc_match_claim)!r}"
        )
    if len(candidates) > 1:
        raise OidcError(f"several accounts share {settings.oidc_match_claim} {claims.get(settings.oidc_match_claim)!r}")
    user = candidates[0]
    if user.oidc_subject is not None:
        raise OidcError(f"account {user.username} is already bound to another provider identity")
    user.oidc_issuer, user.oidc_subject = issuer, subject
    session.flush()
    return user, True
