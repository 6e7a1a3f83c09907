"""The one type map: Salesforce describe ``type`` -> Arrow -> DuckDB / Snowflake SQL.

The extractor parses records into :func:`arrow_schema`; the writer types staging columns
with :func:`sql_type`. The table lives in ``docs/design.md``; keep the two in step.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from lht.lazy import pa

logger = logging.getLogger(__name__)

Dialect = Literal["duckdb", "snowflake"]

#: Types stored as text.
TEXT_TYPES = frozenset(
    {
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
        "base64",
        "anytype",
        "complexvalue",
        "json",
        "datacategorygroupreference",
        "masterrecord",
        "byte",
    }
)
#: Numeric types that are decimals when describe gives a precision, floats otherwise.
NUMBER_TYPES = frozenset({"double", "currency", "percent"})
INTEGER_TYPES = frozenset({"int", "long"})
#: Compound parents: never loaded, their components are ordinary fields.
COMPOUND_TYPES = frozenset({"address", "location"})
#: Every type the map knows (anything else maps to text, logged once).
KNOWN_TYPES = (
    TEXT_TYPES
    | NUMBER_TYPES
    | INTEGER_TYPES
    | COMPOUND_TYPES
    | {
        "boolean",
        "date",
        "datetime",
        "time",
    }
)

#: Largest decimal precision both engines store (DuckDB DECIMAL and Snowflake NUMBER).
MAX_PRECISION = 38


def timestamp_type() -> pa.DataType:
    """Arrow type of datetimes and of ``_lht_extracted_at`` (UTC, milliseconds)."""
    return pa.timestamp("ms", tz="UTC")


_warned_unknown: set[str] = set()


@dataclass(frozen=True)
class FieldSpec:
    """What the loader needs to know about one Salesforce field."""

    name: str
    sf_type: str
    precision: int = 0
    scale: int = 0
    length: int = 0
    calculated: bool = False

    @classmethod
    def from_describe(cls, field: dict[str, Any]) -> FieldSpec:
        """Build a spec from one entry of a describe's ``fields`` list."""
        return cls(
            name=str(field["name"]),
            sf_type=str(field.get("type") or "string"),
            precision=int(field.get("precision") or 0),
            scale=int(field.get("scale") or 0),
            length=int(field.get("length") or 0),
            calculated=bool(field.get("calculated") or False),
        )

    @property
    def kind(self) -> str:
        """The normalised type (lower case; unknown types become ``string``)."""
        return _normalise(self.sf_type)

    @property
    def loadable(self) -> bool:
        """False for compound parents (address, location), which are never loaded."""
        return self.sf_type.lower() not in COMPOUND_TYPES


def _normalise(sf_type: str) -> str:
    t = sf_type.lower()
    if t not in KNOWN_TYPES:
        if t not in _warned_unknown:
            _warned_unknown.add(t)
            logger.warning("Unknown Salesforce field type %r: storing it as text", sf_type)
        return "string"
    return t


def _decimal_shape(field: FieldSpec) -> tuple[int, int]:
    precision = min(max(field.precision, field.scale), MAX_PRECISION)
    return precision, min(field.scale, precision)


def _check_loadable(field: FieldSpec) -> str:
    kind = field.kind
    if kind in COMPOUND_TYPES:
        raise ValueError(
            f"Field {field.name!r} is a compound {kind} field and is not loaded; "
            "load its component fields instead"
        )
    return kind


def arrow_type(field: FieldSpec) -> pa.DataType:
    """The Arrow type a field's values are parsed into."""
    kind = _check_loadable(field)
    if kind == "boolean":
        return pa.bool_()
    if kind in INTEGER_TYPES:
        return pa.int64()
    if kind in NUMBER_TYPES:
        if field.precision > 0:
            return pa.decimal128(*_decimal_shape(field))
        return pa.float64()
    if kind == "date":
        return pa.date32()
    if kind == "datetime":
        return timestamp_type()
    if kind == "time":
        return pa.time32("ms")
    return pa.string()


def sql_type(field: FieldSpec, dialect: Dialect) -> str:
    """The column type a field is stored as in ``dialect``."""
    kind = _check_loadable(field)
    snow = dialect == "snowflake"
    if dialect not in ("duckdb", "snowflake"):
        raise ValueError(f"Unknown SQL dialect {dialect!r}: use 'duckdb' or 'snowflake'")
    if kind == "boolean":
        return "BOOLEAN"
    if kind in INTEGER_TYPES:
        return "NUMBER(38,0)" if snow else "BIGINT"
    if kind in NUMBER_TYPES:
        if field.precision > 0:
            p, s = _decimal_shape(field)
            return f"NUMBER({p},{s})" if snow else f"DECIMAL({p},{s})"
        return "FLOAT" if snow else "DOUBLE"
    if kind == "date":
        return "DATE"
    if kind == "datetime":
        return timestamp_sql_type(dialect)
    if kind == "time":
        return "TIME(3)" if snow else "TIME"
    return "VARCHAR"


def timestamp_sql_type(dialect: Dialect) -> str:
    """The SQL type of datetimes (and of ``_lht_extracted_at``) in ``dialect``."""
    return "TIMESTAMP_TZ(3)" if dialect == "snowflake" else "TIMESTAMPTZ"


def arrow_schema(fields: Sequence[FieldSpec]) -> pa.Schema:
    """The Arrow schema of the loadable fields, in the given order (compound parents skipped)."""
    return pa.schema([pa.field(f.name, arrow_type(f)) for f in fields if f.loadable])
