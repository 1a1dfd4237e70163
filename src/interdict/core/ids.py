"""Identifiers."""

from __future__ import annotations

import os
import uuid

_VERSION_MASK = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_4 = (4 << 76) | (0x8000 << 48)


def uuid4_fast() -> uuid.UUID:
    """A random (version 4) UUID, as :func:`uuid.uuid4` makes, without its argument checking.

    Bulk imports create about ten ids per record; ``uuid.uuid4`` spends most of its time validating
    arguments it built itself. The bits and the result are the same (tests compare them).
    """
    value = (int.from_bytes(os.urandom(16), "big") & _VERSION_MASK) | _VERSION_4
    u = object.__new__(uuid.UUID)
    object.__setattr__(u, "int", value)
    object.__setattr__(u, "is_safe", uuid.SafeUUID.unknown)
    return u
