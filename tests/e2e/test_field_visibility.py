"""Fields that become visible with values already in them, and fields that disappear.

An admin hides a field from the integration user (field-level security) and grants it
again later: no record's SystemModstamp moves, yet every record has a value. The next
incremental sync backfills that field for every record (Id + the new fields, merged as
partial rows); while it was hidden its column and last values stayed, and the run report
named it. On DuckDB and on the Snowflake dialect."""

from __future__ import annotations

from .conftest import Workspace

OBJ = "Account"
FIELD = "Industry"


def _sync_and_build(ws: Workspace) -> dict:
    report = ws.sync(OBJ).report
    assert report["ok"] is True, report
    ws.build("--select", "account")
    return next(r for r in report["results"] if r["object_name"] == OBJ)


def _main(ws: Workspace) -> dict[str, object]:
    return {r["id"]: r[FIELD.lower()] for r in ws.main_rows("account")}


def _org(ws: Workspace) -> dict[str, object]:
    cur = ws.org.engine.cursor()
    return dict(cur.execute(f'select "Id", "{FIELD}" from {ws.org.engine.table(OBJ)}').fetchall())


def test_a_hidden_field_keeps_its_values_and_a_field_shown_again_is_backfilled(
    workspace: Workspace,
) -> None:
    ws = workspace
    _sync_and_build(ws)
    before = _main(ws)
    assert sum(v is not None for v in before.values()) > 3, (
        "the seed gives too few values to prove anything"
    )

    ws.org.engine.set_field_visible(OBJ, FIELD, False)
    some = sorted(before)[:2]
    for record_id in some:  # re-read while the field is hidden
        ws.org.engine.update(OBJ, record_id, {"Name": f"touched {record_id}"})
    hidden = _sync_and_build(ws)
    assert hidden["fields_removed"] == [FIELD]
    assert _main(ws) == before, "a hidden field keeps its column and its last values"

    # values change while hidden, without moving any SystemModstamp (as a default or a data load would)
    ws.org.engine.cursor().execute(
        f'update {ws.org.engine.table(OBJ)} set "{FIELD}" = \'Backfilled \' || "Id"'
    )
    ws.org.engine.set_field_visible(OBJ, FIELD, True)
    shown = _sync_and_build(ws)
    assert shown["mode"] == "incremental"
    assert shown["fields_added"] == [FIELD]
    assert _main(ws) == _org(ws)

    quiet = _sync_and_build(ws)
    assert quiet["fields_added"] == [] and quiet["fields_removed"] == []
    assert _main(ws) == _org(ws)
