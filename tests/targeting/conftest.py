"""Fixtures for the targeting tests: small samples of the real KCS declarations and generic manifests.

The KCS samples ship with the tests (``tests/targeting/data/kcs-sample``, MIT, see its SOURCES.md):
every 10th row of 2020 and every 5th of 2021 Q1 of ``../shared/data/customs-declarations``, which sits
beside the repository only on the development machine."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest
from stdnum import iso6346
from typer.testing import CliRunner

from interdict.cli import app
from interdict.targeting.mapping import Record, load_records, read_mapping
from interdict.targeting.model import TargetingModel

KCS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "customs-declarations"
TRAIN = KCS / "df_syn_train_eng.csv"  # the full files (benchmarks; the samples below were cut from them)
VALID = KCS / "df_syn_valid_eng.csv"
SAMPLES = Path(__file__).resolve().parent / "data" / "kcs-sample"
TRAIN_SAMPLE = SAMPLES / "train-2020-every-10th.csv"
VALID_SAMPLE = SAMPLES / "valid-2021q1-every-5th.csv"
MAPPING = "kcs-customs-declarations"


def container(owner: str, serial: int) -> str:
    base = f"{owner}U{serial:06d}"
    return base + iso6346.calc_check_digit(base)


def sample_csv(source: Path, target: Path, every: int) -> Path:
    """Every ``every``-th row of ``source`` (spread over the whole period)."""
    with source.open(encoding="utf-8", newline="") as src, target.open("w", encoding="utf-8", newline="") as dst:
        reader = csv.reader(src)
        writer = csv.writer(dst, lineterminator="\n")
        writer.writerow(next(reader))
        for n, row in enumerate(reader, start=1):
            if n % every == 0:
                writer.writerow(row)
    return target


@pytest.fixture(scope="session")
def kcs_samples(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(fit sample of 2020: 3,738 rows, score sample of 2021 Q1: 1,626 rows), copied to a scratch folder."""
    folder = tmp_path_factory.mktemp("kcs")
    return (
        Path(shutil.copy(TRAIN_SAMPLE, folder / "train.csv")),
        Path(shutil.copy(VALID_SAMPLE, folder / "valid.csv")),
    )


@pytest.fixture(scope="session")
def fitted_model(kcs_samples: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model fitted through the CLI on the 2020 sample (fitted once for the whole run)."""
    model = tmp_path_factory.mktemp("model") / "kcs-model"
    result = CliRunner().invoke(
        app, ["targeting", "fit", str(kcs_samples[0]), "--mapping", MAPPING, "--model", str(model)]
    )
    assert result.exit_code == 0, result.output
    return model


@pytest.fixture(scope="module")
def model(fitted_model: Path) -> TargetingModel:
    """The fitted model, loaded once per test module."""
    return TargetingModel.load(fitted_model)


@pytest.fixture(scope="module")
def later(kcs_samples: tuple[Path, Path]) -> list[Record]:
    """The 2021 Q1 sample's records (after the fit period)."""
    records, rejections = load_records(kcs_samples[1], read_mapping(MAPPING))
    assert not rejections
    return records


GENERIC_HEADER = [
    "record_id",
    "date",
    "containers",
    "vessel",
    "voyage",
    "bill_of_lading",
    "port_of_loading",
    "port_of_discharge",
    "ports_of_transshipment",
    "shipper",
    "consignee",
    "notify_party",
    "declarant",
    "importer",
    "hs_code",
    "goods_description",
    "gross_weight_kg",
    "net_weight_kg",
    "value",
    "packages",
    "country_of_origin",
    "country_of_departure",
    "office",
    "shipper_phone",
    "consignee_phone",
    "notify_party_phone",
    "inspection_result",
]


def generic_rows(n: int = 6) -> list[dict[str, object]]:
    """Valid generic-manifest rows (two containers each, check digits right)."""
    rows: list[dict[str, object]] = []
    for i in range(n):
        rows.append(
            {
                "record_id": f"BL-{i:04d}",
                "date": (dt.date(2025, 3, 1) + dt.timedelta(days=i // 2)).isoformat(),
                "containers": f"{container('MSC', 100 + i)};{container('CSQ', 200 + i)}",
                "vessel": "MAERSK HANOI",
                "voyage": "0425W",
                "bill_of_lading": f"MAEU{900000 + i}",
                "port_of_loading": "CNSHA",
                "port_of_discharge": "VNHPH",
                "ports_of_transshipment": "SGSIN",
                "shipper": f"Shenzhen Trading {i % 2}",
                "consignee": "Hoang Phat Import Export Co., Ltd",
                "notify_party": "",
                "declarant": "DECL-7",
                "importer": f"IMP-{i % 3}",
                "hs_code": "3926.90.99",
                "goods_description": "plastic articles",
                "gross_weight_kg": 12000.5,
                "net_weight_kg": 11000,
                "value": 25000,
                "packages": 400,
                "country_of_origin": "cn",
                "country_of_departure": "CN",
                "office": "03PL",
                "inspection_result": "positive" if i % 3 == 0 else ("clear" if i % 3 == 1 else ""),
            }
        )
    return rows


def write_generic_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=GENERIC_HEADER, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path
