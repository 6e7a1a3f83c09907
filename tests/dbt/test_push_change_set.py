"""The push change-set views (lht_push_changes) and the lht_push_results model, on DuckDB and on
the Snowflake dialect (fakesnow): dbt builds the view, the loader only reads it. What is sent,
what is left alone, in key order, each key once, the NULL and duplicate keys first; a push
right after another sees its results without a build between."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest

from lht.manifest import load_manifest
from lht.push.changeset import (
    ChangeSet,
    change_views,
    column_of,
    counts,
    problem_keys,
    stream_changes,
)
from lht.warehouse.results import PushResult, ensure_push_results, write_push_results

if TYPE_CHECKING:
    from conftest import DbtEnv

pytestmark = pytest.mark.slow
T0 = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)

NAMES = ("scores", "scores_insert")
#: Rows whose values differ only in ways a careless fingerprint confuses (separators, NULL
#: and empty text, text that looks like an encoding's own marks): each must hash apart.
HASH_PROBES = [
    ("H1", "a,b", "c"),
    ("H2", "a", "b,c"),
    ("H3", None, ""),
    ("H4", "", None),
    ("H5", "~", None),
    ("H6", None, "~"),
    ("H7", "null", None),
    ("H8", None, None),
    ("H9", "1:a", None),
    ("H10", '["a"]', None),
    ("H11", 'a","b', None),
    ("H12", "a", '","b'),
]


def _push_model(env: DbtEnv, name: str, source: str, **push: str) -> None:
    """A push model (a view over a table the test changes) and its change-set view, as the README writes them."""
    folder = env.project / "models" / "push_tests"
    folder.mkdir(exist_ok=True)
    meta = json.dumps({"lht_push": {"object": "Account", **push}})
    (folder / f"{name}.sql").write_text(
        f"{{{{ config(materialized='view', meta={meta}) }}}}\nselect * from {source}\n"
    )
    (folder / f"{name}__lht_changes.sql").write_text(f"{{{{ lht.lht_push_changes('{name}') }}}}\n")


def _changes(wh, changes: ChangeSet) -> list[tuple[str, str, str]]:
    out = []
    for batch in stream_changes(wh, changes, batch_rows=2):
        key, action, change = (
            column_of(batch, c) for c in ("_lht_key", changes.action, "_lht_change")
        )
        out += [(r[key], r[action], r[change]) for r in batch.to_pylist()]
    return out


def _fingerprint(values: list[str | None]) -> str:
    """The documented fingerprint of a row: md5 of `<length>:<text>` (`~` for NULL), comma-separated."""
    return hashlib.md5(
        ",".join("~" if v is None else f"{len(v)}:{v}" for v in values).encode()
    ).hexdigest()


def _write(wh, results: list[PushResult], at: datetime) -> None:
    """The same results for both pushes (they read their own names)."""
    write_push_results(
        wh,
        [PushResult(**{**vars(r), "push_name": n}) for n in NAMES for r in results],
        attempted_at=at,
    )


def test_the_change_set_view_sends_new_failed_and_changed_rows_only_and_tells_rows_apart(
    env: DbtEnv,
) -> None:
    wh = env.warehouse()
    try:
        source = f"{wh.quote('marts')}.{wh.quote('push_source')}"
        wh.execute(f"create schema if not exists {wh.quote('marts')}")
        wh.execute(f"create table {source} (Id varchar, Account_Score__c double, _note varchar)")
        wh.execute(
            f"insert into {source} values ('A5', 5.0, 'x'), ('A1', 1.0, 'x'), ('A3', 3.0, null), "
            "('A2', 2.0, 'x'), ('A4', null, 'x')"
        )
        probe = f"{wh.quote('marts')}.{wh.quote('hash_probe')}"
        wh.execute(f"create table {probe} (Id varchar, a varchar, b varchar)")
        for row in HASH_PROBES:
            wh.execute(f"insert into {probe} values (?, ?, ?)", list(row))
        ensure_push_results(wh)  # as `lht sync` leaves it before the first build
    finally:
        wh.close()  # DuckDB: one process per file
    _push_model(env, "scores", "marts.push_source", operation="update", key="Id")
    _push_model(env, "scores_insert", "marts.push_source", operation="insert", key="Id")
    _push_model(env, "hash_probe", "marts.hash_probe", operation="update", key="Id")
    env.dbt("build", "--select", "push_tests").check()
    views = change_views(load_manifest(env.project))
    sql, once, probes_view = (
        ChangeSet(n, views[n].relation) for n in ("scores", "scores_insert", "hash_probe")
    )
    full = ChangeSet("scores", views["scores"].relation, full=True)
    wh = env.warehouse()
    try:
        probes = {}
        for batch in stream_changes(wh, probes_view, batch_rows=100):
            probes.update(
                zip(
                    batch.column(column_of(batch, "_lht_key")).to_pylist(),
                    batch.column(column_of(batch, "_lht_values_hash")).to_pylist(),
                    strict=True,
                )
            )
        assert len(probes) == len(HASH_PROBES) and len(set(probes.values())) == len(HASH_PROBES), (
            probes
        )
        # the documented text on every engine: `<length>:<text>` or `~` for NULL, comma-separated
        # (over every column sent: the key Id too)
        assert probes == {row[0]: _fingerprint(list(row)) for row in HASH_PROBES}

        first = _changes(wh, sql)
        assert first == [
            (f"A{i}", "update", "new") for i in range(1, 6)
        ]  # key order, each once, across batches
        head = next(stream_changes(wh, sql, 10))
        spec = json.loads(head.column(column_of(head, "_lht_spec"))[0].as_py())
        assert spec == {
            "operation": "update",
            "key": "ID" if env.engine == "snowflake" else "Id",
            "mirror": False,
            "results_live": True,
        }

        hashes = {}
        for batch in stream_changes(wh, sql, batch_rows=100):
            hashes.update(
                zip(
                    batch.column(column_of(batch, "_lht_key")).to_pylist(),
                    batch.column(column_of(batch, "_lht_values_hash")).to_pylist(),
                    strict=True,
                )
            )
        # worked out here from each value's text as the engine writes it, not taken from lht
        texts = wh.execute(
            f"select Id, cast(Account_Score__c as {'varchar' if env.engine == 'duckdb' else 'text'}) "
            f"from {source}"
        )
        assert hashes == {key: _fingerprint([key, text]) for key, text in texts}
        # the results are read live: no dbt build between a push and the next
        _write(
            wh,
            [
                PushResult(
                    "scores",
                    "Account",
                    k,
                    "update",
                    True,
                    salesforce_id=k,
                    created=True,
                    values_hash=h,
                    attempted_at=T0,
                )
                for k, h in hashes.items()
            ],
            T0,
        )
        assert _changes(wh, sql) == [] and counts(wh, sql)[:3] == (
            {("none", "unchanged"): 5},
            [],
            json.dumps(spec),
        )

        later = T0 + timedelta(hours=1)
        _write(
            wh,
            [
                PushResult(
                    "scores",
                    "Account",
                    "A2",
                    "update",
                    False,
                    error_code="X",
                    error_message="no",
                    attempted_at=later,
                )
            ],
            later,
        )
        wh.execute(f"update {source} set Account_Score__c = 30.0 where Id = 'A3'")
        assert _changes(wh, sql) == [("A2", "update", "retry"), ("A3", "update", "changed")]
        # a tie on attempted_at goes to the later batch: A2 accepted at the failure's time, then failed again
        _write(
            wh,
            [
                PushResult(
                    "scores",
                    "Account",
                    "A2",
                    "update",
                    True,
                    salesforce_id="A2",
                    created=False,
                    values_hash=hashes["A2"],
                    attempted_at=later,
                )
            ],
            later,
        )
        assert _changes(wh, sql) == [("A3", "update", "changed")]
        _write(
            wh,
            [
                PushResult(
                    "scores",
                    "Account",
                    "A2",
                    "update",
                    False,
                    error_code="X",
                    error_message="no",
                    attempted_at=later,
                )
            ],
            later,
        )
        assert _changes(wh, sql) == [("A2", "update", "retry"), ("A3", "update", "changed")]
        assert len(_changes(wh, full)) == 5
        assert (
            _changes(wh, once) == []
        )  # an insert accepted once is never sent again, even after a failure

        # NULL and duplicate keys sort first, so the first batch tells the push to refuse
        wh.execute(f"insert into {source} values ('A1', 9.0, 'x'), (null, 1.0, 'x')")
        head = next(stream_changes(wh, sql, batch_rows=100))
        assert problem_keys(head) == [(None, 1), ("A1", 2)]
        assert counts(wh, sql)[1] == [(None, 1), ("A1", 2)]
    finally:
        wh.close()

    env.dbt("build", "--select", "lht_push_results").check()
    results = {
        r[0]: r[1:]
        for r in env.query(
            "select key_value, success, error_code, last_success_at is not null, accepted_values_hash is not null "
            "from salesforce.lht_push_results where push_name = 'scores' order by key_value"
        )
    }
    assert results["A2"] == (
        False,
        "X",
        True,
        True,
    )  # the failure after a success keeps when it last succeeded
    assert results["A1"] == (True, None, True, True) and len(results) == 5


PUSH_UNIT_TESTS = {
    "lht_push_results_first_build_keeps_the_newest_attempt_and_the_last_accepted_values",
    "lht_push_results_incremental_reads_new_batches_and_keeps_what_was_accepted_before",
    "lht_push_change_set_sends_new_failed_and_changed_rows_only",
    "lht_push_change_set_of_an_insert_never_sends_an_accepted_key_again",
    "lht_push_change_set_counts_the_rows_of_each_key",
    "lht_push_change_set_with_mirror_deletes_what_the_push_created_and_left_the_model",
}


def test_unit_tests_of_the_push_models_pass(env: DbtEnv) -> None:
    result = env.dbt(
        "test",
        "--select",
        "test_type:unit,lht_push_results",
        "test_type:unit,lht_push_changes_example",
    )
    outcomes = {r["unique_id"].split(".")[-1]: r["status"] for r in result.results()}
    assert set(outcomes) == PUSH_UNIT_TESTS and set(outcomes.values()) == {"pass"}, (
        outcomes,
        result.output[-3000:],
    )


def test_the_macros_check_names_with_the_loaders_rules() -> None:
    """lht_names.sql spells lht.names.PATTERNS again (Jinja cannot import Python): same strings."""
    import re
    from pathlib import Path

    from lht.names import PATTERNS

    text = (
        Path(__file__).resolve().parents[2] / "dbt_project" / "macros" / "lht_names.sql"
    ).read_text()
    segment = re.search(r"set segment = '([^']+)'", text).group(1)
    field = f"{segment}(?:__{segment}){{0,3}}"
    assert PATTERNS["field"] == field
    assert (
        "'object': segment ~ '(?:__' ~ segment ~ '){0,2}'" in text
        and PATTERNS["object"] == f"{segment}(?:__{segment}){{0,2}}"
    )
    assert f"'identifier': '{PATTERNS['identifier']}'" in text
    assert "'push_column': field ~ '(?:\\\\.' ~ field ~ ')?|_[A-Za-z0-9_]*'" in text
    assert PATTERNS["push_column"] == f"{field}(?:\\.{field})?|_[A-Za-z0-9_]*"


def test_a_view_built_before_any_push_result_existed_is_refused_once_results_exist(
    duckdb_env: DbtEnv,
) -> None:
    from lht.push.changeset import check_spec, spec_of
    from lht.push.spec import PushRefused, PushSpec

    env = duckdb_env
    env.query("create schema if not exists marts")
    env.query("create table marts.push_source as select 'A1' as Id, 1.0 as Account_Score__c")
    _push_model(env, "scores", "marts.push_source", operation="update", key="Id")
    env.dbt("build", "--select", "push_tests").check()  # no lht sync yet: no results table
    views = change_views(load_manifest(env.project))
    changes = ChangeSet("scores", views["scores"].relation)
    spec = PushSpec("scores", "marts.push_source", "Account", "update", "Id")
    wh = env.warehouse()
    try:
        built = spec_of(next(stream_changes(wh, changes, 10)))
        assert json.loads(built)["results_live"] is False
        ensure_push_results(wh)
        check_spec(wh, changes, spec, built)  # no results yet: the stand-in is right
        write_push_results(
            wh,
            [PushResult("scores", "Account", "A1", "update", True, values_hash="h")],
            attempted_at=T0,
        )
        with pytest.raises(PushRefused, match="run `dbt build`"):
            check_spec(wh, changes, spec, built)
        with pytest.raises(PushRefused, match="other meta.lht_push options"):
            check_spec(
                wh,
                changes,
                PushSpec("scores", "marts.push_source", "Account", "upsert", "Id"),
                built,
            )
    finally:
        wh.close()


def test_lht_quote_doubles_an_embedded_quote_so_a_name_cannot_leave_its_identifier(
    env: DbtEnv,
) -> None:
    """The second line of defence behind the name checks: dbt's ``adapter.quote`` leaves an
    embedded ``"`` as it is; ``lht_quote`` doubles it, and the engine reads back the name whole."""
    name = 'Name"; drop table x; --'
    shown = env.dbt(
        "show", "--inline", f"select 1 as {{{{ lht.lht_quote('{name}') }}}}", "--output", "json"
    ).check()
    start = shown.output.index('{\n  "show"')
    rows = json.JSONDecoder().raw_decode(shown.output[start:])[0]["show"]
    assert rows == [{name: 1}], shown.output[-2000:]
