"""Precision and recall at the top n % of a ranked list.

Rule: of the N records with a known outcome, exactly k = ceil(n/100 x N) are selected, in order of
score descending, then record id ascending (so ties never shrink or grow the selection and the
result does not depend on input order). precision = frauds among the k / k; recall = frauds among
the k / all frauds among the N.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PERCENTS: tuple[float, ...] = (1, 2, 5, 10)
RULE = "k = ceil(n% x N) records with a known outcome, ordered by score descending then record id ascending"


@dataclass(frozen=True)
class AtK:
    percent: float
    k: int
    hits: int
    positives: int
    total: int

    @property
    def precision(self) -> float:
        return self.hits / self.k if self.k else 0.0

    @property
    def recall(self) -> float:
        return self.hits / self.positives if self.positives else 0.0


def ranked(items: Iterable[tuple[str, float]]) -> list[tuple[str, float]]:
    """(id, score) pairs in selection order: score descending, id ascending."""
    return sorted(items, key=lambda t: (-t[1], t[0]))


def k_for(percent: float, total: int) -> int:
    # The tiny epsilon keeps 5 % of 200 at 10 (floating point: 0.05 * 200 = 10.000000000000002).
    return min(total, math.ceil(percent / 100 * total - 1e-9))


def at_k(scores: Iterable[tuple[str, float, bool]], percents: Sequence[float] = PERCENTS) -> list[AtK]:
    """Precision and recall at each ``percents`` for (id, score, outcome) triples."""
    items = list(scores)
    outcome = {rid: y for rid, _, y in items}
    order = [rid for rid, _ in ranked((rid, s) for rid, s, _ in items)]
    total, positives = len(order), sum(outcome.values())
    out = []
    for p in percents:
        k = k_for(p, total)
        out.append(AtK(p, k, sum(outcome[rid] for rid in order[:k]), positives, total))
    return out
