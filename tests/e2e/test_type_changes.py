"""A field's type changes in Salesforce (decimal places, number to text and back): the next
`lht sync` + `dbt build` carries every value exactly into staging and the main table, and
`--full-refresh` still works. On DuckDB and on the Snowflake dialect."""

from __future__ import annotations

from decimal import Decimal

from .conftest import Workspace

OBJ = "Account"


def _sync_and_build(ws: Workspace, *args: str) -> dict:
    report = ws.sync(OBJ, *args).report
    assert report["ok"] is True, report
    ws.build("--select", "account")
    return report


def _main(ws: Workspace, column: str) -> dict[str, object]:
    return {r["id"]: r[column.lower()] for r in ws.main_rows("account")}


def _org(ws: Workspace, column: str) -> dict[str, object]:
    rows = (
        ws.org.engine.cursor()
        .execute(f'select "Id", "{column}" from {ws.org.engine.table(OBJ)}')
        .fetchall()
    )
    return dict(rows)


def test_decimal_places_added_to_a_currency_field_keep_every_value_exact(
    workspace: Workspace,
) -> None:
    ws = workspace
    _sync_and_build(ws)
    before = _main(ws, "AnnualRevenue")
    ws.org.engine.change_field_type(
        OBJ, "AnnualRevenue", {"type": "currency", "precision": 18, "scale": 2}
    )
    target = sorted(before)[0]
    ws.org.engine.update(OBJ, target, {"AnnualRevenue": Decimal("1234.56")})

    _sync_and_build(ws)
    after = _main(ws, "AnnualRevenue")
    assert Decimal(str(after[target])) == Decimal("1234.56")
    for record_id, value in before.items():
        if record_id != target and value is not None:
            assert Decimal(str(after[record_id])) == Decimal(str(value)), record_id


def test_a_number_field_turned_text_then_holding_text_syncs_next_run_and_on_full_refresh(
    workspace: Workspace,
) -> None:
    ws = workspace
    _sync_and_build(ws)
    before = _main(ws, "NumberofLocations__c")
    ws.org.engine.change_field_type(OBJ, "NumberofLocations__c", {"type": "string", "length": 255})
    target = sorted(before)[0]
    ws.org.engine.update(OBJ, target, {"NumberofLocations__c": "twelve boxes"})

    _sync_and_build(ws)
    after = _main(ws, "NumberofLocations__c")
    assert after[target] == "twelve boxes"
    org = _org(ws, "NumberofLocations__c")
    for record_id in before:
        # the org converted its numbers to text; the warehouse holds the same numbers as text
        assert (after[record_id] is None) == (org[record_id] is None), record_id
        if after[record_id] is not None and record_id != target:
            assert Decimal(after[record_id]) == Decimal(org[record_id]), record_id

    _sync_and_build(ws, "--full-refresh")
    assert _main(ws, "NumberofLocations__c")[target] == "twelve boxes"

    # and back to a number: the column stays text, the values stay exact
    ws.org.engine.update(OBJ, target, {"NumberofLocations__c": "7"})
    ws.org.engine.change_field_type(
        OBJ, "NumberofLocations__c", {"type": "double", "precision": 5, "scale": 1}
    )
    ws.org.engine.update(OBJ, target, {"NumberofLocations__c": Decimal("7.5")})
    _sync_and_build(ws)
    assert Decimal(_main(ws, "NumberofLocations__c")[target]) == Decimal("7.5")
