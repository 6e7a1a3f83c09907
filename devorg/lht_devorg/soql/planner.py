"""Validate a parsed SOQL query against the org's metadata and translate it to DuckDB SQL.

A :class:`Plan` is one query level: its output columns (fields and relationship paths, or
aggregates), its parent-to-child subqueries (each a Plan of its own), and the SQL of its rows.
Values always travel as bind parameters; identifiers come from the describe and are quoted.
Text comparisons are case-insensitive, as Salesforce's are. Conditions are in
:mod:`.conditions`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from dataclasses import dataclass, field

from ..errors import OrgError
from ..meta.schema import COMPOUND_TYPES, ObjectSchema, Schema
from . import conditions
from .lexer import Token, error_at
from .nodes import FieldRef, FieldsMacro, Func, Query, SubQuery
from .paths import Resolved, Scope, q
from .render import compound_key

__all__ = ["BULK_UNSUPPORTED", "Column", "Plan", "TEXT_TYPES", "plan", "q"]

#: the field types SOQL compares as text: the conditions' own set, one definition
TEXT_TYPES = conditions.TEXT_TYPES
NUMBER_TYPES = {"int", "long", "double", "currency", "percent"}
_NO_SUCH_OBJECT = (
    "sObject type '{name}' is not supported. If you are attempting to use a custom "
    "object, be sure to append the '__c' after the entity name. Please reference your "
    "WSDL or the describe call for the appropriate names."
)
_NO_CHILD = (
    "Didn't understand relationship '{name}' in FROM part of query call. If you are attempting "
    "to use a custom relationship, be sure to append the '__r' after the custom relationship "
    "name. Please reference your WSDL or the describe call for the appropriate names."
)
#: Objects Bulk API 2.0 refuses to query (Attachment is on the lists public connectors keep).
BULK_UNSUPPORTED = {"Attachment"}
#: FIELDS(ALL) and FIELDS(CUSTOM) need a LIMIT of at most this.
FIELDS_LIMIT = 200


@dataclass
class Column:
    """One output column: a field (maybe through relationships) or an aggregate."""

    key: str  # Bulk CSV header / AggregateResult key
    field: dict | None  # describe of the leaf field (None for COUNT())
    expr: str  # SQL value (the first component's for compounds)
    resolved: Resolved | None = None
    func: str | None = None  # count, sum, ..., tolabel
    display: str = ""  # columnMetadata displayName
    comps: list[tuple[str, dict, str]] = dataclasses.field(
        default_factory=list
    )  # compound: (json key, field, expr)
    alias: str | None = None  # toLabel(f) alias: the record key instead of the field's name


@dataclass
class Child:
    """A parent-to-child subquery: its relationship, the child's plan and foreign key."""

    rel: str  # canonical child relationship name
    plan: Plan
    fk: str  # the child's reference field to the parent


@dataclass
class Plan:
    """A validated query level: the object, output and the SQL that selects its rows."""

    obj: ObjectSchema
    scope: Scope
    output: list = field(default_factory=list)  # Column | Child, SELECT order
    where_sql: str = "TRUE"
    params: list = field(default_factory=list)  # where params (then having params)
    select_params: list = field(default_factory=list)
    order_sql: str = ""
    limit: int | None = None
    offset: int | None = None
    is_count: bool = False
    aggregate: bool = False
    group_sql: str = ""
    having_sql: str = ""
    having_params: list = field(default_factory=list)

    @property
    def columns(self) -> list[Column]:
        return [c for c in self.output if isinstance(c, Column)]

    @property
    def children(self) -> list[Child]:
        return [c for c in self.output if isinstance(c, Child)]

    @property
    def alias(self) -> str:
        return q(self.scope.alias)

    def from_sql(self) -> str:
        """``"account" AS "t0" LEFT JOIN ...``: the rows' table and the joins of their paths."""
        return f"{q(self.obj.name.lower())} AS {self.alias}{self.scope.joins_sql()}"

    def rows_sql(self, select: str, *, extra_where: str = "") -> str:
        """``SELECT select`` over the query's rows in result order.

        Bind ``select_params`` (when ``select`` uses the columns' expressions), then
        :attr:`params`, then ``having_params``. Tables keep Id order physically (Ids only grow)
        and the org preserves insertion order, so the default order needs no sort.
        """
        where = self.where_sql + (f" AND ({extra_where})" if extra_where else "")
        default = f'{self.alias}."Id" ASC'
        # joins (relationship paths, semi-joins) may emit rows out of table order: sort then
        plain = not self.scope.hops and not self.scope.semi_joins
        order = (
            ""
            if not self.order_sql or (plain and self.order_sql == default)
            else f" ORDER BY {self.order_sql}"
        )
        group = f" GROUP BY {self.group_sql}" if self.group_sql else ""
        having = f" HAVING {self.having_sql}" if self.having_sql else ""
        limit = f" LIMIT {int(self.limit)}" if self.limit is not None else ""
        offset = f" OFFSET {int(self.offset)}" if self.offset else ""
        return f"SELECT {select} FROM {self.from_sql()} WHERE {where}{group}{having}{order}{limit}{offset}"

    def all_params(self, *, with_select: bool = True) -> list:
        """Bind parameters of :meth:`rows_sql` in order."""
        return (self.select_params if with_select else []) + self.params + self.having_params

    @property
    def csv_columns(self) -> list[str]:
        """The Bulk CSV header: flattened names (``Account.Name``)."""
        return [c.key for c in self.columns]


def plan(
    query: Query,
    schema: Schema,
    *,
    include_deleted: bool,
    bulk: bool,
    now: dt.datetime | None = None,
    _aliases: itertools.count | None = None,
) -> Plan:
    """Check ``query`` against ``schema`` and build its :class:`Plan` (OrgError 400 when invalid)."""
    text = query.text
    aliases = _aliases or itertools.count()
    obj = schema.get(query.object.text)
    if obj is None:
        raise error_at(
            text, query.object.pos, "INVALID_TYPE", _NO_SUCH_OBJECT.format(name=query.object.text)
        )
    if bulk and obj.name in BULK_UNSUPPORTED:
        raise OrgError(
            400, "INVALIDENTITY", f"Entity '{obj.name}' is not supported by the Bulk API."
        )
    funcs = [i for i in query.items if isinstance(i, Func) and i.name != "tolabel"]
    aggregate = bool(funcs or query.group_by)
    if bulk and (query.is_count or aggregate):
        raise OrgError(400, "API_ERROR", "Aggregate queries are not supported in Bulk Query")
    if bulk and query.offset is not None:
        raise OrgError(400, "API_ERROR", "OFFSET is not supported in Bulk Query")
    if bulk and any(isinstance(i, SubQuery) for i in query.items):
        raise OrgError(400, "API_ERROR", "Nested queries are not supported in Bulk Query")
    if any(isinstance(i, FieldsMacro) and i.kind != "standard" for i in query.items) and (
        query.limit is None or query.limit > FIELDS_LIMIT
    ):
        raise OrgError(
            400,
            "MALFORMED_QUERY",
            f"The SOQL FIELDS function must have a LIMIT of at most {FIELDS_LIMIT}",
        )
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    scope = Scope(schema, obj, text, aliases)
    p = Plan(
        obj,
        scope,
        limit=query.limit,
        offset=query.offset,
        is_count=query.is_count,
        aggregate=aggregate,
    )
    cond = conditions.Conditions(
        scope,
        now,
        lambda sub: plan(
            sub, schema, include_deleted=include_deleted, bulk=False, now=now, _aliases=aliases
        ),
    )
    if aggregate:
        _aggregate_output(p, query, cond)
    else:
        _record_output(p, query, cond, bulk=bulk, include_deleted=include_deleted, aliases=aliases)
    conds = []
    if query.where is not None:
        conds.append(cond.sql(query.where, p.params))
    if not include_deleted and obj.field("IsDeleted"):
        conds.append(f'NOT {p.alias}."IsDeleted"')
    p.where_sql = " AND ".join(f"({c})" for c in conds) or "TRUE"
    if query.having is not None:
        if not aggregate:
            raise error_at(
                text, query.object.pos, "MALFORMED_QUERY", "HAVING needs GROUP BY or an aggregate"
            )
        p.having_sql = cond.sql(query.having, p.having_params, aggregates=True)
    p.order_sql = _order(p, query, cond)
    return p


def _record_output(
    p: Plan, query: Query, cond, *, bulk: bool, include_deleted: bool, aliases: itertools.count
) -> None:
    text, seen = query.text, set()
    items: list = []
    for item in query.items:
        if isinstance(item, FieldsMacro):
            items += [
                FieldRef([_synthetic(item.token, f["name"])])
                for f in p.obj.describe["fields"]
                if item.kind == "all" or (item.kind == "custom") == bool(f["custom"])
            ]
        else:
            items.append(item)
    for item in items:
        if isinstance(item, SubQuery):
            p.output.append(
                _child(p, item, include_deleted=include_deleted, aliases=aliases, now=cond.now)
            )
            continue
        if isinstance(item, FieldRef) and item.alias:  # toLabel(f) may have one: f and its label
            raise error_at(
                text,
                item.token.pos,
                "MALFORMED_QUERY",
                "Only aggregate expressions use field aliasing",
            )
        ref, func = (item.arg, "tolabel") if isinstance(item, Func) else (item, None)
        assert ref is not None
        r = p.scope.resolve(ref)
        alias = item.alias if isinstance(item, Func) else None
        if (alias or r.key).lower() in seen:
            raise OrgError(400, "MALFORMED_QUERY", f"duplicate field selected: {alias or r.key}")
        seen.add((alias or r.key).lower())
        f = r.field
        if bulk and f["type"] in COMPOUND_TYPES:
            raise OrgError(400, "API_ERROR", "Selecting compound data not supported in Bulk Query")
        if bulk and f["type"] == "base64":
            raise OrgError(
                400, "API_ERROR", f"Cannot serialize value for '{f['name']}' in CSV format"
            )
        expr = p.scope.col(r)
        if func == "tolabel":
            if f["type"] not in ("picklist", "multipicklist"):
                raise error_at(
                    text,
                    ref.token.pos,
                    "INVALID_FIELD",
                    f"toLabel() can only be used on picklist fields: {f['name']}",
                )
            expr = cond.label_expr(expr, f, p.select_params)
        column = Column(alias or r.key, f, expr, r, func, f["name"], alias=alias)
        if f["type"] in COMPOUND_TYPES:
            column.comps = [
                (compound_key(f, c), c, p.scope.col(r, c["name"]))
                for c in r.owner.components(f["name"])
            ]
        p.output.append(column)


def _synthetic(tok: Token, name: str) -> Token:
    return Token("ident", name, tok.pos)


def _child(p: Plan, item: SubQuery, *, include_deleted: bool, aliases, now) -> Child:
    sub = item.query
    rel = next(
        (
            c
            for c in p.obj.describe.get("childRelationships", [])
            if (c.get("relationshipName") or "").lower() == sub.object.text.lower()
            and p.scope.schema.get(c["childSObject"]) is not None
        ),
        None,
    )
    if rel is None:
        raise error_at(
            sub.text, sub.object.pos, "INVALID_TYPE", _NO_CHILD.format(name=sub.object.text)
        )
    if (
        any(isinstance(i, Func) and i.name != "tolabel" for i in sub.items)
        or sub.group_by
        or sub.is_count
    ):
        raise error_at(
            sub.text,
            item.token.pos,
            "MALFORMED_QUERY",
            "Aggregate functions are not supported in a relationship subquery",
        )
    child_query = Query(
        sub.text,
        Token("ident", rel["childSObject"], sub.object.pos),
        sub.items,
        False,
        sub.where,
        [],
        None,
        sub.order,
        sub.limit,
        sub.offset,
    )
    child = plan(
        child_query,
        p.scope.schema,
        include_deleted=include_deleted,
        bulk=False,
        now=now,
        _aliases=aliases,
    )
    return Child(rel["relationshipName"], child, rel["field"])


def _aggregate_output(p: Plan, query: Query, cond) -> None:
    text = query.text
    groups: list[str] = []
    grouped: dict[str, str] = {}
    for ref in query.group_by:
        r = p.scope.resolve(ref)
        if not r.field.get("groupable"):
            raise error_at(
                text,
                ref.token.pos,
                "INVALID_FIELD",
                f"field '{r.field['name']}' can not be grouped in a query call",
            )
        groups.append(p.scope.col(r))
        grouped[r.key.lower()] = p.scope.col(r)
    p.group_sql = ", ".join(groups)
    n = 0
    for item in query.items:
        if isinstance(item, (SubQuery, FieldsMacro)):
            raise error_at(
                text, item.token.pos, "MALFORMED_QUERY", "Field must be grouped or aggregated"
            )
        if isinstance(item, FieldRef) or (isinstance(item, Func) and item.name == "tolabel"):
            field_ref = item if isinstance(item, FieldRef) else item.arg
            assert field_ref is not None
            r = p.scope.resolve(field_ref)
            if r.key.lower() not in grouped:
                raise error_at(
                    text,
                    field_ref.token.pos,
                    "MALFORMED_QUERY",
                    f"Field must be grouped or aggregated: {r.field['name']}",
                )
            expr = grouped[r.key.lower()]
            if isinstance(item, Func):
                expr = cond.label_expr(expr, r.field, p.select_params)
            p.output.append(
                Column(
                    item.alias or r.field["name"],
                    r.field,
                    expr,
                    r,
                    "tolabel" if isinstance(item, Func) else None,
                    r.field["name"],
                )
            )
            continue
        assert isinstance(item, Func)
        expr, f = cond.aggregate_expr(item)
        key = item.alias or f"expr{n}"
        if not item.alias:
            n += 1
        arg = item.arg.name if item.arg else ""
        p.output.append(Column(key, f, expr, None, item.name, f"{item.name}({arg})"))
    keys = [c.key.lower() for c in p.columns]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise OrgError(400, "MALFORMED_QUERY", f"duplicate alias: {dup}")


def _order(p: Plan, query: Query, cond) -> str:
    text = query.text
    order = []
    for item in query.order:
        if isinstance(item.field, Func):
            if not p.aggregate:
                raise error_at(
                    text,
                    item.field.token.pos,
                    "MALFORMED_QUERY",
                    "Ordered field must be grouped or aggregated",
                )
            col, kind = cond.aggregate_expr(item.field)[0], None
        else:
            r = p.scope.resolve(item.field)
            f = r.field
            if not f["sortable"]:
                raise error_at(
                    text,
                    item.field.token.pos,
                    "INVALID_FIELD",
                    f"field '{f['name']}' can not be sorted in a query call",
                )
            col, kind = p.scope.col(r), f["type"]
            if p.aggregate and col not in p.group_sql.split(", "):
                raise error_at(
                    text,
                    item.field.token.pos,
                    "MALFORMED_QUERY",
                    f"Ordered field must be grouped or aggregated: {f['name']}",
                )
        if kind in TEXT_TYPES - {"id", "reference"}:
            col = f"lower({col})"
        order.append(
            f"{col} {'DESC' if item.descending else 'ASC'} NULLS {'FIRST' if item.nulls_first else 'LAST'}"
        )
    if not p.aggregate:
        order.append(f'{p.alias}."Id" ASC')
    elif p.group_sql:
        order.append(p.group_sql)  # a stable order of groups
    return ", ".join(order)
