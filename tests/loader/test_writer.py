"""write_batch on DuckDB, the fakesnow server (PUT and COPY INTO over HTTP) and in-process fakesnow."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from lht.config import settings_from_env
from lht.errors import ConfigError, InvalidNameError, WarehouseError
from lht.typemap import FieldSpec, arrow_schema
from lht.warehouse.connection import Target, Warehouse, connect
from lht.warehouse.writer import new_batch_id, write_batch

UTC = timezone.utc
EXTRACTED = datetime(2024, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)
LONG_TEXT = ("Lorem ipsum – ünïcødé 😀 中文 " * 5000)[:131072]

FIELDS = [
    FieldSpec("Id", "id", length=18),
    FieldSpec("Name", "string", length=255),
    FieldSpec("Description", "textarea", length=131072),
    FieldSpec("Type", "picklist"),
    FieldSpec("Tags__c", "multipicklist"),
    FieldSpec("Combo__c", "combobox"),
    FieldSpec("Email__c", "email"),
    FieldSpec("Phone", "phone"),
    FieldSpec("Website", "url"),
    FieldSpec("Secret__c", "encryptedstring"),
    FieldSpec("Blob__c", "base64"),
    FieldSpec("Any__c", "anyType"),
    FieldSpec("Json__c", "json"),
    FieldSpec("ParentId", "reference", length=18),
    FieldSpec("Brand_New__c", "someFutureType"),
    FieldSpec("IsActive__c", "boolean"),
    FieldSpec("Count__c", "int"),
    FieldSpec("Big__c", "long"),
    FieldSpec("Amount__c", "currency", precision=16, scale=2),
    FieldSpec("Whole__c", "double", precision=18, scale=0),
    FieldSpec("Lat__c", "double", precision=18, scale=15),
    FieldSpec("Pct__c", "percent", precision=5, scale=2),
    FieldSpec("Ratio__c", "double"),
    FieldSpec("Day__c", "date"),
    FieldSpec("SystemModstamp", "datetime"),
    FieldSpec("At__c", "time"),
    FieldSpec("BillingAddress", "address"),  # compound parent: never a column
]

ROWS = [
    {
        "Id": "001000000000001AAA",
        "Name": "ACME – NORTH",
        "Description": "line1\r\nline2\n\"quoted\" 'single', comma",
        "Type": "NA",
        "Tags__c": "a;b;c",
        "Combo__c": "null",
        "Email__c": "a@example.com",
        "Phone": "0012",
        "Website": "https://example.com/?q=1&r=2",
        "Secret__c": "nan",
        "Blob__c": "SGVsbG8=",
        "Any__c": "20",
        "Json__c": '{"k": [1, 2]}',
        "ParentId": "1e5",
        "Brand_New__c": "TRUE",
        "IsActive__c": True,
        "Count__c": 2147483647,
        "Big__c": 9007199254740993,
        "Amount__c": Decimal("99999999999999.99"),
        "Whole__c": Decimal("999999999999999999"),
        "Lat__c": Decimal("123.456789012345678"),
        "Pct__c": Decimal("999.99"),
        "Ratio__c": 0.1,
        "Day__c": date(1, 1, 1),
        "SystemModstamp": datetime(1, 1, 1, 0, 0, 0, tzinfo=UTC),
        "At__c": time(0, 0, 0),
    },
    {
        "Id": "001000000000002AAA",
        "Name": "😀 emoji 中文 日本語 한국어",
        "Description": LONG_TEXT,
        "Type": "N/A",
        "Tags__c": "None",
        "Combo__c": "20",
        "Email__c": None,
        "Phone": "+1 (555) 010-0000",
        "Website": None,
        "Secret__c": "0012",
        "Blob__c": None,
        "Any__c": "V207252",
        "Json__c": None,
        "ParentId": None,
        "Brand_New__c": "1e5",
        "IsActive__c": False,
        "Count__c": -2147483648,
        "Big__c": -9007199254740993,
        "Amount__c": Decimal("-99999999999999.99"),
        "Whole__c": Decimal("-1"),
        "Lat__c": Decimal("-999.999999999999999"),
        "Pct__c": Decimal("-0.01"),
        "Ratio__c": 1e300,
        "Day__c": date(9999, 12, 31),
        "SystemModstamp": datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
        "At__c": time(23, 59, 59, 999000),
    },
    {
        "Id": "001000000000003AAA",
        "Name": "Ünïcödé àçcénts ß",
        "Description": "tab\there",
        "Type": "null",
        "Tags__c": "",
        "Combo__c": "N/A",
        "Email__c": "x@y.z",
        "Phone": "20",
        "Website": "http://x",
        "Secret__c": "None",
        "Blob__c": "AA==",
        "Any__c": "10",
        "Json__c": "[]",
        "ParentId": "001000000000001AAA",
        "Brand_New__c": None,
        "IsActive__c": None,
        "Count__c": 0,
        "Big__c": 0,
        "Amount__c": Decimal("0.01"),
        "Whole__c": Decimal("0"),
        "Lat__c": Decimal("0.000000000000001"),
        "Pct__c": Decimal("0"),
        "Ratio__c": -0.5,
        "Day__c": date(2024, 2, 29),
        "SystemModstamp": datetime(2024, 1, 15, 10, 30, 0, 123000, tzinfo=UTC),
        "At__c": time(12, 30, 15, 5000),
    },
    {"Id": "001000000000004AAA"},  # every other field NULL
]


def batch(rows: list[dict], fields: list[FieldSpec] = FIELDS) -> pa.Table:
    """Rows as an Arrow table typed by the type map."""
    schema = arrow_schema(fields)
    return pa.Table.from_pylist(
        [{f.name: r.get(f.name) for f in schema} for r in rows], schema=schema
    )


def read(wh: Warehouse, object_name: str, columns: list[str], order: str = "Id") -> list[dict]:
    """Rows of a staging table by API name (unquoted: case-insensitive), NULLs read through IS NULL."""
    select = ", ".join(f"{c}, {c} IS NULL" for c in columns)
    rows = wh.execute(f"SELECT {select} FROM {wh.staging_table(object_name)} ORDER BY {order}")
    return [
        {c: (None if row[2 * i + 1] else row[2 * i]) for i, c in enumerate(columns)} for row in rows
    ]


def normalised(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


def test_every_salesforce_type_round_trips_value_for_value(wh: Warehouse) -> None:
    data = batch(ROWS)
    result = write_batch(wh, "Account", data, FIELDS, extracted_at=EXTRACTED)
    assert result.rows == len(ROWS)

    names = data.column_names
    got = read(wh, "Account", names)
    expected = data.to_pylist()
    assert len(got) == len(expected)
    for got_row, want_row in zip(got, expected, strict=True):
        for name in names:
            assert normalised(got_row[name]) == want_row[name], f"{name} of {want_row['Id']}"
            if isinstance(want_row[name], str):
                assert isinstance(got_row[name], str), f"{name} must stay text"


def test_staging_columns_follow_the_type_map(wh: Warehouse) -> None:
    write_batch(wh, "Account", batch(ROWS[:1]), FIELDS, extracted_at=EXTRACTED)
    cols = wh.columns("account")
    assert "billingaddress" not in cols
    assert {
        "id",
        "amount__c",
        "day__c",
        "systemmodstamp",
        "at__c",
        "_lht_batch_id",
        "_lht_extracted_at",
        "_lht_kind",
    } <= set(cols)
    assert len(cols) == len([f for f in FIELDS if f.loadable]) + 3


def test_columns_are_queryable_by_api_name_in_any_case(wh: Warehouse) -> None:
    fields = [FieldSpec("Id", "id"), FieldSpec("BillingCity", "string")]
    write_batch(
        wh,
        "Account",
        batch([{"Id": "1", "BillingCity": "Oslo"}], fields),
        fields,
        extracted_at=EXTRACTED,
    )
    table = wh.staging_table("Account")
    assert wh.execute(
        f"SELECT BillingCity AS a, billingcity AS b, BILLINGCITY AS c FROM {table}"
    ) == [("Oslo", "Oslo", "Oslo")]
    assert wh.execute("SELECT BillingCity FROM salesforce_staging.account") == [("Oslo",)]


def test_new_fields_add_columns_and_existing_rows_keep_their_values(wh: Warehouse) -> None:
    old = [FieldSpec("Id", "id"), FieldSpec("Name", "string")]
    write_batch(
        wh, "my_obj__c", batch([{"Id": "a1", "Name": "first"}], old), old, extracted_at=EXTRACTED
    )
    new = old + [FieldSpec("Score__c", "double", precision=5, scale=1)]
    write_batch(
        wh,
        "my_obj__c",
        batch([{"Id": "a2", "Name": "second", "Score__c": Decimal("12.5")}], new),
        new,
        extracted_at=EXTRACTED,
    )
    assert "score__c" in wh.columns("my_obj__c")
    assert read(wh, "my_obj__c", ["Id", "Name", "Score__c"]) == [
        {"Id": "a1", "Name": "first", "Score__c": None},
        {"Id": "a2", "Name": "second", "Score__c": Decimal("12.5")},
    ]


def test_a_field_missing_from_the_batch_is_null(wh: Warehouse) -> None:
    fields = [
        FieldSpec("Id", "id"),
        FieldSpec("Name", "string"),
        FieldSpec("Amount__c", "currency", 16, 2),
    ]
    only_id = pa.table({"Id": ["a1"]})
    assert write_batch(wh, "Thing", only_id, fields, extracted_at=EXTRACTED).rows == 1
    assert read(wh, "Thing", ["Id", "Name", "Amount__c"]) == [
        {"Id": "a1", "Name": None, "Amount__c": None}
    ]


def test_a_removed_field_keeps_its_column_and_new_rows_hold_null(wh: Warehouse) -> None:
    both = [FieldSpec("Id", "id"), FieldSpec("Gone__c", "string")]
    write_batch(
        wh, "Thing", batch([{"Id": "a1", "Gone__c": "x"}], both), both, extracted_at=EXTRACTED
    )
    only_id = both[:1]
    write_batch(wh, "Thing", batch([{"Id": "a2"}], only_id), only_id, extracted_at=EXTRACTED)
    assert read(wh, "Thing", ["Id", "Gone__c"]) == [
        {"Id": "a1", "Gone__c": "x"},
        {"Id": "a2", "Gone__c": None},
    ]


def test_batch_ids_strictly_increase_and_metadata_is_stamped(wh: Warehouse) -> None:
    fields = [FieldSpec("Id", "id")]
    results = [
        write_batch(
            wh,
            "Case",
            pa.table({"Id": [f"c{i}", f"d{i}"]}),
            fields,
            kind=kind,
            extracted_at=EXTRACTED,
        )
        for i, kind in enumerate(["record", "deleted", "formula", "record", "record"])
    ]
    ids = [r.batch_id for r in results]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(len(i) == 31 and i[8] == "T" and i[21:23] == "Z-" for i in ids)
    rows = wh.execute(
        f"SELECT Id, _lht_batch_id, _lht_kind, _lht_extracted_at FROM {wh.staging_table('Case')} ORDER BY Id"
    )
    by_id = {r[0]: r[1:] for r in rows}
    assert by_id["c1"][:2] == (ids[1], "deleted") and by_id["d2"][:2] == (ids[2], "formula")
    assert {normalised(r[3]) for r in rows} == {EXTRACTED.replace(microsecond=250000)}


def test_batch_ids_stay_above_a_stored_id_written_ahead_of_this_clock(wh: Warehouse) -> None:
    fields = [FieldSpec("Id", "id")]
    write_batch(wh, "Lead", pa.table({"Id": ["l1"]}), fields, extracted_at=EXTRACTED)
    future = "29991231T235959000000Z-00000000"
    wh.execute(f"UPDATE {wh.staging_table('Lead')} SET _lht_batch_id = ?", [future])
    fresh = wh.cursor_for_thread()  # a new connection reads the stored ids again
    try:
        later = write_batch(fresh, "Lead", pa.table({"Id": ["l2"]}), fields, extracted_at=EXTRACTED)
    finally:
        if fresh is not wh and wh.kind == "snowflake":
            fresh.close()
    assert later.batch_id > future
    assert new_batch_id(floor=later.batch_id) > later.batch_id


def test_a_value_that_cannot_be_cast_raises_and_writes_nothing(wh: Warehouse) -> None:
    fields = [FieldSpec("Id", "id"), FieldSpec("Count__c", "int")]
    write_batch(
        wh, "Task", pa.table({"Id": ["t0"], "Count__c": [1]}), fields, extracted_at=EXTRACTED
    )
    bad = pa.table({"Id": ["t1", "t2"], "Count__c": ["7", "seven"]})
    with pytest.raises(WarehouseError, match="Count__c"):
        write_batch(wh, "Task", bad, fields, extracted_at=EXTRACTED)
    assert read(wh, "Task", ["Id", "Count__c"]) == [{"Id": "t0", "Count__c": 1}]


def test_an_empty_batch_writes_nothing(wh: Warehouse) -> None:
    fields = [FieldSpec("Id", "id")]
    result = write_batch(wh, "Contact", batch([], fields), fields, extracted_at=EXTRACTED)
    assert result.rows == 0 and result.batch_id == ""
    assert wh.columns("contact") == {}


def test_a_column_not_among_the_fields_is_an_error(duck_wh: Warehouse) -> None:
    with pytest.raises(InvalidNameError, match="Mystery"):
        write_batch(
            duck_wh,
            "Account",
            pa.table({"Id": ["1"], "Mystery": ["x"]}),
            [FieldSpec("Id", "id")],
            extracted_at=EXTRACTED,
        )
    assert duck_wh.columns("account") == {}


@pytest.mark.parametrize(
    "name", ["Account; DROP TABLE x", 'account"', "__c", "a__b__c__d", "1Account", ""]
)
def test_an_invalid_object_name_is_rejected_before_any_sql(duck_wh: Warehouse, name: str) -> None:
    with pytest.raises(InvalidNameError):
        write_batch(
            duck_wh, name, pa.table({"Id": ["1"]}), [FieldSpec("Id", "id")], extracted_at=EXTRACTED
        )
    assert duck_wh.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'salesforce_staging'"
    ) == [(0,)]


def test_a_record_batch_is_accepted_and_names_are_matched_to_describe_casing(
    duck_wh: Warehouse,
) -> None:
    fields = [FieldSpec("Id", "id"), FieldSpec("BillingCity", "string")]
    rb = pa.record_batch({"ID": ["1"], "billingcity": ["Bergen"]})
    write_batch(duck_wh, "ns__Thing__c", rb, fields, extracted_at=EXTRACTED)
    assert list(duck_wh.columns("ns__thing__c"))[:2] == ["id", "billingcity"]
    assert duck_wh.execute('SELECT "BillingCity" FROM salesforce_staging.ns__thing__c') == [
        ("Bergen",)
    ]


def test_the_staging_schema_comes_from_the_settings(tmp_path, monkeypatch) -> None:
    from lht.config import settings_from_env
    from lht.warehouse.target import Target

    monkeypatch.setenv("LHT_STAGING_SCHEMA", "not_this_one")
    settings = settings_from_env({"LHT_STAGING_SCHEMA": "raw_sf"})
    target = Target(
        kind="duckdb",
        name="dev",
        profile="p",
        profiles_file=tmp_path / "p.yml",
        path=tmp_path / "x.duckdb",
        settings=settings,
    )
    with connect(target) as wh:
        write_batch(
            wh, "Account", pa.table({"Id": ["1"]}), [FieldSpec("Id", "id")], extracted_at=EXTRACTED
        )
        assert wh.execute("SELECT Id FROM raw_sf.account") == [("1",)]
    with pytest.raises(ConfigError, match="LHT_STAGING_SCHEMA='bad-name'"):
        settings_from_env({"LHT_STAGING_SCHEMA": "bad-name"})
    with pytest.raises(InvalidNameError):
        connect(target, staging_schema="bad-name")


@pytest.mark.parametrize(
    ("setting", "compressed"), [(None, False), ("none", False), ("auto", True)]
)
def test_duckdb_staging_text_is_stored_uncompressed_unless_asked(
    tmp_path, monkeypatch, setting: str | None, compressed: bool
) -> None:
    if setting is None:
        monkeypatch.delenv("LHT_DUCKDB_TEXT_COMPRESSION", raising=False)
    else:
        monkeypatch.setenv("LHT_DUCKDB_TEXT_COMPRESSION", setting)
    target = Target(
        kind="duckdb",
        name="dev",
        profile="lht",
        profiles_file=tmp_path / "profiles.yml",
        path=tmp_path / "lht.duckdb",
        database="lht",
    )
    fields = [FieldSpec("Id", "id"), FieldSpec("Name", "string")]
    rows = [
        {"Id": f"001{i:015d}", "Name": ["Acme", "Globex", "Initech"][i % 3]} for i in range(5000)
    ]
    wh = connect(target, staging_schema="salesforce_staging")
    write_batch(wh, "Account", batch(rows, fields), fields, extracted_at=EXTRACTED)
    wh.execute("CHECKPOINT")
    kinds = {
        c
        for (c,) in wh.execute(
            "SELECT DISTINCT compression FROM pragma_storage_info('salesforce_staging.account') "
            "WHERE column_name = 'Name' AND segment_type = 'VARCHAR'"
        )
    }
    wh.close()
    assert kinds, "no storage segments found for the text column"
    assert (kinds != {"Uncompressed"}) is compressed, f"text column stored as {kinds}"


def test_an_unknown_text_compression_setting_names_the_variable_and_the_choices(
    monkeypatch,
) -> None:
    monkeypatch.setenv("LHT_DUCKDB_TEXT_COMPRESSION", "fast")
    with pytest.raises(ConfigError, match="LHT_DUCKDB_TEXT_COMPRESSION='fast'.*none.*auto"):
        settings_from_env()
