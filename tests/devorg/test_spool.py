"""Result spools: any page, wherever it starts and ends, is the bytes of rendering its rows directly."""

from __future__ import annotations

import pyarrow as pa
import pytest

from lht_devorg.bulk.spool import ResultSpool
from lht_devorg.soql import render

TRICKY = [
    "plain",
    None,
    "",
    " leading",
    "trailing ",
    "a,b",
    'say "hi"',
    '"',
    '""',
    "multi\nline",
    "crlf\r\nline",
    "cr\ronly",
    "tab\there",
    "pipe|semi;caret^back`",
    "ünïcødé – 日本 ✓",
    "\n",
    None,
    "   ",
]


def _chunks(table: pa.Table, rows: int) -> list[pa.Table]:
    return [table.slice(start, rows) for start in range(0, table.num_rows, rows)]


def _spool(tmp_path, table: pa.Table, delimiter: str, line_ending: str, rows: int) -> ResultSpool:
    spool = ResultSpool(tmp_path / "job.csv", delimiter, line_ending)
    assert spool.fill(table.column_names, _chunks(table, rows)) is True
    return spool


@pytest.mark.parametrize("delimiter", [",", "\t", "|", ";", "^", "`"])
@pytest.mark.parametrize("line_ending", ["\n", "\r\n"])
def test_every_page_equals_its_rows_rendered_directly(tmp_path, delimiter, line_ending):
    table = pa.table(
        {
            "Id": [f"001{i:015d}" for i in range(len(TRICKY))],
            "Name": pa.array(TRICKY, pa.string()),
            "Phone": pa.array(list(reversed(TRICKY)), pa.string()),
            "Fax": pa.array([None] * len(TRICKY), pa.string()),
        }
    )
    spool = _spool(tmp_path, table, delimiter, line_ending, rows=4)
    header = render.csv_header(table.column_names, delimiter, line_ending)
    assert spool.total == table.num_rows and spool.header == header
    assert spool.page(0, 1000) == render.write_csv(table, delimiter, line_ending)
    for offset in range(table.num_rows + 1):
        for limit in range(1, table.num_rows + 2 - offset):
            expected = render.write_csv(table.slice(offset, limit), delimiter, line_ending)
            assert spool.page(offset, limit) == expected, (offset, limit)


def test_one_column_of_nulls_keeps_its_empty_lines(tmp_path):
    table = pa.table({"Phone": pa.array([None, None, "x", None, None, ""], pa.string())})
    spool = _spool(tmp_path, table, ",", "\r\n", rows=4)
    assert spool.page(0, 10) == b'"Phone"\r\n\r\n\r\n"x"\r\n\r\n\r\n""\r\n'
    assert spool.page(3, 2) == b'"Phone"\r\n\r\n\r\n'
    assert spool.page(2, 3) == b'"Phone"\r\n"x"\r\n\r\n\r\n'


def test_whole_chunks_are_read_from_the_file_as_written(tmp_path):
    table = pa.table({"Name": [f"n{i}" for i in range(10)]})
    spool = _spool(tmp_path, table, ",", "\n", rows=4)
    assert spool.page(4, 4) == b'"Name"\n"n4"\n"n5"\n"n6"\n"n7"\n'
    assert spool.page(8, 4) == b'"Name"\n"n8"\n"n9"\n'
    assert spool.page(10, 4) == spool.page(0, 0) == b'"Name"\n'
    assert (tmp_path / "job.csv").read_bytes() == render.write_csv(table, ",", "\n", header=False)


def test_empty_result_has_the_header_only(tmp_path):
    spool = ResultSpool(tmp_path / "job.csv", ",", "\n")
    assert spool.fill(["Id", "Name"], []) is True
    assert spool.total == 0 and spool.page(0, 5000) == b'"Id","Name"\n'


def test_close_stops_the_fill_and_deletes_the_file(tmp_path):
    spool = ResultSpool(tmp_path / "job.csv", ",", "\n")

    def tables():
        yield pa.table({"Id": ["a"]})
        spool.close()
        yield pa.table({"Id": ["b"]})

    assert spool.fill(["Id"], tables()) is False
    assert not (tmp_path / "job.csv").exists() and spool.total == 1
