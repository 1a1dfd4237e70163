"""The demo's container targeting: a fitted model, a few risk profiles and one scored arrival, so that a newcomer
opens a real ranking with reasons (Hai Phong's Port Control Unit, user ``pcu.hp``).

Data: the generated sample shipped in ``demo/data/targeting-sample`` (CC0, see its SOURCES.md): 1,624 inspected
records (history) to fit the model on, and the 175 records of one day's arrivals at Hai Phong to load. The model
is written to ``DATA_DIR/targeting-model`` (where the server finds it when INTERDICT_TARGETING_MODEL is unset); an
installation with its own model keeps it. Running it again adds nothing. Never commits.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from interdict.accounts.service import subject_by_username
from interdict.config import Settings
from interdict.targeting import service
from interdict.targeting.models import RiskProfile, TargetingBatch
from interdict.targeting.schemas import ProfileCreate

MAPPING = "generic-manifest"
USER = "pcu.hp"
LOAD_NAME = "Hai Phong arrivals 2025-03-03 (demo sample)"
# Feature groups fixed rather than chosen by validation (one fit instead of five: the demo's time budget); the
# generated world's offences are repeat traders, undervaluation and routes.
GROUPS = ("entity_history", "route_history", "anomalies")

# Facts from Interdict's reference data (reference/data/precursors, curated/control-lists.csv) only.
PROFILES: list[dict[str, Any]] = [
    {
        "name": "Acetic anhydride or potassium permanganate by HS code",
        "criteria": {"all": [{"field": "hs_code", "op": "in", "value": ["291524", "284161"]}]},
        "lane": "red",
        "weight": 0.6,
        "rationale": "HS 2915.24 and 2841.61 name the substance itself (acetic anhydride, potassium permanganate), "
        "both in Table I of the 1988 Convention (reference data: precursor tables). Every such line is inspected.",
    },
    {
        "name": "HS code of a 1988 Convention Table I precursor",
        "criteria": {"all": [{"field": "hs_in_list", "op": "eq", "value": "UN1988-I"}]},
        "weight": 0.5,
        "rationale": "The HS 2022 codes of the Table I substances in the reference data. Some are 'other' "
        "subheadings (2918.99, 2932.99, 2933.39) that do not identify the substance alone: a weight, not a lane.",
    },
    {
        "name": "Chemical named under a non-chemical HS code",
        "criteria": {"all": [{"field": "goods_mentions_chemical_but_hs_not_chemical", "op": "eq", "value": True}]},
        "weight": 0.6,
        "rationale": "The goods description names a chemical while the HS chapter is not 28, 29 or 38: the way a "
        "precursor declared as other goods shows in a manifest.",
    },
    {
        "name": "HS code of a 1988 Convention Table II substance",
        "criteria": {"all": [{"field": "hs_in_list", "op": "eq", "value": "UN1988-II"}]},
        "weight": 0.15,
        "rationale": "Table II substances (acetone, toluene, sulphuric and hydrochloric acid, ...) are widely "
        "traded: a small weight brings them up for a look, not for inspection on their own.",
    },
]


@dataclass
class TargetingDemo:
    model_records: int  # records the model was fitted on now (0: a model was there already)
    profiles_created: int
    load_name: str | None  # the arrival loaded now (None: already there)
    loaded: int
    seconds: float  # wall clock
    cpu_seconds: float  # this process's CPU time (the wall clock depends on the machine's other work)


def sample(name: str) -> Path:
    """A file of the shipped sample (a path inside the installed package)."""
    return Path(str(resources.files("interdict.demo") / "data" / "targeting-sample" / name))


HISTORY = "history.csv.gz"
ARRIVALS = "arrivals-2025-03-03-VNHPH.csv.gz"


def _plain(path: Path, folder: Path) -> Path:
    """The file as the loaders read it: a ``.gz`` is unpacked into ``folder``."""
    if path.suffix != ".gz":
        return path
    target = folder / path.stem
    with gzip.open(path, "rb") as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return target


def fit_model(history: Path, model_dir: Path) -> int:
    """Fit the targeting model on ``history`` (generic manifest with outcomes) and save it; the records used."""
    from interdict.targeting.mapping import load_records, read_mapping
    from interdict.targeting.model import TargetingModel

    mapping = read_mapping(MAPPING)
    with tempfile.TemporaryDirectory() as tmp:
        records, _ = load_records(_plain(history, Path(tmp)), mapping)
    TargetingModel.fit(records, mapping, groups=GROUPS).save(model_dir)
    return len(records)


def seed_targeting(
    session: Session,
    settings: Settings,
    *,
    now: datetime,
    history: Path | None = None,
    arrivals: Path | None = None,
    user: str = USER,
) -> TargetingDemo:
    """The demo's model (unless one is configured or fitted already), risk profiles and scored arrival."""
    started, cpu = time.perf_counter(), time.process_time()
    fitted = 0
    if settings.effective_targeting_model is None:
        fitted = fit_model(history or sample(HISTORY), settings.default_targeting_model)
    subject = subject_by_username(session, user, channel="cli")
    names = set(session.scalars(select(RiskProfile.name).where(RiskProfile.owner_org_id == subject.org_id)))
    created = 0
    for p in PROFILES:
        if p["name"] not in names:
            service.create_profile(session, subject, ProfileCreate.model_validate(p), now=now)
            created += 1
    session.flush()
    exists = session.scalar(
        select(TargetingBatch.id).where(TargetingBatch.owner_org_id == subject.org_id, TargetingBatch.name == LOAD_NAME)
    )
    loaded = 0
    if exists is None:
        with tempfile.TemporaryDirectory() as tmp:
            path = _plain(arrivals or sample(ARRIVALS), Path(tmp))
            summary = service.load_batch(
                session, subject, settings, path, MAPPING, source_name=ARRIVALS, batch_name=LOAD_NAME, now=now
            )
        loaded = summary.batch.loaded
    return TargetingDemo(
        fitted,
        created,
        LOAD_NAME if exists is None else None,
        loaded,
        round(time.perf_counter() - started, 1),
        round(time.process_time() - cpu, 1),
    )
