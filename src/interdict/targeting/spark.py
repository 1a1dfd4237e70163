"""Score a partitioned data set on Apache Spark with the same model directory as the in-process CLI.

For hubs whose declarations outgrow one machine (docs/targeting-data.md, *Scoring on Apache
Spark*). :func:`score_frame` turns a Spark DataFrame of raw rows (the agency's columns, as the
mapping names them) into ``id, score, lane, reasons`` with ``DataFrame.mapInArrow``: each partition
gathers its Arrow batches, checks its rows with the mapping's row parser
(:func:`~interdict.targeting.mapping.parse_rows`, the same checks as a file load), scores them with
:meth:`TargetingModel.score_loaded` (rejected rows red, first reason "record could not be
validated: ...") and yields one output row per record.

**Semantics**: a record's history features use the fit history plus the records **of its own
partition** dated before it. Each partition is scored exactly as the in-process ``score`` would
score a file holding that partition's rows, so partition by something meaningful (a date range,
an arrival or a vessel) — every record of one date in one partition keeps the "same date never
sees each other" rule, and a whole date range in one partition gives each record the volumes of
the days before it in that range.

The model directory is shipped to the executors once (``SparkContext.addFile`` of a copy named by
its content digest, so two models never clash) or read from a path every executor mounts
(``ship=False``); each Python worker loads it once and keeps it. Only the public entry points of
:class:`TargetingModel` are used (``load``, ``check_mapping``, ``score_loaded``).

pyspark is imported lazily: the rest of Interdict does not need it (``pip install
'interdict[spark]'``).
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interdict.core.errors import FieldError, InvalidInput
from interdict.core.i18n import N_
from interdict.targeting.mapping import Mapping, check_columns, parse_rows

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

    from interdict.targeting.model import TargetingModel

OUTPUT_SCHEMA = "id string, score double, lane string, reasons string"
ROW_COLUMN = "__interdict_row"
REASON_SEPARATOR = " | "  # as cli.REASON_SEPARATOR
MODEL_FILES = ("model.json", "booster.txt", "history.json.gz", "paths.npz")  # paths.npz: optional
OUTPUT_BATCH = 10_000
LOCAL_CONF = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}

# Per Python worker (Spark reuses its workers between tasks): loaded models and mappings.
_MODELS: dict[str, TargetingModel] = {}
_MAPPINGS: dict[str, Mapping] = {}
# On the driver: (Spark application, shipped model name) already added with addFile.
_SHIPPED: set[tuple[str, str]] = set()


def score_frame(
    df: DataFrame,
    model: str | Path,
    mapping: Mapping,
    *,
    reasons: int = 3,
    exact: bool | Collection[str] = False,
    row_column: str | None = None,
    ship: bool = True,
    threads: int = 1,
    on_note: Callable[[str], None] | None = None,
    source: str = "the input data",
) -> DataFrame:
    """``df`` (raw rows, partitioned as the caller chose) scored: ``id, score, lane, reasons``.

    One output row per input record of each partition (a repeated id within a partition is one
    record, as in a file). ``row_column``: a column of row numbers (e.g. from :func:`number_rows`)
    used for ``row-<n>`` ids of rows without one and for the order within a partition; without it
    rows are numbered from 1 within each partition. ``ship``: copy the model directory to the
    executors; ``False``: every executor reads ``model`` at the same path (a shared mount).
    ``threads``: LightGBM threads per task (keep 1 with one core per task).

    The model is loaded once on the driver to check it against the mapping. Raises
    :class:`InvalidInput` (naming the field) when ``model`` is not a model, a mapped column is not
    in ``df`` (``source`` names it in the message), or the model needs an ``extra`` column the
    mapping lacks; nothing runs then."""
    from interdict.targeting.model import TargetingModel

    columns = [c for c in df.columns if c != row_column]
    has_outcome = check_columns(mapping, columns, source)
    if row_column is not None and row_column not in df.columns:
        raise InvalidInput(
            FieldError(
                ("row_column",),
                N_("column '%(row_column)s' is not in %(source)s", row_column=row_column, source=source),
            )
        )
    path = Path(model)
    checked = TargetingModel.load(path)  # fails here, on the driver, for a directory that is not a model
    for note in checked.check_mapping(mapping):
        if on_note is not None:
            on_note(note)
    del checked
    if ship:
        name = _ship(df, path)
        ref, shipped = name, True
    else:
        ref, shipped = str(path.resolve()), False
    func = functools.partial(
        _score_partition,
        model_ref=ref,
        shipped=shipped,
        mapping_json=mapping.model_dump_json(),
        has_outcome=has_outcome,
        row_column=row_column,
        reasons=reasons,
        exact=exact,
        threads=threads,
    )
    return df.mapInArrow(func, OUTPUT_SCHEMA)


def neutralised(df: DataFrame) -> DataFrame:
    """``df`` with every text column neutralised against formula injection, for a CSV meant for spreadsheets:
    the rule of :mod:`interdict.core.spreadsheet` (a leading quote before a formula character or a quote,
    plain numbers kept) as a Spark SQL expression, so no Python runs per cell."""
    from pyspark.sql import functions as F

    from interdict.core import spreadsheet

    number = f"^(?:{spreadsheet.NUMBER_PATTERN})\\z"  # Java's \z: the very end (not before a last newline)
    columns = []
    for name, kind in df.dtypes:
        col = F.col(name)
        if kind == "string":
            risky = col.rlike(spreadsheet.FORMULA_START_PATTERN) & ~col.rlike(number)
            col = F.when(risky, F.concat(F.lit(spreadsheet.QUOTE), col)).otherwise(col).alias(name)
        columns.append(col)
    return df.select(*columns)


def spark_session(master: str | None = None, *, app_name: str = "interdict-targeting") -> tuple[SparkSession, bool]:
    """The active Spark session, or a new one (``master``; default ``local[2]`` unless run by
    spark-submit, which sets its own). Returns (session, whether the caller created it and should
    stop it). Python workers run this interpreter unless ``PYSPARK_PYTHON`` says otherwise."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if master is not None or "PYSPARK_GATEWAY_PORT" not in os.environ:
        master = master or "local[2]"
        builder = builder.master(master)
    if master is not None and master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # One machine: stay on the loopback interface, no web UI, no console progress bars.
        for key, value in LOCAL_CONF.items():
            builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR" if master is not None and master.startswith("local") else "WARN")
    return session, True


def number_rows(df: DataFrame, column: str = ROW_COLUMN, *, first: int = 1) -> DataFrame:
    """``df`` with ``column`` = the row's position in ``df`` as read, counting from ``first``.

    Like ``RDD.zipWithIndex`` but without leaving the JVM: one counting job over the partitions,
    then partition offset + position in the partition. For one file the rows are numbered in file
    order (Spark reads a file's splits in order); use ``first=2`` for a CSV file with a header to
    get its line numbers (as the in-process CLI reports them, when no cell holds a line break)."""
    from pyspark.sql import functions as F

    pid = F.spark_partition_id()
    counts = {int(p): int(n) for p, n in df.select(pid.alias("p")).groupBy("p").count().collect()}
    offsets: list[int] = []
    at = first
    for p in range(df.rdd.getNumPartitions()):
        offsets.append(at)
        at += counts.get(p, 0)
    if not offsets:
        return df.withColumn(column, F.lit(first).cast("long"))
    # monotonically_increasing_id = partition id << 33 + position in the partition
    local = F.monotonically_increasing_id() - F.shiftleft(pid.cast("long"), 33)
    start = F.element_at(F.array(*[F.lit(o).cast("long") for o in offsets]), pid + 1)
    return df.withColumn(column, start + local)


def model_digest(path: Path) -> str:
    """Digest of a model directory's files (names the shipped copy: equal models share it)."""
    h = hashlib.sha256()
    for name in MODEL_FILES:
        f = path / name
        if f.is_file():
            h.update(name.encode())
            with f.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()[:16]


def _ship(df: DataFrame, path: Path) -> str:
    """Add a copy of the model directory, named by its digest, to the Spark context's files."""
    name = f"interdict-model-{model_digest(path)}"
    sc = df.sparkSession.sparkContext
    if (sc.applicationId, name) in _SHIPPED:
        return name
    staging = Path(tempfile.mkdtemp(prefix="interdict-spark-"))
    atexit.register(shutil.rmtree, staging, True)
    copy = staging / name
    copy.mkdir()
    for f in MODEL_FILES:
        if (path / f).is_file():
            shutil.copy2(path / f, copy / f)
    sc.addFile(str(copy), recursive=True)
    _SHIPPED.add((sc.applicationId, name))
    return name


# --- on the executors ----------------------------------------------------------------------------------


def _worker_model(ref: str, shipped: bool, threads: int) -> TargetingModel:
    from interdict.targeting.model import TargetingModel

    model = _MODELS.get(ref)
    if model is None:
        if shipped:
            from pyspark import SparkFiles

            where = SparkFiles.get(ref)
        else:
            where = ref
        model = _MODELS[ref] = TargetingModel.load(where)
    model.threads = threads
    return model


def _worker_mapping(mapping_json: str) -> Mapping:
    mapping = _MAPPINGS.get(mapping_json)
    if mapping is None:
        mapping = _MAPPINGS[mapping_json] = Mapping.model_validate_json(mapping_json)
    return mapping


def _score_partition(
    batches: Iterator[pa.RecordBatch],
    *,
    model_ref: str,
    shipped: bool,
    mapping_json: str,
    has_outcome: bool,
    row_column: str | None,
    reasons: int,
    exact: bool | Collection[str],
    threads: int,
) -> Iterator[pa.RecordBatch]:
    """One partition: all its rows (history needs the whole partition), checked, scored, yielded."""
    import pyarrow as pa

    rows: list[tuple[int, dict[str, Any]]] = []
    for batch in batches:
        for cells in batch.to_pylist():
            position = len(rows) + 1
            if row_column is not None:
                number = cells.pop(row_column, None)
                position = int(number) if number is not None else position
            rows.append((position, cells))
    if not rows:
        return
    loaded = parse_rows(_worker_mapping(mapping_json), rows, has_outcome=has_outcome)
    del rows
    scored = _worker_model(model_ref, shipped, threads).score_loaded(loaded, reasons=reasons, exact=exact)
    schema = pa.schema([("id", pa.string()), ("score", pa.float64()), ("lane", pa.string()), ("reasons", pa.string())])
    for start in range(0, len(scored), OUTPUT_BATCH):
        part = scored[start : start + OUTPUT_BATCH]
        yield pa.RecordBatch.from_pydict(
            {
                "id": [s.id for s in part],
                "score": [s.score for s in part],
                "lane": [s.lane for s in part],
                "reasons": [REASON_SEPARATOR.join(s.reasons) for s in part],
            },
            schema=schema,
        )
