"""Data tasks that a migration asks for and that need the application's code at the head revision.

A migration must not use the ORM models (they describe the newest schema, not the one the migration
runs against). When a migration changes how stored data is derived (e.g. the search texts), it inserts a
task row instead; :func:`run_pending` runs the tasks right after the schema reaches head, with the
current code, and removes each row in the same transaction as its work.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import String, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from interdict.core.clock import utcnow
from interdict.core.db import Base, UTCDateTime, make_sessionmaker, unit_of_work

# task name -> "module:function" taking a Session (imported only when the task is pending)
TASKS = {
    "rebuild_incident_texts": "interdict.incidents.service:rebuild_texts",
    "refresh_link_judgements": "interdict.linkage.service:refresh_all_judgements",
}


class MaintenanceTask(Base):
    __tablename__ = "maintenance_tasks"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _function(name: str) -> Callable[[Session], None]:
    module, _, attr = TASKS[name].partition(":")
    fn: Callable[[Session], None] = getattr(importlib.import_module(module), attr)
    return fn


def run_pending(engine: Engine) -> list[str]:
    """Run the requested tasks (each in its own transaction); returns their names."""
    done = []
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as session:
        names = list(session.scalars(select(MaintenanceTask.name).order_by(MaintenanceTask.requested_at)))
    for name in names:
        with unit_of_work(factory) as session:
            _function(name)(session)
            session.execute(delete(MaintenanceTask).where(MaintenanceTask.name == name))
        done.append(name)
    return done
