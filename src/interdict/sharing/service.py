"""THE access-control choke point. Every read of shareable records goes through :func:`readable`;
every write through :func:`editable` / :func:`require_editable`.

Distribution levels (on every shareable row):

* ``unit``: the reporting unit (owner organisation) only;
* ``organisation``: every unit of the owner's agency (same organisation tree);
* ``national``: every organisation in the owner's country;
* ``all``: every participant.

Drafts are visible to the owner unit only, whatever their distribution. Records a subject may
not read are indistinguishable from records that do not exist (404, not 403).
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, and_, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from interdict.accounts.models import Organisation
from interdict.accounts.subject import Subject
from interdict.core.errors import Forbidden

SelectT = TypeVar("SelectT", bound=Select[Any])


class Shareable(Protocol):
    owner_org_id: InstrumentedAttribute[Any]
    distribution: InstrumentedAttribute[Any]
    status: InstrumentedAttribute[Any]


def readable_clause(model: type[Any], subject: Subject) -> ColumnElement[bool]:
    owner = model.owner_org_id
    same_tree = select(Organisation.id).where(Organisation.root_id == subject.root_org_id)
    same_country = select(Organisation.id).where(Organisation.country == subject.country)
    shared = or_(
        model.distribution == "all",
        and_(model.distribution == "national", owner.in_(same_country)),
        and_(model.distribution == "organisation", owner.in_(same_tree)),
    )
    published: ColumnElement[bool] = model.status != "draft" if hasattr(model, "status") else true()
    return or_(owner == subject.org_id, and_(published, shared))


def readable(stmt: SelectT, subject: Subject, model: type[Any]) -> SelectT:
    """Restrict a SELECT over ``model`` to the rows ``subject`` may read."""
    return stmt.where(readable_clause(model, subject))


def editable_clause(model: type[Any], subject: Subject) -> ColumnElement[bool]:
    if not subject.can_write:
        return false()
    return model.owner_org_id == subject.org_id  # type: ignore[no-any-return]


def editable(stmt: SelectT, subject: Subject, model: type[Any]) -> SelectT:
    return stmt.where(editable_clause(model, subject))


def can_edit(record: Any, subject: Subject) -> bool:
    return subject.can_write and record.owner_org_id == subject.org_id


def require_editable(record: Any, subject: Subject) -> None:
    """Call only on a record already read through :func:`readable` (so 403 reveals nothing new)."""
    if not can_edit(record, subject):
        raise Forbidden("you may read this record but not change it: only the reporting unit's officers can")
