"""Security primitives: password hashing (argon2id), random secrets, token digests, sealed secrets."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# argon2id with the library's RFC 9106 "low memory" profile: ~50 ms on this class of machine.
_hasher = PasswordHasher()

# Compared against when the account does not exist, so timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("interdict-dummy-password-for-timing")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_token(prefix: str, nbytes: int = 32) -> str:
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"


def token_digest(token: str, pepper: str) -> str:
    """Keyed digest of a high-entropy token, as stored in the database (never the token itself)."""
    return hmac.new(pepper.encode(), token.encode(), hashlib.sha256).hexdigest()


# --- sealed secrets: values the server must read back (TOTP secrets), encrypted with the server's secret key,
# which is kept outside the database (a copy of the database alone does not reveal them).

SEALED_PREFIX = "v1."


class Unsealable(ValueError):
    """A sealed value that this key did not seal (another key, or changed)."""


def _sealing_key(secret_key: str, purpose: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"interdict-seal:{purpose}".encode())
    return hkdf.derive(secret_key.encode())


def seal(value: str, secret_key: str, *, purpose: str) -> str:
    """``value`` encrypted and authenticated (AES-256-GCM, a key derived from ``secret_key`` for ``purpose``)."""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_sealing_key(secret_key, purpose)).encrypt(nonce, value.encode(), purpose.encode())
    return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def is_sealed(stored: str) -> bool:
    return stored.startswith(SEALED_PREFIX)


def unseal(stored: str, secret_key: str, *, purpose: str) -> str:
    """The value :func:`seal` sealed; :class:`Unsealable` if another key or purpose sealed it, or it changed."""
    if not is_sealed(stored):
        raise Unsealable("not a sealed value")
    body = stored[len(SEALED_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return AESGCM(_sealing_key(secret_key, purpose)).decrypt(raw[:12], raw[12:], purpose.encode()).decode()
    except (InvalidTag, binascii.Error, ValueError) as exc:
        raise Unsealable("sealed with another key, or changed") from exc


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
