"""The one filter language: used by search, and later by watch rules, risk profiles and sharing rules.

A filter is a tree of conditions (``field op value``) combined with ``all`` / ``any`` / ``not``.
Each domain registers its fields (what SQL a condition on that field means, which operators
it accepts, how values are parsed); :func:`compile_filter` turns a tree into one SQL boolean
expression, or raises :class:`InvalidInput` naming the path of every bad node.

A filter is bounded (checked when it is read, so the same limits hold for a search, a watch rule and a risk
profile): at most ``MAX_CONDITIONS`` conditions, ``MAX_DEPTH`` levels of ``all``/``any``/``not``,
``MAX_VALUES`` values in one list and ``MAX_TOTAL_VALUES`` in the whole tree, ``MAX_TEXT`` characters in one
value, and values are texts, numbers, true/false or lists of them, without control characters. The database
needs this: SQLite refuses an expression tree deeper than 1,000 (about 500 text conditions in one ``any``),
and a statement with more than 32,766 parameters. Filters already stored (watch rules, risk profiles) are read
back with :data:`STORED`, without the limits, so a rule saved before them keeps working.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from sqlalchemy import and_, false, not_, or_, true
from sqlalchemy.sql.elements import ColumnElement

from interdict.core.errors import ErrorCollector, FieldError, InvalidInput, from_validation_error
from interdict.core.fields import Line, control_character
from interdict.core.i18n import N_

Op = Literal["eq", "ne", "in", "not_in", "gte", "lte", "between", "contains", "match", "exists"]

MAX_CONDITIONS = 100
MAX_DEPTH = 10
MAX_VALUES = 250
MAX_TOTAL_VALUES = 1000
MAX_TEXT = 500
STORED: dict[str, Any] = {"stored_filter": True}
"""Validation context for filters read back from the database: the limits are not applied again."""


def _limited(info: ValidationInfo) -> bool:
    return not (isinstance(info.context, dict) and info.context.get("stored_filter"))


def _limit(message: str, **ctx: Any) -> PydanticCustomError:
    return PydanticCustomError("filter_limit", message, ctx)


def _check_scalar(v: Any) -> None:
    if isinstance(v, str):
        if len(v) > MAX_TEXT:
            raise _limit("a value may have at most {limit} characters", limit=MAX_TEXT)
        if (bad := control_character(v)) is not None:
            raise PydanticCustomError(
                "control_character", N_("contains a control character or an invalid one ({code})"), {"code": bad}
            )
    elif v is not None and not isinstance(v, bool | int | float | Decimal | date):
        raise PydanticCustomError("filter_value", N_("a value is a text, a number, true or false, or a list of them"))


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: Line = Field(max_length=64)
    op: Op = "eq"
    value: Any = None
    _values: int = PrivateAttr(default=1)

    @field_validator("value")
    @classmethod
    def _bounded(cls, v: Any, info: ValidationInfo) -> Any:
        if not _limited(info):
            return v
        if isinstance(v, list | tuple):
            if len(v) > MAX_VALUES:
                raise _limit("a list may have at most {limit} values, not {n}", limit=MAX_VALUES, n=len(v))
            for item in v:
                _check_scalar(item)
        else:
            _check_scalar(v)
        return v

    @model_validator(mode="after")
    def _count(self) -> Condition:
        self._values = max(1, len(self.value)) if isinstance(self.value, list | tuple) else 1
        return self


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    all_: list[FilterNode] | None = Field(default=None, alias="all")
    any_: list[FilterNode] | None = Field(default=None, alias="any")
    not_: FilterNode | None = Field(default=None, alias="not")
    # The size of the tree under this group, counted once per level as the tree is read.
    _conditions: int = PrivateAttr(default=0)
    _depth: int = PrivateAttr(default=1)
    _values: int = PrivateAttr(default=0)

    def children(self) -> list[Condition | Group]:
        return [*(self.all_ or []), *(self.any_ or []), *([self.not_] if self.not_ is not None else [])]

    @model_validator(mode="after")
    def _bounded(self, info: ValidationInfo) -> Group:
        children = self.children()
        self._conditions = sum(c._conditions if isinstance(c, Group) else 1 for c in children)
        self._depth = 1 + max((c._depth for c in children if isinstance(c, Group)), default=0)
        self._values = sum(c._values for c in children)
        if not _limited(info):
            return self
        if self._conditions > MAX_CONDITIONS:
            raise _limit(
                "a filter may have at most {limit} conditions, not {n}", limit=MAX_CONDITIONS, n=self._conditions
            )
        if self._depth > MAX_DEPTH:
            raise _limit("a filter may nest all/any/not at most {limit} levels deep", limit=MAX_DEPTH)
        if self._values > MAX_TOTAL_VALUES:
            raise _limit(
                "a filter may have at most {limit} values in all, not {n}", limit=MAX_TOTAL_VALUES, n=self._values
            )
        return self


def _node_kind(v: Any) -> str:
    """A condition has a field; anything else is read as a group (so errors name the node's own fields)."""
    if isinstance(v, dict):
        return "filter-condition" if "field" in v else "filter-group"
    return "filter-condition" if isinstance(v, Condition) else "filter-group"


FilterNode = Annotated[
    Annotated[Condition, Tag("filter-condition")] | Annotated[Group, Tag("filter-group")], Discriminator(_node_kind)
]
Group.model_rebuild()


def condition(field: str, op: str, value: Any) -> Condition:
    """A condition from one named input (a query parameter or a form field): a bad value names that input."""
    try:
        return Condition.model_validate({"field": field, "op": op, "value": value})
    except ValidationError as exc:
        raise InvalidInput([FieldError((field,), e.msg, e.type) for e in from_validation_error(exc).errors]) from None


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
                N_(
                    "unknown filter field '%(field)s'; known: %(fields)s",
                    field=node.field,
                    fields=", ".join(sorted(self.fields)),
                ),
            )
            return true()
        if node.op not in spec.ops:
            errors.add(
                (*loc, "op"),
                N_(
                    "operator '%(op)s' is not allowed on '%(field)s'; use one of %(ops)s",
                    op=node.op,
                    field=node.field,
                    ops=sorted(spec.ops),
                ),
            )
            return true()
        try:
            value = self._parse_value(spec, node.op, node.value)
        except FilterValueError as exc:
            errors.add((*loc, "value"), N_("%(field)s: %(exc)s", field=node.field, exc=exc))
            return true()
        try:
            return spec.build(node.op, value)
        except FilterValueError as exc:
            errors.add((*loc, "value"), N_("%(field)s: %(exc)s", field=node.field, exc=exc))
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
                N_(
                    "unknown filter field '%(field)s'; known: %(fields)s",
                    field=node.field,
                    fields=", ".join(sorted(self.fields)),
                ),
            )
            return lambda facts: None
        if spec.test is None:
            errors.add((*loc, "field"), N_("'%(field)s' cannot be used here", field=node.field))
            return lambda facts: None
        if node.op not in spec.ops:
            errors.add(
                (*loc, "op"),
                N_(
                    "operator '%(op)s' is not allowed on '%(field)s'; use one of %(ops)s",
                    op=node.op,
                    field=node.field,
                    ops=sorted(spec.ops),
                ),
            )
            return lambda facts: None
        try:
            return spec.test(node.op, self._parse_value(spec, node.op, node.value))
        except FilterValueError as exc:
            errors.add((*loc, "value"), N_("%(field)s: %(exc)s", field=node.field, exc=exc))
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
    if not present:
        return None
    try:
        return Group.model_validate({"all": present})
    except ValidationError as exc:  # the whole tree over a limit
        raise from_validation_error(exc, prefix=("filter",)) from None
