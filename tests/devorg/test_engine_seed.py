"""The seed: deterministic, realistic, Salesforce-shaped audit stamps, and the nasty corpus."""

from __future__ import annotations

import datetime as dt

import pytest
from engine_fixtures import SMALL

from lht_devorg.core.engine import OrgEngine
from lht_devorg.core.seed import MASS_UPDATE_AT, NASTY_VALUES
from lht_devorg.ids import make_id


def dump(eng: OrgEngine, obj: str) -> list[tuple]:
    return eng.cursor().execute(f'SELECT * FROM {eng.table(obj)} ORDER BY "Id"').fetchall()


@pytest.fixture(scope="module")
def eng():
    engine = OrgEngine()
    engine.seed(SMALL, seed=7)
    yield engine
    engine.close()


def test_same_counts_and_seed_give_identical_data(eng):
    other = OrgEngine()
    try:
        other.seed(SMALL, seed=7)
        for obj in eng.objects():
            assert dump(other, obj) == dump(eng, obj), obj
        other.seed(SMALL, seed=8)
        assert dump(other, "Account") != dump(eng, "Account")
    finally:
        other.close()


def test_counts_are_respected_and_ids_are_sequential(eng):
    for obj, n in SMALL.items():
        assert eng.count(obj, include_deleted=True) == n
    ids = [r[0] for r in eng.cursor().execute('SELECT "Id" FROM account ORDER BY "Id"').fetchall()]
    assert ids == [make_id("001", k) for k in range(1, SMALL["Account"] + 1)]


def test_audit_stamps_are_ordered_and_in_the_past(eng):
    for obj in eng.objects():
        bad = (
            eng.cursor()
            .execute(
                f'SELECT count(*) FROM {eng.table(obj)} WHERE NOT ("CreatedDate" <= "LastModifiedDate" '
                f'AND "LastModifiedDate" <= "SystemModstamp" AND "SystemModstamp" < TIMESTAMP \'2026-01-01\') '
                f"OR date_part('millisecond', \"SystemModstamp\") % 1000 <> 0"
            )
            .fetchone()[0]
        )
        assert bad == 0, obj


def test_the_newest_system_modstamp_second_is_shared_by_a_mass_update(eng):
    for obj in ("Account", "Contact", "Invoice__c"):
        newest, n = (
            eng.cursor()
            .execute(
                f'SELECT max("SystemModstamp"), count(*) FILTER (WHERE "SystemModstamp" = ?) FROM {eng.table(obj)}',
                [MASS_UPDATE_AT],
            )
            .fetchone()
        )
        assert newest == MASS_UPDATE_AT and n >= 3, obj


def test_some_records_are_already_in_the_recycle_bin(eng):
    assert eng.count("Account", include_deleted=True) > eng.count("Account")


def test_lookups_point_at_existing_records(eng):
    checks = [
        ("contact", "AccountId", "account"),
        ("opportunity", "AccountId", "account"),
        ("case", "ContactId", "contact"),
        ("invoice__c", "Account__c", "account"),
        ("account", "OwnerId", '"user"'),
        ("task", "WhoId", "contact"),
    ]
    for table, column, target in checks:
        orphans = (
            eng.cursor()
            .execute(
                f'SELECT count(*) FROM "{table}" t WHERE t."{column}" IS NOT NULL AND t."{column}" LIKE '
                f'(SELECT substr(min("Id"), 1, 3) FROM {target}) || \'%\' AND t."{column}" NOT IN (SELECT "Id" FROM {target})'
            )
            .fetchone()[0]
        )
        assert orphans == 0, (table, column)


def test_picklist_values_come_from_the_describe(eng):
    for obj, field in [
        ("Account", "Industry"),
        ("Opportunity", "StageName"),
        ("Case", "Status"),
        ("Invoice__c", "Status__c"),
    ]:
        allowed = {
            p["value"]
            for f in eng.describe(obj)["fields"]
            if f["name"] == field
            for p in f["picklistValues"]
        }
        used = {
            r[0]
            for r in eng.cursor()
            .execute(f'SELECT DISTINCT "{field}" FROM {eng.table(obj)} WHERE "{field}" IS NOT NULL')
            .fetchall()
        }
        assert used and used <= allowed, (obj, field)


def test_no_empty_strings_and_no_nul_bytes_are_stored(eng):
    for obj in eng.objects():
        schema = eng.schema.require(obj)
        for f in schema.stored_fields():
            if f["type"] in ("string", "textarea", "picklist", "email", "phone", "url"):
                bad = (
                    eng.cursor()
                    .execute(
                        f'SELECT count(*) FROM {eng.table(obj)} WHERE "{f["name"]}" = \'\' OR contains("{f["name"]}", chr(0))'
                    )
                    .fetchone()[0]
                )
                assert bad == 0, (obj, f["name"])


@pytest.mark.parametrize("obj", sorted(NASTY_VALUES))
def test_nasty_values_are_stored_byte_identical(eng, obj):
    prefix = eng.schema.require(obj).key_prefix
    for index, values in enumerate(NASTY_VALUES[obj]):
        cols = ", ".join(f'"{k}"' for k in values)
        row = (
            eng.cursor()
            .execute(
                f'SELECT {cols} FROM {eng.table(obj)} WHERE "Id" = ?', [make_id(prefix, index + 1)]
            )
            .fetchone()
        )
        assert row == tuple(values.values()), (obj, index)


def test_nasty_corpus_covers_the_lessons():
    texts = {
        v for rows in NASTY_VALUES.values() for r in rows for v in r.values() if isinstance(v, str)
    }
    for needle in [
        "ACME – NORTH",
        "NA",
        "N/A",
        "None",
        "nan",
        "null",
        "0012",
        "20",
        "1e5",
        "TRUE",
        "10",
        "V207252",
    ]:
        assert needle in texts
    assert any("\r\n" in t for t in texts) and any(len(t) == 131072 for t in texts)
    assert any(any(ord(c) > 0xFFFF for c in t) for t in texts), "an emoji outside the BMP"
    dates = {v for r in NASTY_VALUES["Invoice__c"] for v in r.values() if type(v) is dt.date}
    assert {dt.date(1700, 1, 1), dt.date(4000, 12, 31)} <= dates
