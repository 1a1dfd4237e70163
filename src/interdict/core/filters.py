"""The one filter language: used by search, and later by watch rules, risk profiles and sharing rules.

A filter is a tree of conditions (``field op value``) combined with ``all`` / ``any`` / ``not``.
Each domain registers its fields (what SQL a condition on that field means, which operators
it accepts, how values are parsed); :func:`compile_filter` turns a tree into one SQL boolean
expression, or raises :class:`InvalidInput` naming the path of every bad node.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, false, not_, or_, true
from sqlalchemy.sql.elements import ColumnElement

from interdict.core.errors import ErrorCollector

Op = Literal["eq", "ne", "in", "not_in", "gte", "lte", "between", "contains", "match", "exists"]


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str
    op: Op = "eq"
    value: Any = None


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    all_: list[FilterNode] | None = Field(default=None, alias="all")
    any_: list[FilterNode] | None = Field(default=None, alias="any")
    not_: FilterNode | None = Field(default=None, alias="not")


FilterNode = Annotated[Condition | Group, Field(union_mode="left_to_right")]
Group.model_rebuild()


class FilterValueError(ValueError):
    """Raised by a field's value parser; its message is shown to the user."""


Builder = Callable[[str, Any], ColumnElement[bool]]
# A condition evaluated in Python against one record's facts (watch rules): True, False, or None where SQL
# would give NULL (a comparison with a missing value), so that a rule matches exactly what a search with
# the same filter finds.
Test = Callable[[Any], bool | None]
Tester = Callable[[str, Any], Test]


@dataclass(frozen=True)
class FieldSpec:
    """What a condition on one field means. ``build(op, parsed_value)`` returns SQL."""

    build: Builder
    ops: frozenset[str]
    parse: Callable[[Any], Any] = field(default=lambda v: v)
    multi_ops: frozenset[str] = frozenset({"in", "not_in", "between"})
    label: str = ""
    # The same condition in Python (``test(op, parsed_value)(facts)``); None: not usable in watch rules.
    test: Tester | None = None


@dataclass
class Registry:
    fields: dict[str, FieldSpec]

    def compile(self, node: Condition | Group | None) -> ColumnElement[bool]:
        if node is None:
            return true()
        errors = ErrorCollector()
        expr = self._compile(node, ("filter",), errors)
        errors.raise_if_any()
        return expr

    def _compile(
        self, node: Condition | Group, loc: tuple[str | int, ...], errors: ErrorCollector
    ) -> ColumnElement[bool]:
        if isinstance(node, Group):
            parts: list[ColumnElement[bool]] = []
            if node.all_ is not None:
                parts.append(
                    and_(true(), *[self._compile(n, (*loc, "all", i), errors) for i, n in enumerate(node.all_)])
                )
            if node.any_ is not None:
                subs = [self._compile(n, (*loc, "any", i), errors) for i, n in enumerate(node.any_)]
                parts.append(or_(false(), *subs))
            if node.not_ is not None:
                parts.append(not_(self._compile(node.not_, (*loc, "not"), errors)))
            return and_(true(), *parts)
        spec = self.fields.get(node.field)
        if spec is None:
            errors.add(
                (*loc, "field"),
                f"unknown filter field '{node.field}'; known: {', '.join(sorted(self.fields))}",
            )
            return true()
        if node.op not in spec.ops:
            errors.add(
                (*loc, "op"),
                f"operator '{node.op}' is not allowed on '{node.field}'; use one of {sorted(spec.ops)}",
            )
            return true()
        try:
            value = self._parse_value(spec, node.op, node.value)
        except FilterValueError as exc:
            errors.add((*loc, "value"), f"{node.field}: {exc}")
            return true()
        try:
            return spec.build(node.op, value)
        except FilterValueError as exc:
            errors.add((*loc, "value"), f"{node.field}: {exc}")
            return true()

    def matcher(self, node: Condition | Group | None) -> Test:
        """The filter as a Python predicate over one record's facts (same validation and meaning as
        :meth:`compile`, SQL's three-valued logic included); a record matches when it returns True."""
        if node is None:
            return lambda facts: True
        errors = ErrorCollector()
        test = self._matcher(node, ("filter",), errors)
        errors.raise_if_any()
        return test

    def _matcher(self, node: Condition | Group, loc: tuple[str | int, ...], errors: ErrorCollector) -> Test:
        if isinstance(node, Group):
            parts: list[Test] = []
            if node.all_ is not None:
                parts.append(_all([self._matcher(n, (*loc, "all", i), errors) for i, n in enumerate(node.all_)]))
            if node.any_ is not None:
                parts.append(_any([self._matcher(n, (*loc, "any", i), errors) for i, n in enumerate(node.any_)]))
            if node.not_ is not None:
                parts.append(_not(self._matcher(node.not_, (*loc, "not"), errors)))
            return _all(parts)
        spec = self.fields.get(node.field)
        if spec is None:
            errors.add(
                (*loc, "field"),
                f"unknown filter field '{node.field}'; known: {', '.join(sorted(self.fields))}",
            )
            return lambda facts: None
        if spec.test is None:
            errors.add((*loc, "field"), f"'{node.field}' cannot be used here")
            return lambda facts: None
        if node.op not in spec.ops:
            errors.add(
                (*loc, "op"),
                f"operator '{node.op}' is not allowed on '{node.field}'; use one of {sorted(spec.ops)}",
            )
            return lambda facts: None
        try:
            return spec.test(node.op, self._parse_value(spec, node.op, node.value))
        except FilterValueError as exc:
            errors.add((*loc, "value"), f"{node.field}: {exc}")
            return lambda facts: None

    def parsed(self, node: Condition) -> Any:
        """The parsed value of a condition already validated by :meth:`matcher` or :meth:`compile`."""
        return self._parse_value(self.fields[node.field], node.op, node.value)

    @staticmethod
    def _parse_value(spec: FieldSpec, op: str, value: Any) -> Any:
        if op == "exists":
            return bool(value) if value is not None else True
        if op in spec.multi_ops:
            if isinstance(value, str):
                value = [v for v in (p.strip() for p in value.split(",")) if v]
            if not isinstance(value, Sequence) or isinstance(value, str) or not value:
                raise FilterValueError("expects a non-empty list of values")
            parsed = [spec.parse(v) for v in value]
            if op == "between" and len(parsed) != 2:
                raise FilterValueError("'between' expects exactly two values")
            return parsed
        if value is None or value == "":
            raise FilterValueError("a value is required")
        return spec.parse(value)


def _all(tests: list[Test]) -> Test:
    def test(facts: Any) -> bool | None:
        unknown = False
        for t in tests:
            r = t(facts)
            if r is False:
                return False
            unknown = unknown or r is None
        return None if unknown else True

    return tests[0] if len(tests) == 1 else test


def _any(tests: list[Test]) -> Test:
    def test(facts: Any) -> bool | None:
        unknown = False
        for t in tests:
            r = t(facts)
            if r is True:
                return True
            unknown = unknown or r is None
        return None if unknown else False

    return test


def _not(inner: Test) -> Test:
    def test(facts: Any) -> bool | None:
        r = inner(facts)
        return None if r is None else not r

    return test


def compare(op: str, have: Any, want: Any) -> bool | None:
    """SQL's meaning of ``column op value`` for one (possibly missing) column value."""
    if op == "exists":
        return (have is not None) == bool(want)
    if have is None:
        return None
    if op == "eq":
        return bool(have == want)
    if op == "ne":
        return bool(have != want)
    if op == "in":
        return have in want
    if op == "not_in":
        return have not in want
    if op == "gte":
        return bool(have >= want)
    if op == "lte":
        return bool(have <= want)
    if op == "between":
        return bool(want[0] <= have <= want[1])
    raise AssertionError(op)


def uses_field(node: Condition | Group | None, name: str) -> bool:
    """Whether any condition of the tree is on field ``name``."""
    if node is None:
        return False
    if isinstance(node, Condition):
        return node.field == name
    children = [*(node.all_ or []), *(node.any_ or []), *([node.not_] if node.not_ is not None else [])]
    return any(uses_field(child, name) for child in children)


def conditions(*items: Condition | None) -> Group | None:
    present = [c for c in items if c is not None]
    return Group.model_validate({"all": present}) if present else None
