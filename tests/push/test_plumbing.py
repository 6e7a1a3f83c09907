"""The pieces push (and merge) stand on: the manifest reader and result rows through the writer."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from loader.conftest import duck_wh, snow_wh  # noqa: E402,F401  (fixtures)

from lht.errors import ConfigError
from lht.manifest import load_manifest
from lht.warehouse.connection import Warehouse
from lht.warehouse.results import PushResult, ensure_push_results, write_push_results
from lht.writeback import FAILED, OK, REFUSED, ModelReport, WritebackReport

AT = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=timezone.utc)


def _node(
    name: str, parents: list[str] = (), meta: dict | None = None, kind: str = "model"
) -> tuple[str, dict]:
    uid = f"{kind}.lht.{name}"
    return uid, {
        "name": name,
        "resource_type": kind,
        "depends_on": {"nodes": list(parents)},
        "config": {"meta": meta or {}},
        "database": "lht",
        "schema": "marts",
        "alias": name,
        "relation_name": f'"lht"."marts"."{name}"',
    }


def _write_manifest(project: Path, nodes: dict) -> None:
    (project / "dbt_project.yml").write_text("name: p\n")
    (project / "target").mkdir(parents=True, exist_ok=True)
    (project / "target" / "manifest.json").write_text(json.dumps({"nodes": nodes}))


def test_push_models_come_in_dag_order_then_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    push = {"lht_push": {"object": "Account", "operation": "update", "key": "Id"}}
    nodes = dict(
        [
            _node("z_base"),
            _node("b_push", ["model.lht.z_base"], push),
            _node("a_push", ["model.lht.c_push"], push),  # after c_push in the DAG despite its name
            _node("c_push", ["model.lht.z_base"], push),
            _node("not_push", ["model.lht.z_base"]),
            _node("merge_me", [], {"lht_merge": {"object": "Account"}}),
        ]
    )
    _write_manifest(tmp_path, nodes)
    manifest = load_manifest(tmp_path)
    pushes = manifest.models_with_meta("lht_push")
    assert [m.name for m in pushes] == ["b_push", "c_push", "a_push"]
    assert pushes[0].relation == '"lht"."marts"."b_push"'
    assert pushes[0].options["object"] == "Account"
    assert [m.name for m in manifest.models_with_meta("lht_merge")] == ["merge_me"]
    assert [m.name for m in manifest.select(pushes, ["A_PUSH", "b_push"], "push")] == [
        "b_push",
        "a_push",
    ]
    with pytest.raises(ConfigError, match="nope: no push model"):
        manifest.select(pushes, ["nope"], "push")


def test_a_missing_manifest_says_to_run_dbt_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    (tmp_path / "dbt_project.yml").write_text("name: p\n")
    with pytest.raises(ConfigError, match="run `dbt build`"):
        load_manifest(tmp_path)


@pytest.fixture(params=["duckdb", pytest.param("snowflake", marks=pytest.mark.snowflake)])
def results_wh(request: pytest.FixtureRequest) -> Warehouse:
    return request.getfixturevalue({"duckdb": "duck_wh", "snowflake": "snow_wh"}[request.param])


def test_push_results_land_through_the_writer_with_every_column(results_wh: Warehouse) -> None:
    ensure_push_results(results_wh)
    rows = [
        PushResult(
            "scores",
            "Account",
            "001A",
            "update",
            True,
            salesforce_id="001A",
            created=False,
            values_hash="h1",
        ),
        PushResult(
            "scores",
            "Account",
            'it\'s "quoted"',
            "update",
            False,
            error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION",
            error_message="line 1\nline 2, with 'quotes'",
            values_hash="h2",
            job_id="750X",
            attempted_at=datetime(2024, 5, 1, 11, 0, tzinfo=timezone.utc),
        ),
    ]
    written = write_push_results(results_wh, rows, attempted_at=AT)
    assert written.rows == 2 and written.batch_id
    q = results_wh.quote
    got = results_wh.execute(
        f"select {q('key_value')}, {q('success')}, {q('error_message')}, {q('job_id')}, {q('attempted_at')}, "
        f"{q('_lht_kind')} from {results_wh.table('_lht_push_results')} order by {q('key_value')}"
    )
    assert [(r[0], r[1], r[2], r[3], r[5]) for r in got] == [
        ("001A", True, None, None, "push_result"),
        ('it\'s "quoted"', False, "line 1\nline 2, with 'quotes'", "750X", "push_result"),
    ]
    assert got[0][4].astimezone(timezone.utc) == AT
    assert got[1][4].astimezone(timezone.utc) == datetime(2024, 5, 1, 11, 0, tzinfo=timezone.utc)


def test_the_report_exit_code_is_2_for_a_refusal_then_1_for_failures() -> None:
    report = WritebackReport(command="push", started_at=AT)
    report.results = [ModelReport("a", "Account", "update", status=OK)]
    assert report.exit_code == 0
    report.results.append(ModelReport("b", "Account", "update", status=FAILED))
    assert report.exit_code == 1
    report.results.append(ModelReport("c", "Account", "update", status=REFUSED))
    assert report.exit_code == 2 and report.to_dict()["exit_code"] == 2
