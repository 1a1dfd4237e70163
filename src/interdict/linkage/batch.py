"""Batch deduplication of the entity register: Splink on DuckDB, re-scored with ``score_pair``.

``deduplicate(records)`` is what ``interdict linkage rebuild`` runs over every name-bearing entity
(companies, persons, vessels, ...). It knows nothing of the database: it takes ``EntityRecord``s
and returns a ``BatchResult`` with the pairs worth storing (links and suggestions) and the
clusters. Only records of the same kind are ever compared.

Phases (each timed in ``BatchResult.timings``, counts in ``BatchResult.counts``):

1. **prepare** — every name is normalised once with the interactive path's own functions
   (``names.company``, ``names.person``; vessels without their "MV" prefix) into an Arrow table
   (``prepare``, ``PREPARED_SCHEMA``): the sorted distinctive tokens (``name_sorted``; for a
   person the order-independent key), the tokens run together (``name_joined``: 华强 = huaqiang),
   their letters sorted (``name_letters``: the same for "Hoàng Anh", "HoangAnh", "Anh Hoàng",
   "Ganglin Zhao" and 赵刚林), the letters without a possible leading title (``name_alt``:
   "Anh Nguyễn Văn Hùng"), the sorted 3-letter prefixes and suffixes of the tokens
   (``prefix_key``, ``suffix_key``: a typo in one token keeps one of them), business concepts,
   legal form, places, country. Large inputs use one process per core.
2. **load** — into DuckDB (a file in ``workdir``, spilling there too). A key shared by more
   records of one kind than a cap (``exact_cap`` for the letter keys, ``fuzzy_cap`` for
   prefix/suffix) is dropped from its rule for that kind, like a stop word: such a block costs
   n²/2 comparisons, and a name that common identifies nobody by itself.
3. **train** — a Splink (Fellegi-Sunter) model: the prior from a deterministic rule (same
   letters, recall 0.7), u by random sampling, m by EM on two blocking rules (same letters: m of
   concepts, legal form, places, country; same prefix key: m of the name comparison). Below
   ``EM_MIN_RECORDS`` the m values are ``FIXED_M`` (EM's own estimates on a larger register):
   a few hundred blocked pairs leave most levels unobserved.
4. **block** — blocking rules ``kind`` AND each key of ``_BLOCK_KEYS``; the blocked pairs are
   computed once and counted (``counts["comparisons"]``, and per rule in order).
5. **predict** — Splink scores every blocked pair; pairs with at least ``min_evidence`` bits of
   evidence (match weight minus the prior's weight; 0 = the comparison vector is at least as
   likely for a match as for a non-match) are candidates. Splink is the recall filter here, not
   the judge: its features (name levels, concepts, legal form, places, country) cannot separate
   "Hùng" from "Hưng": on 200,000 synthetic register records, keeping only the pairs of match
   weight >= -9 (of -16 to +9) already lost 176 of the 175,657 links ``score_pair`` made.
6. **rescore** — each candidate is scored with ``score_pair`` (in block order, so the names of a
   block are normalised once; in worker processes for large inputs). Pairs scoring at least
   ``SUGGEST_THRESHOLD`` are kept.
7. **cluster** — Splink's connected components over the pairs whose ``score`` is at least
   ``threshold``.

Which score is authoritative: ``score`` (``score_pair``). It is the function an analyst sees in
the interactive path (with its reasons), it is tuned and regression-tested on the labelled
cross-lingual set (F1 >= 0.90), and it knows what Splink's SQL comparison levels cannot say:
Vietnamese syllables that differ by one letter are different names ("Phát"/"Pháp"), diacritics
that disagree ("Hùng"/"Hưng"), common family names weigh less, business words alone never make a
match. Were ``rebuild`` to store Splink's probability, a pair could be a link in batch and not when
an analyst opens it. Splink's ``match_probability`` is kept beside the score: it is why the pair
was a candidate. Links (``score >= threshold``) agree with the interactive path pair by pair.
Clusters are connected components of the links, so two records can share a cluster through a
third without being a link themselves ("Nguyễn Văn Hưng" ~ "NGUYEN VAN HUNG" ~ "Nguyễn Văn Hùng");
``counts["largest_cluster"]`` is worth watching. Country is in the Splink model but not in
``score_pair`` (names only), so a different country does not stop a link either.

Worker processes are started with the forkserver method, never forked from a process running
DuckDB or Arrow threads; like spawn, it imports the caller's main module again, so a script that
calls ``deduplicate`` must guard its entry point with ``if __name__ == "__main__":``.

Spark, for national-scale registers: the same ``_settings()`` (blocking rules, comparisons,
``FIXED_M``) run with ``splink.SparkAPI(spark_session=..., break_lineage_method="parquet")``
instead of ``DuckDBAPI``. What changes: ``prepare`` is row-wise, so it runs as a ``mapInArrow``
over the source partitions instead of a process pool; the key caps are the same window
``count(*) OVER (PARTITION BY kind, key)`` in Spark SQL; Jaro-Winkler comes from the Scala UDF jar
that Splink registers (``register_udfs_automatically=True``; DuckDB has it built in); the
candidates are re-scored with ``score_pair`` in a ``mapInPandas`` over the predicted pairs,
repartitioned by block key so each task's caches stay warm; connected components is Splink's
iterative SQL, which needs a checkpoint directory. bench/README.md ("Linkage batch on Spark").
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from interdict.linkage.names import company, company_markers, person
from interdict.linkage.score import DEFAULT_THRESHOLD, SUGGEST_THRESHOLD, score_pair
from interdict.linkage.tables import company_lexicon
from interdict.linkage.text import fold_tokens

log = logging.getLogger(__name__)

# kind -> the schema score_pair compares it as; other kinds: None (score_pair guesses).
_SCHEMA = {
    "company": "Company",
    "organization": "Organization",
    "organisation": "Organization",
    "person": "Person",
    "vessel": "Vessel",
}
_COMPANY_KINDS = frozenset({"company", "organization", "organisation"})

PREPARED_SCHEMA = pa.schema(
    [
        ("unique_id", pa.string()),
        ("kind", pa.string()),
        ("name", pa.string()),
        ("country", pa.string()),
        ("name_sorted", pa.string()),
        ("name_joined", pa.string()),
        ("name_letters", pa.string()),
        ("name_alt", pa.string()),
        ("prefix_key", pa.string()),
        ("suffix_key", pa.string()),
        ("concepts_key", pa.string()),
        ("legal_form", pa.string()),
        ("places_key", pa.string()),
    ]
)
# One blocking rule per key, in this order (Splink's match_key is the index).
_BLOCK_KEYS = ("name_letters", "name_alt", "prefix_key", "suffix_key")
_KEY_COLUMNS = _BLOCK_KEYS
_EXACT_KEYS = ("name_letters", "name_alt")
_FUZZY_KEYS = ("prefix_key", "suffix_key")

# Inputs smaller than this are prepared and re-scored in this process (a pool costs ~1 s to start).
_POOL_MIN = 20_000
_EXACT_COMPARISONS = ("concepts_key", "legal_form", "places_key", "country")
_CHUNK = 20_000


@dataclass(frozen=True)
class EntityRecord:
    id: str  # entity id
    kind: str  # "company" | "person" | "vessel" | other name-bearing kinds
    name: str  # original text
    country: str | None


@dataclass
class BatchResult:
    """What a batch run found.

    ``pairs``: id_l, id_r (id_l < id_r), kind, match_probability (Splink), score (``score_pair``,
    authoritative), one row per pair with ``score >= SUGGEST_THRESHOLD``: links at ``threshold``
    and above, suggestions for review below it. ``clusters``: id, cluster_id for every record
    (a singleton's cluster id is its own id); a cluster id is the smallest record id in it.
    """

    pairs: pa.Table
    clusters: pa.Table
    threshold: float
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase
    counts: dict[str, int] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)  # the trained Splink model (settings with m/u)

    def cluster_map(self) -> dict[str, str]:
        """id -> cluster id."""
        return dict(
            zip(self.clusters.column("id").to_pylist(), self.clusters.column("cluster_id").to_pylist(), strict=True)
        )

    def links(self) -> pa.Table:
        """The pairs at or above the threshold."""
        return self.pairs.filter(pc.greater_equal(self.pairs.column("score"), self.threshold))


# --- prepare ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Keys:
    tokens: tuple[str, ...]
    alt: tuple[str, ...] | None = None
    concepts: str | None = None
    legal_form: str | None = None
    places: str | None = None


def _vessel_prefixes() -> frozenset[str]:
    return frozenset(k[0] for k, e in company_lexicon().latin.items() if e.role == "vessel_prefix" and len(k) == 1)


def _keys(kind: str, name: str) -> _Keys:
    as_company = kind in _COMPANY_KINDS or (kind not in _SCHEMA and company_markers(name))
    if as_company:
        c = company(name)
        return _Keys(
            tokens=c.distinctive,
            concepts=",".join(sorted(c.concepts)) or None,
            legal_form=c.legal_form,
            places=",".join(sorted(c.places)) or None,
        )
    if kind == "vessel":
        toks = fold_tokens(name)
        prefixes = _vessel_prefixes()
        while len(toks) > 1 and toks[0] in prefixes:
            toks = toks[1:]
        return _Keys(tokens=tuple(toks))
    p = person(name)
    return _Keys(tokens=p.tokens, alt=p.tokens[1:] if p.maybe_title is not None else None)


_Rec = tuple[str, str, str, str | None]  # EntityRecord fields: a tuple pickles 4x faster to workers


def _row(rec: _Rec) -> tuple[Any, ...]:
    rid, raw_kind, name, raw_country = rec
    kind = raw_kind.strip().casefold()
    k = _keys(kind, name)
    toks = k.tokens
    country = (raw_country or "").strip().upper() or None
    if not toks:
        return (rid, kind, name, country, None, None, None, None, None, None, k.concepts, k.legal_form, k.places)
    letters = "".join(sorted("".join(toks)))
    return (
        rid,
        kind,
        name,
        country,
        " ".join(sorted(toks)),
        "".join(toks),
        letters,
        "".join(sorted("".join(k.alt))) if k.alt else letters,
        " ".join(sorted(t[:3] for t in toks)),
        " ".join(sorted(t[-3:] for t in toks)),
        k.concepts,
        k.legal_form,
        k.places,
    )


def _prepare_batch(records: Sequence[_Rec]) -> pa.RecordBatch:
    rows = [_row(r) for r in records]
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in PREPARED_SCHEMA.names]
    return pa.RecordBatch.from_arrays(
        [pa.array(col, type=f.type) for col, f in zip(cols, PREPARED_SCHEMA, strict=True)],
        schema=PREPARED_SCHEMA,
    )


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    buf: list[Any] = []
    for item in items:
        buf.append(item)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf


def prepare(records: Iterable[EntityRecord], *, executor: Executor | None = None) -> pa.Table:
    """Normalised keys of every record (``PREPARED_SCHEMA``), built chunk by chunk.

    The input is consumed as a stream (chunks of 20,000 records); with an ``executor`` the
    chunks are normalised in parallel, in input order.
    """
    chunks = _chunks(((r.id, r.kind, r.name, r.country) for r in records), _CHUNK)
    batches = list(executor.map(_prepare_batch, chunks)) if executor else [_prepare_batch(c) for c in chunks]
    return pa.Table.from_batches(batches, schema=PREPARED_SCHEMA)


# --- rescoring --------------------------------------------------------------------------------


def _score_batch(rows: tuple[list[str], list[str], list[str]]) -> list[float]:
    names_l, names_r, kinds = rows
    return [score_pair(a, b, _SCHEMA.get(k)).score for a, b, k in zip(names_l, names_r, kinds, strict=True)]


def _rescore(cands: pa.Table, executor: Executor | None) -> list[float]:
    names_l = cands.column("name_l").to_pylist()
    names_r = cands.column("name_r").to_pylist()
    kinds = cands.column("kind").to_pylist()
    n = len(names_l)
    step = _CHUNK
    parts = [(names_l[i : i + step], names_r[i : i + step], kinds[i : i + step]) for i in range(0, n, step)]
    out: list[float] = []
    for scores in executor.map(_score_batch, parts) if executor else map(_score_batch, parts):
        out.extend(scores)
    return out


# --- Splink model ----------------------------------------------------------------------------


def _blocking_rules() -> list[Any]:
    from splink import block_on

    # Every rule includes kind: only records of the same kind are compared.
    return [block_on("kind", col) for col in _BLOCK_KEYS]


# m probabilities per non-null level, in level order. They are EM's starting values and the model
# itself when EM is not run: below ``EM_MIN_RECORDS`` records (a few hundred blocked pairs leave
# most levels unobserved, and EM then keeps nothing but noise) or with ``train=False``. They are
# EM's own estimates on 20,000 synthetic register records (bench/bench_linkage_batch.py),
# rounded, except country: EM puts m(different country) near 0 on data whose sources never
# disagree on it; real sources do, so 0.1 is kept.
FIXED_M: dict[str, list[float]] = {
    "name": [0.87, 0.03, 0.06, 0.02, 0.02],  # same letters; JW >= 0.95; JW >= 0.88; Levenshtein <= 2; else
    "concepts_key": [0.9, 0.1],
    "legal_form": [0.75, 0.25],
    "places_key": [0.75, 0.25],
    "country": [0.9, 0.1],
}
EM_MIN_RECORDS = 10_000


def _settings() -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_description="distinctive name tokens",
        comparison_levels=[
            cll.NullLevel("name_sorted"),
            cll.Or(
                cll.ExactMatchLevel("name_letters"),
                cll.ExactMatchLevel("name_alt"),
            ).configure(label_for_charts="same letters"),
            cll.JaroWinklerLevel("name_joined", 0.95),
            cll.JaroWinklerLevel("name_joined", 0.88),
            cll.LevenshteinLevel("name_sorted", 2),
            cll.ElseLevel(),
        ],
    ).configure(m_probabilities=FIXED_M["name"])
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=_blocking_rules(),
        comparisons=[
            name,
            *(cl.ExactMatch(col).configure(m_probabilities=FIXED_M[col]) for col in _EXACT_COMPARISONS),
        ],
        additional_columns_to_retain=["kind", "name"],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def _capped_sql(exact_cap: int, fuzzy_cap: int) -> str:
    """The prepared table with too common keys (per kind) set to NULL."""
    cols = []
    for col in PREPARED_SCHEMA.names:
        if col in _KEY_COLUMNS:
            cap = exact_cap if col in _EXACT_KEYS else fuzzy_cap
            cols.append(f"CASE WHEN count(*) OVER (PARTITION BY kind, {col}) <= {cap} THEN {col} END AS {col}")
        else:
            cols.append(col)
    return f"SELECT {', '.join(cols)} FROM prepared_raw"


def _executor(n: int, workers: int) -> ProcessPoolExecutor | None:
    if workers <= 1 or n < _POOL_MIN:
        return None
    # forkserver: each worker is forked from a clean server process, never from this one, which
    # may run DuckDB and Arrow threads (forking it crashes workers). Like spawn, it needs the
    # caller's main module to be importable without side effects (``if __name__ == "__main__"``).
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["interdict.linkage.batch"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx)


def _empty_pairs() -> pa.Table:
    return pa.table(
        {
            "id_l": pa.array([], pa.string()),
            "id_r": pa.array([], pa.string()),
            "kind": pa.array([], pa.string()),
            "match_probability": pa.array([], pa.float64()),
            "score": pa.array([], pa.float64()),
        }
    )


def deduplicate(
    records: Iterable[EntityRecord],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    workdir: Path | None = None,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
    memory_limit: str | None = None,
    min_evidence: float = 0.0,
    exact_cap: int = 1000,
    fuzzy_cap: int = 200,
    train: bool | None = None,
) -> BatchResult:
    """Find the duplicates among ``records`` (see the module docstring for the phases).

    ``workdir``: where DuckDB spills (a temporary directory if None). ``workers``: processes
    for normalising and re-scoring, and DuckDB threads (default: the number of cores).
    ``memory_limit``: DuckDB's (e.g. "8GB"; default DuckDB's 80 % of RAM).
    ``train``: estimate m by EM (the default from ``EM_MIN_RECORDS`` records on) or use
    ``FIXED_M`` (the default below). u is always estimated by random sampling.
    """
    say = progress or (lambda _msg: None)
    workers = workers or os.cpu_count() or 1
    timings: dict[str, float] = {}
    counts: dict[str, int] = {}
    tmp: tempfile.TemporaryDirectory[str] | None = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="interdict-linkage-")
        workdir = Path(tmp.name)
    workdir.mkdir(parents=True, exist_ok=True)
    # The pool is created (and its workers started lazily) before any DuckDB thread exists.
    pool: ProcessPoolExecutor | None = None
    try:
        t0 = time.perf_counter()
        records = list(records) if not isinstance(records, list) else records
        pool = _executor(len(records), workers)
        table = prepare(records, executor=pool)
        del records
        timings["prepare"] = time.perf_counter() - t0
        counts["records"] = table.num_rows
        say(f"prepare: {table.num_rows:,} records in {timings['prepare']:.1f}s")
        if table.num_rows < 2:
            return BatchResult(
                pairs=_empty_pairs(),
                clusters=pa.table({"id": table.column("unique_id"), "cluster_id": table.column("unique_id")}),
                threshold=threshold,
                timings=timings,
                counts={**counts, "comparisons": 0, "candidates": 0, "pairs": 0, "links": 0},
            )
        return _run(table, threshold, workdir, say, workers, memory_limit, min_evidence,
                    exact_cap, fuzzy_cap, train, pool, timings, counts)  # fmt: skip
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        if tmp is not None:
            tmp.cleanup()


def _run(
    table: pa.Table,
    threshold: float,
    workdir: Path,
    say: Callable[[str], None],
    workers: int,
    memory_limit: str | None,
    min_evidence: float,
    exact_cap: int,
    fuzzy_cap: int,
    train: bool | None,
    pool: Executor | None,
    timings: dict[str, float],
    counts: dict[str, int],
) -> BatchResult:
    from splink import DuckDBAPI, Linker
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    t = time.perf_counter()
    con = duckdb.connect(str(workdir / "linkage.duckdb"))
    try:
        con.execute(f"SET threads = {int(workers)}")
        con.execute(f"SET temp_directory = '{workdir / 'spill'}'")
        con.execute("SET preserve_insertion_order = false")
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
        con.register("prepared_arrow", table)
        con.execute("CREATE TABLE prepared_raw AS SELECT * FROM prepared_arrow")
        con.unregister("prepared_arrow")
        con.execute(f"CREATE TABLE prepared AS {_capped_sql(exact_cap, fuzzy_cap)}")
        con.execute("DROP TABLE prepared_raw")
        db_api = DuckDBAPI(connection=con)
        linker = Linker(db_api.register("prepared"), _settings(), log_level=None)
        timings["load"] = time.perf_counter() - t

        t = time.perf_counter()
        _train(linker, train, table.num_rows)
        model = linker.misc.save_model_to_json()
        timings["train"] = time.perf_counter() - t
        say(f"train: {timings['train']:.1f}s")

        t = time.perf_counter()
        blocked = linker.inference.compute_blocked_pairs_for_predict()
        per_rule = con.execute(
            f"SELECT match_key, count(*) FROM {blocked.physical_name} GROUP BY match_key ORDER BY match_key"
        ).fetchall()
        comparisons = sum(int(c) for _, c in per_rule)
        counts["comparisons"] = comparisons
        for key, c in per_rule:
            counts[f"comparisons_rule_{key}"] = int(c)
        timings["block"] = time.perf_counter() - t
        say(f"block: {comparisons:,} comparisons in {timings['block']:.1f}s")

        t = time.perf_counter()
        prior = float(model["probability_two_random_records_match"])
        prior_weight = math.log2(prior / (1 - prior))
        predicted = linker.inference.predict(threshold_match_weight=prior_weight + min_evidence, warning_mode="never")
        blocked.drop_table_from_database_and_remove_from_cache()
        # In block order (the key of the rule that made the pair): the names of one block are
        # normalised once and then found in score_pair's caches.
        block_key = " ".join(f"WHEN '{i}' THEN l.{col}" for i, col in enumerate(_BLOCK_KEYS))
        cand_sql = f"""
            SELECT p.unique_id_l AS id_l, p.unique_id_r AS id_r, p.kind_l AS kind, p.name_l, p.name_r,
                   p.match_probability, p.match_key
            FROM {predicted.physical_name} AS p JOIN prepared AS l ON l.unique_id = p.unique_id_l
            ORDER BY p.kind_l, p.match_key, CASE p.match_key {block_key} END, p.name_l
        """
        cands = con.sql(cand_sql).to_arrow_table()
        predicted.drop_table_from_database_and_remove_from_cache()
        counts["candidates"] = cands.num_rows
        timings["predict"] = time.perf_counter() - t
        say(f"predict: {cands.num_rows:,} candidates in {timings['predict']:.1f}s")

        t = time.perf_counter()
        scores = _rescore(cands, pool)
        scored = cands.select(["id_l", "id_r", "kind", "match_probability"]).append_column(
            "score", pa.array(scores, pa.float64())
        )
        keep = pc.greater_equal(scored.column("score"), SUGGEST_THRESHOLD)
        pairs = scored.filter(keep)
        # Which rule found the pairs worth keeping (a pair counts for the first rule that blocks it).
        found = cands.select(["match_key"]).filter(keep).group_by("match_key").aggregate([("match_key", "count")])
        for key, c in zip(
            found.column("match_key").to_pylist(), found.column("match_key_count").to_pylist(), strict=True
        ):
            counts[f"pairs_rule_{key}"] = int(c)
        del cands, scored, scores
        counts["pairs"] = pairs.num_rows
        timings["rescore"] = time.perf_counter() - t
        say(f"rescore: {pairs.num_rows:,} pairs >= {SUGGEST_THRESHOLD} in {timings['rescore']:.1f}s")

        t = time.perf_counter()
        edges = pairs.filter(pc.greater_equal(pairs.column("score"), threshold))
        counts["links"] = edges.num_rows
        con.register(
            "edges_arrow", edges.select(["id_l", "id_r", "score"]).rename_columns(["id_l", "id_r", "match_probability"])
        )
        con.execute("CREATE TABLE edges AS SELECT * FROM edges_arrow")
        con.unregister("edges_arrow")
        con.execute("CREATE TABLE nodes AS SELECT unique_id AS id FROM prepared")
        cc = cluster_pairwise_predictions_at_threshold(
            nodes="nodes",
            edges="edges",
            db_api=db_api,
            node_id_column_name="id",
            edge_id_column_name_left="id_l",
            edge_id_column_name_right="id_r",
            threshold_match_probability=threshold,
        )
        clusters = con.sql(f"SELECT id, cluster_id FROM {cc.physical_name}").to_arrow_table()
        sizes = clusters.group_by("cluster_id").aggregate([("id", "count")])
        counts["clusters"] = sizes.num_rows
        counts["largest_cluster"] = int(pc.max(sizes.column("id_count")).as_py() or 0)
        timings["cluster"] = time.perf_counter() - t
        say(f"cluster: {counts['clusters']:,} clusters in {timings['cluster']:.1f}s")
        return BatchResult(
            pairs=pairs, clusters=clusters, threshold=threshold, timings=timings, counts=counts, model=model
        )
    finally:
        con.close()


def _train(linker: Any, train: bool | None, n: int) -> None:
    from splink import block_on

    # A very small register (a handful of names, most of them duplicates) has more deterministic matches than
    # the assumed recall allows (ValueError); the settings' prior then stays. Re-scoring decides links anyway.
    with contextlib.suppress(ValueError):
        linker.training.estimate_probability_two_random_records_match([block_on("kind", "name_letters")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=min(1e7, max(1e4, n * 20.0)), seed=1)
    if not (train if train is not None else n >= EM_MIN_RECORDS):
        return
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("kind", "name_letters"), max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("kind", "prefix_key"), max_pairs=1e6)
