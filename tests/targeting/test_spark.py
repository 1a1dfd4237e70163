"""Smoke test of scoring on Apache Spark in local mode (``local[2]``): the same model directory gives,
per partition, exactly the in-process scores of that partition's rows (docs/targeting-data.md,
"Scoring on Apache Spark"). Needs Java 17+ (skipped without it) and pyspark (dev extra)."""

from __future__ import annotations

import csv
import os
import shutil
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from typer.testing import CliRunner

from interdict.cli import app
from interdict.targeting.mapping import parse_rows, read_mapping
from interdict.targeting.model import TargetingModel
from interdict.targeting.spark import ROW_COLUMN, number_rows, score_frame
from tests.targeting.conftest import MAPPING

runner = CliRunner()
ROWS = 600
BAD_DATE_LINE, BAD_HS_LINE, NO_ID_LINE = 5, 40, 77  # CSV lines (header = 1)
FORMULA_ID_LINE, FORMULA_ID = 11, "=2+5+cmd|' /C calc'!A0"  # a record id a spreadsheet would run
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and Path(home, "bin", "java").is_file():
        return str(Path(home, "bin", "java"))
    return shutil.which("java")


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    if _java() is None:
        pytest.skip("Java is not installed (Spark local mode needs Java 17 or newer)")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the workers import interdict
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("interdict-test-spark")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def data(kcs_samples: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 rows of the 2021 Q1 sample with an impossible date, a bad HS code, a row without an id and an id
    beginning with a formula character."""
    with kcs_samples[1].open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))[: ROWS + 1]
    header = rows[0]
    rows[BAD_DATE_LINE - 1][header.index("Date")] = "2021-02-30"
    rows[BAD_HS_LINE - 1][header.index("HS6 Code")] = "ABC"
    rows[NO_ID_LINE - 1][header.index("Declaration ID")] = ""
    rows[FORMULA_ID_LINE - 1][header.index("Declaration ID")] = FORMULA_ID
    target = tmp_path_factory.mktemp("spark-data") / "declarations.csv"
    with target.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return target


def _in_process(parts: DataFrame, model: Path) -> dict[str, tuple[float, str, str]]:
    """Each partition's rows scored in-process, as one file of those rows would be."""
    mapping = read_mapping(MAPPING)
    by_partition: dict[int, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for row in parts.withColumn("_pid", F.spark_partition_id()).collect():
        cells = row.asDict()
        by_partition[cells.pop("_pid")].append((cells.pop(ROW_COLUMN), cells))
    assert len(by_partition) >= 2, "the test needs records in at least two partitions"
    fitted = TargetingModel.load(model)
    out: dict[str, tuple[float, str, str]] = {}
    for rows in by_partition.values():
        loaded = parse_rows(mapping, sorted(rows, key=lambda r: r[0]), has_outcome=True)
        for s in fitted.score_loaded(loaded):
            out[s.id] = (s.score, s.lane, " | ".join(s.reasons))
    return out


def test_spark_scores_equal_in_process_scores_of_each_partition(
    spark: SparkSession, fitted_model: Path, data: Path
) -> None:
    raw = spark.read.csv(str(data), header=True, inferSchema=False)
    parts = number_rows(raw, first=2).repartition(3, "Date")  # every date in one partition
    expected = _in_process(parts, fitted_model)
    got = {
        r["id"]: (r["score"], r["lane"], r["reasons"])
        for r in score_frame(parts, fitted_model, read_mapping(MAPPING), row_column=ROW_COLUMN).collect()
    }
    assert len(got) == ROWS == len(expected)
    assert got.keys() == expected.keys()
    for rid, (score, lane, reasons) in got.items():
        assert abs(score - expected[rid][0]) <= 1e-9, rid
        assert (lane, reasons) == expected[rid][1:], rid
    # Rejected rows: red, first reason why; the row without an id is named by its CSV line.
    bad_date = next(r for r, v in got.items() if "'2021-02-30' is not a date" in v[2])
    assert got[bad_date][1] == "red" and got[bad_date][2].startswith("record could not be validated: date:")
    bad_hs = [v for v in got.values() if "hs_code: 'ABC' is not an HS code" in v[2]]
    assert len(bad_hs) == 1 and bad_hs[0][1] == "red"
    assert got[f"row-{NO_ID_LINE}"][1] == "red"
    assert got[f"row-{NO_ID_LINE}"][2].startswith("record could not be validated: id: no record id")


def _id_at(data: Path, line: int) -> str:
    with data.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))[line - 1][0]


def _read_csv_dir(folder: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for part in sorted(folder.glob("part-*.csv")):
        with part.open(encoding="utf-8", newline="") as fh:
            rows += list(csv.DictReader(fh))
    return rows


def test_cli_one_partition_equals_the_in_process_score_command(
    spark: SparkSession, fitted_model: Path, data: Path, tmp_path: Path
) -> None:
    local = tmp_path / "local.csv"
    result = runner.invoke(
        app, ["targeting", "score", str(data), "--mapping", MAPPING, "--model", str(fitted_model), "--out", str(local)]
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "spark-out"
    args = ["targeting", "spark-score", str(data), "--mapping", MAPPING, "--model", str(fitted_model)]
    result = runner.invoke(app, [*args, "--out", str(out), "--partitions", "1", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert f"scored {ROWS} records" in result.output and "3 rows failed the row checks" in result.output
    with local.open(encoding="utf-8", newline="") as fh:
        expected = {r["id"]: r for r in csv.DictReader(fh)}
    got = {r["id"]: r for r in _read_csv_dir(out)}
    assert got.keys() == expected.keys() and len(expected) == ROWS
    # Both CSVs neutralise text cells against formula injection by the same rule (core.spreadsheet).
    assert "'" + FORMULA_ID in got
    cells = [c for r in _read_csv_dir(out) for c in r.values()]
    assert [c for c in cells if c.startswith(FORMULA_STARTS)] == []
    for rid, row in got.items():
        assert abs(float(row["score"]) - float(expected[rid]["score"])) <= 1e-9, rid
        assert (row["lane"], row["reasons"]) == (expected[rid]["lane"], expected[rid]["reasons"]), rid
    assert spark.sparkContext._jsc is not None  # the CLI left the caller's session running


def test_cli_scores_typed_parquet_in_partitions_and_names_bad_columns(
    spark: SparkSession, fitted_model: Path, data: Path, tmp_path: Path
) -> None:
    typed = tmp_path / "typed.parquet"
    raw = spark.read.csv(str(data), header=True)
    raw.withColumns(
        {
            "Date": F.try_to_date("Date"),
            "HS6 Code": F.col("HS6 Code").try_cast("int"),  # leading zeros lost: the mapping's zfill restores them
            "Net Mass": F.col("Net Mass").try_cast("double"),
            "Item Price": F.col("Item Price").try_cast("double"),
        }
    ).drop("Fraud").write.parquet(str(typed))
    out = tmp_path / "scores.parquet"
    args = ["targeting", "spark-score", str(typed), "--mapping", MAPPING, "--model", str(fitted_model)]
    result = runner.invoke(app, [*args, "--out", str(out), "--partitions", "2"])
    assert result.exit_code == 0, result.output
    scored = spark.read.parquet(str(out)).collect()
    assert len(scored) == ROWS and {r["lane"] for r in scored} <= {"red", "yellow", "green"}
    # try_to_date made the impossible date a null (rejected: no date), the cast made HS 'ABC' a blank (allowed).
    unvalidated = {r["id"]: r for r in scored if r["reasons"].startswith("record could not be validated")}
    assert unvalidated.keys() == {f"row-{NO_ID_LINE - 1}", _id_at(data, BAD_DATE_LINE)}
    assert {r["lane"] for r in unvalidated.values()} == {"red"}
    assert unvalidated[_id_at(data, BAD_DATE_LINE)]["reasons"].startswith(
        "record could not be validated: date: no date"
    )

    renamed = tmp_path / "renamed.csv"
    renamed.write_text(data.read_text(encoding="utf-8").replace("HS6 Code", "HS Code", 1), encoding="utf-8")
    args = ["targeting", "spark-score", str(renamed), "--mapping", MAPPING, "--model", str(fitted_model)]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "mapping: renamed.csv lacks the column 'HS6 Code': the mapping" in result.output
    assert not (tmp_path / "x").exists()
    result = runner.invoke(app, [*args[:2], str(data), *args[3:], "--out", str(data.parent)])
    assert result.exit_code == 2 and "is not the output of an earlier spark-score" in result.output
    result = runner.invoke(
        app, ["targeting", "spark-score", str(data), "--mapping", MAPPING, "--model", str(tmp_path), "--out", "y"]
    )
    assert result.exit_code == 2 and "not a targeting model" in result.output
