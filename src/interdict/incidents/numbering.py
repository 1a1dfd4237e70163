"""Incident references: each unit numbers its own incidents, ``{unit code}-{year}-{number:05d}``.

The server assigns every reference from the owner unit's counter. A reference chosen by the client is
accepted only when a unit imports its own historic records, and only inside its own numbering
(:func:`foreign_references`), so nobody can take a number another unit will need. A number that is
already taken (an imported historic record, or a record a failed transaction left behind elsewhere) is
skipped, never handed out again: a collision can never block a unit's counter.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from interdict.accounts.models import Organisation
from interdict.core.errors import Conflict
from interdict.core.i18n import N_
from interdict.incidents.models import Incident, ReferenceCounter


def format_reference(org_code: str, year: int, number: int) -> str:
    return f"{org_code}-{year}-{number:05d}"


@dataclass
class Numbers:
    """Reserved numbers of one (unit, year): ``first`` up to ``end`` (excluded), minus those already taken."""

    org_code: str
    year: int
    first: int
    end: int
    taken: set[int] = field(default_factory=set)

    def __iter__(self) -> Iterator[int]:
        return (n for n in range(self.first, self.end) if n not in self.taken)

    def references(self) -> Iterator[str]:
        return (format_reference(self.org_code, self.year, n) for n in self)


def _take_numbers(session: Session, org_id: uuid.UUID, year: int, count: int) -> int:
    """Reserve ``count`` consecutive numbers of (organisation, year) from its counter; returns the first.

    The counter row stays locked until the transaction ends (concurrent creations of the same unit wait, and
    two takes in one transaction are consecutive). One ``UPDATE … RETURNING`` takes them (PostgreSQL, SQLite
    3.35+); elsewhere a locked read and an update.
    """
    where = (ReferenceCounter.org_id == org_id, ReferenceCounter.year == year)
    for _attempt in range(3):
        if session.get_bind().dialect.update_returning:
            taken = session.scalar(
                update(ReferenceCounter)
                .where(*where)
                .values(next_value=ReferenceCounter.next_value + count)
                .returning(ReferenceCounter.next_value)
                .execution_options(synchronize_session=False)
            )
            if taken is not None:
                return int(taken) - count
        else:
            counter = session.scalar(select(ReferenceCounter).where(*where).with_for_update())
            if counter is not None:
                first = counter.next_value
                counter.next_value = first + count
                return first
        try:
            with session.begin_nested():
                session.add(ReferenceCounter(org_id=org_id, year=year, next_value=1 + count))
            return 1
        except IntegrityError:
            continue  # created meanwhile by a concurrent transaction: take from it
    raise Conflict(N_("could not allocate an incident reference; try again"))


CHUNK = 1000


def _taken_in(session: Session, org_code: str, year: int, numbers: range, also: frozenset[str]) -> set[int]:
    """The numbers of ``numbers`` whose reference exists already (in any organisation's records, or in
    ``also``: references about to be written by the same import).

    Point lookups on the unique reference index, a thousand at a time: correct under any collation (a
    range scan over the prefix is not, where punctuation sorts by locale rules).
    """
    taken: set[int] = set()
    for start in range(numbers.start, numbers.stop, CHUNK):
        chunk = {format_reference(org_code, year, n): n for n in range(start, min(start + CHUNK, numbers.stop))}
        taken.update(chunk[r] for r in session.scalars(select(Incident.reference).where(Incident.reference.in_(chunk))))
        taken.update(n for r, n in chunk.items() if r in also)
    return taken


def reserve(
    session: Session, org_id: uuid.UUID, org_code: str, year: int, count: int, *, also: frozenset[str] = frozenset()
) -> Numbers:
    """``count`` free numbers of (unit, year), skipping numbers whose reference is already taken (or in
    ``also``)."""
    first = _take_numbers(session, org_id, year, count)
    numbers = Numbers(org_code, year, first, first + count)
    numbers.taken = _taken_in(session, org_code, year, range(first, first + count), also)
    while missing := len(numbers.taken) - (numbers.end - numbers.first - count):
        # The counter row is locked by this transaction: the next take continues where the last one ended.
        start = _take_numbers(session, org_id, year, missing)
        numbers.end = start + missing
        numbers.taken |= _taken_in(session, org_code, year, range(start, numbers.end), also)
    return numbers


def reserve_years(
    session: Session, org_id: uuid.UUID, org_code: str, counts: dict[int, int], *, also: frozenset[str] = frozenset()
) -> dict[int, Numbers]:
    """``counts[year]`` free numbers per year in one step (none of them spelled as a reference in ``also``)."""
    return {year: reserve(session, org_id, org_code, year, counts[year], also=also) for year in sorted(counts)}


def next_reference(session: Session, org_id: uuid.UUID, org_code: str, year: int) -> str:
    return next(reserve(session, org_id, org_code, year, 1).references())


def _prefixes(reference: str) -> list[str]:
    parts = reference.split("-")
    return ["-".join(parts[:i]) for i in range(1, len(parts))]


def foreign_references(session: Session, org_code: str, references: Iterable[str]) -> set[str]:
    """The references that are not in the unit's own numbering.

    A reference belongs to the numbering of the organisation with the longest code it starts with (followed
    by '-'): ``VNC-HP-2026-00001`` is Hai Phong's (``VNC-HP``), not the agency's (``VNC``), so a parent unit
    cannot take its units' numbers either.
    """
    refs = set(references)
    own = org_code + "-"
    mine = {r for r in refs if r.startswith(own)}
    longer = {p for r in mine for p in _prefixes(r) if len(p) > len(org_code)}
    others: set[str] = set()
    if longer:
        others = set(session.scalars(select(Organisation.code).where(Organisation.code.in_(longer))))
    return {r for r in refs if r not in mine or any(p in others for p in _prefixes(r) if len(p) > len(org_code))}
