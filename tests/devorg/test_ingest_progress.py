"""A Bulk ingest update job's chunks written a group at a time: the first chunk written and its
progress reported before the rest of the upload is parsed, progress a chunk at a time, a
record named in two chunks of a group written in order, a record deleted between a chunk's
check and its write reported deleted, formulas recomputed only when a field they read is
written, and the next chunks parsed ahead by a thread that stops with the job."""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading

import pyarrow as pa
import pytest
from engine_fixtures import Clock
from test_ingest_chunks import _csv, _job, _process

from lht_devorg.core.engine import OrgEngine
from lht_devorg.ids import make_id
from lht_devorg.ingest import csvparse, runner, updategroup
from lht_devorg.ingest.results import ResultFiles

COUNTS = {
    "User": 3,
    "Account": 60,
    "Contact": 0,
    "Lead": 0,
    "Opportunity": 0,
    "Case": 0,
    "Task": 0,
    "Invoice__c": 0,
    "Attachment": 0,
}


@pytest.fixture
def eng():
    clock = Clock()
    engine = OrgEngine(clock=clock)
    engine.seed(COUNTS, seed=1)
    clock.now += dt.timedelta(seconds=60)
    yield engine
    engine.close()


def _live(eng: OrgEngine, count: int) -> list[str]:
    """The Ids of the first ``count`` records not in the recycle bin."""
    return [
        r[0]
        for r in eng.cursor()
        .execute('SELECT "Id" FROM account WHERE NOT "IsDeleted" ORDER BY "Id" LIMIT ?', [count])
        .fetchall()
    ]


def _names(eng: OrgEngine, wanted: list[str]) -> list[str]:
    rows = dict(eng.cursor().execute('SELECT "Id", "Name" FROM account').fetchall())
    return [rows[i] for i in wanted]


def test_the_first_chunk_is_committed_and_reported_before_the_next_chunks_are_written(
    eng, tmp_path, monkeypatch
):
    monkeypatch.setattr(runner, "CHUNK_ROWS", 5)
    monkeypatch.setattr(updategroup, "GROUP_ROWS", 15)
    live = _live(eng, 40)
    rows = [[rid, f"Renamed {n}"] for n, rid in enumerate(live, 1)]
    seen: list[tuple[int, list[str]]] = []
    job = _job(tmp_path / "job", _csv(["Id", "Name"], rows), "update")
    files = ResultFiles(job.folder, ",", "\n")
    runner.process(
        eng,
        job,
        files,
        stopped=lambda: False,
        before_row=lambda values: None,
        progress=lambda p, f: seen.append((p, _names(eng, live))),
        row_faults=lambda: False,
    )
    files.close()
    assert [p for p, _ in seen] == list(range(5, 41, 5))  # a chunk at a time, groups or not
    first = seen[0][1]
    assert first[:5] == [f"Renamed {n}" for n in range(1, 6)]  # committed: another cursor reads it
    assert not any(name.startswith("Renamed") for name in first[5:])
    assert seen[-1][1] == [f"Renamed {n}" for n in range(1, 41)]


def test_the_first_chunk_of_an_upload_is_read_before_the_rest_is_parsed(tmp_path, monkeypatch):
    monkeypatch.setattr(csvparse, "_SEGMENT_BYTES", 64)
    rows = [[make_id("001", n), f"N{n}", "two\nlines" if n % 3 else ""] for n in range(1, 31)]
    path = tmp_path / "up.csv"
    path.write_bytes(_csv(["Id", "Name", "Description"], rows) + b'"001","a","b","extra"\n')
    chunks = csvparse.column_chunks(path, ",", ["Id", "Name", "Description"], 10)
    first = next(chunks)
    assert [c.to_pylist() for c in first] == [list(c) for c in zip(*rows[:10], strict=True)]
    assert [c.to_pylist() for c in next(chunks)] == [
        list(c) for c in zip(*rows[10:20], strict=True)
    ]
    with pytest.raises(csvparse.NotVouched):  # the last segment: a row of the wrong width
        list(chunks)


def test_a_late_row_pyarrow_cannot_read_gives_the_csv_modules_results_from_there_on(
    eng, tmp_path, monkeypatch
):
    monkeypatch.setattr(runner, "CHUNK_ROWS", 4)
    monkeypatch.setattr(csvparse, "_SEGMENT_BYTES", 80)
    live = _live(eng, 14)
    rows = [[rid, f"N{n}"] for n, rid in enumerate(live, 1)]
    rows[9].append("extra")  # its own error, read by the csv module
    untouched = _names(eng, live[9:10])
    got, calls = _process(eng, _job(tmp_path / "job", _csv(["Id", "Name"], rows), "update"))
    failed = list(csv.reader(io.StringIO(got["failedResults"])))
    assert failed[1:] == [
        ["", "INVALID_FIELD:The row has 3 values; the header has 2:--", live[9], "N10", "extra"]
    ]
    assert [p for p, _ in calls] == [4, 8, 12, 14]
    assert _names(eng, live[:9] + live[10:]) == [f"N{n}" for n in range(1, 15) if n != 10]
    assert _names(eng, live[9:10]) == untouched


def test_a_record_named_in_two_chunks_of_a_group_ends_with_the_later_value(
    eng, tmp_path, monkeypatch
):
    monkeypatch.setattr(runner, "CHUNK_ROWS", 3)
    live = _live(eng, 12)
    rows = [[rid, f"N{n}"] for n, rid in enumerate(live, 1)]
    rows[7] = [live[4], "later"]  # chunk 3 names the record chunk 2 wrote
    got, calls = _process(eng, _job(tmp_path / "job", _csv(["Id", "Name"], rows), "update"))
    assert got["failedResults"].count("\n") == 1 and [p for p, _ in calls] == [3, 6, 9, 12]
    assert _names(eng, live[4:5]) == ["later"]


def test_a_record_deleted_between_a_chunks_check_and_its_write_is_reported_deleted(eng):
    obj = eng.schema.require("Account")
    header = ["Id", "Name"]
    fields = runner._columns(eng.schema, "Account", header, "update", None)
    live = _live(eng, 9)
    chunks = [[pa.array(live[at : at + 3]), pa.array(["x"] * 3)] for at in (0, 3, 6)]
    group = updategroup.UpdateGroup(eng, obj, fields)
    assert group.add(chunks[0]) is True  # the first group is one chunk
    group.write(lambda chunk, results: None)
    assert group.add(chunks[1]) is False and group.add(chunks[2]) is False
    eng.delete("Account", live[4])  # another request, while the group waits
    reported = []
    group.write(
        lambda chunk, results: reported.append(
            [(r.record_id, r.error and r.error.error_code) for r in results.rows()]
        )
    )
    assert reported == [
        [(live[3], None), (live[4], "ENTITY_IS_DELETED"), (live[5], None)],
        [(rid, None) for rid in live[6:9]],
    ]
    assert _names(eng, live[:4] + live[5:]) == ["x"] * 8
    assert _names(eng, live[4:5]) != ["x"]


def test_a_formula_is_recomputed_only_when_a_field_it_reads_is_written(eng, tmp_path):
    def tiers() -> dict[str, str]:
        return dict(eng.cursor().execute('SELECT "Id", "Tier__c" FROM account').fetchall())

    before = tiers()
    eng.change_formula_silently("Account", "Tier__c")
    silent = tiers()
    changed = [i for i in _live(eng, 100) if silent[i] != before[i]]
    assert changed
    header = ["Id", "Name"]
    _process(
        eng, _job(tmp_path / "names", _csv(header, [[i, "renamed"] for i in changed]), "update")
    )
    assert tiers() == silent  # the formula reads no field the job wrote
    revenue = [[i, "5000000"] for i in changed]
    _process(eng, _job(tmp_path / "revenue", _csv(["Id", "AnnualRevenue"], revenue), "update"))
    assert {i: tiers()[i] for i in changed} == {i: "Mid-Market" for i in changed}


def test_chunks_parsed_ahead_come_in_order_then_the_parsers_exception():
    def items():
        yield 1
        yield 2
        raise csvparse.NotVouched

    got = []
    with pytest.raises(csvparse.NotVouched):
        for item in csvparse.ahead(items()):
            got.append(item)
    assert got == [1, 2]


def test_the_parsing_thread_stops_soon_after_the_job_stops_asking():
    made: list[int] = []

    def items():
        for n in range(1000):
            made.append(n)
            yield n

    before = set(threading.enumerate())
    chunks = csvparse.ahead(items(), depth=2)
    assert next(chunks) == 0
    mine = [t for t in threading.enumerate() if t not in before and t.name == "devorg-ingest-parse"]
    assert len(mine) == 1
    chunks.close()  # an aborted or failed job
    mine[0].join(5)
    assert not mine[0].is_alive() and len(made) <= 5
