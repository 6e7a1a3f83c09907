"""Rendering stored values the way Salesforce's APIs show them: REST JSON values and Bulk CSV."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pyarrow as pa
import pyarrow.csv as pacsv

from ..meta.schema import duck_type
from .paths import q


def json_datetime(value: dt.datetime) -> str:
    """REST's datetime form: ``2024-01-15T10:30:00.000+0000`` (UTC)."""
    # %Y does not zero-pad years below 1000 on every platform; Salesforce always writes 4 digits
    return (
        f"{value.year:04d}"
        + value.strftime("-%m-%dT%H:%M:%S.")
        + f"{value.microsecond // 1000:03d}+0000"
    )


def json_value(
    f: dict, value: object, *, record_id: str | None, obj: str, api_version: str
) -> object:
    """One stored value as REST JSON shows it for field ``f``."""
    if value is None:
        return None
    t = f["type"]
    if t == "datetime":
        assert isinstance(value, dt.datetime)
        return json_datetime(value)
    if t == "date":
        assert isinstance(value, dt.date)
        return value.isoformat()
    if t == "time":
        assert isinstance(value, dt.time)
        return value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if t in ("int", "long"):
        return int(value)  # type: ignore[call-overload]
    if isinstance(value, Decimal):
        return float(value)
    if t == "base64":
        return f"/services/data/v{api_version}/sobjects/{obj}/{record_id}/{f['name']}"
    return value


def compound_value(kind: str, parts: dict[str, object]) -> dict | None:
    """An address or location parent as REST shows it (None when every component is null)."""
    if all(v is None for v in parts.values()):
        return None
    if kind == "location":
        return {"latitude": parts.get("latitude"), "longitude": parts.get("longitude")}
    keys = (
        "city",
        "country",
        "countryCode",
        "geocodeAccuracy",
        "latitude",
        "longitude",
        "postalCode",
        "state",
        "stateCode",
        "street",
    )
    return {k: parts.get(k) for k in keys}


def compound_key(parent: dict, component: dict) -> str:
    """The JSON key of ``component`` inside its parent (``BillingCity`` -> ``city``)."""
    name = component["name"]
    if parent["type"] == "location":
        return "latitude" if "Latitude" in name else "longitude"
    prefix = parent["name"][: -len("Address")]
    rest = name[len(prefix) :] if name.startswith(prefix) else name
    return rest[:1].lower() + rest[1:]


def csv_expr(f: dict, col: str | None = None) -> str:
    """A DuckDB expression rendering field ``f`` (column ``col``) as Bulk CSV text (NULL stays NULL)."""
    col, t = col or q(f["name"]), f["type"]
    if t == "boolean":
        return f"CASE WHEN {col} THEN 'true' WHEN NOT {col} THEN 'false' END"
    if t == "datetime":
        return f"strftime({col}, '%Y-%m-%dT%H:%M:%S.%gZ')"
    if t == "date":
        return f"strftime({col}, '%Y-%m-%d')"
    if t == "time":
        return f"strftime(DATE '2000-01-01' + {col}, '%H:%M:%S.%gZ')"
    if t in ("int", "long"):
        return f"CAST({col} AS VARCHAR)"
    if t in ("double", "currency", "percent"):
        scale = min(max(f.get("scale") or 0, 0), 18)
        # DECIMAL text has every digit of its scale (a '.' if the scale is above 0): a DECIMAL
        # column of that scale prints as it is, anything else (DOUBLE) is rounded to it first.
        stored = duck_type(f).startswith("DECIMAL") and (f.get("scale") or 0) == scale
        text = (
            f"CAST({col} AS VARCHAR)"
            if stored
            else f"CAST(CAST({col} AS DECIMAL(38,{scale})) AS VARCHAR)"
        )
        return text if scale == 0 else f"rtrim(rtrim({text}, '0'), '.')"
    return col


def csv_write_options(delimiter: str, line_ending: str, *, header: bool) -> pacsv.WriteOptions:
    """Bulk 2.0 CSV: quoted header, every non-null value quoted, NULL as an empty unquoted cell."""
    return pacsv.WriteOptions(
        include_header=header, delimiter=delimiter, quoting_style="all_valid", eol=line_ending
    )


def write_csv(
    table: pa.Table | pa.RecordBatch, delimiter: str, line_ending: str, *, header: bool = True
) -> bytes:
    """``table`` as Bulk 2.0 CSV text (see :func:`csv_write_options`)."""
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, csv_write_options(delimiter, line_ending, header=header))
    return sink.getvalue().to_pybytes()


def csv_header(columns: list[str], delimiter: str, line_ending: str) -> bytes:
    """The header line :func:`write_csv` writes for ``columns``."""
    return write_csv(
        pa.schema([(name, pa.string()) for name in columns]).empty_table(), delimiter, line_ending
    )


def read_csv_rows(body: bytes, width: int, delimiter: str) -> pa.Table:
    """Rows written by ``write_csv(..., header=False)`` read back as text, exactly.

    Writing the table (or any slice of it) again gives the same bytes: a quoted cell is its
    text (``""`` the empty string), an unquoted empty cell is NULL, a line of a one-column
    row that is NULL is empty, and quoted cells may hold delimiters and line breaks.
    """
    names = [f"c{i}" for i in range(width)]
    return pacsv.read_csv(
        io.BytesIO(body),
        read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=False
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
