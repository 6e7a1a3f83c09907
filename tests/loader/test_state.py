"""StateStore: the _lht_state and _lht_describe tables, on DuckDB and fakesnow."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from lht.errors import InvalidNameError, WarehouseError
from lht.warehouse.connection import Warehouse
from lht.warehouse.state import ObjectState, StateStore

UTC = timezone.utc


def full_state(name: str) -> ObjectState:
    return ObjectState(
        object_name=name,
        watermark_field="SystemModstamp",
        watermark=datetime(2024, 1, 15, 10, 30, 0, 123000, tzinfo=UTC),
        deleted_checked_until=datetime(2024, 1, 15, 10, 35, tzinfo=UTC),
        last_success_at=datetime(2024, 1, 15, 10, 36, 1, 500000, tzinfo=UTC),
        last_full_refresh_at=datetime(2024, 1, 1, tzinfo=UTC),
        last_formula_refresh_at=None,
        last_run_status="ok",
        last_run_engine="bulk2",
        last_run_rows=123456,
        last_run_api_calls=7,
        where_filter="Industry != null",
    )


def test_state_round_trips_every_field(wh: Warehouse) -> None:
    store = StateStore(wh)
    state = full_state("Account")
    store.save(state)
    assert StateStore(wh).get("Account") == state


def test_times_come_back_in_utc_even_if_saved_in_another_zone(wh: Warehouse) -> None:
    store = StateStore(wh)
    oslo = timezone(timedelta(hours=1))
    store.save(ObjectState("Lead", watermark=datetime(2024, 6, 1, 13, 0, tzinfo=oslo)))
    got = store.get("Lead")
    assert got is not None and got.watermark == datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert got.watermark.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("saved", "asked"),
    [
        ("Account", "ACCOUNT"),
        ("ACCOUNT", "account"),
        ("my_obj__c", "My_Obj__C"),
        ("ns__Thing__c", "NS__THING__C"),
    ],
)
def test_state_is_found_whatever_the_case_of_the_name(
    wh: Warehouse, saved: str, asked: str
) -> None:
    store = StateStore(wh)
    store.save(full_state(saved))
    got = store.get(asked)
    assert got is not None and got.object_name == saved
    assert store.get("Contact") is None


def test_save_replaces_the_row_even_when_the_case_differs(wh: Warehouse) -> None:
    store = StateStore(wh)
    store.save(full_state("account"))
    newer = full_state("Account")
    newer.last_run_rows = 1
    store.save(newer)
    assert [s.object_name for s in store.all()] == ["Account"]
    assert store.get("ACCOUNT") == newer


def test_all_lists_every_object_by_name(wh: Warehouse) -> None:
    store = StateStore(wh)
    for name in ["Opportunity", "account", "Case"]:
        store.save(ObjectState(name))
    assert [s.object_name for s in store.all()] == ["account", "Case", "Opportunity"]


def test_a_failed_save_keeps_the_previous_row(duck_wh: Warehouse) -> None:
    store = StateStore(duck_wh)
    store.save(full_state("Account"))
    broken = full_state("Account")
    broken.last_run_rows = "not a number"  # type: ignore[assignment]
    with pytest.raises(WarehouseError):
        store.save(broken)
    assert store.get("Account") == full_state("Account")


def test_save_rejects_an_invalid_object_name(duck_wh: Warehouse) -> None:
    with pytest.raises(InvalidNameError):
        StateStore(duck_wh).save(ObjectState("Account; DROP TABLE x"))


def test_describe_cache_round_trips_and_is_replaced(wh: Warehouse) -> None:
    store = StateStore(wh)
    assert store.get_describe("Account") is None
    first = {
        "name": "Account",
        "fields": [{"name": "Id", "type": "id", "label": "ACME – NORTH 😀"}],
    }
    when = datetime(2024, 2, 1, 8, 0, 0, 5000, tzinfo=UTC)
    store.put_describe("Account", first, fetched_at=when)
    assert store.get_describe("ACCOUNT") == (when, first)
    second = {"name": "Account", "fields": []}
    store.put_describe("account", second)
    fetched_at, describe = store.get_describe("Account")  # type: ignore[misc]
    assert describe == second and fetched_at > when
    assert wh.execute(f"SELECT count(*) FROM {store.describe_table}") == [(1,)]


def test_saves_from_thread_views_all_land(wh: Warehouse) -> None:
    import threading

    StateStore(wh)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        view = wh.cursor_for_thread()
        try:
            store = StateStore(view)
            for i in range(5):
                store.save(ObjectState(f"Obj{n}_{i}__c", last_run_rows=i))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            view.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert len(StateStore(wh).all()) == 20


def test_a_forgotten_describe_is_described_again(wh: Warehouse) -> None:
    store = StateStore(wh)
    store.put_describe("Account", {"name": "Account", "fields": []})
    store.put_describe("Contact", {"name": "Contact", "fields": []})
    store.forget_describe("ACCOUNT")
    assert store.get_describe("Account") is None
    assert store.get_describe("Contact") is not None


def test_a_state_table_from_before_the_filter_was_kept_is_read_and_then_completed(
    wh: Warehouse,
) -> None:
    """A warehouse synced by an lht that kept no filter: a reader that creates nothing sees
    NULL (the object re-reads its filter once), a writer adds the column."""
    table = wh.table("_lht_state")
    StateStore(wh)
    wh.execute(f"ALTER TABLE {table} DROP COLUMN {wh.quote('where_filter')}")
    wh.execute(
        f"INSERT INTO {table} ({wh.quote('object_name')}, {wh.quote('last_run_rows')}) VALUES ('Account', 5)"
    )
    assert "where_filter" not in wh.columns("_lht_state")
    old = StateStore(wh, create=False).get("Account")
    assert old is not None and (old.last_run_rows, old.where_filter) == (5, None)
    store = StateStore(wh)
    assert "where_filter" in wh.columns("_lht_state")
    store.save(full_state("Account"))
    assert StateStore(wh).get("Account") == full_state("Account")


def test_a_changed_filter_is_one_the_last_successful_sync_did_not_use() -> None:
    never = ObjectState("Account")
    assert not never.filter_changed("Industry != null"), "a first sync reads in full anyway"
    synced = full_state("Account")
    assert not synced.filter_changed("Industry != null")
    assert synced.filter_changed("Industry = 'Banking'")
    assert synced.filter_changed(None) and synced.filter_changed("")
    unfiltered = ObjectState("Account", last_success_at=synced.last_success_at)
    assert not unfiltered.filter_changed(None) and not unfiltered.filter_changed("")
    assert unfiltered.filter_changed("Industry != null")


def _counting(wh: Warehouse, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements ``wh`` runs from now on."""
    seen: list[str] = []
    original = wh._execute  # noqa: SLF001 - counting the engine calls of one object

    def execute(sql, params):  # type: ignore[no-untyped-def]
        seen.append(sql)
        return original(sql, params)

    monkeypatch.setattr(wh, "_execute", execute)
    return seen


def test_one_statement_reads_every_state_the_describes_asked_for_and_the_newest_batch(
    wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = StateStore(wh)
    store.save(full_state("Account"))
    store.save(ObjectState(object_name="Contact", watermark_field="SystemModstamp"))
    store.put_describe("Account", {"name": "Account", "v": 1}, datetime(2024, 1, 1, tzinfo=UTC))
    store.put_describe("Lead", {"name": "Lead"}, datetime(2024, 1, 2, tzinfo=UTC))
    wh.execute(f"CREATE TABLE {wh.table('_lht_runs')} ({wh.quote('_lht_batch_id')} VARCHAR)")
    wh.execute(
        f"INSERT INTO {wh.table('_lht_runs')} VALUES ('20240101T000000000000Z-a'), ('20240102T000000000000Z-b')"
    )
    seen = _counting(wh, monkeypatch)
    loaded = StateStore(wh, create=False).load(
        ["account", "Contact"], newest_batch_of=["_lht_runs"], require=["_lht_describe"]
    )
    assert len(seen) == 1
    assert loaded.states == {
        "account": full_state("Account"),
        "contact": ObjectState(object_name="Contact", watermark_field="SystemModstamp"),
    }
    assert loaded.describes == {
        "account": (datetime(2024, 1, 1, tzinfo=UTC), {"name": "Account", "v": 1})
    }
    assert loaded.newest_batch == {"_lht_runs": "20240102T000000000000Z-b"}


def test_the_one_read_fails_when_a_required_table_is_missing(wh: Warehouse) -> None:
    store = StateStore(wh)
    with pytest.raises(WarehouseError):
        store.load(["Account"], require=["_lht_push_results"])


def test_save_all_replaces_every_row_in_one_statement_on_snowflake_and_one_transaction_on_duckdb(
    wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = StateStore(wh)
    store.save(ObjectState(object_name="ACCOUNT", last_run_rows=1))
    store.save(ObjectState(object_name="Lead", last_run_rows=2))
    seen = _counting(wh, monkeypatch)
    store.save_all([full_state("Account"), ObjectState(object_name="Case", last_run_rows=3)])
    writes = [s for s in seen if s.split()[0].upper() not in ("BEGIN", "COMMIT")]
    assert len(writes) == (1 if wh.kind == "snowflake" else 2), seen
    assert {s.object_name.lower(): s for s in store.all()} == {
        "account": full_state("Account"),
        "case": ObjectState(object_name="Case", last_run_rows=3),
        "lead": ObjectState(object_name="Lead", last_run_rows=2),
    }
