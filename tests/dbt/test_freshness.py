"""`dbt source freshness` measures the object's last successful sync (`last_success_at` in
`_lht_state`), not its last change: an object that did not change for a day but was synced
an hour ago is fresh; one whose last sync is a day old is not, however new its rows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest

from lht.typemap import FieldSpec
from lht.warehouse.state import ObjectState, StateStore

if TYPE_CHECKING:
    from conftest import DbtEnv

pytestmark = pytest.mark.slow

FIELDS = [
    FieldSpec("Id", "id"),
    FieldSpec("Name", "string"),
    FieldSpec("SystemModstamp", "datetime"),
]


def freshness(env: DbtEnv) -> dict[str, str]:
    """Status per staging table of `dbt source freshness`."""
    run = env.dbt(
        "source",
        "freshness",
        "--select",
        "source:salesforce_staging.account",
        "source:salesforce_staging.contact",
    )
    return {r["unique_id"].split(".")[-1]: r["status"] for r in run.results("sources.json")}


def synced(env: DbtEnv, object_name: str, at: datetime) -> None:
    """Record a successful sync of ``object_name`` at ``at``, as the loader does."""
    wh = env.warehouse()
    try:
        StateStore(wh).save(
            ObjectState(object_name=object_name, last_success_at=at, last_run_status="ok")
        )
    finally:
        wh.close()


def test_freshness_follows_the_last_successful_sync_not_the_last_change(env: DbtEnv) -> None:
    now = datetime.now(timezone.utc)
    day_old = now - timedelta(hours=26)
    # Account did not change for a day; its last sync (which found nothing new) was an hour ago
    env.write(
        "Account",
        [{"Id": "A1", "Name": "quiet", "SystemModstamp": day_old}],
        fields=FIELDS,
        extracted_at=day_old,
    )
    synced(env, "Account", now - timedelta(hours=1))
    # Contact's rows are new, but the loader has not synced it successfully for a day since
    env.write(
        "Contact",
        [{"Id": "C1", "Name": "busy", "SystemModstamp": now}],
        fields=FIELDS,
        extracted_at=now - timedelta(minutes=5),
    )
    synced(env, "Contact", day_old)
    assert freshness(env) == {"account": "pass", "contact": "error"}

    synced(env, "Account", now - timedelta(hours=13))
    synced(env, "Contact", now - timedelta(minutes=5))
    assert freshness(env) == {"account": "warn", "contact": "pass"}
