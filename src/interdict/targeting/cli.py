"""``interdict targeting fit | score | evaluate`` (the measurement contract, docs/targeting-data.md)
and ``spark-score`` (the same model on Apache Spark, :mod:`interdict.targeting.spark`).

Bad input (a mapping naming a column the file lacks, an unreadable file, a model that does not fit
the mapping) exits with code 2 and a message naming the field, the column and the reason. Rows
rejected by validation are counted, the first ones printed on stderr and all of them written to
``--rejections FILE.csv`` if given.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from interdict.core import spreadsheet
from interdict.core.errors import InvalidInput
from interdict.core.gcpause import gc_paused

if TYPE_CHECKING:
    from interdict.targeting.mapping import LoadResult, Mapping, Rejection
    from interdict.targeting.model import Scored, TargetingModel

targeting_app = typer.Typer(
    help="Targeting: risk scores, lanes and reasons for declarations and manifests (LightGBM).",
    no_args_is_help=True,
)
console = Console(stderr=True, soft_wrap=True)  # messages name paths: never wrapped mid-word
SHOWN_REJECTIONS = 20
REASON_SEPARATOR = " | "

DataArg = Annotated[Path, typer.Argument(help="CSV, XLSX or JSON file of records.")]
MappingOpt = Annotated[
    str,
    typer.Option(
        "--mapping", help="Column mapping (YAML file, or a shipped one: kcs-customs-declarations, generic-manifest)."
    ),
]
ModelOpt = Annotated[Path, typer.Option("--model", help="Model directory.")]
RejectionsOpt = Annotated[Path | None, typer.Option("--rejections", help="Write every rejected row here (CSV).")]
ExactOpt = Annotated[
    str,
    typer.Option(
        "--exact-reasons",
        help="Which records get LightGBM's TreeSHAP reasons (slow, about 25 ms a record): 'none' (path "
        "contributions for all, the default), 'flagged' (red and yellow lanes), 'all'.",
    ),
]
EXACT_METHODS: dict[str, bool | tuple[str, ...]] = {"none": False, "flagged": ("red", "yellow"), "all": True}
ThreadsOpt = Annotated[int, typer.Option(min=1, max=64, help="LightGBM threads (1 is fastest on a busy machine).")]


def _fail(error: InvalidInput | str) -> NoReturn:
    if isinstance(error, str):
        console.print(f"[red]error:[/red] {escape(error)}", highlight=False, markup=True)
    elif error.errors:
        for e in error.errors:
            console.print(f"error: {e.path}: {e.msg}", highlight=False, markup=False)
    else:
        console.print(f"error: {error.message}", highlight=False, markup=False)
    raise typer.Exit(2)


def _exact(value: str) -> bool | tuple[str, ...]:
    if value not in EXACT_METHODS:
        _fail(f"--exact-reasons: '{value}' is not one of {', '.join(EXACT_METHODS)}")
    return EXACT_METHODS[value]


@contextmanager
def _steps(first: str) -> Iterator[Progress]:
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True
    ) as p:
        p.add_task(first, total=None)
        yield p


def _say(progress: Progress) -> Callable[[str], None]:
    def step(what: str) -> None:
        progress.update(progress.task_ids[0], description=what)
        console.print(f"  {what}", highlight=False, markup=False)

    return step


P = ParamSpec("P")


def _batch(command: Callable[P, None]) -> Callable[P, None]:
    """Run the command with Python's cyclic garbage collector paused: it reads a file, fits or
    scores and writes. The millions of records, tuples and strings hold no reference cycles
    (reference counting frees them), and every collection of the oldest generation would walk all
    of them: a million declarations took 62.0 s with it on, 53.2 s with it off (docs/benchmarks.md §14)."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        with gc_paused():
            command(*args, **kwargs)

    return run


def _read(
    data: Path, mapping_name: str, *, require_outcome: bool, rejections: Path | None
) -> tuple[Mapping, LoadResult]:
    from interdict.config import Settings
    from interdict.targeting.mapping import file_limits, load, read_mapping

    try:
        mapping = read_mapping(mapping_name)
        with _steps(f"reading {data.name}"):
            # bounded like every read (INTERDICT_TARGETING_MAX_FILE_ROWS and the spreadsheet limits)
            loaded = load(data, mapping, require_outcome=require_outcome, limits=file_limits(Settings()))
    except InvalidInput as exc:
        _fail(exc)
    _report(loaded, rejections)
    return mapping, loaded


def _report(loaded: LoadResult, target: Path | None) -> None:
    console.print(
        f"read {loaded.rows} rows: {len(loaded.records)} valid records, {loaded.rejected_rows} rows rejected"
        + (f", {loaded.collapsed} repeated rows collapsed (same id, same content)" if loaded.collapsed else ""),
        highlight=False,
    )
    for r in loaded.rejections[:SHOWN_REJECTIONS]:
        console.print(f"  {r.line()}", highlight=False, markup=False)
    if len(loaded.rejections) > SHOWN_REJECTIONS:
        more = len(loaded.rejections) - SHOWN_REJECTIONS
        console.print(
            f"  ... and {more} more problems"
            + (f" (all in {target})" if target else " (--rejections FILE.csv lists all)")
        )
    if target is not None:
        write_rejections(target, loaded.rejections)


def write_rejections(target: Path, rejections: Sequence[Rejection]) -> None:
    _atomic_csv(
        target,
        ["row", "record_id", "field", "column", "reason"],
        ([r.row, r.record_id or "", r.field, r.column or "", r.reason] for r in rejections),
    )


def _atomic_csv(target: Path, header: list[str], rows: Iterator[list[object]] | Sequence[list[object]]) -> None:
    """Write a CSV that appears only when complete (temporary file beside it, then renamed), its cells
    neutralised against formula injection (``core.spreadsheet``)."""
    with spreadsheet.staged(target) as tmp, tmp.open("w", encoding="utf-8", newline="") as fh:
        w = spreadsheet.Writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def _model(path: Path, mapping: Mapping, threads: int) -> TargetingModel:
    from interdict.targeting.model import TargetingModel

    try:
        model = TargetingModel.load(path)
        model.threads = threads
        for note in model.check_mapping(mapping):
            console.print(note, highlight=False, markup=False)
    except InvalidInput as exc:
        _fail(exc)
    return model


@targeting_app.command("fit")
@_batch
def fit(
    data: DataArg,
    mapping: MappingOpt,
    model: ModelOpt,
    seed: Annotated[int, typer.Option(help="Random seed (the fit is deterministic for a seed).")] = 0,
    groups: Annotated[
        str,
        typer.Option(
            help="Feature groups besides the record's own: 'auto' (chosen on a later period), 'all', 'none', or a comma list of hs_history, entity_history, route_history, anomalies."
        ),
    ] = "auto",
    red_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of later traffic meant for the red lane.")
    ] = 0.05,
    yellow_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share meant for the yellow lane.")] = 0.15,
    rejections: RejectionsOpt = None,
    threads: ThreadsOpt = 1,
) -> None:
    """Train a model on DATA (which holds inspection outcomes) and save it at --model."""
    from interdict.targeting.features import OPTIONAL_GROUPS
    from interdict.targeting.model import TargetingModel

    if red_share + yellow_share > 1:
        _fail("--red-share + --yellow-share must not exceed 1")
    presets: dict[str, list[str] | None] = {"auto": None, "all": list(OPTIONAL_GROUPS), "none": []}
    chosen = presets.get(groups, [g.strip() for g in groups.split(",") if g.strip()])
    m, loaded = _read(data, mapping, require_outcome=True, rejections=rejections)
    if not loaded.records:
        _fail(f"{data}: no valid record to fit on")
    started = time.perf_counter()
    try:
        with _steps("fitting") as progress:
            fitted = TargetingModel.fit(
                loaded.records,
                m,
                seed=seed,
                groups=chosen,
                red_share=red_share,
                yellow_share=yellow_share,
                threads=threads,
                step=_say(progress),
            )
            fitted.save(model)
    except InvalidInput as exc:
        _fail(exc)
    sel = fitted.meta["selection"]
    if sel["trials"]:
        table = Table(
            "features", "precision@5%", "precision@10%", title=f"validation on the later period from {sel['cut']}"
        )
        for t in sel["trials"]:
            table.add_row(" + ".join(["record", *t["groups"]]), f"{t['precision_5']:.3f}", f"{t['precision_10']:.3f}")
        console.print(table)
    if sel["note"]:
        console.print(sel["note"], highlight=False)
    f = fitted.meta["fit"]
    typer.echo(
        f"fitted on {f['labelled']} records with an outcome ({f['positives']} positive), {f['first_date']} to {f['last_date']}, "
        f"in {time.perf_counter() - started:.1f} s; features: {' + '.join(['record', *fitted.groups])}; "
        f"lanes: red >= {fitted.lanes.red:.4f}, yellow >= {fitted.lanes.yellow:.4f}; saved to {model}"
    )


@targeting_app.command("score")
@_batch
def score(
    data: DataArg,
    mapping: MappingOpt,
    model: ModelOpt,
    out_path: Annotated[Path, typer.Option("--out", help="Where to write id,score,lane,reasons (CSV).")],
    reasons: Annotated[int, typer.Option(min=0, max=20, help="Reasons per record.")] = 3,
    exact_reasons: ExactOpt = "none",
    rejections: RejectionsOpt = None,
    threads: ThreadsOpt = 1,
) -> None:
    """Score DATA (the outcome column may be absent): one line per input record, higher = inspect first.

    Rejected rows get a line too: scored from what could be read, lane red, first reason
    "record could not be validated: ..." (docs/targeting-data.md)."""
    m, loaded = _read(data, mapping, require_outcome=False, rejections=rejections)
    fitted = _model(model, m, threads)
    started = time.perf_counter()
    with _steps("scoring") as progress:
        scored = fitted.score_loaded(loaded, reasons=reasons, exact=_exact(exact_reasons), step=_say(progress))
        _atomic_csv(out_path, ["id", "score", "lane", "reasons"], _score_rows(scored))
    took = time.perf_counter() - started
    lanes = {lane: sum(1 for s in scored if s.lane == lane) for lane in ("red", "yellow", "green")}
    typer.echo(
        f"scored {len(scored)} records in {took:.1f} s into {out_path} "
        f"(red {lanes['red']}, yellow {lanes['yellow']}, green {lanes['green']})"
    )


def _score_rows(scored: Sequence[Scored]) -> list[list[object]]:
    from interdict.targeting.model import SCORE_DECIMALS

    return [[s.id, f"{s.score:.{SCORE_DECIMALS}f}", s.lane, REASON_SEPARATOR.join(s.reasons)] for s in scored]


@targeting_app.command("evaluate")
@_batch
def evaluate(
    data: DataArg,
    mapping: MappingOpt,
    model: ModelOpt,
    rejections: RejectionsOpt = None,
    threads: ThreadsOpt = 1,
) -> None:
    """Precision and recall at the top 1, 2, 5 and 10 % of DATA's records with a known outcome."""
    from interdict.targeting.evaluate import RULE, at_k

    m, loaded = _read(data, mapping, require_outcome=True, rejections=rejections)
    fitted = _model(model, m, threads)
    known = [r for r in loaded.records if r.outcome is not None]
    if not known:
        _fail(f"{data}: no valid record with an outcome to evaluate on")
    with _steps("scoring"):
        scored = fitted.score(loaded.records, reasons=0)
    outcome = {r.id: bool(r.outcome) for r in known}
    results = at_k((s.id, s.score, outcome[s.id]) for s in scored if s.id in outcome)
    n, pos = results[0].total, results[0].positives
    typer.echo(f"N = {n} records with a known outcome ({pos} positive, rate {pos / n:.3f}); {RULE}")
    if loaded.rejected_rows:
        typer.echo(f"{loaded.rejected_rows} rejected rows are not evaluated")
    typer.echo(f"{'top':<6}{'k':>7}{'positives':>11}{'precision':>11}{'recall':>9}")
    for r in results:
        typer.echo(f"{f'{r.percent:g}%':<6}{r.k:>7}{r.hits:>11}{r.precision:>11.3f}{r.recall:>9.3f}")


@targeting_app.command("spark-score")
def spark_score(
    data: Annotated[
        str, typer.Argument(help="CSV or Parquet path, directory or glob (any path Spark reads, e.g. hdfs://...).")
    ],
    mapping: MappingOpt,
    model: ModelOpt,
    out_path: Annotated[
        str, typer.Option("--out", help="Output directory of id,score,lane,reasons (Parquet, or CSV with --format).")
    ],
    master: Annotated[
        str | None,
        typer.Option(help="Spark master, e.g. local[2] or spark://host:7077; default: local[2] or spark-submit's."),
    ] = None,
    partitions: Annotated[
        int | None, typer.Option(min=1, help="Partitions to score in; default: as many as Spark read.")
    ] = None,
    partition_by: Annotated[
        str | None,
        typer.Option(
            help="Source column to partition by: the mapping's date column (default) makes date ranges; "
            "another column (e.g. the vessel's) keeps each of its values in one partition."
        ),
    ] = None,
    input_format: Annotated[
        str | None, typer.Option("--input-format", help="csv or parquet; default: from the suffix of DATA.")
    ] = None,
    out_format: Annotated[str, typer.Option("--format", help="parquet or csv (with a header row).")] = "parquet",
    reasons: Annotated[int, typer.Option(min=0, max=20, help="Reasons per record.")] = 3,
    exact_reasons: ExactOpt = "none",
    ship_model: Annotated[
        bool,
        typer.Option(
            "--ship-model/--shared-model",
            help="Copy the model directory to the executors (default), or read --model at the same path on every executor.",
        ),
    ] = True,
) -> None:
    """Score DATA on Apache Spark with a model from `fit`: one line per input record of each partition.

    A record's history features use the fit history plus the records of its own partition dated
    before it (docs/targeting-data.md, "Scoring on Apache Spark"). Needs pyspark
    (pip install 'interdict[spark]') and Java 17+."""
    from interdict.targeting.mapping import read_mapping
    from interdict.targeting.model import UNVALIDATED
    from interdict.targeting.spark import ROW_COLUMN, neutralised, number_rows, score_frame, spark_session

    fmt = (input_format or _spark_format(data)).lower()
    if fmt not in ("csv", "parquet"):
        _fail(f"data: {data}: spark-score reads csv or parquet (--input-format), not '{fmt}'")
    if out_format not in ("csv", "parquet"):
        _fail(f"format: '{out_format}' is neither parquet nor csv")
    local_out = Path(out_path) if "://" not in out_path else None
    if (
        local_out is not None
        and local_out.exists()
        and not (local_out.is_dir() and ((local_out / "_SUCCESS").is_file() or not any(local_out.iterdir())))
    ):
        _fail(f"out: {out_path} exists and is not the output of an earlier spark-score; choose another path")
    try:
        m = read_mapping(mapping)
    except InvalidInput as exc:
        _fail(exc)
    try:
        spark, owned = spark_session(master)
    except ImportError:
        _fail("spark-score needs pyspark: pip install 'interdict[spark]' (and Java 17 or newer)")
    started = time.perf_counter()
    try:
        df = _spark_read(spark, data, fmt, m.delimiter)
        date_column = m.fields["date"].column
        key = partition_by or date_column
        if key not in df.columns:
            _fail(
                f"{'partition-by' if partition_by else 'mapping.fields.date'}: column '{key}' is not in {data} "
                f"(its columns: {', '.join(repr(c) for c in df.columns[:30])})"
            )
        numbered = number_rows(df, first=2 if fmt == "csv" else 1)
        n = partitions or numbered.rdd.getNumPartitions()
        parts = numbered.repartitionByRange(n, key) if key == date_column else numbered.repartition(n, key)
        scored = score_frame(
            parts,
            model,
            m,
            reasons=reasons,
            exact=_exact(exact_reasons),
            row_column=ROW_COLUMN,
            ship=ship_model,
            source=Path(data).name,
            on_note=lambda note: console.print(note, highlight=False, markup=False),
        )
        # A CSV's text cells are neutralised against formula injection (core.spreadsheet); Parquet keeps them.
        writer = (neutralised(scored) if out_format == "csv" else scored).write.mode("overwrite")
        with _steps(f"scoring on Spark ({spark.sparkContext.master}, {n} partitions)"):
            if out_format == "csv":
                writer.option("header", True).csv(out_path)
            else:
                writer.parquet(out_path)
        result = spark.read.parquet(out_path) if out_format == "parquet" else spark.read.csv(out_path, header=True)
        lanes = {row["lane"]: int(row["count"]) for row in result.groupBy("lane").count().collect()}
        rejected = result.filter(result.reasons.startswith(UNVALIDATED)).count()
    except InvalidInput as exc:
        _fail(exc)
    finally:
        if owned:
            spark.stop()
    total = sum(lanes.values())
    typer.echo(
        f"scored {total} records in {time.perf_counter() - started:.1f} s on {n} partitions into {out_path} "
        f"(red {lanes.get('red', 0)}, yellow {lanes.get('yellow', 0)}, green {lanes.get('green', 0)})"
        + (f"; {rejected} rows failed the row checks (red, first reason '{UNVALIDATED}: ...')" if rejected else "")
    )


def _spark_format(data: str) -> str:
    name = data.rstrip("/").lower()
    if name.endswith((".csv", ".csv.gz", ".txt")):
        return "csv"
    if name.endswith((".parquet", ".pq")) or Path(data).is_dir():
        return "parquet"
    _fail(f"data: {data}: cannot tell csv from parquet by its name; give --input-format")


def _spark_read(spark: Any, data: str, fmt: str, delimiter: str) -> Any:
    """The raw rows: CSV cells as text (as the in-process loader reads them), Parquet as typed."""
    from pyspark.errors import AnalysisException

    try:
        if fmt == "csv":
            df = spark.read.csv(data, header=True, sep=delimiter, inferSchema=False, encoding="UTF-8")
            return df.toDF(*[c.lstrip("\ufeff").strip() for c in df.columns])
        return spark.read.parquet(data)
    except AnalysisException as exc:
        _fail(f"data: {data}: {str(exc).splitlines()[0]}")
