"""The alerts shipped with the package: dbt tests tagged lht_alerts on lht_runs and
lht_api_usage, thresholds in vars, warn by default and error when the user says so. Each is
made to pass, then to warn, then to fail, on DuckDB and on the Snowflake dialect."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from lht.warehouse.runs import RunRow, write_runs

if TYPE_CHECKING:
    from conftest import DbtEnv

OBJECTS = ("Account", "Case", "Contact", "Lead", "Opportunity", "Task", "User")
ALERTS = (
    "lht_alert_failing_in_a_row",
    "lht_alert_push_failed_share",
    "lht_alert_api_usage",
    "lht_alert_not_synced",
)


def _sync(run_id: str, when: datetime, outcomes: dict[str, str], used: int) -> list[RunRow]:
    rows = [
        RunRow(
            run_id,
            "sync",
            name,
            when,
            when + timedelta(seconds=20),
            outcome,
            0 if outcome == "ok" else 1,
            "incremental",
            "rest",
            2.0,
            10,
            2,
            0,
            None if outcome == "ok" else f"{name} is unreadable",
            used,
            15000,
        )
        for name, outcome in outcomes.items()
    ]
    failed = any(o != "ok" for o in outcomes.values())
    return [
        *rows,
        RunRow(
            run_id,
            "sync",
            None,
            when,
            when + timedelta(seconds=20),
            "failed" if failed else "ok",
            int(failed),
            seconds=20.0,
            api_calls=1,
            api_usage_used=used,
            api_usage_limit=15000,
        ),
    ]


def _push(run_id: str, when: datetime, sent: int, failed: int, used: int) -> list[RunRow]:
    outcome = "failed" if failed else "ok"
    return [
        RunRow(
            run_id,
            "push",
            "push_scores",
            when,
            when,
            outcome,
            int(bool(failed)),
            "update",
            "collections",
            1.0,
            sent - failed,
            1,
            rows_considered=sent,
            rows_sent=sent,
            rows_updated=sent - failed,
            rows_failed=failed,
            api_usage_used=used,
            api_usage_limit=15000,
        ),
        RunRow(
            run_id,
            "push",
            None,
            when,
            when,
            outcome,
            int(bool(failed)),
            seconds=1.0,
            api_usage_used=used,
            api_usage_limit=15000,
        ),
    ]


def _write(env: DbtEnv, rows: list[RunRow]) -> None:
    wh = env.warehouse()
    try:
        write_runs(wh, rows)
    finally:
        wh.close()


def _alerts(result) -> dict[str, tuple[str, int]]:
    return {
        r["unique_id"].split(".")[2]: (r["status"], r["failures"])
        for r in result.results()
        if r["unique_id"].split(".")[2] in ALERTS
    }


def test_each_alert_passes_warns_then_fails_as_its_threshold_says(env: DbtEnv) -> None:
    now = datetime.now(timezone.utc)
    healthy: list[RunRow] = []
    for n in range(3):
        healthy += _sync(
            f"s{n}", now - timedelta(hours=3 - n), dict.fromkeys(OBJECTS, "ok"), 1000 + n
        )
    healthy += _push("p0", now - timedelta(hours=1), 100, 1, 1100)  # 1% rejected: under 5%
    healthy += _sync(
        "gone", now - timedelta(days=30), {"Gone__c": "ok"}, 900
    )  # no longer registered
    _write(env, healthy)
    built = env.dbt("build", "--select", "lht_runs", "lht_api_usage").check()
    assert _alerts(built) == {name: ("pass", 0) for name in ALERTS}, built.output[-3000:]

    crossing: list[RunRow] = []
    for n in range(3):  # Contact fails three runs in a row; the org's usage climbs past 80%
        crossing += _sync(
            f"f{n}",
            now - timedelta(minutes=30 - n),
            {**dict.fromkeys(OBJECTS, "ok"), "Contact": "failed"},
            11000 + 1000 * n,
        )
    crossing += _push("p1", now - timedelta(minutes=5), 100, 10, 13100)  # 10% rejected
    _write(env, crossing)
    warned = env.dbt("build", "--select", "lht_runs", "lht_api_usage")
    assert warned.returncode == 0, "alerts warn by default: the build goes on"
    assert _alerts(warned) == {
        "lht_alert_failing_in_a_row": ("warn", 1),
        "lht_alert_push_failed_share": ("warn", 1),
        "lht_alert_api_usage": ("warn", 1),
        "lht_alert_not_synced": ("pass", 0),
    }

    strict = env.dbt(
        "test",
        "--select",
        "tag:lht_alerts",
        vars={
            "lht_alert_severity": {"lht_alert_api_usage": "error", "default": "warn"},
            "lht_alert_failures_in_a_row": 4,
            "lht_alert_push_failed_share": 0.2,
            "lht_alert_not_synced_hours": 0.25,
        },
    )
    assert strict.returncode == 1, "an alert set to error fails the command"
    assert _alerts(strict) == {
        "lht_alert_failing_in_a_row": ("pass", 0),
        "lht_alert_push_failed_share": ("pass", 0),
        "lht_alert_api_usage": ("fail", 1),
        "lht_alert_not_synced": ("warn", len(OBJECTS)),
    }, strict.output[-3000:]
