"""A Bulk ingest job's processing in chunks gives, row for row, the results of writing each row
alone through the record-by-record path: errors in every chunk, upsert rows split off as
updates by Id, uploads pyarrow reads and uploads only the csv module reads (then the same
rows, or the same refusal), result files byte for byte as csv.QUOTE_ALL writes them, and the
row-lock hook only while a row fault is armed."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pytest
from engine_fixtures import SMALL, Clock

from lht_devorg.core import batchwrite, validate
from lht_devorg.core.engine import OrgEngine
from lht_devorg.faults import ROW_KINDS, FaultInjector
from lht_devorg.ids import make_id
from lht_devorg.ingest import colwise, csvparse, runner
from lht_devorg.ingest.results import ResultFiles


def _engine() -> OrgEngine:
    clock = Clock()
    engine = OrgEngine(clock=clock)
    engine.seed(SMALL, seed=1)
    with engine.transaction():
        batchwrite.apply(engine, "Account", "delete", [{"Id": make_id("001", 9)}])
    clock.now += dt.timedelta(seconds=60)
    return engine


def _job(
    folder: Path,
    data: bytes,
    operation: str,
    delimiter: str = ",",
    line_ending: str = "\n",
    ext: str | None = None,
) -> SimpleNamespace:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "upload.csv").write_bytes(data)
    return SimpleNamespace(
        id="750-test",
        object_name="Account",
        operation=operation,
        external_id_field=ext,
        delimiter_char=delimiter,
        line_ending_chars=line_ending,
        upload_path=folder / "upload.csv",
        folder=folder,
    )


def _process(
    eng: OrgEngine, job: SimpleNamespace, before_row=lambda values: None, row_faults=lambda: False
) -> tuple[dict[str, str], list]:
    """(result file texts, progress calls) of one job processed in-process (no row fault armed)."""
    files = ResultFiles(job.folder, job.delimiter_char, job.line_ending_chars)
    calls: list[tuple[int, int]] = []
    try:
        runner.process(
            eng,
            job,
            files,
            stopped=lambda: False,
            before_row=before_row,
            progress=lambda p, f: calls.append((p, f)),
            row_faults=row_faults,
        )
    finally:
        files.close()
    return {name: path.read_text(encoding="utf-8") for name, path in files.paths.items()}, calls


def _csv(
    header: list[str], rows: list[list[str]], delimiter: str = ",", line_ending: str = "\n"
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=line_ending, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def _records(eng: OrgEngine, names: list[str]) -> list[tuple]:
    cols = ", ".join(
        f'"{n}"' for n in dict.fromkeys(["Id", "SystemModstamp", "LastModifiedDate", *names])
    )
    return eng._con.execute(f'SELECT {cols} FROM account ORDER BY "Id"').fetchall()


UPDATE_HEADER = [
    "Id",
    "Name",
    "Description",
    "Account_Score__c",
    "Customer_Tier__c",
    "NumberOfEmployees",
]
UPDATE_ROWS = [  # chunks of 4 rows: an error in each
    [make_id("001", 1), 'Acme "quoted", Ltd', "two\nlines", "12.5", "Gold", "40"],
    [make_id("001", 2), "B", "x" * 32001, "", "", ""],  # text too long
    [make_id("001", 3), "", "", "", "", ""],  # nothing set: stamps move
    [make_id("001", 4), "#N/A", "", "", "", ""],  # required field cleared
    [make_id("001", 5), "E", "", "abc", "", ""],  # not a number
    [make_id("001", 6), "F", "#N/A", "3.14159", "Silver", "007"],  # rounding, clears
    [make_id("001", 7)[:15], "G", "", "", "Platinum", ""],  # restricted picklist
    [make_id("001", 8), "H", "", "1000", "", ""],  # number out of range
    [make_id("001", 9), "I", "", "", "", ""],  # in the recycle bin
    ["not-an-id", "J", "", "", "", ""],  # malformed Id
    ["", "K", "", "", "", ""],  # no Id
    [make_id("001", 10), "L", "", "", "", "1.5"],  # not an integer
    [make_id("001", 11), "M", "line\r\nbreak", "-0", "Bronze", "-12"],  # good
]


def _one_row_writes(
    tmp_path: Path, header: list[str], rows: list[list[str]], operation: str, ext: str | None = None
) -> tuple[dict[str, str], list]:
    """The reference: every row written alone by the record-by-record path (batchwrite.apply),
    its result written as the csv module writes it."""
    eng = _engine()
    fields = runner._columns(eng.schema, "Account", header, operation, ext)
    folder = tmp_path / "reference"
    folder.mkdir()
    files = ResultFiles(folder, ",", "\n")
    files.start(header)
    for row in rows:
        with eng.transaction():
            (result,) = batchwrite.apply(
                eng, "Account", operation, [runner._values(header, fields, row)], ext
            )
        if result.error is None:
            files.success(result.record_id, result.created, row)
        else:
            files.failure(result.record_id, validate.bulk_error(result.error), row)
    files.close()
    records = _records(eng, [h for h in header if "." not in h])
    eng.close()
    return {name: path.read_text(encoding="utf-8") for name, path in files.paths.items()}, records


@pytest.mark.parametrize(
    "operation, header, rows, ext",
    [
        ("update", UPDATE_HEADER, UPDATE_ROWS, None),
        (
            "update",
            UPDATE_HEADER,
            [*UPDATE_ROWS, UPDATE_ROWS[0]],
            None,
        ),  # one record twice: row by row
        (
            "upsert",
            ["External_Id__c", "Name", "Description", "Account_Score__c"],
            [
                ["ACC-00000001", "A", "", "1"],
                ["NEW-1", "B", "x" * 32001, ""],
                ["", "C", "", ""],
                ["NEW-2", "#N/A", "", ""],
                ["ACC-00000002", "D", "", "abc"],
                ["NEW-3", "E", "multi\nline", "2.5"],
                ["ACC-00000003", "F", "", ""],
                ["NEW-4", "", "", ""],
                ["NEW-5", "G", "", "1000"],
            ],
            "External_Id__c",
        ),
        (
            "insert",
            ["Name", "Description", "External_Id__c"],
            [
                ["A", "", "INS-1"],
                ["", "no name", "INS-2"],
                ["C", "x" * 32001, "INS-3"],
                ["D", "", "ACC-00000001"],
                ["E", '"q"', "INS-5"],
                ["F", "", "INS-6"],
                ["#N/A", "", "INS-7"],
                ["H", "", "INS-8"],
                ["I", "", ""],
            ],
            None,
        ),
    ],
)
def test_a_job_of_several_chunks_with_an_error_in_each_gives_the_results_of_rows_written_alone(
    tmp_path, monkeypatch, operation, header, rows, ext
):
    monkeypatch.setattr(runner, "CHUNK_ROWS", 4)
    expected, expected_records = _one_row_writes(tmp_path, header, rows, operation, ext)
    eng = _engine()
    got, calls = _process(eng, _job(tmp_path / "all", _csv(header, rows), operation, ext=ext))
    assert got == expected
    assert _records(eng, [h for h in header if "." not in h]) == expected_records
    assert [p for p, _ in calls] == list(range(4, len(rows), 4)) + [
        len(rows)
    ]  # progress after each chunk
    failed = len(list(csv.reader(io.StringIO(got["failedResults"])))) - 1
    assert 0 < failed < len(rows) and calls[-1][1] == failed
    eng.close()


@pytest.mark.parametrize(
    "delimiter, line_ending", [(",", "\n"), ("\t", "\r\n"), ("|", "\n"), (";", "\r\n")]
)
def test_rows_pyarrow_reads_are_the_csv_modules_rows(tmp_path, delimiter, line_ending):
    header = ["Id", "Name", "Description"]
    rows = [
        ["1", 'say ""hi""', "multi\nline"],
        ["2", "", '"'],
        ["3", "a, b; c|d\te", "cr\r\nlf"],
        ["4", "#N/A", " x "],
    ]
    data = _csv(header, rows, delimiter, line_ending).replace(b'"4"', b"4")  # one value unquoted
    path = tmp_path / "up.csv"
    path.write_bytes(
        b"\xef\xbb\xbf" + data + line_ending.encode()
    )  # a byte-order mark, a blank line
    chunks = list(csvparse.column_chunks(path, delimiter, header, 1000))  # no NotVouched
    assert len(chunks) == 1
    expected = list(
        csv.reader(io.StringIO(data.decode(), newline=""), delimiter=delimiter, strict=True)
    )[1:]
    assert csvparse.as_rows(chunks[0]) == expected


@pytest.mark.parametrize(
    "body",
    [
        b'1,"a"b\n',  # text after a closing quote: csv refuses it
        b'1,"a,"b\n',  # the same after a quoted delimiter
        b'1,""b\n',
        b'1,"unterminated\n',
        b'1,a"b\n',  # a quote inside an unquoted value: csv takes it as text
        b"1,2,3\n",  # a row of the wrong width: its own error
        b"1\n",
        b"1,a\x00b\n",
    ],
)
def test_an_upload_pyarrow_could_read_differently_is_read_with_the_csv_module(tmp_path, body):
    path = tmp_path / "up.csv"
    path.write_bytes(b"Id,Name\n" + body)
    with pytest.raises(csvparse.NotVouched):
        list(csvparse.column_chunks(path, ",", ["Id", "Name"], 1000))


def test_a_quote_after_a_closing_quote_fails_the_job_with_the_csv_modules_message(tmp_path):
    eng = _engine()
    job = _job(tmp_path / "bad", b"Id,Name\n" + f'{make_id("001", 1)},"a"b\n'.encode(), "update")
    with pytest.raises(runner.JobFailed, match="Failed to parse the CSV: ',' expected after '\"'"):
        _process(eng, job)
    eng.close()


@pytest.mark.parametrize(
    "delimiter, line_ending", [(",", "\n"), ("\t", "\r\n"), ("^", "\n"), ("`", "\r\n")]
)
def test_result_rows_from_columns_are_the_bytes_csv_quote_all_writes(
    tmp_path, delimiter, line_ending
):
    cells = [
        ["a", 'q"uo"te', "multi\nline"],
        ["", "cr\r\nlf", "d,e;f|g\th^i`j"],
        ["ünï", "\r", " sp "],
    ]
    results = [
        batchwrite.RowResult("001A", True),
        batchwrite.RowResult(
            "", False, validate.malformed_id({"label": "Record ID", "name": "Id"}, "x")
        ),
        batchwrite.RowResult("001B", False),
    ]
    by_rows, by_columns = tmp_path / "rows", tmp_path / "columns"
    for folder in (by_rows, by_columns):
        folder.mkdir()
    files = ResultFiles(by_rows, delimiter, line_ending)
    files.start(["A", "B", "C"])
    for row, result in zip(cells, results, strict=True):
        if result.error is None:
            files.success(result.record_id, result.created, row)
        else:
            files.failure(result.record_id, validate.bulk_error(result.error), row)
        files.unprocessed(row)
    files.close()
    files = ResultFiles(by_columns, delimiter, line_ending)
    files.start(["A", "B", "C"])
    columns = [pa.array(list(c), pa.string()) for c in zip(*cells, strict=True)]
    assert files.chunk(columns, results) == 1
    files.unprocessed_columns(columns)
    files.close()
    for name in runner.RESULT_NAMES:
        assert (by_columns / f"{name}.csv").read_bytes() == (by_rows / f"{name}.csv").read_bytes()


def test_the_row_lock_hook_runs_only_while_a_row_fault_is_armed(tmp_path):
    eng = _engine()
    faults = FaultInjector()
    url = "/services/data/v59.0/jobs/ingest/750-test/batches"
    seen: list[dict] = []
    data = _csv(["Id", "Name"], [[make_id("001", n), f"N{n}"] for n in (1, 2, 3)])
    files = ResultFiles(tmp_path, ",", "\n")
    runner.process(
        eng,
        _job(tmp_path / "quiet", data, "update"),
        files,
        stopped=lambda: False,
        before_row=seen.append,
        progress=lambda p, f: None,
        row_faults=lambda: faults.armed(ROW_KINDS, "PUT", url),
    )
    files.close()
    assert seen == []
    faults.add("unable_to_lock_row", times=1, path="jobs/ingest/")
    assert faults.armed(ROW_KINDS, "PUT", url) and not faults.armed(
        ROW_KINDS, "PUT", "/services/data/v59.0/sobjects"
    )

    def before_row(values: dict) -> None:
        seen.append(values)
        if faults.take(ROW_KINDS, "PUT", url):
            raise validate.row_lock(values.get("Id"))

    got, _ = _process(eng, _job(tmp_path / "armed", data, "update"), before_row, row_faults=None)
    assert len(seen) == 3 and got["failedResults"].count("UNABLE_TO_LOCK_ROW") == 1
    assert not faults.armed(ROW_KINDS, "PUT", url)  # fired its one time
    eng.close()


def test_an_upsert_chunk_writes_the_rows_matching_one_record_as_updates_by_id(
    tmp_path, monkeypatch
):
    header = ["External_Id__c", "Name", "Account_Score__c"]
    rows = [
        ["ACC-00000001", "A", "1"],
        ["acc-00000002", "B", "abc"],
        ["NEW-1", "C", ""],
        ["ACC-00000003", "D", ""],
        ["ACC-00000003", "E", ""],
        ["ACC-00000004", "#N/A", ""],
        ["", "F", ""],
    ]
    expected, expected_records = _one_row_writes(
        tmp_path, header, rows[:3] + rows[5:], "upsert", "External_Id__c"
    )
    by_id: list[int] = []
    write = colwise.apply_update_columns
    monkeypatch.setattr(
        colwise,
        "apply_update_columns",
        lambda eng, obj, fields, columns, *a: (
            by_id.append(len(columns[0])) or write(eng, obj, fields, columns, *a)
        ),
    )
    eng = _engine()
    got, _ = _process(
        eng, _job(tmp_path / "all", _csv(header, rows), "upsert", ext="External_Id__c")
    )
    assert by_id == [
        3
    ]  # ACC-00000001, acc-00000002 (case-insensitive), ACC-00000004; not the repeated one
    failed = list(csv.DictReader(io.StringIO(got["failedResults"])))
    assert [(r["External_Id__c"], r["sf__Error"].split(":")[0]) for r in failed] == [
        ("acc-00000002", "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        ("ACC-00000003", "DUPLICATE_EXTERNAL_ID"),
        ("ACC-00000003", "DUPLICATE_EXTERNAL_ID"),
        ("ACC-00000004", "REQUIRED_FIELD_MISSING"),
        ("", "MISSING_ARGUMENT"),
    ]
    for name in ("successfulResults", "failedResults"):
        kept = [line for line in got[name].splitlines(True) if '"ACC-00000003"' not in line]
        assert "".join(kept) == expected[name]
    assert _records(eng, header) == expected_records  # the repeated rows wrote nothing
    eng.close()
