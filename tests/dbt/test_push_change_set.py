"""The push change set (lht_push_* macros) and the lht_push_results model, on DuckDB and on the
Snowflake dialect (fakesnow): what is sent, what is left alone, in key order, each key once."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest

from lht.constants import PUSH_RESULTS_TABLE
from lht.manifest import Manifest
from lht.push.changeset import column_of, compile_sql, counts, key_problems, stream_changes
from lht.warehouse.results import PushResult, ensure_push_results, write_push_results

if TYPE_CHECKING:
    from conftest import DbtEnv

pytestmark = pytest.mark.slow
T0 = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)


NAMES = ("scores", "scores_full", "scores_insert")
#: Rows whose values differ only in ways a careless fingerprint confuses (separators, NULL
#: and empty text, text that looks like an encoding's own marks): each must hash apart.
HASH_PROBES = [("H1", "a,b", "c"), ("H2", "a", "b,c"), ("H3", None, ""), ("H4", "", None), ("H5", "~", None),
               ("H6", None, "~"), ("H7", "null", None), ("H8", None, None), ("H9", "1:a", None), ("H10", '["a"]', None),
               ("H11", "a\",\"b", None), ("H12", "a", "\",\"b")]


def _spec(env: DbtEnv, wh, name: str, operation: str = "update", full: bool = False) -> dict:
    relation = f"{wh.quote('marts')}.{wh.quote('push_model')}"
    key = "ID" if env.engine == "snowflake" else "Id"
    columns = ["ID", "ACCOUNT_SCORE__C"] if env.engine == "snowflake" else ["Id", "Account_Score__c"]
    return {"name": name, "relation": relation, "results": wh.table(PUSH_RESULTS_TABLE), "operation": operation,
            "key": key, "columns": columns, "full": full, "mirror": False}


def _changes(wh, sql) -> list[tuple[str, str, str]]:
    out = []
    for batch in stream_changes(wh, sql, batch_rows=2):
        rows = batch.to_pylist()
        key, action, change = (column_of(batch, c) for c in ("_lht_key", "_lht_action", "_lht_change"))
        out += [(r[key], r[action], r[change]) for r in rows]
    return out


def _write(wh, results: list[PushResult], at: datetime) -> None:
    """The same results for the three pushes (they read their own names)."""
    write_push_results(wh, [PushResult(**{**vars(r), "push_name": n}) for n in NAMES for r in results], attempted_at=at)


def test_the_change_set_sends_new_failed_and_changed_rows_only_and_tells_rows_apart(env: DbtEnv) -> None:
    wh = env.warehouse()
    model = None
    try:
        model = f"{wh.quote('marts')}.{wh.quote('push_model')}"
        wh.execute(f"create schema if not exists {wh.quote('marts')}")
        wh.execute(f"create table {model} (Id varchar, Account_Score__c double, _note varchar)")
        wh.execute(f"insert into {model} values ('A5', 5.0, 'x'), ('A1', 1.0, 'x'), ('A3', 3.0, null), "
                   "('A2', 2.0, 'x'), ('A4', null, 'x')")
        ensure_push_results(wh)
        specs = [_spec(env, wh, "scores"), _spec(env, wh, "scores_full", full=True),
                 _spec(env, wh, "scores_insert", operation="insert")]
        probe = f"{wh.quote('marts')}.{wh.quote('hash_probe')}"
        wh.execute(f"create table {probe} (Id varchar, a varchar, b varchar)")
        for row in HASH_PROBES:
            wh.execute(f"insert into {probe} values (?, ?, ?)", list(row))
        upper = env.engine == "snowflake"
        specs.append({**_spec(env, wh, "hash_probe"), "relation": probe,
                      "columns": ["A", "B"] if upper else ["a", "b"]})
    finally:
        wh.close()  # dbt opens the DuckDB file to render the macros
    manifest = Manifest(path=env.project / "target" / "manifest.json", nodes={})
    compiled = compile_sql(env.project, env.target, manifest, specs)
    sql, full, once = (compiled[n] for n in NAMES)
    wh = env.warehouse()
    try:
        probes = {}
        for batch in stream_changes(wh, compiled["hash_probe"], batch_rows=100):
            probes.update(zip(batch.column(column_of(batch, "_lht_key")).to_pylist(),
                              batch.column(column_of(batch, "_lht_values_hash")).to_pylist()))
        assert len(probes) == len(HASH_PROBES) and len(set(probes.values())) == len(HASH_PROBES), probes
        # the documented text on every engine: `<length>:<text>` or `~` for NULL, comma-separated
        assert probes == {key: hashlib.md5(",".join("~" if v is None else f"{len(v)}:{v}" for v in values)
                                           .encode()).hexdigest() for key, *values in HASH_PROBES}

        assert key_problems(wh, sql) == []
        first = _changes(wh, sql)
        assert first == [(f"A{i}", "update", "new") for i in range(1, 6)]  # key order, each once, across batches

        hashes = {}
        for batch in stream_changes(wh, sql, batch_rows=100):
            hashes.update(zip(batch.column(column_of(batch, "_lht_key")).to_pylist(),
                              batch.column(column_of(batch, "_lht_values_hash")).to_pylist()))
        _write(wh, [PushResult("scores", "Account", k, "update", True, salesforce_id=k, created=False, values_hash=h,
                               attempted_at=T0) for k, h in hashes.items()], T0)
        assert _changes(wh, sql) == [] and counts(wh, sql) == {("none", "unchanged"): 5}

        later = T0 + timedelta(hours=1)
        _write(wh, [PushResult("scores", "Account", "A2", "update", False, error_code="X", error_message="no",
                               attempted_at=later)], later)
        wh.execute(f"update {model} set Account_Score__c = 30.0 where Id = 'A3'")
        assert _changes(wh, sql) == [("A2", "update", "retry"), ("A3", "update", "changed")]
        # a tie on attempted_at goes to the later batch: A2 accepted at the failure's time, then failed again
        _write(wh, [PushResult("scores", "Account", "A2", "update", True, salesforce_id="A2", created=False,
                               values_hash=hashes["A2"], attempted_at=later)], later)
        assert _changes(wh, sql) == [("A3", "update", "changed")]
        _write(wh, [PushResult("scores", "Account", "A2", "update", False, error_code="X", error_message="no",
                               attempted_at=later)], later)
        assert _changes(wh, sql) == [("A2", "update", "retry"), ("A3", "update", "changed")]
        assert len(_changes(wh, full)) == 5
        assert _changes(wh, once) == []  # an insert accepted once is never sent again, even after a failure

        wh.execute(f"insert into {model} values ('A1', 9.0, 'x'), (null, 1.0, 'x')")
        assert key_problems(wh, sql) == [(None, 1), ("A1", 2)]
    finally:
        wh.close()

    env.dbt("build", "--select", "lht_push_results").check()
    results = {r[0]: r[1:] for r in env.query(
        "select key_value, success, error_code, last_success_at is not null, accepted_values_hash is not null "
        "from salesforce.lht_push_results where push_name = 'scores' order by key_value")}
    assert results["A2"] == (False, "X", True, True)  # the failure after a success keeps when it last succeeded
    assert results["A1"] == (True, None, True, True) and len(results) == 5


PUSH_UNIT_TESTS = {
    "lht_push_results_first_build_keeps_the_newest_attempt_and_the_last_accepted_values",
    "lht_push_results_incremental_reads_new_batches_and_keeps_what_was_accepted_before",
    "lht_push_change_set_sends_new_failed_and_changed_rows_only",
    "lht_push_change_set_of_an_insert_never_sends_an_accepted_key_again",
}


def test_unit_tests_of_the_push_models_pass(env: DbtEnv) -> None:
    result = env.dbt("test", "--select", "test_type:unit,lht_push_results", "test_type:unit,lht_push_change_set_example")
    outcomes = {r["unique_id"].split(".")[-1]: r["status"] for r in result.results()}
    assert set(outcomes) == PUSH_UNIT_TESTS and set(outcomes.values()) == {"pass"}, (outcomes, result.output[-3000:])


def test_rendering_the_push_sql_reuses_dbts_partial_parse_unless_the_pushes_need_vars(
        duckdb_env: DbtEnv, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lht.push import changeset

    env = duckdb_env
    env.dbt("parse").check()  # as `dbt build` leaves it: target/partial_parse.msgpack
    wh = env.warehouse()
    try:
        spec = _spec(env, wh, "scores")
    finally:
        wh.close()
    manifest = Manifest(path=env.project / "target" / "manifest.json", nodes={})

    def render(logs: str) -> tuple[dict, str]:
        (env.project / "target" / changeset.CACHE_FILE).unlink(missing_ok=True)
        monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / logs))
        compiled = compile_sql(env.project, env.target, manifest, [spec])
        return compiled, (tmp_path / logs / "dbt.log").read_text()

    reused, log = render("reused")
    assert "Partial parsing enabled, no changes found, skipping parsing" in log
    assert "Unable to do partial parsing" not in log

    monkeypatch.setattr(changeset, "SPECS_ENV_MAX", 10)  # pushes too large for the environment
    through_vars, log = render("vars")
    assert "Unable to do partial parsing" in log, "--vars changed, so dbt parsed the project again"
    assert through_vars == reused
