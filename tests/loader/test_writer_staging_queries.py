"""lht.warehouse.staging: read-only queries on what write_batch staged, on every engine."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa

from lht.typemap import FieldSpec
from lht.warehouse.connection import Warehouse
from lht.warehouse.staging import ids_missing_since, staged_ids, staged_rows_after
from lht.warehouse.writer import write_batch

FIELDS = [
    FieldSpec("Id", "id"),
    FieldSpec("IsDeleted", "boolean"),
    FieldSpec("SystemModstamp", "datetime"),
]
AT = datetime(2024, 5, 1, tzinfo=timezone.utc)


def put(wh: Warehouse, ids: list[str], kind: str = "record") -> str:
    data = pa.table({"Id": ids, "IsDeleted": [kind == "deleted"] * len(ids)})
    return write_batch(wh, "Account", data, FIELDS, kind=kind, extracted_at=AT).batch_id


def test_a_missing_table_reads_as_empty(wh: Warehouse) -> None:
    assert staged_ids(wh, "Account").to_pylist() == []
    assert ids_missing_since(wh, "Account", "20240101T000000000000Z-00000000").to_pylist() == []
    assert staged_rows_after(wh, "Account", None) == 0


def test_staged_ids_are_distinct_over_batches_and_kinds(wh: Warehouse) -> None:
    put(wh, ["a", "b"])
    put(wh, ["b", "c"])
    put(wh, ["d"], kind="deleted")
    assert sorted(staged_ids(wh, "account").to_pylist()) == ["a", "b", "c", "d"]


def test_ids_missing_since_a_full_extract_are_those_it_no_longer_returned(wh: Warehouse) -> None:
    put(wh, ["kept1", "kept2", "gone", "already_marked", "marked_this_run"])
    put(wh, ["formula_only"], kind="formula")
    put(wh, ["already_marked"], kind="deleted")
    # the full extract starts here
    first = put(wh, ["kept1"])
    put(wh, ["kept2"])
    put(wh, ["marked_this_run"], kind="deleted")  # e.g. from getDeleted during this run
    put(wh, ["new_in_this_run_deleted"], kind="deleted")
    missing = ids_missing_since(wh, "Account", first)
    assert missing.type == pa.string()
    assert missing.to_pylist() == ["formula_only", "gone"]


def test_staged_rows_after_counts_rows_of_later_batches(wh: Warehouse) -> None:
    first = put(wh, ["a", "b"])
    second = put(wh, ["c"])
    put(wh, ["d", "e", "f"], kind="deleted")
    assert staged_rows_after(wh, "Account", None) == 6
    assert staged_rows_after(wh, "Account", first) == 4
    assert staged_rows_after(wh, "ACCOUNT", second) == 3
