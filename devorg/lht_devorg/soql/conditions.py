"""WHERE and HAVING conditions of a SOQL query as DuckDB SQL, and aggregate expressions.

SOQL logic is two-valued: a comparison with a null is false, so ``NOT (x = 'a')`` keeps the
rows whose x is null. Date literals compare against their range of days (UTC); INCLUDES /
EXCLUDES test the ``;``-separated values of a multipicklist; ``IN (SELECT ...)`` is a
semi-join (``NOT IN`` an anti-join) on the subquery's Id or reference column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

from .. import ids
from ..meta.schema import COMPOUND_TYPES
from .dates import date_range
from .lexer import error_at
from .nodes import BoolOp, Comparison, FieldRef, Func, Literal, Query, SubQuery
from .paths import Scope

TEXT_TYPES = {
    "id",
    "reference",
    "string",
    "textarea",
    "picklist",
    "multipicklist",
    "combobox",
    "email",
    "phone",
    "url",
    "encryptedstring",
}
_PLAIN_TEXT = TEXT_TYPES - {"id", "reference"}
NUMBER_TYPES = {"int", "long", "double", "currency", "percent"}
_SOAP_NAMES = {
    "int": "int",
    "long": "long",
    "double": "double",
    "currency": "double",
    "percent": "double",
    "date": "date",
    "datetime": "dateTime",
    "boolean": "boolean",
}
#: Result field of COUNT(): an int column named like Salesforce's expr columns.
COUNT_FIELD = {
    "name": "count",
    "type": "int",
    "custom": False,
    "createable": False,
    "updateable": False,
    "picklistValues": [],
}


class Conditions:
    """Translates conditions of one query level (``scope``) to SQL with bind parameters."""

    def __init__(self, scope: Scope, now: dt.datetime, subplan: Callable[[Query], Any]):
        self.scope = scope
        self.text = scope.text
        self.now = now
        self.today = now.date()
        self.subplan = subplan

    def sql(self, node: object, params: list, *, aggregates: bool = False) -> str:
        """The SQL of a condition tree, appending its values to ``params``."""
        if isinstance(node, BoolOp):
            parts = [self.sql(a, params, aggregates=aggregates) for a in node.args]
            if node.op == "not":
                return f"NOT ({parts[0]})"
            return f" {node.op.upper()} ".join(f"({p})" for p in parts)
        assert isinstance(node, Comparison)
        return f"coalesce(({self._comparison(node, params, aggregates)}), false)"

    # -- expressions --------------------------------------------------------------------------
    def label_expr(self, expr: str, f: dict, params: list) -> str:
        """``toLabel(f)``: the picklist label of the value ``expr`` (the value when it has none)."""
        pairs = [
            (p["value"], p["label"])
            for p in f.get("picklistValues") or []
            if p["label"] != p["value"]
        ]
        if not pairs:
            return expr
        whens = " ".join("WHEN ? THEN ?" for _ in pairs)
        for value, label in pairs:
            params += [value, label]
        return f"CASE {expr} {whens} ELSE {expr} END"

    def aggregate_expr(self, func: Func) -> tuple[str, dict]:
        """The SQL of an aggregate function and the describe its values render by."""
        if func.arg is None:
            if func.name != "count":
                raise error_at(
                    self.text, func.token.pos, "MALFORMED_QUERY", "unexpected token: ')'"
                )
            return "count(*)", COUNT_FIELD
        r = self.scope.resolve(func.arg)
        f, col = r.field, self.scope.col(r)
        op = func.name.upper()
        if not f.get("aggregatable") or (
            func.name in ("sum", "avg") and f["type"] not in NUMBER_TYPES
        ):
            raise error_at(
                self.text,
                func.arg.token.pos,
                "INVALID_FIELD",
                f"field {f['name']} does not support aggregate operator {op}",
            )
        if func.name == "count":
            return f"count({col})", COUNT_FIELD
        if func.name == "count_distinct":
            return f"count(DISTINCT {col})", COUNT_FIELD
        if func.name == "avg":
            return f"avg({col})", {**f, "type": "double"}
        return f"{func.name}({col})", f

    # -- comparisons --------------------------------------------------------------------------
    def _operand(self, ref: FieldRef | Func, params: list, aggregates: bool) -> tuple[str, dict]:
        if isinstance(ref, Func) and ref.name != "tolabel":
            if not aggregates:
                raise error_at(
                    self.text,
                    ref.token.pos,
                    "MALFORMED_QUERY",
                    "Aggregate functions are only allowed in HAVING and SELECT",
                )
            return self.aggregate_expr(ref)
        tolabel = isinstance(ref, Func)
        field_ref = ref.arg if isinstance(ref, Func) else ref
        assert field_ref is not None
        r = self.scope.resolve(field_ref)
        f = r.field
        if not f["filterable"] or f["type"] in COMPOUND_TYPES or f["type"] == "time":
            raise error_at(
                self.text,
                field_ref.token.pos,
                "INVALID_FIELD",
                f"field '{f['name']}' can not be filtered in a query call",
            )
        col = self.scope.col(r)
        return (self.label_expr(col, f, params) if tolabel else col), f

    def _comparison(self, node: Comparison, params: list, aggregates: bool) -> str:
        col, f = self._operand(node.field, params, aggregates)
        text_like = f["type"] in _PLAIN_TEXT
        if isinstance(node.value, SubQuery):
            return self._semi_join(node, col, f, params)
        if node.op in ("includes", "excludes"):
            return self._includes(node, col, f, params)
        if node.op in ("in", "notin"):
            assert isinstance(node.value, list)
            if any(lit.kind == "dateliteral" for lit in node.value):
                ors = " OR ".join(
                    f"({self._date_literal(col, f, '=', lit, params)})" for lit in node.value
                )
                return f"NOT ({ors}) OR {col} IS NULL" if node.op == "notin" else ors
            values = [self._value(f, lit) for lit in node.value]
            non_null = [v for v in values if v is not None]
            params.extend(str(v).lower() if text_like else v for v in non_null)
            marks = ", ".join("?" for _ in non_null)
            target = f"lower({col})" if text_like else col
            if node.op == "in":
                parts = [f"{target} IN ({marks})"] if non_null else []
                if len(non_null) < len(values):
                    parts.append(f"{col} IS NULL")
                return " OR ".join(parts) or "FALSE"
            parts = [f"({target} NOT IN ({marks}) OR {col} IS NULL)"] if non_null else []
            if len(non_null) < len(values):
                parts.append(f"{col} IS NOT NULL")
            return " AND ".join(parts) or "TRUE"
        assert isinstance(node.value, Literal)
        lit = node.value
        if node.op == "like":
            if f["type"] not in _PLAIN_TEXT or lit.kind != "string":
                raise error_at(
                    self.text,
                    node.field.token.pos,
                    "INVALID_FIELD",
                    f"invalid operator on {f['type']} field: LIKE",
                )
            params.append(lit.value)
            return f"{col} ILIKE ? ESCAPE '\\'"
        if lit.kind == "dateliteral":
            return self._date_literal(col, f, node.op, lit, params)
        value = self._value(f, lit)
        if value is None:
            if node.op not in ("=", "!="):
                raise error_at(
                    self.text,
                    lit.token.pos,
                    "MALFORMED_QUERY",
                    f"invalid operator on null: {node.op}",
                )
            return f"{col} IS {'NOT ' if node.op == '!=' else ''}NULL"
        if text_like:
            params.append(str(value).lower())
            cmp = f"lower({col}) {node.op} ?"
        else:
            params.append(value)
            cmp = f"{col} {node.op} ?"
        return f"({cmp} OR {col} IS NULL)" if node.op == "!=" else cmp

    def _date_literal(self, col: str, f: dict, op: str, lit: Literal, params: list) -> str:
        if f["type"] not in ("date", "datetime"):
            raise self._clash(f, lit)
        name, n = cast("tuple[str, int | None]", lit.value)  # a date literal: (name, n or None)
        start, end = date_range(name, n, self.today)
        lo: object = start
        hi: object = end
        if f["type"] == "datetime":
            lo, hi = dt.datetime.combine(start, dt.time()), dt.datetime.combine(end, dt.time())
        if op == "=":
            params += [lo, hi]
            return f"{col} >= ? AND {col} < ?"
        if op == "!=":
            params += [lo, hi]
            return f"NOT ({col} >= ? AND {col} < ?) OR {col} IS NULL"
        bound, sql_op = {"<": (lo, "<"), "<=": (hi, "<"), ">": (hi, ">="), ">=": (lo, ">=")}[op]
        params.append(bound)
        return f"{col} {sql_op} ?"

    def _includes(self, node: Comparison, col: str, f: dict, params: list) -> str:
        if f["type"] != "multipicklist":
            raise error_at(
                self.text,
                node.field.token.pos,
                "INVALID_FIELD",
                "includes or excludes operator only valid on multipicklist field",
            )
        assert isinstance(node.value, list)
        ors = []
        for lit in node.value:
            if lit.kind != "string":
                raise self._clash(f, lit)
            params.append([v.strip().lower() for v in str(lit.value).split(";") if v.strip()])
            ors.append(f"list_has_all(string_split(lower({col}), ';'), ?)")
        test = " OR ".join(ors)
        return test if node.op == "includes" else f"NOT coalesce(({test}), false)"

    def _semi_join(self, node: Comparison, col: str, f: dict, params: list) -> str:
        assert isinstance(node.value, SubQuery)
        sub = node.value.query
        if f["type"] not in ("id", "reference"):
            raise error_at(
                self.text,
                node.field.token.pos,
                "INVALID_FIELD",
                "Semi-join and anti-join subqueries can only be used on Id or reference fields",
            )
        inner = self.subplan(sub)
        self.scope.semi_joins += 1
        cols = inner.columns
        if (
            len(inner.output) != 1
            or len(cols) != 1
            or inner.aggregate
            or cols[0].field["type"] not in ("id", "reference")
        ):
            raise error_at(
                self.text,
                node.value.token.pos,
                "MALFORMED_QUERY",
                "The selected field in a semi-join or anti-join subquery must be one Id or reference field",
            )
        expr = cols[0].expr
        params.extend(inner.params)
        select = f"SELECT {expr} FROM {inner.from_sql()} WHERE ({inner.where_sql}) AND {expr} IS NOT NULL"
        if node.op == "in":
            return f"{col} IN ({select})"
        return f"{col} IS NULL OR {col} NOT IN ({select})"

    # -- values -------------------------------------------------------------------------------
    def _clash(self, f: dict, lit: Literal):
        want = _SOAP_NAMES.get(f["type"], "string")
        quoted = (
            "should be enclosed in quotes"
            if want == "string"
            else "should not be enclosed in quotes"
        )
        return error_at(
            self.text,
            lit.token.pos,
            "INVALID_FIELD",
            f"value of filter criterion for field '{f['name']}' must be of type {want} and {quoted}",
        )

    def _value(self, f: dict, lit: Literal) -> object:
        """The Python value to bind for ``lit`` compared with field ``f`` (INVALID_FIELD on a type clash)."""
        if lit.kind == "null":
            return None
        t = f["type"]
        if t in ("id", "reference"):
            if lit.kind != "string":
                raise self._clash(f, lit)
            try:
                return ids.to18(lit.value)  # type: ignore[arg-type]
            except ValueError:
                raise error_at(
                    self.text,
                    lit.token.pos,
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"invalid ID field: {lit.value}",
                ) from None
        if t in TEXT_TYPES:
            if lit.kind != "string":
                raise self._clash(f, lit)
            return lit.value
        if t in NUMBER_TYPES:
            if lit.kind != "number":
                raise self._clash(f, lit)
            assert isinstance(lit.value, Decimal)
            return (
                int(lit.value)
                if t in ("int", "long") and lit.value == lit.value.to_integral()
                else lit.value
            )
        if (
            t in ("boolean", "date", "datetime") and lit.kind == t
        ):  # literal kinds named like the types
            return lit.value
        raise self._clash(f, lit)
