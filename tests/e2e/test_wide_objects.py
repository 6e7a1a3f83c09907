"""Wide objects: 800 custom fields with 43-character API names make a REST query URI of
some 40 KB, past the 16,384 bytes Salesforce (and the local org) accept (414). lht sends
such a query in Bulk API 2.0's POST body, on full and incremental runs alike."""

from __future__ import annotations

from pathlib import Path

from .conftest import make_workspace

OBJ = "Invoice__c"
N = 800


def _name(i: int) -> str:
    return f"Wide_Field_With_A_Rather_Long_Name_{i:05d}__c"


def test_an_object_with_800_long_named_fields_syncs_full_and_incrementally(
    org, tmp_path: Path
) -> None:
    ws = make_workspace("duckdb", tmp_path, org)
    ws.run("lht", "add", OBJ, "--project-dir", str(ws.project)).check()
    eng = org.engine
    for i in range(N):
        eng.add_field(OBJ, {"name": _name(i), "type": "string", "length": 40})
    table = eng.table(OBJ)
    eng.cursor().execute(
        f'update {table} set "{_name(0)}" = \'first\', "{_name(N - 1)}" = \'last \' || "Id"'
    )

    first = ws.sync(OBJ).report
    assert first["ok"] is True, first
    staging = f"salesforce_staging.{OBJ.lower()}"
    names, rows = ws.query(f'select "Id", "{_name(0)}", "{_name(N - 1)}" from {staging}')
    assert len(rows) == eng.count(OBJ, include_deleted=True)
    assert all(r[1] == "first" and r[2] == f"last {r[0]}" for r in rows)

    target = sorted(r[0] for r in rows)[0]
    eng.update(OBJ, target, {_name(400): "changed"})
    second = ws.sync(OBJ).report
    assert second["ok"] is True, second
    result = next(r for r in second["results"] if r["object_name"] == OBJ)
    assert result["mode"] == "incremental"
    _, changed = ws.query(
        f'select "{_name(400)}" from {staging} where "Id" = \'{target}\' and "{_name(400)}" is not null'
    )
    assert changed == [("changed",)]
