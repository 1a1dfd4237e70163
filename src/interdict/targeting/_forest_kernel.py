"""The compiled loop of :mod:`interdict.targeting.forest` (imported only when used: importing Numba
and loading the cached machine code took 0.5 s on the benchmark machine).

One thread, no Numba threading layer: scoring calls it from a worker thread while the calling
thread goes on (it releases the GIL), and the web app may score two uploads at once — Numba's
parallel loops need a threading layer, and its documentation describes the one without spinning
workers (workqueue) as not safe for parallel regions entered from several threads at once. (A
parallel build with 2 threads was also slower here: 59.2 s against 54.3 s for the million, as its
threads competed with the Python one; docs/benchmarks.md §14.)"""

from __future__ import annotations

import math

import numba
import numpy as np

from interdict.targeting.forest import CATEGORICAL, DEFAULT_LEFT, MISSING, ZERO_THRESHOLD

MISSING_ZERO, MISSING_NAN = MISSING["Zero"], MISSING["NaN"]  # Numba freezes module globals as constants
BLOCK = 256  # rows walked together through one tree


def _walk(  # pragma: no cover - compiled; tested through Forest.accumulate
    x: np.ndarray,
    table: np.ndarray,
    out: np.ndarray,
    roots: np.ndarray,
    feature: np.ndarray,
    threshold: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    kind: np.ndarray,
    cat_start: np.ndarray,
    cat_len: np.ndarray,
    cat_bits: np.ndarray,
) -> None:
    width = table.shape[1]
    n = x.shape[0]
    blocks = (n + BLOCK - 1) // BLOCK
    # tree by tree over a block of rows: one tree's nodes stay in the CPU's nearest cache while the
    # block's rows walk it (row by row over all trees, each node read was a cache miss)
    for b in range(blocks):
        start = b * BLOCK
        stop = min(n, start + BLOCK)
        for t in range(roots.shape[0]):
            for i in range(start, stop):
                node = roots[t]
                while node >= 0:
                    value = x[i, feature[node]]
                    flags = kind[node]
                    if flags & CATEGORICAL:  # NaN and negatives go right, a set bit goes left
                        go_left = False
                        if not math.isnan(value):
                            category = int(value)
                            if category >= 0:
                                word = category >> 5
                                if word < cat_len[node]:
                                    go_left = ((cat_bits[cat_start[node] + word] >> (category & 31)) & 1) == 1
                    else:
                        missing = (flags >> 2) & 3
                        if math.isnan(value) and missing != MISSING_NAN:
                            value = 0.0
                        if (missing == MISSING_ZERO and abs(value) <= ZERO_THRESHOLD) or (
                            missing == MISSING_NAN and math.isnan(value)
                        ):
                            go_left = (flags & DEFAULT_LEFT) == DEFAULT_LEFT
                        else:
                            go_left = value <= threshold[node]
                    node = left[node] if go_left else right[node]
                row = ~node
                for j in range(width):
                    out[i, j] += table[row, j]


try:
    walk = numba.njit(cache=True, nogil=True)(_walk)
except RuntimeError:  # no writable cache location (a read-only install without a home): compile at each start
    walk = numba.njit(nogil=True)(_walk)
