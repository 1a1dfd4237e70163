from __future__ import annotations

import random

from interdict.targeting.evaluate import at_k, k_for, ranked


def test_k_is_the_ceiling_of_n_percent() -> None:
    assert [k_for(p, 1000) for p in (1, 2, 5, 10)] == [10, 20, 50, 100]
    assert [k_for(p, 1627) for p in (1, 2, 5, 10)] == [17, 33, 82, 163]
    assert k_for(5, 200) == 10  # 0.05 * 200 is 10.000000000000002 in floating point
    assert k_for(1, 7) == 1 and k_for(10, 0) == 0


def test_ties_are_broken_by_record_id_and_never_change_the_selection_size() -> None:
    items = [(f"r{i:03d}", 0.5, i % 2 == 0) for i in range(100)]  # all tied
    [one, two, five, ten] = at_k(items)
    assert (one.k, two.k, five.k, ten.k) == (1, 2, 5, 10)
    assert [rid for rid, _ in ranked((r, s) for r, s, _ in items)][:3] == ["r000", "r001", "r002"]
    assert five.hits == 3  # r000, r002, r004


def test_result_does_not_depend_on_input_order() -> None:
    rng = random.Random(7)
    items = [(f"id{i}", round(rng.random(), 2), rng.random() < 0.2) for i in range(500)]
    shuffled = items[:]
    rng.shuffle(shuffled)
    assert at_k(items) == at_k(shuffled)


def test_precision_and_recall() -> None:
    items = [("a", 0.9, True), ("b", 0.8, False), ("c", 0.7, True), ("d", 0.1, True)] + [
        (f"z{i}", 0.0, False) for i in range(16)
    ]
    [ten] = at_k(items, (10,))
    assert (ten.k, ten.hits, ten.positives, ten.total) == (2, 1, 3, 20)
    assert ten.precision == 0.5 and abs(ten.recall - 1 / 3) < 1e-12
