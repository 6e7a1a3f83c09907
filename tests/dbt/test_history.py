"""The opt-in history model (`lht_history_table`): one row per version, deletes and
undeletes as versions of their own (also when a delete marker ties with the deleted
record), built incrementally on DuckDB and fakesnow."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pytest

from lht.typemap import FieldSpec

if TYPE_CHECKING:
    from conftest import DbtEnv

pytestmark = pytest.mark.slow

FIELDS = [
    FieldSpec("Id", "id"),
    FieldSpec("Name", "string"),
    FieldSpec("SystemModstamp", "datetime"),
    FieldSpec("IsDeleted", "boolean"),
]


def t(day: int) -> datetime:
    return datetime(2024, 1, day, 10, tzinfo=timezone.utc)


def rec(id_: str, name: str, day: int, deleted: bool = False) -> dict:
    return {"Id": id_, "Name": name, "SystemModstamp": t(day), "IsDeleted": deleted}


def history(env: DbtEnv) -> list[tuple]:
    """The history rows, ordered; ``valid_to is null`` is read apart because the fakesnow
    server returns a NULL TIMESTAMP_TZ as 1970-01-01."""
    rows = env.query(
        "select Id, Name, valid_from, valid_to, valid_to is null, is_current, _lht_is_deleted "
        f"from {env.schema}.account_history order by Id, valid_from"
    )
    return [
        (
            id_,
            name,
            start.astimezone(timezone.utc),
            None if open_ else end.astimezone(timezone.utc),
            current,
            deleted,
        )
        for id_, name, start, end, open_, current, deleted in rows
    ]


def build(env: DbtEnv) -> None:
    env.dbt("build", "--select", "account_history").check()


def test_history_keeps_one_row_per_version_with_deletes_closing_them(env: DbtEnv) -> None:
    env.add_model("account_history", "{{ lht_history_table('Account') }}")
    env.write(
        "Account", [rec("A1", "v1", 1), rec("A1", "v2", 2), rec("A2", "only", 1)], fields=FIELDS
    )
    build(env)
    assert history(env) == [
        ("A1", "v1", t(1), t(2), False, False),
        ("A1", "v2", t(2), None, True, False),
        ("A2", "only", t(1), None, True, False),
    ]

    # hard delete of A1 (marker), then in a later batch the recycle-bin record of the same
    # delete and a re-extracted old version: neither adds a version
    env.write("Account", [{"Id": "A1", "IsDeleted": True, "SystemModstamp": t(3)}], kind="deleted")
    build(env)
    env.write("Account", [rec("A1", "v2", 2), rec("A1", "v2", 4, deleted=True)])
    build(env)
    assert history(env) == [
        ("A1", "v1", t(1), t(2), False, False),
        ("A1", "v2", t(2), t(3), False, False),
        ("A1", None, t(3), None, True, True),
        ("A2", "only", t(1), None, True, False),
    ]

    # undelete: a newer, live version opens a new version
    env.write("Account", [rec("A1", "back", 5)])
    build(env)
    assert history(env) == [
        ("A1", "v1", t(1), t(2), False, False),
        ("A1", "v2", t(2), t(3), False, False),
        ("A1", None, t(3), t(5), False, True),
        ("A1", "back", t(5), None, True, False),
        ("A2", "only", t(1), None, True, False),
    ]


# a delete marker and the recycle-bin record of the same deletion share their SystemModstamp
# (getDeleted's deletedDate): the deleted version keeps the record's values
def test_a_delete_marker_tied_with_the_deleted_record_keeps_the_last_values(env: DbtEnv) -> None:
    env.add_model("account_history", "{{ lht_history_table('Account') }}")
    env.write(
        "Account",
        [{"Id": "A1", "Name": "v1", "SystemModstamp": t(1), "IsDeleted": False}],
        fields=FIELDS,
    )
    env.write("Account", [{"Id": "A1", "Name": "v1", "SystemModstamp": t(2), "IsDeleted": True}])
    env.dbt("build", "--select", "account_history").check()
    env.write("Account", [{"Id": "A1", "IsDeleted": True, "SystemModstamp": t(2)}], kind="deleted")
    env.dbt("build", "--select", "account_history").check()
    rows = env.query(
        f"select Name, _lht_is_deleted, is_current from {env.schema}.account_history "
        "order by valid_from"
    )
    assert [tuple(r) for r in rows] == [("v1", False, False), ("v1", True, True)]
