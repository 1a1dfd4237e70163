from __future__ import annotations

import gc
import threading

from interdict.core.gcpause import gc_paused


def test_the_collector_is_paused_inside_and_restored_after_nested_and_overlapping_pauses() -> None:
    assert gc.isenabled()
    entered, release = threading.Event(), threading.Event()

    def other() -> None:
        with gc_paused():
            entered.set()
            release.wait(5)

    t = threading.Thread(target=other)
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
        t.start()
        entered.wait(5)
    assert not gc.isenabled()  # the other thread's pause still holds
    release.set()
    t.join(5)
    assert gc.isenabled()


def test_a_process_with_the_collector_off_keeps_it_off() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
