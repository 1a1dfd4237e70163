"""The targeting model: LightGBM on point-in-time features, with lanes and reasons in words.

Fit (:meth:`TargetingModel.fit`):

1. features for every fit record in date order (history learnt as it walks, no leakage);
2. **validation on a later period**: the labelled records are cut at a date (about the last 20 % are
   the validation period); a model on the *record* features alone and one per optional feature
   group (HS history, entity history, route history, anomalies) added to it are fitted on the
   earlier period and ranked on the later one (mean of precision at 5 % and 10 %). A group is kept
   when it adds at least ``SELECTION_MARGIN``; several kept groups are kept together only if that
   beats the best single one. So features that do not carry over to a later period are left out,
   whatever the agency's data;
3. lane thresholds from the scores of the validation period (red = top ``red_share``, yellow = the
   next ``yellow_share``), so that lanes hold about those shares of later traffic;
4. the final booster on all labelled records with the chosen features.

A model is a directory: ``booster.txt`` (LightGBM text model), ``model.json`` (metadata: format
version, mapping name and fingerprint, features and category codes, chosen groups, validation
figures, lane thresholds, parameters), ``history.json.gz`` (the fit data's history tables) and
``paths.npz`` (each leaf's value and path contributions, see :class:`Paths`).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import shutil
import threading
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from interdict.core.errors import FieldError, InvalidInput
from interdict.core.gcpause import gc_paused
from interdict.core.i18n import N_
from interdict.targeting.evaluate import at_k
from interdict.targeting.features import (
    OPTIONAL_GROUPS,
    SERIES,
    FeatureSpace,
    Group,
    History,
    Keys,
    Snapshot,
    walk_dates,
)
from interdict.targeting.forest import MIN_ROWS, Forest
from interdict.targeting.mapping import LoadResult, Mapping, Record, salvage
from interdict.targeting.reasons import Describer

FORMAT_VERSION = 1
NUM_ROUNDS = 300
SELECTION_MARGIN = 0.01
VALIDATION_SHARE = 0.2
MIN_VALIDATION_POSITIVES = 20
REASONS = 3
SCORE_DECIMALS = 9
CHUNK = 20_000  # rows per block when computing contributions
PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.1,
    "num_leaves": 255,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "max_cat_to_onehot": 4,
    "cat_smooth": 10.0,
    # One thread by default: on a shared 2-core machine two OpenMP threads made training 20 to 80
    # times slower (they spin while waiting for a core); ``threads`` raises it on a free machine.
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
LANES = ("red", "yellow", "green")
UNVALIDATED = "record could not be validated"
NO_REASON = "no single feature raises the risk above the usual level"

Step = Callable[[str], None]
_CACHE: dict[Path, tuple[int, TargetingModel]] = {}
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Scored:
    """One record's result: ``score`` in [0, 1] (higher = inspect first), lane, reasons (top first)."""

    id: str
    score: float
    lane: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Lanes:
    """Score thresholds: red from ``red``, yellow from ``yellow``, green below."""

    red: float
    yellow: float
    red_share: float
    yellow_share: float
    basis: str  # where the thresholds come from

    def lane(self, score: float) -> str:
        return "red" if score >= self.red else "yellow" if score >= self.yellow else "green"


@dataclass
class Selection:
    """What the validation on a later period measured and chose."""

    groups: list[str]
    cut: str | None = None  # first date of the validation period
    fit_records: int = 0
    valid_records: int = 0
    valid_positives: int = 0
    trials: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""


def _version() -> str:
    try:
        return version("interdict")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


def _train(x: np.ndarray, y: np.ndarray, categorical: list[int], seed: int, threads: int) -> lgb.Booster:
    data = lgb.Dataset(
        x,
        label=y,
        feature_name=[f"f{i}" for i in range(x.shape[1])],
        categorical_feature=categorical,
        free_raw_data=True,
        params={"verbose": -1},
    )
    return lgb.train({**PARAMS, "seed": seed, "num_threads": threads}, data, num_boost_round=NUM_ROUNDS)


def _precision_5_10(ids: Sequence[str], scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    res = at_k(zip(ids, (float(s) for s in scores), (bool(v) for v in y), strict=True), (5, 10))
    return res[0].precision, res[1].precision


class TargetingModel:
    def __init__(
        self,
        *,
        space: FeatureSpace,
        columns: list[int],
        booster: lgb.Booster,
        history: History,
        lanes: Lanes,
        meta: dict[str, Any],
    ) -> None:
        self.space = space
        self.columns = columns  # indices into space.features used by the booster
        self.booster = booster
        self.history = history
        self.lanes = lanes
        self.meta = meta
        self.threads = 1  # LightGBM threads when scoring
        self._paths: Paths | None = None
        self._leaf_memo: tuple[object, np.ndarray] | None = None
        # LightGBM's predictions of one booster, one at a time: scoring runs them in two threads (the
        # pipeline of score()), and the web app may score two uploads with the same cached model
        self._predicting = threading.Lock()

    # --- fit ---------------------------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        records: Sequence[Record],
        mapping: Mapping,
        *,
        seed: int = 0,
        groups: Sequence[str] | None = None,
        red_share: float = 0.05,
        yellow_share: float = 0.15,
        threads: int = 1,
        step: Step | None = None,
    ) -> TargetingModel:
        """Fit on records with outcomes (those without one still count as history volume).

        ``groups``: optional feature groups to use; ``None`` chooses them by validation on a later
        period (module docstring). Raises :class:`InvalidInput` without enough outcomes."""
        say = step or (lambda _: None)
        labelled = [i for i, r in enumerate(records) if r.outcome is not None]
        positives = sum(1 for i in labelled if records[i].outcome)
        if positives < 2 or positives == len(labelled):
            raise InvalidInput(
                FieldError(
                    ("data", "outcome"),
                    N_(
                        "fitting needs records with positive and negative outcomes (%(n_labelled)s with an outcome, %(positives)s positive, column '%(value)s')",
                        n_labelled=len(labelled),
                        positives=positives,
                        value=mapping.outcome.column if mapping.outcome else "?",
                    ),
                )
            )
        if groups is not None:
            unknown = sorted(set(groups) - set(OPTIONAL_GROUPS))
            if unknown:
                raise InvalidInput(
                    FieldError(
                        ("groups",),
                        N_(
                            "unknown feature group(s) %(unknown)s (known: %(optional_groups)s)",
                            unknown=", ".join(unknown),
                            optional_groups=", ".join(OPTIONAL_GROUPS),
                        ),
                    )
                )
        say("features")
        space = FeatureSpace.for_mapping(mapping)
        space.learn_vocabulary(records)
        history = space.history()
        x_all = space.matrix(records, history, outcomes=True)
        x = x_all[labelled]
        y = np.array([int(bool(records[i].outcome)) for i in labelled], dtype=np.int8)
        dates = [records[i].date for i in labelled]
        ids = [records[i].id for i in labelled]

        selection, valid_scores = cls._select(space, x, y, dates, ids, seed, threads, groups, say)
        columns = cls._columns(space, selection.groups)
        say("final model")
        booster = _train(x[:, columns], y, cls._categorical(space, columns), seed, threads)
        if valid_scores is None:
            valid_scores = np.asarray(booster.predict(x[:, columns]))
            basis = "scores of the fit records (no validation period)"
        else:
            basis = f"scores of the validation period from {selection.cut}"
        lanes = Lanes(
            red=float(np.quantile(valid_scores, 1 - red_share)),
            yellow=float(np.quantile(valid_scores, 1 - red_share - yellow_share)),
            red_share=red_share,
            yellow_share=yellow_share,
            basis=basis,
        )
        meta = {
            "format": FORMAT_VERSION,
            "interdict": _version(),
            "lightgbm": lgb.__version__,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "mapping": {"name": mapping.name, "fingerprint": mapping.fingerprint()},
            "seed": seed,
            "params": {**PARAMS, "num_boost_round": NUM_ROUNDS},
            "fit": {
                "records": len(records),
                "labelled": len(labelled),
                "positives": positives,
                "first_date": min(r.date for r in records).isoformat(),
                "last_date": max(r.date for r in records).isoformat(),
            },
            "selection": selection.__dict__,
        }
        return cls(space=space, columns=columns, booster=booster, history=history, lanes=lanes, meta=meta)

    @staticmethod
    def _columns(space: FeatureSpace, groups: Sequence[str]) -> list[int]:
        keep = {"record", *groups}
        return [i for i, f in enumerate(space.features) if f.group in keep]

    @staticmethod
    def _categorical(space: FeatureSpace, columns: list[int]) -> list[int]:
        return [j for j, i in enumerate(columns) if space.features[i].kind == "categorical"]

    @classmethod
    def _select(
        cls,
        space: FeatureSpace,
        x: np.ndarray,
        y: np.ndarray,
        dates: list[dt.date],
        ids: list[str],
        seed: int,
        threads: int,
        groups: Sequence[str] | None,
        say: Step,
    ) -> tuple[Selection, np.ndarray | None]:
        present: list[Group] = [g for g in OPTIONAL_GROUPS if any(f.group == g for f in space.features)]
        ordered = sorted(dates)
        cut = ordered[min(len(ordered) - 1, int(len(ordered) * (1 - VALIDATION_SHARE)))]
        early = np.array([d < cut for d in dates])
        late = ~early
        sel = Selection(groups=list(groups) if groups is not None else list(present), cut=cut.isoformat())
        sel.fit_records, sel.valid_records, sel.valid_positives = int(early.sum()), int(late.sum()), int(y[late].sum())
        if sel.valid_positives < MIN_VALIDATION_POSITIVES or y[early].sum() < MIN_VALIDATION_POSITIVES:
            sel.cut = None
            sel.note = (
                f"too few outcomes for a validation period (need {MIN_VALIDATION_POSITIVES} positives before and "
                f"after the cut): {'the groups asked for' if groups is not None else 'all feature groups'} used"
            )
            return sel, None
        late_ids = [i for i, m in zip(ids, late, strict=True) if m]

        def trial(chosen: Sequence[str]) -> tuple[float, np.ndarray]:
            say("validation: " + " + ".join(["record", *chosen]))
            cols = cls._columns(space, chosen)
            booster = _train(x[early][:, cols], y[early], cls._categorical(space, cols), seed, threads)
            scores = np.asarray(booster.predict(x[late][:, cols]))
            p5, p10 = _precision_5_10(late_ids, scores, y[late])
            sel.trials.append({"groups": list(chosen), "precision_5": round(p5, 4), "precision_10": round(p10, 4)})
            return (p5 + p10) / 2, scores

        if groups is not None:
            _, scores = trial(list(groups))
            sel.note = "groups given by the caller"
            return sel, scores
        base, base_scores = trial([])
        singles = {g: trial([g]) for g in present}
        kept = [g for g in present if singles[g][0] >= base + SELECTION_MARGIN]
        best_groups: list[str] = []
        best, best_scores = base, base_scores
        for g in kept:
            if singles[g][0] > best:
                best_groups, (best, best_scores) = [g], singles[g]
        if len(kept) > 1:
            together = trial(kept)
            if together[0] >= best:
                best_groups, (best, best_scores) = list(kept), together
        sel.groups = best_groups
        sel.note = f"a group is kept when it adds at least {SELECTION_MARGIN} to the mean of precision at 5 % and 10 %"
        return sel, best_scores

    # --- score -------------------------------------------------------------------------------------

    def score(
        self,
        records: Sequence[Record],
        *,
        reasons: int = REASONS,
        exact: bool | Collection[str] = False,
        exact_limit: int | None = None,
        step: Step | None = None,
    ) -> list[Scored]:
        """Score records (their outcomes, if any, are ignored), in the order given.

        Each record's features use the fit history plus the volumes of the given records dated
        before it. Reasons: the ``reasons`` topics that raise the score most, in words, from
        per-record contributions summed per topic: path contributions (:meth:`contributions`) by
        default; LightGBM's TreeSHAP (about 100 times slower) for all records with ``exact=True``,
        or for the records of the lanes ``exact`` names; ``exact_limit`` bounds how many records
        get TreeSHAP (the highest scores of each date first, dates in order), so that the cost of
        a load stays bounded (the web worklist). The two methods often rank a record's topics
        differently (docs/targeting-data.md).

        One walk in date order: each date's records get their features, scores and reasons from the
        history before that date, then the date is added to the history. The trees of one date are
        walked in a second thread while this one writes the previous date's reasons and adds the
        date to the history; the leaves come from the compiled walk (:mod:`~interdict.targeting.forest`)
        from ``forest.MIN_ROWS`` records, from LightGBM below (the same leaves). Python's cyclic
        garbage collector is paused meanwhile (:mod:`interdict.core.gcpause`)."""
        if not records:
            return []
        with gc_paused():
            return self._score(records, reasons=reasons, exact=exact, exact_limit=exact_limit, step=step)

    def _score(
        self,
        records: Sequence[Record],
        *,
        reasons: int,
        exact: bool | Collection[str],
        exact_limit: int | None,
        step: Step | None,
    ) -> list[Scored]:
        say = step or (lambda _: None)
        say(f"scoring {len(records)} records (features, model, reasons)")
        plan = self.space.plan(set(self.columns))
        topics = [self.space.features[i].topic for i in self.columns]
        names = sorted(set(topics))
        per_topic = _topic_matrix(topics, names)
        scores = np.zeros(len(records))
        texts: list[tuple[str, ...]] = [()] * len(records)
        budget_used = [0]  # records explained by TreeSHAP so far (exact_limit)
        compiled = len(records) >= MIN_ROWS  # the leaves from the compiled walk (dates are scored one at a time)
        only = self._score_dims(reasons > 0)
        dims = self.space.dims

        def finish(
            idx: list[int], x: np.ndarray, result: Future[tuple[np.ndarray, np.ndarray | None]], before: Snapshot
        ) -> None:
            """Scores and reasons of one date's records (``before``: the history before their date)."""
            raw, by_topic = result.result()
            scores[idx] = 1.0 / (1.0 + np.exp(-raw))
            if by_topic is None:
                return
            if exact and exact is not True:
                rows = [
                    k for k, i in enumerate(idx) if self.lanes.lane(round(float(scores[i]), SCORE_DECIMALS)) in exact
                ]
                if exact_limit is not None:
                    rows = sorted(rows, key=lambda k: -raw[k])[: max(0, exact_limit - budget_used[0])]
                    budget_used[0] += len(rows)
                if rows:
                    by_topic[rows] = self._raw(x[rows], per_topic, exact=True)[1]
            # the strongest topics first (stable: ties keep the topic order); only positive ones explain
            order = np.argsort(-by_topic, axis=1, kind="stable").tolist()
            positive = (by_topic > 0).tolist()
            words = Describer(before, self.space)
            for row, i in enumerate(idx):
                out: list[str] = []
                for j in order[row]:
                    if not positive[row][j] or len(out) >= reasons:
                        break
                    text = words(names[j], records[i])
                    if text:
                        out.append(text)
                texts[i] = tuple(out) or (NO_REASON,)

        # A pipeline over the dates, in order. For date d: its features from the history before d,
        # and a snapshot of what its reasons will quote of that history; the trees are walked in a
        # second thread (the compiled walk and LightGBM release the GIL) while this one writes the
        # reasons of date d-1 and adds date d to the history.
        history = self.history.fork(running=True)  # medians from heaps (never saved)
        quoted_dims = [t for t in names if t in dims and t in self.space.dim_names] if reasons > 0 else []
        quoted_series = self.space.series_names if reasons > 0 else []
        pending: list[tuple[list[int], np.ndarray, Future[tuple[np.ndarray, np.ndarray | None]], Snapshot]] = []
        with ThreadPoolExecutor(1, thread_name_prefix="interdict-trees") as trees:

            def visit(idx: list[int], keys: Keys) -> None:  # walk_dates then adds the date to the history
                x = self.space.block(keys, history, plan)[:, self.columns]
                before = Snapshot(history, keys, quoted_dims, quoted_series)
                result = trees.submit(
                    self._raw, x, per_topic if reasons > 0 else None, exact=exact is True, compiled=compiled
                )
                if pending:
                    finish(*pending.pop())
                pending.append((idx, x, result, before))

            walk_dates(records, history, dims, outcomes=False, visit=visit, only=only)
            if pending:
                finish(*pending.pop())
        out = []
        for r, p, t in zip(records, scores, texts, strict=True):
            s = round(float(p), SCORE_DECIMALS)
            out.append(Scored(r.id, s, self.lanes.lane(s), t))
        return out

    def _raw(
        self, x: np.ndarray, topics: np.ndarray | None, *, exact: bool = False, compiled: bool | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Raw scores (log-odds) of ``x`` and, given a features x topics matrix, the contributions
        per topic — from one pass of the trees (the leaves reached give both), in blocks of rows.

        ``compiled``: find the leaves with the compiled walk of :mod:`~interdict.targeting.forest`
        rather than LightGBM's ``pred_leaf`` (same leaves, same sums); default: for
        ``forest.MIN_ROWS`` rows or more."""
        paths = self._path_tables()
        explain = topics is not None and not exact
        # per leaf: its credit per topic and, in the last column, its value
        table = self._leaf_table(topics) if explain and topics is not None else paths.values[:, None]
        if compiled if compiled is not None else x.shape[0] >= MIN_ROWS:
            acc = paths.forest.accumulate(x, table)
        else:
            acc = self._gather(x, table, paths)
        raw = acc[:, -1].copy()
        if topics is None:
            return raw, None
        if explain:
            return raw, acc[:, :-1]
        by_topic = np.zeros((x.shape[0], topics.shape[1]))
        for start in range(0, x.shape[0], CHUNK):
            with self._predicting:
                contrib = np.asarray(
                    self.booster.predict(x[start : start + CHUNK], pred_contrib=True, num_threads=self.threads)
                )
            by_topic[start : start + len(contrib)] = contrib[:, :-1] @ topics
        return raw, by_topic

    def _gather(self, x: np.ndarray, table: np.ndarray, paths: Paths) -> np.ndarray:
        """Sum of the leaves' rows of ``table`` per row of ``x``, the leaves from LightGBM (one
        gather per tree, in blocks of rows)."""
        acc = np.zeros((x.shape[0], table.shape[1]))
        for start in range(0, x.shape[0], CHUNK):
            part = x[start : start + CHUNK]
            with self._predicting:
                leaves = np.asarray(self.booster.predict(part, pred_leaf=True, num_threads=self.threads), dtype=np.intp)
            by_tree = np.ascontiguousarray((leaves + paths.offsets[:-1]).T)  # a contiguous row per tree
            block = acc[start : start + len(part)]
            for rows in by_tree:  # tree by tree, as LightGBM sums them
                block += table[rows]
        return acc

    def _score_dims(self, explain: bool) -> set[str]:
        """History dimensions scoring must advance: those of the model's features and, to explain,
        of their topics (reasons quote a topic's history), with the parents their rates shrink to."""
        need: set[str] = set()
        for i in self.columns:
            f = self.space.features[i]
            # a history feature's topic is its dimension; anomalies read the series' dimensions (below)
            if (f.group not in ("record", "anomalies") or explain) and f.topic in self.space.dims:
                need.add(f.topic)
        if explain or any(self.space.features[i].group == "anomalies" for i in self.columns):
            need |= {s.dim for s in SERIES if s.name in self.space.series_names}
        out: set[str] = set()
        for name in need:
            d: str | None = name
            while d is not None and d in self.space.dims and d not in out:
                out.add(d)
                d = self.space.dims[d].parent
        return out & set(self.space.dim_names)

    def score_loaded(
        self,
        loaded: LoadResult,
        *,
        reasons: int = REASONS,
        exact: bool | Collection[str] = False,
        exact_limit: int | None = None,
        step: Step | None = None,
    ) -> list[Scored]:
        """Every input record of a load, rejected rows included (in file order).

        A rejected row is scored from what could be read (bad fields left empty; an unreadable date
        counts as the file's latest), put in the **red** lane for a manual check, and its first
        reason says why it could not be validated. A row without an id is reported as ``row-<n>``."""
        dates = [r.date for r in loaded.records] + [p.date for p in loaded.partial if p.date]
        fallback = max(dates) if dates else dt.date.fromordinal(max(self.history.last_day, 1))
        salvaged = salvage(loaded, fallback)
        records = [*loaded.records, *(r for r, _ in salvaged)]
        scored = self.score(records, reasons=reasons, exact=exact, exact_limit=exact_limit, step=step)
        n = len(loaded.records)
        out = scored[:n]
        for s, (_, why) in zip(scored[n:], salvaged, strict=True):
            out.append(Scored(s.id, s.score, "red", (f"{UNVALIDATED}: {why}", *s.reasons)))
        rows = {r.id: r.row for r in records}
        return sorted(out, key=lambda s: rows[s.id])

    def contributions(self, x: np.ndarray, *, exact: bool = False) -> np.ndarray:
        """Per-record, per-feature contributions to the raw score (log-odds), without the bias.

        Default: path contributions (each split on a record's path through a tree credits its
        feature with the change of the node value; the sum over features plus the bias is the raw
        score, like TreeSHAP's): O(trees x depth) per record. ``exact``: LightGBM's TreeSHAP
        (``pred_contrib=True``), which costs O(trees x leaves x depth^2) per record, about 25 ms
        with this model on the benchmark machine (docs/benchmarks.md)."""
        by_feature = self._raw(x, np.eye(x.shape[1]), exact=exact)[1]
        assert by_feature is not None
        return by_feature

    def _leaf_table(self, topics: np.ndarray) -> np.ndarray:
        """Every leaf's credit per topic and, in the last column, its value (kept per topics matrix:
        scoring calls this once per date)."""
        memo = (topics.shape, topics.tobytes())
        if self._leaf_memo is None or self._leaf_memo[0] != memo:
            paths = self._path_tables()
            self._leaf_memo = (memo, np.column_stack([paths.table @ topics, paths.values]))
        return self._leaf_memo[1]

    def _path_tables(self) -> Paths:
        if self._paths is None:
            self._paths = Paths.of(self.booster)
        return self._paths

    # --- save / load -------------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the model directory at ``path`` (replacing a previous model there, never other files)."""
        target = Path(path)
        if target.exists() and not (
            target.is_dir() and ((target / "model.json").is_file() or not any(target.iterdir()))
        ):
            raise InvalidInput(
                FieldError(
                    ("model",), N_("%(target)s exists and is not a model directory; choose another path", target=target)
                )
            )
        tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            self.booster.save_model(str(tmp / "booster.txt"))
            self._path_tables().save(tmp / Paths.FILE)
            with gzip.open(tmp / "history.json.gz", "wt", encoding="utf-8") as fh:
                json.dump(self.history.to_json(), fh, separators=(",", ":"))
            meta = {
                **self.meta,
                "features": [f.__dict__ for f in self.space.features],
                "space": self.space.to_json(),
                "columns": self.columns,
                "lanes": self.lanes.__dict__,
            }
            (tmp / "model.json").write_text(json.dumps(meta, indent=1, default=str), encoding="utf-8")
            old = target.with_name(f".{target.name}.{os.getpid()}.old")
            if target.exists():
                target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, path: str | Path) -> TargetingModel:
        """Read a model directory written by :meth:`save`."""
        p = Path(path)
        if not (p / "model.json").is_file():
            raise InvalidInput(
                FieldError(("model",), N_("%(p)s is not a targeting model (no model.json); fit one first", p=p))
            )
        meta = json.loads((p / "model.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION:
            raise InvalidInput(
                FieldError(
                    ("model",),
                    N_(
                        "%(p)s: model format %(get)s is not %(format_version)s; fit the model again",
                        p=p,
                        get=meta.get("format"),
                        format_version=FORMAT_VERSION,
                    ),
                )
            )
        with gzip.open(p / "history.json.gz", "rt", encoding="utf-8") as fh:
            history = History.from_json(json.load(fh))
        booster = lgb.Booster(model_file=str(p / "booster.txt"))
        model = cls(
            space=FeatureSpace.from_json(meta.pop("space")),
            columns=[int(c) for c in meta.pop("columns")],
            booster=booster,
            history=history,
            lanes=Lanes(**meta.pop("lanes")),
            meta=meta,
        )
        if (p / Paths.FILE).is_file():  # written at save; older model directories compute it on first use
            model._paths = Paths.load(p / Paths.FILE)
        return model

    @classmethod
    def cached(cls, path: str | Path) -> TargetingModel:
        """:meth:`load`, kept in memory while the directory's ``model.json`` is unchanged (the web
        app scores every load with the configured model; reading it costs about half a second)."""
        p = Path(path).resolve()
        stamp = (p / "model.json").stat().st_mtime_ns
        with _CACHE_LOCK:
            hit = _CACHE.get(p)
            if hit is not None and hit[0] == stamp:
                return hit[1]
        model = cls.load(p)
        with _CACHE_LOCK:
            _CACHE[p] = (stamp, model)
        return model

    def check_mapping(self, mapping: Mapping) -> list[str]:
        """Problems using ``mapping`` with this model: extra columns it needs that the mapping lacks
        raise :class:`InvalidInput`; a different mapping is returned as a note (canonical fields
        are what the model reads, so another agency's format is fine)."""
        used = {self.space.features[i].name for i in self.columns}
        errors = [
            FieldError(
                ("mapping", "extra", name[6:]),
                N_("the model uses the extra column '%(value)s'; the mapping does not name it", value=name[6:]),
            )
            for name in sorted(used)
            if name.startswith("extra.") and name[6:] not in mapping.extra
        ]
        if errors:
            raise InvalidInput(errors)
        fitted = self.meta["mapping"]
        if fitted["fingerprint"] != mapping.fingerprint():
            return [f"note: the model was fitted with mapping '{fitted['name']}'; scoring with '{mapping.name}'"]
        return []

    @property
    def groups(self) -> list[str]:
        return list(self.meta["selection"]["groups"])


def _topic_matrix(topics: list[str], names: list[str]) -> np.ndarray:
    m = np.zeros((len(topics), len(names)))
    for j, t in enumerate(topics):
        m[j, names.index(t)] = 1.0
    return m


@dataclass(frozen=True)
class Paths:
    """Every leaf of every tree, stacked: its value and the credit each feature earns on the path to
    it (``table``: leaves x features). Tree ``t``'s leaf ``j`` is row ``offsets[t] + j``. ``forest``:
    the trees as arrays, to find the leaves without LightGBM (:mod:`interdict.targeting.forest`)."""

    table: np.ndarray
    values: np.ndarray
    offsets: np.ndarray
    forest: Forest

    FILE = "paths.npz"

    @classmethod
    def of(cls, booster: lgb.Booster) -> Paths:
        n = booster.num_feature()
        tables, values = [], []
        trees = booster.dump_model()["tree_info"]
        for tree in trees:
            table, value = _leaf_paths(tree["tree_structure"], n)
            tables.append(table)
            values.append(value)
        offsets = np.zeros(len(tables) + 1, dtype=np.intp)
        offsets[1:] = np.cumsum([len(v) for v in values])
        return cls(np.concatenate(tables), np.concatenate(values), offsets, Forest.of(trees, offsets))

    def save(self, path: Path) -> None:
        arrays = {"table": self.table, "values": self.values, "offsets": self.offsets, **self.forest.arrays()}
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path) -> Paths | None:
        """The tables saved with a model (None for a file written before the forest arrays were)."""
        with np.load(path) as f:
            forest = Forest.from_arrays(f)
            if forest is None:
                return None
            return cls(f["table"], f["values"], f["offsets"].astype(np.intp), forest)


def _leaf_paths(root: dict[str, Any], n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """For one tree: (leaves x features) credit of each feature along the path to each leaf, and
    each leaf's value."""
    stack: list[tuple[dict[str, Any], np.ndarray]] = [(root, np.zeros(n_features))]
    found: dict[int, tuple[np.ndarray, float]] = {}
    while stack:
        node, acc = stack.pop()
        if "leaf_index" in node or "split_feature" not in node:
            found[int(node.get("leaf_index", 0))] = (acc, float(node["leaf_value"]))
            continue
        here = float(node["internal_value"])
        for side in ("left_child", "right_child"):
            child = node[side]
            value = float(
                child["leaf_value"]
                if "leaf_value" in child and "split_feature" not in child
                else child["internal_value"]
            )
            credit = acc.copy()
            credit[int(node["split_feature"])] += value - here
            stack.append((child, credit))
    table = np.zeros((len(found), n_features))
    values = np.zeros(len(found))
    for leaf, (acc, value) in found.items():
        table[leaf] = acc
        values[leaf] = value
    return table, values
