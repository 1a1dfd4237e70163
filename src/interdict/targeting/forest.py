"""The model's trees as flat arrays, walked by compiled code: each row's sum of per-leaf tables.

Scoring needs, for every record, the sum of its leaves' values (the score) and of its leaves' path
credits per topic (the reasons, see :class:`interdict.targeting.model.Paths`). LightGBM gives the
leaves (``pred_leaf``) but costs about 60 µs a record with 300 trees of 255 leaves, and the sums
are then a gather per tree in numpy. Here the trees are stored as arrays (split feature, threshold,
children, decision flags, category bitsets) and one compiled loop (Numba) walks each record down
every tree and adds the reached leaf's row of the table: the same leaves (test
``tests/targeting/test_forest.py`` compares them with LightGBM's on real and adversarial data), in
the same order of summation, several times faster and without the intermediate leaf matrix.

The decisions follow LightGBM's ``Tree::NumericalDecision`` and ``Tree::CategoricalDecision``
(``include/LightGBM/tree.h``): a missing value is 0 unless the split's missing type is NaN; a
split with missing type Zero (|x| <= 1e-35) or NaN sends that value to its default side; a
categorical split sends NaN and negative values right and a category left when its bit is set.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

# The bits of ``Forest.kind``; the compiled walk (_forest_kernel) reads them with these names.
CATEGORICAL, DEFAULT_LEFT = 1, 2
MISSING = {"None": 0, "Zero": 1, "NaN": 2}  # stored in bits 2-3
ZERO_THRESHOLD = 1e-35  # LightGBM's kZeroThreshold: a value this close to 0 is "zero" for missing type Zero
# Below this many rows LightGBM's own ``pred_leaf`` is used: loading the compiled loop costs
# about half a second (more the first time, when it is compiled), which a small batch never earns back.
MIN_ROWS = 20_000

_KERNEL: Any = None
_KERNEL_LOCK = threading.Lock()


@dataclass(frozen=True)
class Forest:
    """Trees as arrays. Node ``k`` splits on ``feature[k]``; a child index ``c >= 0`` is a node,
    ``c < 0`` the leaf row ``~c`` of the stacked leaf tables (tree ``t``'s leaf ``j`` is row
    ``offsets[t] + j``). ``roots[t]`` is tree ``t``'s first node (or ``~row`` for a one-leaf tree)."""

    roots: np.ndarray  # int32, per tree
    feature: np.ndarray  # int32, per node
    threshold: np.ndarray  # float64, per node (numerical splits)
    left: np.ndarray  # int32
    right: np.ndarray  # int32
    kind: np.ndarray  # uint8: bit 0 categorical, bit 1 default left, bits 2-3 missing type
    cat_start: np.ndarray  # int32: first word of the node's category bitset in ``cat_bits``
    cat_len: np.ndarray  # int32: its number of 32-bit words
    cat_bits: np.ndarray  # uint32

    ARRAYS = ("roots", "feature", "threshold", "left", "right", "kind", "cat_start", "cat_len", "cat_bits")

    @classmethod
    def of(cls, trees: list[dict[str, Any]], offsets: np.ndarray) -> Forest:
        """From LightGBM's ``dump_model()["tree_info"]`` and the first leaf row of each tree."""
        feature: list[int] = []
        threshold: list[float] = []
        left: list[int] = []
        right: list[int] = []
        kind: list[int] = []
        cat_start: list[int] = []
        cat_len: list[int] = []
        bits: list[int] = []
        roots: list[int] = []

        def node_id(node: dict[str, Any], base: int) -> int:
            if "split_feature" not in node:
                return ~(base + int(node.get("leaf_index", 0)))
            k = len(feature)
            feature.append(int(node["split_feature"]))
            flags = (DEFAULT_LEFT if node.get("default_left") else 0) | (MISSING[node.get("missing_type", "None")] << 2)
            if node["decision_type"] == "==":
                cats = [int(c) for c in str(node["threshold"]).split("||") if c != ""]
                words = [0] * (max(cats) // 32 + 1 if cats else 0)
                for c in cats:
                    words[c // 32] |= 1 << (c % 32)
                cat_start.append(len(bits))
                cat_len.append(len(words))
                bits.extend(words)
                threshold.append(0.0)
                flags |= CATEGORICAL
            elif node["decision_type"] == "<=":
                cat_start.append(0)
                cat_len.append(0)
                threshold.append(float(node["threshold"]))
            else:  # pragma: no cover - LightGBM writes only these two
                raise ValueError(f"unknown decision type {node['decision_type']!r}")
            kind.append(flags)
            left.append(0)
            right.append(0)
            left[k] = node_id(node["left_child"], base)
            right[k] = node_id(node["right_child"], base)
            return k

        for t, tree in enumerate(trees):
            roots.append(node_id(tree["tree_structure"], int(offsets[t])))
        return cls(
            roots=np.array(roots, dtype=np.int32),
            feature=np.array(feature, dtype=np.int32),
            threshold=np.array(threshold, dtype=np.float64),
            left=np.array(left, dtype=np.int32),
            right=np.array(right, dtype=np.int32),
            kind=np.array(kind, dtype=np.uint8),
            cat_start=np.array(cat_start, dtype=np.int32),
            cat_len=np.array(cat_len, dtype=np.int32),
            cat_bits=np.array(bits, dtype=np.uint32),
        )

    def arrays(self) -> dict[str, np.ndarray]:
        return {f"forest_{name}": getattr(self, name) for name in self.ARRAYS}

    @classmethod
    def from_arrays(cls, data: Any) -> Forest | None:
        """From :meth:`arrays` as saved (None when a file predates them)."""
        if "forest_roots" not in data:
            return None
        return cls(**{name: np.asarray(data[f"forest_{name}"]) for name in cls.ARRAYS})

    def accumulate(self, x: np.ndarray, table: np.ndarray) -> np.ndarray:
        """For each row of ``x`` (features in the booster's order), the sum over trees of the
        reached leaf's row of ``table`` (leaf rows x k), added tree by tree as LightGBM does.
        One thread; it releases the GIL (scoring runs it beside its own work)."""
        out = np.zeros((x.shape[0], table.shape[1]))
        if x.shape[0] == 0:
            return out
        _kernel()(
            np.ascontiguousarray(x, dtype=np.float64),
            np.ascontiguousarray(table, dtype=np.float64),
            out,
            self.roots,
            self.feature,
            self.threshold,
            self.left,
            self.right,
            self.kind,
            self.cat_start,
            self.cat_len,
            self.cat_bits,
        )
        return out


def _kernel() -> Any:
    """The compiled walk (compiled on first use and cached on disk by Numba)."""
    global _KERNEL
    with _KERNEL_LOCK:
        if _KERNEL is None:
            from interdict.targeting._forest_kernel import walk

            _KERNEL = walk
    return _KERNEL
