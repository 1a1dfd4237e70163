"""The schema comes from one linear Alembic history and matches the models on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import FastAPI

from interdict.core import migrate
from interdict.core.db import Base

FULLTEXT_NAMES = (
    "incidents_fts",
    "incidents_nominal_fts",
    "ix_incidents_fts",
    "ix_incidents_nominal_fts",
    "ix_incident_parties_fts",
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
        and not (d[0] == "remove_column" and d[3].name in ("search_vector", "nominal_vector"))
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
