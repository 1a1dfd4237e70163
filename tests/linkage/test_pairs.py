from __future__ import annotations

import csv
from pathlib import Path

import pytest

from interdict.linkage.pairs import PairsFileError, score_csv


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_scores_rows_and_passes_other_columns_through(tmp_path: Path) -> None:
    src = write(
        tmp_path / "in.csv",
        "case_id,name1,name2,schema,note\n"
        'HP-2025-17,CÔNG TY TNHH THƯƠNG MẠI HOÀNG ANH,"Hoang Anh Trading Co., Ltd",,"shipper, Hai Phong"\n'
        "CL-2026-03,Hoang Anh Trading,Minh Phat Trading,Company,\n"
        "CL-2026-04,Nguyễn Văn Hùng,NGUYEN VAN HUNG,Person,consignee\n",
    )
    out = tmp_path / "out.csv"
    assert score_csv(src, out) == 3
    rows = read(out)
    assert list(rows[0]) == ["case_id", "name1", "name2", "schema", "note", "score", "match"]
    assert rows[0]["case_id"] == "HP-2025-17"
    assert rows[0]["note"] == "shipper, Hai Phong"
    assert rows[0]["name2"] == "Hoang Anh Trading Co., Ltd"
    assert rows[0]["match"] == "true"
    assert rows[1]["match"] == "false"
    assert rows[2]["match"] == "true"
    for r in rows:
        assert len(r["score"].split(".")[1]) == 4
        assert 0.0 <= float(r["score"]) <= 1.0


def test_schema_column_is_optional(tmp_path: Path) -> None:
    src = write(tmp_path / "in.csv", "name1,name2\n张伟,Zhang Wei\n")
    out = tmp_path / "out.csv"
    score_csv(src, out)
    assert read(out) == [{"name1": "张伟", "name2": "Zhang Wei", "score": "1.0000", "match": "true"}]


def test_bom_from_excel_is_accepted(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("name1,name2\nA,B\n", encoding="utf-8-sig")
    score_csv(src, tmp_path / "out.csv")
    assert read(tmp_path / "out.csv")[0]["name1"] == "A"


@pytest.mark.parametrize(("header", "missing"), [("name1,schema", "name2"), ("first,second", "name1, name2")])
def test_missing_column_is_named(tmp_path: Path, header: str, missing: str) -> None:
    src = write(tmp_path / "in.csv", header + "\nx,y\n")
    with pytest.raises(PairsFileError, match=f"missing columns? {missing} "):
        score_csv(src, tmp_path / "out.csv")


def test_unknown_schema_names_the_line(tmp_path: Path) -> None:
    src = write(tmp_path / "in.csv", "name1,name2,schema\na,b,Person\na,b,Ship\n")
    with pytest.raises(PairsFileError, match="line 3: unknown schema 'Ship'"):
        score_csv(src, tmp_path / "out.csv")


def test_streams_large_files(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    with src.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name1", "name2"])
        for i in range(5000):
            w.writerow([f"Công ty TNHH Hoàng Anh {i}", f"Hoang Anh {i} Co., Ltd"])
    assert score_csv(src, tmp_path / "out.csv") == 5000
    assert sum(1 for _ in (tmp_path / "out.csv").open(encoding="utf-8")) == 5001


def test_the_command_writes_scores_and_refuses_a_bad_file_without_leaving_output(tmp_path: Path) -> None:
    """`interdict linkage score-pairs FILE --out OUT`, as the measurement contract runs it."""
    import subprocess
    import sys

    src = write(
        tmp_path / "pairs.csv",
        'name1,name2,schema\n深圳市华强贸易有限公司,"Shenzhen Huaqiang Trading Co., Ltd",Company\nHoang Anh Trading,Minh Phat Trading,\n',
    )
    out = tmp_path / "scored.csv"
    done = subprocess.run(
        [sys.executable, "-m", "interdict", "linkage", "score-pairs", str(src), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = read(out)
    assert [r["match"] for r in rows] == ["true", "false"]
    assert all(0.0 <= float(r["score"]) <= 1.0 for r in rows)

    bad = write(tmp_path / "bad.csv", "left,right\na,b\n")
    out2 = tmp_path / "never.csv"
    done = subprocess.run(
        [sys.executable, "-m", "interdict", "linkage", "score-pairs", str(bad), "--out", str(out2)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "missing columns name1, name2" in done.stderr
    assert not out2.exists() and list(tmp_path.glob(".*.part")) == []


def test_no_output_cell_is_a_formula_and_names_are_scored_as_written(tmp_path: Path) -> None:
    """The output is for spreadsheets: a cell beginning with a formula character gets a leading quote."""
    src = write(
        tmp_path / "in.csv",
        'name1,name2,note\n"=HYPERLINK(""http://x.example"",""y"")",Hoang Anh Trading,@SUM(1+1)\n'
        "Hoang Anh Trading,Hoang Anh Trading,-12.5\n",
    )
    out = tmp_path / "out.csv"
    assert score_csv(src, out) == 2
    rows = read(out)
    assert rows[0]["name1"] == '\'=HYPERLINK("http://x.example","y")' and rows[0]["note"] == "'@SUM(1+1)"
    assert rows[0]["match"] == "false"
    assert rows[1]["note"] == "-12.5" and rows[1]["score"] == "1.0000"  # a plain number stays as it is
