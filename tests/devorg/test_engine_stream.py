"""OrgEngine.stream_csv: a Bulk query streamed as CSV text, one snapshot, without the org's lock."""

from __future__ import annotations

import csv
import io
import threading
from decimal import Decimal

import pyarrow as pa
import pytest
from engine_fixtures import SMALL, bulk_csv

from lht_devorg.core.engine import OrgEngine
from lht_devorg.errors import OrgError
from lht_devorg.ids import make_id
from lht_devorg.soql import render


@pytest.fixture
def eng():
    engine = OrgEngine()
    engine.seed(SMALL, seed=1)
    yield engine
    engine.close()


def _bulk_fields(eng: OrgEngine) -> str:
    obj = eng.schema.require("Account")
    return ", ".join(
        f["name"] for f in obj.fields.values() if f["type"] not in ("address", "location", "base64")
    )


def _streamed(
    eng: OrgEngine,
    soql: str,
    *,
    include_deleted: bool = False,
    chunk_rows: int = 7,
    delimiter: str = ",",
    line_ending: str = "\n",
) -> tuple[bytes, list[int]]:
    with eng.stream_csv(soql, include_deleted=include_deleted, chunk_rows=chunk_rows) as rows:
        tables = list(rows.tables)
        header = render.csv_header(rows.columns, delimiter, line_ending)
    body = b"".join(render.write_csv(t, delimiter, line_ending, header=False) for t in tables)
    return header + body, [t.num_rows for t in tables]


@pytest.mark.parametrize(
    "tail",
    [
        "",
        " WHERE Industry = 'Technology' OR Phone = null",
        " ORDER BY Name DESC NULLS LAST",
        " ORDER BY AnnualRevenue, Name LIMIT 9",
        " LIMIT 11",
    ],
)
def test_streamed_csv_is_byte_for_byte_the_materialized_csv(eng, tail):
    soql = f"SELECT {_bulk_fields(eng)} FROM Account{tail}"
    for include_deleted in (False, True):
        streamed, sizes = _streamed(eng, soql, include_deleted=include_deleted)
        assert streamed == bulk_csv(eng, soql, include_deleted=include_deleted)
        assert sizes[:-1] == [7] * (len(sizes) - 1) and 0 < sizes[-1] <= 7
    tab, _ = _streamed(eng, soql, delimiter="\t", line_ending="\r\n")
    assert tab == bulk_csv(eng, soql, delimiter="\t", line_ending="\r\n")


def test_a_stream_is_one_snapshot_and_does_not_hold_up_writes(eng):
    soql = "SELECT Id, Name FROM Account"
    before, _ = _streamed(eng, soql)
    last_id = list(csv.reader(io.StringIO(before.decode(), newline="")))[-1][0]
    with eng.stream_csv(soql, include_deleted=False, chunk_rows=5) as rows:
        first = next(rows.tables)
        writer = threading.Thread(
            target=lambda: (
                eng.create("Account", {"Name": "Later"}),
                eng.update("Account", last_id, {"Name": "Renamed"}),
            )
        )
        writer.start()
        writer.join(timeout=10)
        assert not writer.is_alive(), "a write waited for the open stream"
        rest = list(rows.tables)
    during = render.csv_header(["Id", "Name"], ",", "\n") + b"".join(
        render.write_csv(t, ",", "\n", header=False) for t in [first, *rest]
    )
    assert during == before  # neither the new record nor the rename
    after, _ = _streamed(eng, soql)
    assert b'"Renamed"' in after and b'"Later"' in after


def test_invalid_query_fails_on_opening(eng):
    with (
        pytest.raises(OrgError) as failure,
        eng.stream_csv("SELECT Nope__c FROM Account", include_deleted=False, chunk_rows=5),
    ):
        pass
    assert failure.value.error_code == "INVALID_FIELD"
    with (
        pytest.raises(OrgError) as failure,
        eng.stream_csv("SELECT BillingAddress FROM Account", include_deleted=False, chunk_rows=5),
    ):
        pass
    assert (failure.value.status, failure.value.error_code) == (400, "API_ERROR")


def test_closing_the_engine_interrupts_an_open_stream():
    engine = OrgEngine()
    engine.seed({"Account": 3000}, seed=1)
    # DuckDB's interrupt reaches the reader as an OSError
    with (
        pytest.raises(OSError, match="INTERRUPT"),
        engine.stream_csv(
            "SELECT Id, Name FROM Account", include_deleted=False, chunk_rows=10
        ) as rows,
    ):
        assert isinstance(next(rows.tables), pa.Table)
        engine.close()
        for _ in rows.tables:
            pass
    with pytest.raises(OrgError) as failure:
        engine.stream_csv("SELECT Id FROM Account", include_deleted=False, chunk_rows=5).__enter__()
    assert failure.value.status == 503


def _plain(value: Decimal) -> str:
    """A number as Bulk CSV writes it: every significant digit, no trailing zeros, no exponent."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def test_numbers_print_every_digit_of_their_scale_without_trailing_zeros(eng):
    eng.add_field("Account", {"name": "Score__c", "type": "double", "precision": 0, "scale": 3})
    values = {
        1: Decimal("1.23456"),
        2: Decimal("-0.5"),
        3: Decimal(100),
        4: Decimal("0.0001"),
        5: Decimal("-2500.1"),
    }
    for n, value in values.items():
        eng.update(
            "Account",
            make_id("001", n),
            {"Score__c": float(value), "AnnualRevenue": value * 1000, "BillingLatitude": value / 7},
        )
    values[6] = Decimal("1E+16")  # a DOUBLE prints as 1e+16: it goes through DECIMAL
    eng.update("Account", make_id("001", 6), {"Score__c": 1e16})
    names = ["AnnualRevenue", "BillingLatitude", "NumberofLocations__c", "Score__c"]
    body, _ = _streamed(eng, f"SELECT Id, {', '.join(names)} FROM Account")
    rows = {r[0]: r[1:] for r in csv.reader(io.StringIO(body.decode(), newline=""))}
    cur = eng.cursor()
    stored = cur.execute(
        f"SELECT Id, {', '.join(names[:3])} FROM account WHERE NOT IsDeleted"
    ).fetchall()
    cur.close()
    assert len(stored) == len(rows) - 1
    for record_id, *numbers in stored:
        assert rows[record_id][:3] == ["" if v is None else _plain(v) for v in numbers]
    scores = {n: rows[make_id("001", n)][3] for n in values}
    assert scores == {1: "1.235", 2: "-0.5", 3: "100", 4: "0", 5: "-2500.1", 6: "10000000000000000"}
    assert rows[make_id("001", 1)][:2] == ["1235", "0.176365714285714"]
