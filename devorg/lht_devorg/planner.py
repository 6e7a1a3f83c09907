"""Validate a parsed SOQL query against the org's metadata and translate it to DuckDB SQL.

Values always travel as bind parameters; identifiers come from the describe and are quoted.
Text comparisons are case-insensitive, as Salesforce's are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from . import ids
from .errors import OrgError
from .schema import COMPOUND_TYPES, ObjectSchema, Schema
from .soql import BoolOp, Comparison, FieldRef, Literal, Query, error_at

TEXT_TYPES = {"id", "reference", "string", "textarea", "picklist", "multipicklist", "combobox",
              "email", "phone", "url", "encryptedstring"}
NUMBER_TYPES = {"int", "long", "double", "currency", "percent"}
_SOAP_NAMES = {"int": "int", "long": "long", "double": "double", "currency": "double",
               "percent": "double", "date": "date", "datetime": "dateTime", "boolean": "boolean"}
_NO_SUCH_COLUMN = ("No such column '{name}' on entity '{obj}'. If you are attempting to use a custom "
                   "field, be sure to append the '__c' after the custom field name. Please reference "
                   "your WSDL or the describe call for the appropriate names.")
_NO_SUCH_OBJECT = ("sObject type '{name}' is not supported. If you are attempting to use a custom "
                   "object, be sure to append the '__c' after the entity name. Please reference your "
                   "WSDL or the describe call for the appropriate names.")
#: Objects Bulk API 2.0 refuses to query (Attachment is on the lists public connectors keep).
BULK_UNSUPPORTED = {"Attachment"}


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Plan:
    """A validated query: the object, output columns and the SQL that selects its rows."""

    obj: ObjectSchema
    columns: list[str]  # canonical API names, SELECT order
    fields: list[dict]  # describe dicts of ``columns``
    where_sql: str
    params: list = field(default_factory=list)
    order_sql: str = '"Id"'
    limit: int | None = None
    is_count: bool = False

    def rows_sql(self, select: str) -> str:
        """``SELECT select`` over the query's rows, in result order (bind :attr:`params`).

        Tables keep Id order physically (Ids only grow) and the org preserves insertion
        order, so the default order needs no sort.
        """
        order = "" if self.order_sql == '"Id" ASC' else f" ORDER BY {self.order_sql}"
        limit = f" LIMIT {int(self.limit)}" if self.limit is not None else ""
        return f"SELECT {select} FROM {q(self.obj.name.lower())} WHERE {self.where_sql}{order}{limit}"


def plan(query: Query, schema: Schema, *, include_deleted: bool, bulk: bool) -> Plan:
    """Check ``query`` against ``schema`` and build its :class:`Plan` (OrgError 400 when invalid)."""
    text = query.text
    obj = schema.get(query.object.text)
    if obj is None:
        raise error_at(text, query.object.pos, "INVALID_TYPE", _NO_SUCH_OBJECT.format(name=query.object.text))
    if bulk and obj.name in BULK_UNSUPPORTED:
        raise OrgError(400, "INVALIDENTITY", f"Entity '{obj.name}' is not supported by the Bulk API.")
    if bulk and query.is_count:
        raise OrgError(400, "API_ERROR", "Aggregate queries are not supported in Bulk Query")
    fields: list[dict] = []
    seen: set[str] = set()
    for ref in query.fields:
        f = _field(text, obj, ref)
        if f["name"] in seen:
            raise OrgError(400, "MALFORMED_QUERY", f"duplicate field selected: {f['name']}")
        seen.add(f["name"])
        if bulk and f["type"] in COMPOUND_TYPES:
            raise OrgError(400, "API_ERROR", "Selecting compound data not supported in Bulk Query")
        if bulk and f["type"] == "base64":
            raise OrgError(400, "API_ERROR", f"Cannot serialize value for '{f['name']}' in CSV format")
        fields.append(f)
    params: list = []
    conds = []
    if query.where is not None:
        conds.append(_cond(text, obj, query.where, params))
    if not include_deleted and obj.field("IsDeleted"):
        conds.append('NOT "IsDeleted"')
    order = []
    for item in query.order:
        f = _field(text, obj, item.field)
        if not f["sortable"]:
            raise error_at(text, item.field.token.pos, "INVALID_FIELD",
                           f"field '{f['name']}' can not be sorted in a query call")
        col = f"lower({q(f['name'])})" if f["type"] in TEXT_TYPES - {"id", "reference"} else q(f["name"])
        order.append(f"{col} {'DESC' if item.descending else 'ASC'} NULLS {'FIRST' if item.nulls_first else 'LAST'}")
    order.append('"Id" ASC')
    return Plan(obj, [f["name"] for f in fields], fields, " AND ".join(f"({c})" for c in conds) or "TRUE",
                params, ", ".join(order), query.limit, query.is_count)


def _field(text: str, obj: ObjectSchema, ref: FieldRef) -> dict:
    f = obj.field(ref.name)
    if f is None:
        raise error_at(text, ref.token.pos, "INVALID_FIELD", _NO_SUCH_COLUMN.format(name=ref.name, obj=obj.name))
    return f


def _cond(text: str, obj: ObjectSchema, node: object, params: list) -> str:
    if isinstance(node, BoolOp):
        parts = [_cond(text, obj, a, params) for a in node.args]
        if node.op == "not":
            return f"NOT ({parts[0]})"
        return f" {node.op.upper()} ".join(f"({p})" for p in parts)
    assert isinstance(node, Comparison)
    # SOQL logic is two-valued: a comparison with a null is false, so NOT (x = 'a') keeps nulls.
    return f"coalesce(({_comparison(text, obj, node, params)}), false)"


def _comparison(text: str, obj: ObjectSchema, node: Comparison, params: list) -> str:
    f = _field(text, obj, node.field)
    if not f["filterable"] or f["type"] in COMPOUND_TYPES or f["type"] == "time":
        raise error_at(text, node.field.token.pos, "INVALID_FIELD",
                       f"field '{f['name']}' can not be filtered in a query call")
    col = q(f["name"])
    text_like = f["type"] in TEXT_TYPES - {"id", "reference"}
    if node.op in ("in", "notin"):
        assert isinstance(node.value, list)
        values = [_value(text, f, lit) for lit in node.value]
        non_null = [v for v in values if v is not None]
        params.extend(v.lower() if text_like else v for v in non_null)
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
        if f["type"] not in TEXT_TYPES - {"id", "reference"} or lit.kind != "string":
            raise error_at(text, node.field.token.pos, "INVALID_FIELD",
                           f"invalid operator on {f['type']} field: LIKE")
        params.append(lit.value)
        return f"{col} ILIKE ? ESCAPE '\\'"
    value = _value(text, f, lit)
    if value is None:
        if node.op not in ("=", "!="):
            raise error_at(text, lit.token.pos, "MALFORMED_QUERY", f"invalid operator on null: {node.op}")
        return f"{col} IS {'NOT ' if node.op == '!=' else ''}NULL"
    if text_like:
        params.append(value.lower())
        cmp = f"lower({col}) {node.op} ?"
    else:
        params.append(value)
        cmp = f"{col} {node.op} ?"
    return f"({cmp} OR {col} IS NULL)" if node.op == "!=" else cmp


def _value(text: str, f: dict, lit: Literal) -> object:
    """The Python value to bind for ``lit`` compared with field ``f`` (INVALID_FIELD on a type clash)."""
    if lit.kind == "null":
        return None
    t = f["type"]
    want = _SOAP_NAMES.get(t, "string")
    quoted = "should be enclosed in quotes" if want == "string" else "should not be enclosed in quotes"
    clash = error_at(text, lit.token.pos, "INVALID_FIELD",
                     f"value of filter criterion for field '{f['name']}' must be of type {want} and {quoted}")
    if t in ("id", "reference"):
        if lit.kind != "string":
            raise clash
        try:
            return ids.to18(lit.value)  # type: ignore[arg-type]
        except ValueError:
            raise error_at(text, lit.token.pos, "INVALID_QUERY_FILTER_OPERATOR",
                           f"invalid ID field: {lit.value}") from None
    if t in TEXT_TYPES:
        if lit.kind != "string":
            raise clash
        return lit.value
    if t in NUMBER_TYPES:
        if lit.kind != "number":
            raise clash
        assert isinstance(lit.value, Decimal)
        return int(lit.value) if t in ("int", "long") and lit.value == lit.value.to_integral() else lit.value
    if t in ("boolean", "date", "datetime") and lit.kind == t:  # literal kinds named like the types
        return lit.value
    raise clash
