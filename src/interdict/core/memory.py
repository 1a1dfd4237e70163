"""Fewer malloc arenas in the server process.

glibc gives threads their own malloc arenas, up to eight per core, and an arena keeps the memory its thread freed
for later reuse by that arena. The server runs many threads (the request thread pool grows to 40, plus the background
workers). Two arenas is the setting commonly recommended for multi-threaded Python servers. Measured: the soak run
before this cap (and before three other fixes made at the same time) grew +12.5 % in 30 minutes, the runs after it
+3.3 % and +2.8 % (docs/benchmarks.md §16); the cap's own share of that was not measured separately. An operator's
own ``MALLOC_ARENA_MAX`` (read by glibc at start) wins.
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
