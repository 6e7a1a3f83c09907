"""A corpus of nasty values round-trips exactly from the org to the main tables, through the
REST and the Bulk API 2.0 paths, on DuckDB and on the Snowflake dialect. "Exactly" means as
Salesforce sends them: REST carries numbers as JSON doubles (their soapType is xsd:double),
Bulk CSV as the stored decimals.

NUL bytes: Salesforce never stores them (it strips them on write, and its CSV never carries
them), so "round-trips" means the value arrives as Salesforce holds it, without the NUL;
the loader also strips a NUL that would reach it (lesson 4).

Dates and datetimes: Salesforce accepts 1700-01-01 .. 4000-12-31. The extremes 0001-01-01
and 9999-12-31 cannot be entered through its API, so they are written straight into the
org's store; the loader must carry them all the same.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from e2e.conftest import Workspace, assert_main_table_matches_org

from lht_devorg.core.seeddata import LONG_NOTES, NASTY_VALUES

TEXTS = [
    "ACME – NORTH",
    "Rocket 🚀 launch",
    "👩‍💻 ZWJ sequence",
    "株式会社テスト",
    "עברית \u200f RTL mark",
    "\ufeffBOM at the start",
    "combining e\u0301 and Ünïcödé",
    'Quote "Inc", Ltd',
    "'single' quotes",
    '""',
    "line1\nline2",
    "CR\rLF\r\nmix",
    "\ttab first",
    "comma,comma",
    "back\\slash \\N",
    "NA",
    "N/A",
    "null",
    "NULL",
    "None",
    "nan",
    "NaN",
    "TRUE",
    "false",
    "0012",
    "20",
    "1e5",
    "-0",
    "=1+1",
    "<script>alert(1)</script>",
    '{"json": [1, 2]}',
    "'; DROP TABLE account; --",
    "Robert'); DROP TABLE Students;--",
    "${jndi:ldap://x}",
    "%s %d {0} %%",
    "\u2028 separators \u2029",
    'emoji 🧾, CJK 請求書, quote " and comma ,',
]
NUL_TEXT = "before\x00after"
INVOICES = [
    {"Amount__c": Decimal("99999999999999.99"), "Quantity__c": Decimal(999999999999999999)},
    {"Amount__c": Decimal("-99999999999999.99"), "Quantity__c": Decimal(-999999999999999999)},
    {"Amount__c": Decimal("0.01"), "Tax_Rate__c": Decimal("999.99")},
    {"Amount__c": Decimal("-0.01"), "Tax_Rate__c": Decimal("-999.99")},
    {
        "Site__Latitude__s": Decimal("-89.999999999999999"),
        "Site__Longitude__s": Decimal("179.999999999999999"),
    },
    {"Due_Date__c": "1700-01-01", "Paid_At__c": "1970-01-01T00:00:00.000Z"},
    {"Due_Date__c": "4000-12-31", "Paid_At__c": "1969-12-31T23:59:59.000Z"},
    {
        "Due_Date__c": "2024-02-29",
        "Paid_At__c": "2024-03-10T07:00:00.000Z",
        "Pickup_Time__c": "23:59:59.999Z",
    },
    {"Paid_At__c": "2024-10-27T01:00:00.000+0000", "Pickup_Time__c": "00:00:00.000Z"},
    {"Paid_At__c": "2024-12-31T23:59:59.000-0800"},
    {"Notes__c": LONG_NOTES},
]
#: Outside what Salesforce accepts: written into the org's store directly.
EXTREMES = [
    {"Due_Date__c": dt.date(1, 1, 1), "Paid_At__c": dt.datetime(1, 1, 1, 0, 0, 0)},
    {
        "Due_Date__c": dt.date(9999, 12, 31),
        "Paid_At__c": dt.datetime(9999, 12, 31, 23, 59, 59, 999000),
    },
]
ENGINES = {"rest": {}, "bulk": {"LHT_REST_MAX_ROWS": "1", "LHT_BULK_PAGE_RECORDS": "7"}}


def _corpus_size() -> int:
    seeded = sum(
        1 for rows in NASTY_VALUES.values() for row in rows for v in row.values() if v is not None
    )
    return len(TEXTS) + 1 + sum(len(row) for row in INVOICES + EXTREMES) + seeded


def _load_corpus(ws: Workspace) -> dict[str, str]:
    """Create the corpus records in the org; return {label: Id} of the ones checked by name."""
    engine = ws.org.engine
    ids: dict[str, str] = {}
    for i, text in enumerate(TEXTS):
        ids[f"text{i}"] = engine.create(
            "Account", {"Name": f"Corpus {i}", "Description": text, "Site": text[:80]}
        )
    ids["nul"] = engine.create("Account", {"Name": "Corpus NUL", "Description": NUL_TEXT})
    for i, values in enumerate(INVOICES):
        ids[f"invoice{i}"] = engine.create("Invoice__c", dict(values))
    table = engine.table("Invoice__c")
    for i, values in enumerate(EXTREMES):
        record_id = engine.create("Invoice__c", {"External_Ref__c": f"extreme {i}"})
        sets = ", ".join(f'"{k}" = ?' for k in values)
        engine.cursor().execute(
            f'UPDATE {table} SET {sets} WHERE "Id" = ?', [*values.values(), record_id]
        )
        ids[f"extreme{i}"] = record_id
    return ids


@pytest.mark.parametrize("path", list(ENGINES))
def test_nasty_values_round_trip_exactly_to_the_main_tables(make_ws, small_org, path: str) -> None:
    assert _corpus_size() >= 40
    ws = make_ws(small_org)
    ids = _load_corpus(ws)
    ws.run("lht", "add", "Invoice__c", "--project-dir", str(ws.project)).check()
    report = ws.sync("Account", "Invoice__c", extra_env=ENGINES[path]).report
    assert {r["engine"] for r in report["results"]} == {path}
    ws.build("--select", "account", "invoice__c")

    accounts = assert_main_table_matches_org(ws, "Account")
    invoices = assert_main_table_matches_org(ws, "Invoice__c")

    # spot checks that would expose a compare that normalises too much
    for i, text in enumerate(TEXTS):
        assert accounts[ids[f"text{i}"]]["description"] == text, f"text {text!r} changed"
    assert accounts[ids["nul"]]["description"] == "beforeafter", (
        "NUL is stripped as Salesforce does"
    )
    assert len(invoices[ids["invoice10"]]["notes__c"]) == 131_072
    # REST sends numbers as JSON doubles (soapType xsd:double); Bulk CSV as exact decimals
    as_sent = (lambda d: d) if path == "bulk" else (lambda d: Decimal(repr(float(d))))
    assert invoices[ids["invoice0"]]["amount__c"] == as_sent(Decimal("99999999999999.99"))
    assert invoices[ids["invoice3"]]["tax_rate__c"] == Decimal("-999.99")
    assert str(invoices[ids["extreme0"]]["due_date__c"]) == "0001-01-01"
    assert str(invoices[ids["extreme1"]]["due_date__c"]) == "9999-12-31"
    stamp = invoices[ids["invoice9"]]["paid_at__c"]
    assert stamp.astimezone(dt.timezone.utc).replace(tzinfo=None) == dt.datetime(
        2025, 1, 1, 7, 59, 59
    )
