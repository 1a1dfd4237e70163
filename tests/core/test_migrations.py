"""The schema comes from one linear Alembic history and matches the models on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import FastAPI
from sqlalchemy import Engine, func, select

from interdict.accounts import service as accounts
from interdict.accounts.schemas import OrganisationCreate, UserCreate
from interdict.core import migrate
from interdict.core.db import Base, make_engine, make_sessionmaker, unit_of_work
from interdict.core.filters import Condition, conditions
from interdict.core.maintenance import MaintenanceTask
from interdict.incidents import service as incidents
from interdict.incidents.models import Incident, IncidentParty
from interdict.incidents.schemas import IncidentCreate
from interdict.sharing.service import record_audience
from tests.conftest import BACKENDS, PASSWORD, minimal_incident, prepared_database

FULLTEXT_NAMES = (
    "incidents_fts",
    "incidents_nominal_fts",
    "ix_incidents_fts",
    "ix_incidents_nominal_fts",
    "ix_incident_parties_fts",
    "ix_incidents_text_fts",
    "ix_incidents_text_audience",
)


def test_schema_matches_models(app: FastAPI) -> None:
    engine = app.state.engine
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # The full-text index (FTS5 tables on SQLite; a generated tsvector column and its GIN index on
    # PostgreSQL) is created by the migration behind the search interface; it is not part of the ORM model.
    diffs = [
        d
        for d in diffs
        if not (d[0] in ("remove_table", "remove_index") and d[1].name.startswith(FULLTEXT_NAMES))
        and not (d[0] == "remove_column" and d[3].name == "text_vector")
    ]
    assert diffs == []


def test_upgrade_is_idempotent(app: FastAPI) -> None:
    engine = app.state.engine
    head = migrate.head_revision(engine)
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == head
    assert migrate.is_up_to_date(engine)


def test_history_is_linear(app: FastAPI) -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config(app.state.engine))
    assert len(script.get_heads()) == 1
    revisions = list(script.walk_revisions())
    assert all(len(r._normalized_down_revisions) <= 1 for r in revisions)


@contextmanager
def _agency_database(kind: str, tmp_path: Path) -> Iterator[tuple[str, Engine, Any]]:
    """A scratch database at head with an agency "TT" and its officer "t.officer": (url, engine, sessionmaker)."""
    database = prepared_database(kind, tmp_path)
    url = next(database)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    try:
        with unit_of_work(factory) as s:
            accounts.create_organisation(
                s, OrganisationCreate(code="TT", name="Test agency", kind="agency", country="VN")
            )
            accounts.create_user(
                s,
                UserCreate(
                    username="t.officer", full_name="Test Officer", role="officer", org_code="TT", password=PASSWORD
                ),
            )
        yield url, engine, factory
    finally:
        engine.dispose()
        database.close()


@pytest.mark.parametrize("kind", BACKENDS)
def test_texts_are_rebuilt_with_the_current_code_after_a_migration_asks(kind: str, tmp_path: Path) -> None:
    """Migration 0006 changes how search texts are stored: on a database that already has incidents it asks
    for a rebuild, which runs at head with the current code (core.maintenance), not inside the migration."""
    with _agency_database(kind, tmp_path) as (_url, engine, factory):
        with unit_of_work(factory) as s:
            subject = accounts.subject_by_username(s, "t.officer", channel="cli")
            body = minimal_incident(departure_locode=None, submit=True)
            body["parties"].append({"role": "person_involved", "kind": "person", "name": "Trần Văn Bảo"})
            incidents.create_incident(s, subject, IncidentCreate.model_validate(body))
        with unit_of_work(factory) as s:
            parties = s.scalar(select(func.count()).select_from(IncidentParty))
        migrate.downgrade(engine, "0005")
        assert migrate.current_revision(engine) == "0005"
        migrate.upgrade(engine)  # 0006 again: it finds incidents and asks for the rebuild, which runs at head
        with unit_of_work(factory) as s:
            assert s.scalar(select(func.count()).select_from(MaintenanceTask)) == 0
            # SQLite rebuilds altered tables: the children of the incidents must survive that.
            assert s.scalar(select(func.count()).select_from(IncidentParty)) == parties == 3
            row = s.execute(select(Incident.company_names, Incident.person_names)).one()
            assert "hoang phat" in row.company_names and row.person_names == "tran van bao"
            # 0007 filled the audience of the existing record as the service would have written it.
            incident = s.scalars(select(Incident)).one()
            assert (
                incident.audience
                == record_audience(s, incident)
                == [f"o:{incident.owner_org_id}", f"t:{incident.owner_org_id}"]
            )
            assert incident.reach == f"t:{incident.owner_org_id}"  # 0016: the widest token
            subject = accounts.subject_by_username(s, "t.officer", channel="cli")
            found = incidents.search_incidents(
                s, subject, filter_node=conditions(Condition(field="company", op="match", value="hoang phat"))
            )
            assert found.total == 1
            found = incidents.search_incidents(s, subject, q="tran van bao")
            assert found.total == 1  # the owner may see its persons


@pytest.mark.parametrize("kind", BACKENDS)
def test_targeting_phones_are_filled_from_the_stored_records(kind: str, tmp_path: Path) -> None:
    """Migration 0015 adds the phones column of risk-profile conditions and fills it for loaded records."""
    from interdict.config import Settings
    from interdict.core.clock import utcnow
    from interdict.targeting import service as targeting
    from interdict.targeting.models import TargetingRecord
    from tests.targeting.workflow_data import row, write

    with _agency_database(kind, tmp_path) as (url, engine, factory):
        rows = [row("P1", consignee_phone="0903 555 777", shipper_phone="+86 138 0013 8000"), row("P2")]
        with unit_of_work(factory) as s:
            subject = accounts.subject_by_username(s, "t.officer", channel="cli")
            settings = Settings(database_url=url, targeting_random_share=0.0)
            targeting.load_batch(
                s, subject, settings, write(tmp_path / "p.csv", rows), "generic-manifest", now=utcnow()
            )
        migrate.downgrade(engine, "0014")
        migrate.upgrade(engine)
        with unit_of_work(factory) as s:
            stored = dict(s.execute(select(TargetingRecord.record_id, TargetingRecord.phones_text)).tuples().all())
        assert stored == {"P1": " +8613800138000 +84903555777 ", "P2": ""}  # shipper first, as the mapping lists them
