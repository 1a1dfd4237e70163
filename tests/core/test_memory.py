"""The server caps glibc's malloc arenas unless the operator set MALLOC_ARENA_MAX (core/memory.py)."""

from __future__ import annotations

import platform

import pytest

from interdict.core.memory import limit_malloc_arenas


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a glibc setting")
def test_the_arena_cap_is_set_on_glibc_unless_the_operator_chose_one(monkeypatch: pytest.MonkeyPatch) -> None:
    assert limit_malloc_arenas() is True
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False
