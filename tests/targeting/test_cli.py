from __future__ import annotations

import csv
import math
from pathlib import Path

from typer.testing import CliRunner

from interdict.cli import app
from tests.targeting.conftest import MAPPING

runner = CliRunner()


def _ids(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [row["Declaration ID"] for row in csv.DictReader(fh)]


def test_score_writes_one_line_per_input_record_riskier_first(
    fitted_model: Path, kcs_samples: tuple[Path, Path], tmp_path: Path
) -> None:
    data = kcs_samples[1]
    out = tmp_path / "scores.csv"
    result = runner.invoke(
        app, ["targeting", "score", str(data), "--mapping", MAPPING, "--model", str(fitted_model), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["id", "score", "lane", "reasons"]
        rows = list(reader)
    assert [r["id"] for r in rows] == _ids(data)
    assert all(r["lane"] in ("red", "yellow", "green") and r["reasons"] for r in rows)
    with data.open(encoding="utf-8", newline="") as fh:
        fraud = {r["Declaration ID"]: r["Fraud"] == "1" for r in csv.DictReader(fh)}
    scores = {r["id"]: float(r["score"]) for r in rows}
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    assert mean([s for i, s in scores.items() if fraud[i]]) > 2 * mean([s for i, s in scores.items() if not fraud[i]])


def test_score_needs_no_outcome_column_and_gives_rejected_rows_a_line(
    fitted_model: Path, kcs_samples: tuple[Path, Path], tmp_path: Path
) -> None:
    lines = kcs_samples[1].read_text(encoding="utf-8").splitlines()[:50]
    header = lines[0].split(",")
    drop = header.index("Fraud")
    rows = [line.split(",") for line in lines]
    rows[3][1] = "2021-02-30"  # no such date
    data = tmp_path / "no-outcome.csv"
    data.write_text("\n".join(",".join(c for j, c in enumerate(r) if j != drop) for r in rows) + "\n", encoding="utf-8")
    out, rejections = tmp_path / "s.csv", tmp_path / "rej.csv"
    result = runner.invoke(
        app,
        [
            "targeting",
            "score",
            str(data),
            "--mapping",
            MAPPING,
            "--model",
            str(fitted_model),
            "--out",
            str(out),
            "--rejections",
            str(rejections),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "1 rows rejected" in result.output and "'2021-02-30' is not a date" in result.output
    with out.open(encoding="utf-8", newline="") as fh:
        scored = list(csv.DictReader(fh))
    assert len(scored) == 49
    bad = next(r for r in scored if r["id"] == rows[3][0])
    assert bad["lane"] == "red" and bad["reasons"].startswith("record could not be validated: date:")
    with rejections.open(encoding="utf-8", newline="") as fh:
        [rej] = list(csv.DictReader(fh))
    assert rej["row"] == "4" and rej["field"] == "date" and rej["column"] == "Date"


def test_evaluate_prints_precision_and_recall_at_exact_k(fitted_model: Path, kcs_samples: tuple[Path, Path]) -> None:
    data = kcs_samples[1]
    n = len(_ids(data))
    result = runner.invoke(
        app, ["targeting", "evaluate", str(data), "--mapping", MAPPING, "--model", str(fitted_model)]
    )
    assert result.exit_code == 0, result.output
    assert f"N = {n} records with a known outcome" in result.output
    assert "ceil(n% x N)" in result.output and "record id ascending" in result.output
    for p in (1, 2, 5, 10):
        k = math.ceil(p * n / 100)
        assert any(line.split()[:2] == [f"{p}%", str(k)] for line in result.output.splitlines()), (p, k)


def test_bad_input_exits_2_naming_field_and_column(
    fitted_model: Path, kcs_samples: tuple[Path, Path], tmp_path: Path
) -> None:
    data = tmp_path / "renamed.csv"
    text = kcs_samples[1].read_text(encoding="utf-8")
    data.write_text(text.replace("HS6 Code", "HS Code", 1), encoding="utf-8")
    out = tmp_path / "s.csv"
    result = runner.invoke(
        app, ["targeting", "score", str(data), "--mapping", MAPPING, "--model", str(fitted_model), "--out", str(out)]
    )
    assert result.exit_code == 2
    assert "mapping: renamed.csv lacks the column 'HS6 Code': the mapping" in result.output
    assert not out.exists()
    result = runner.invoke(
        app,
        ["targeting", "score", str(kcs_samples[1]), "--mapping", MAPPING, "--model", str(tmp_path), "--out", str(out)],
    )
    assert result.exit_code == 2 and "not a targeting model" in result.output and not out.exists()
    result = runner.invoke(
        app, ["targeting", "fit", str(data), "--mapping", "no-such-mapping", "--model", str(tmp_path / "m")]
    )
    assert result.exit_code == 2 and "no-such-mapping: no such file" in result.output


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def test_score_and_rejection_files_hold_no_formula(
    fitted_model: Path, kcs_samples: tuple[Path, Path], tmp_path: Path
) -> None:
    """Record ids come from the agency's file and are repeated in both outputs: never a live formula."""
    rows = [line.split(",") for line in kcs_samples[1].read_text(encoding="utf-8").splitlines()[:20]]
    rows[2][0] = "=1+2+cmd|' /C calc'!A0"
    rows[3][0], rows[3][1] = "@SUM(9)", "2021-02-30"  # rejected: in the rejection file too
    data = tmp_path / "evil.csv"
    data.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    out, rejections = tmp_path / "s.csv", tmp_path / "rej.csv"
    args = ["targeting", "score", str(data), "--mapping", MAPPING, "--model", str(fitted_model), "--out", str(out)]
    result = runner.invoke(app, [*args, "--rejections", str(rejections)])
    assert result.exit_code == 0, result.output
    for path in (out, rejections):
        with path.open(encoding="utf-8", newline="") as fh:
            cells = [c for line in csv.reader(fh) for c in line]
        assert [c for c in cells if c.startswith(FORMULA_STARTS)] == [], path.name
        assert "'@SUM(9)" in cells, path.name
    with out.open(encoding="utf-8", newline="") as fh:
        assert "'=1+2+cmd|' /C calc'!A0" in [r["id"] for r in csv.DictReader(fh)]
