"""Retraining the targeting model on the PCUs' outcomes: on demand (`interdict targeting retrain`) and on a
schedule (INTERDICT_TARGETING_RETRAIN_HOURS, off by default; the server runs it in a background thread)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from interdict.config import Settings
from interdict.core.db import unit_of_work
from interdict.core.errors import DomainError, FieldError, InvalidInput
from interdict.core.i18n import N_
from interdict.targeting import service

log = logging.getLogger(__name__)


def retrain(session: Session, mapping_ref: str | Path, model_path: str | Path, *, seed: int = 0) -> int:
    """Fit on every record of the database (outcomes from the PCU results) and save; returns the labelled count."""
    from interdict.targeting.mapping import read_mapping
    from interdict.targeting.model import TargetingModel

    mapping = read_mapping(mapping_ref)
    records = service.training_records(session)
    labelled = sum(1 for r in records if r.outcome is not None)
    if not labelled:
        raise InvalidInput(FieldError(("data", "outcome"), N_("no record has an inspection outcome yet")))
    model = TargetingModel.fit(records, mapping, seed=seed)
    model.save(model_path)
    return labelled


def due(last: datetime | None, now: datetime, hours: float) -> bool:
    return last is None or now - last >= timedelta(hours=hours)


def tick(
    factory: sessionmaker[Session], settings: Settings, *, now: datetime, last: datetime | None
) -> datetime | None:
    """Retrain if the interval has passed since ``last``; returns the time of this run (or ``last``)."""
    hours = settings.targeting_retrain_hours
    if hours is None or settings.targeting_model is None or settings.targeting_retrain_mapping is None:
        return last
    if not due(last, now, hours):
        return last
    try:
        with unit_of_work(factory) as session:
            retrain(session, settings.targeting_retrain_mapping, settings.targeting_model)
    except DomainError as exc:
        log.warning("scheduled targeting retrain skipped: %s", exc.message)
    return now


def start(factory: sessionmaker[Session], settings: Settings) -> threading.Event | None:
    """The scheduled retrain as a daemon thread; returns the event that stops it (None when off)."""
    if settings.targeting_retrain_hours is None:
        return None
    from interdict.core.clock import utcnow

    stop = threading.Event()

    def run() -> None:
        last: datetime | None = None
        while not stop.wait(60.0):
            try:
                last = tick(factory, settings, now=utcnow(), last=last)
            except Exception:  # keep the server's thread alive; the next interval tries again
                log.exception("scheduled targeting retrain failed")

    threading.Thread(target=run, name="targeting-retrain", daemon=True).start()
    return stop
