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
    [("Account", "ACCOUNT"), ("ACCOUNT", "account"), ("my_obj__c", "My_Obj__C"), ("ns__Thing__c", "NS__THING__C")],
)
def test_state_is_found_whatever_the_case_of_the_name(wh: Warehouse, saved: str, asked: str) -> None:
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
    first = {"name": "Account", "fields": [{"name": "Id", "type": "id", "label": "ACME – NORTH 😀"}]}
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
