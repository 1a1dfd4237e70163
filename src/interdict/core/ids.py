"""Identifiers: time-ordered UUIDs (version 7, RFC 9562).

Random (version 4) UUIDs land anywhere in a B-tree index, so every insert touches a random page;
version 7 UUIDs start with the creation time in milliseconds, so new rows go to the right-hand
edge of each index, which keeps bulk imports and busy tables fast. The remaining 74 bits are
random, so ids stay unguessable. (Python 3.14 has ``uuid.uuid7``; this is the same layout.)
"""

from __future__ import annotations

import os
import time
import uuid

_UNKNOWN = uuid.SafeUUID.unknown


def uuid7() -> uuid.UUID:
    """A version 7 UUID: 48-bit Unix time in ms, version 7, 74 random bits, RFC 4122 variant."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")  # 80 bits, of which 74 are used
    value = (ms & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 64) & 0xFFF) << 64  # rand_a: 12 bits
    value |= 0b10 << 62  # variant
    value |= rand & 0x3FFF_FFFF_FFFF_FFFF  # rand_b: 62 bits
    u = object.__new__(uuid.UUID)
    object.__setattr__(u, "int", value)
    object.__setattr__(u, "is_safe", _UNKNOWN)
    return u
