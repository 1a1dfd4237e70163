"""Fewer malloc arenas in the server process.

glibc gives threads their own malloc arenas, up to eight per core, and an arena keeps the memory its thread freed
for later reuse by that arena. The server runs many threads (the request thread pool grows to 40, plus the background
workers), so its resident size grows for a long while as threads appear and each arena keeps its high-water mark —
the 30-minute soak run (docs/benchmarks.md §16) saw +12.5 % with no leak found. Two arenas is the setting usually
recommended for multi-threaded Python servers: Python objects are allocated under the interpreter lock anyway, so
more arenas mostly buy fragmentation. An operator's own ``MALLOC_ARENA_MAX`` (read by glibc at start) wins.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

M_ARENA_MAX = -8  # glibc's malloc.h
DEFAULT_ARENAS = 2


def limit_malloc_arenas(arenas: int = DEFAULT_ARENAS) -> bool:
    """Cap glibc's malloc arenas for the threads created from now on; True when the cap was set."""
    if "MALLOC_ARENA_MAX" in os.environ or platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        return bool(ctypes.CDLL(name).mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False
