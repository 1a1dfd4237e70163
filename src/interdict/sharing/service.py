"""THE access-control choke point. Every read of shareable records goes through :func:`readable`;
every write through :func:`editable` / :func:`require_editable`; person data through
:func:`nominal_clause` / :func:`can_see_nominal`.

Distribution levels (on every shareable row):

* ``unit``: the reporting unit (owner organisation) only;
* ``organisation``: every unit of the owner's agency (same organisation tree);
* ``national``: every organisation in the owner's country;
* ``group``: the members of the record's sharing group (a member brings its whole tree);
* ``all``: every participant.

TLP 2.0 on top: ``AMBER+STRICT`` limits reading to the owner's organisation tree whatever the
distribution; ``RED`` records are never exported or forwarded (``TLP_EXPORT_FORBIDDEN``).

Nominal data (the fields of natural persons) is a separate level: the owner's organisation tree
sees it; other readers only when the record is shared nominally (``share_nominal``).

Drafts are visible to the owner unit only, whatever their distribution. Records a subject may
not read are indistinguishable from records that do not exist (404, not 403).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, Text, and_, cast, false, or_, select, true
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from interdict.accounts.models import Organisation
from interdict.accounts.service import ancestors_of
from interdict.accounts.subject import Subject
from interdict.core.errors import Forbidden
from interdict.core.i18n import N_
from interdict.sharing.models import SharingGroupMember

SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])  # a SELECT of any columns

TLP_EXPORT_FORBIDDEN = frozenset({"RED"})


# --- authorisation decisions ----------------------------------------------------------------
# Every request that reaches data or changes anything passes through at least one of the functions
# below. Observers (the route-coverage test) see each decision, so a route that authenticates but
# never decides anything is found.

_OBSERVERS: list[Callable[[str], None]] = []


def observe_decisions(observer: Callable[[str], None]) -> Callable[[], None]:
    """Call ``observer(kind)`` on every access decision; returns the function that stops it."""
    _OBSERVERS.append(observer)
    return lambda: _OBSERVERS.remove(observer)


def decided(kind: str) -> None:
    for observer in list(_OBSERVERS):
        observer(kind)


def any_participant(subject: Subject, what: str) -> None:
    """For what every authenticated participant may use (reference data, the organisation directory)."""
    decided(f"participant:{what}")


def own_account(subject: Subject) -> None:
    """For a user's own account (profile, API tokens, session)."""
    decided("own-account")


def require_admin(subject: Subject, message: str = "this is for administrators") -> None:
    decided("admin")
    if not subject.is_admin:
        raise Forbidden(message)


def require_writer(subject: Subject, message: str = "your role cannot record incidents") -> None:
    decided("writer")
    if not subject.can_write:
        raise Forbidden(message)


class Shareable(Protocol):
    owner_org_id: InstrumentedAttribute[Any]
    distribution: InstrumentedAttribute[Any]
    sharing_group_id: InstrumentedAttribute[Any]
    tlp: InstrumentedAttribute[Any]
    status: InstrumentedAttribute[Any]


def _same_tree(subject: Subject) -> Select[Any]:
    return select(Organisation.id).where(Organisation.root_id == subject.root_org_id)


def readable_clause(model: type[Any], subject: Subject) -> ColumnElement[bool]:
    decided("readable")
    owner = model.owner_org_id
    same_tree = _same_tree(subject)
    same_country = select(Organisation.id).where(Organisation.country == subject.country)
    my_groups = select(SharingGroupMember.group_id).where(
        SharingGroupMember.org_id.in_(subject.ancestor_ids or (subject.org_id,))
    )
    shared = or_(
        model.distribution == "all",
        and_(model.distribution == "national", owner.in_(same_country)),
        and_(model.distribution == "organisation", owner.in_(same_tree)),
        and_(model.distribution == "group", model.sharing_group_id.in_(my_groups)),
    )
    published: ColumnElement[bool] = model.status != "draft" if hasattr(model, "status") else true()
    tlp_ok = or_(model.tlp != "AMBER+STRICT", owner.in_(same_tree))
    return or_(owner == subject.org_id, and_(published, tlp_ok, shared))


# --- audience: an index-friendly superset of readable_clause (PostgreSQL search) -----------------
# Each shareable row stores the tokens of the readers its distribution may reach; a subject holds the
# tokens it answers to. ``audience && subject tokens`` is a necessary condition of readable_clause, so
# a GIN index over (text_vector, audience) skips unreadable rows before the heap is read. It is only
# ever added BESIDE readable_clause, never instead of it: a wrong or stale audience can hide a row,
# never show one. Organisations never change country or tree (accounts has no such operation); one that
# did would have to refresh the audience of its records.


def audience_tokens(
    *,
    owner_org_id: uuid.UUID,
    owner_root_id: uuid.UUID,
    owner_country: str,
    status: str | None,
    distribution: str,
    sharing_group_id: uuid.UUID | None,
    tlp: str,
) -> list[str]:
    tokens = [f"o:{owner_org_id}"]
    if status == "draft" or distribution == "unit":
        return tokens
    if tlp == "AMBER+STRICT" or distribution == "organisation":
        return [*tokens, f"t:{owner_root_id}"]
    if distribution == "all":
        return [*tokens, "all"]
    if distribution == "national":
        return [*tokens, f"c:{owner_country}"]
    if distribution == "group" and sharing_group_id is not None:
        return [*tokens, f"g:{sharing_group_id}"]
    return tokens


def record_audience(session: Session, record: Any) -> list[str]:
    """The audience tokens of a shareable record (from its owner organisation's tree and country)."""
    owner = session.get(Organisation, record.owner_org_id)
    if owner is None:
        return [f"o:{record.owner_org_id}"]
    return audience_tokens(
        owner_org_id=owner.id,
        owner_root_id=owner.root_id or owner.id,
        owner_country=owner.country,
        status=getattr(record, "status", None),
        distribution=record.distribution,
        sharing_group_id=record.sharing_group_id,
        tlp=record.tlp,
    )


def subject_audience(session: Session, subject: Subject) -> list[str]:
    """The tokens ``subject`` answers to: everyone, its unit, its tree, its country, its groups."""
    groups = session.scalars(
        select(SharingGroupMember.group_id)
        .where(SharingGroupMember.org_id.in_(subject.ancestor_ids or (subject.org_id,)))
        .distinct()
    )
    return [
        "all",
        f"o:{subject.org_id}",
        f"t:{subject.root_org_id}",
        f"c:{subject.country}",
        *sorted(f"g:{g}" for g in groups),
    ]


def set_audience(record: Any, tokens: list[str]) -> None:
    """Store a record's audience and its reach: the widest token (the last; the owner's alone when the record
    reaches no one else), one per record, which the ordered ``(reach, date)`` index partitions rows by."""
    record.audience = tokens
    record.reach = tokens[-1]


def reach_parts(model: type[Any], subject: Subject, tokens: list[str]) -> list[ColumnElement[bool]]:
    """Disjoint conditions whose union holds every row ``subject`` may read (``tokens`` its audience): its own
    unit's rows, and the others' rows for each token it answers to (``reach = token``).

    PostgreSQL walks each part in date order (the ``(owner_org_id, date)`` and ``(reach, date)`` indexes)
    and merges them, so a reader who may see few records reads about as few rows to fill a page as one who
    may see many. Every part is used beside readable_clause, never instead: a wrong reach can hide a row,
    never show one."""
    own = f"o:{subject.org_id}"
    return [
        model.owner_org_id == subject.org_id,
        *(and_(model.reach == t, model.owner_org_id != subject.org_id) for t in tokens if t != own),
    ]


def audience_clause(model: type[Any], tokens: list[str]) -> ColumnElement[bool]:
    """``model.audience && tokens`` (PostgreSQL). Use together with readable_clause, never alone."""
    return model.audience.op("&&")(cast(array(tokens, type_=Text), ARRAY(Text)))  # type: ignore[no-any-return]


def reader_key(subject: Subject) -> tuple[Any, ...]:
    """What :func:`readable_clause` and :func:`can_see_nominal` depend on: subjects with the same key read the
    same records and person data (those of one organisation), so a decision taken for one holds for all of them."""
    return (subject.org_id, subject.root_org_id, subject.country, subject.ancestor_ids)


def readable(stmt: SelectT, subject: Subject, model: type[Any]) -> SelectT:
    """Restrict a SELECT over ``model`` to the rows ``subject`` may read."""
    return stmt.where(readable_clause(model, subject))


def nominal_clause(model: type[Any], subject: Subject) -> ColumnElement[bool]:
    """True where ``subject`` (who may read the row) may also see its person data."""
    return or_(model.owner_org_id.in_(_same_tree(subject)), model.share_nominal.is_(True))


def org_root(session: Session, org_id: uuid.UUID) -> uuid.UUID:
    """The agency at the top of ``org_id``'s tree (from the accounts' cached ancestor chain)."""
    return ancestors_of(session, org_id)[-1]


def can_see_nominal(session: Session, record: Any, subject: Subject) -> bool:
    """For a record already read through :func:`readable`."""
    if record.owner_org_id == subject.org_id or bool(getattr(record, "share_nominal", False)):
        return True
    return org_root(session, record.owner_org_id) == subject.root_org_id


def editable_clause(model: type[Any], subject: Subject) -> ColumnElement[bool]:
    decided("editable")
    if not subject.can_write:
        return false()
    return model.owner_org_id == subject.org_id  # type: ignore[no-any-return]


def editable(stmt: SelectT, subject: Subject, model: type[Any]) -> SelectT:
    return stmt.where(editable_clause(model, subject))


def can_edit(record: Any, subject: Subject) -> bool:
    decided("editable")
    return subject.can_write and record.owner_org_id == subject.org_id


def require_editable(record: Any, subject: Subject) -> None:
    """Call only on a record already read through :func:`readable` (so 403 reveals nothing new)."""
    if not can_edit(record, subject):
        raise Forbidden(N_("you may read this record but not change it: only the reporting unit's officers can"))
