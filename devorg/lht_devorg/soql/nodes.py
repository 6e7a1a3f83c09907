"""The SOQL syntax tree :mod:`.parser` produces: field references, functions, ``FIELDS()``,
subqueries, literals, conditions, ORDER BY items and the query itself."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field

from .lexer import Token


@dataclass
class FieldRef:
    """A field or relationship path: ``Name``, ``Account.Owner.Name``."""

    parts: list[Token]
    alias: str | None = None

    @property
    def token(self) -> Token:
        return self.parts[0]

    @property
    def name(self) -> str:
        return ".".join(t.text for t in self.parts)


@dataclass
class Func:
    """``COUNT(Id)``, ``SUM(Amount)``, ``toLabel(Status)``... (``arg`` None for ``COUNT()``)."""

    name: str  # lower-cased
    arg: FieldRef | None
    token: Token
    alias: str | None = None


@dataclass
class FieldsMacro:
    """``FIELDS(ALL)``, ``FIELDS(STANDARD)``, ``FIELDS(CUSTOM)``."""

    kind: str  # all, standard, custom
    token: Token


@dataclass
class SubQuery:
    """A parenthesized ``SELECT``: a child relationship in SELECT, a semi-join in WHERE."""

    query: Query
    token: Token


@dataclass
class Literal:
    kind: str  # string, number, date, datetime, boolean, null, dateliteral
    value: object  # for dateliteral: (name lower-cased, n or None)
    token: Token


@dataclass
class Comparison:
    field: FieldRef | Func
    op: str  # = != < <= > >= like in notin includes excludes
    value: Literal | list[Literal] | SubQuery


@dataclass
class BoolOp:
    op: str  # and, or, not
    args: list


@dataclass
class OrderItem:
    field: FieldRef | Func
    descending: bool
    nulls_first: bool


@dataclass
class Query:
    text: str
    object: Token  # for a subquery: the child relationship name (last part of the path)
    items: list = field(default_factory=list)  # FieldRef | Func | FieldsMacro | SubQuery
    is_count: bool = False
    where: builtins.object = None
    group_by: list[FieldRef] = field(default_factory=list)
    having: builtins.object = None
    order: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None

    @property
    def fields(self) -> list[FieldRef]:
        """The plain fields of the SELECT list."""
        return [i for i in self.items if isinstance(i, FieldRef)]
