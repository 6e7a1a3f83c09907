"""History when a delete marker and the recycle-bin record of the same deletion share their
SystemModstamp (getDeleted's deletedDate): the deleted version keeps the record's values."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pytest

from lht.typemap import FieldSpec

if TYPE_CHECKING:
    from conftest import DbtEnv

pytestmark = pytest.mark.slow

FIELDS = [FieldSpec("Id", "id"), FieldSpec("Name", "string"), FieldSpec("SystemModstamp", "datetime"),
          FieldSpec("IsDeleted", "boolean")]


def t(day: int) -> datetime:
    return datetime(2024, 1, day, 10, tzinfo=timezone.utc)


def test_a_delete_marker_tied_with_the_deleted_record_keeps_the_last_values(env: DbtEnv) -> None:
    env.add_model("account_history", "{{ lht_history_table('Account') }}")
    env.write("Account", [{"Id": "A1", "Name": "v1", "SystemModstamp": t(1), "IsDeleted": False}], fields=FIELDS)
    env.write("Account", [{"Id": "A1", "Name": "v1", "SystemModstamp": t(2), "IsDeleted": True}])
    env.dbt("build", "--select", "account_history").check()
    env.write("Account", [{"Id": "A1", "IsDeleted": True, "SystemModstamp": t(2)}], kind="deleted")
    env.dbt("build", "--select", "account_history").check()
    rows = env.query(f"select Name, _lht_is_deleted, is_current from {env.schema}.account_history "
                     "order by valid_from")
    assert [tuple(r) for r in rows] == [("v1", False, False), ("v1", True, True)]
