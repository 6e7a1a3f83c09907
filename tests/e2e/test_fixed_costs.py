"""The fixed cost of a run with nothing to do: on Snowflake every statement is a round trip
(and keeps a warehouse running), so an unchanged run sends a fixed handful, whatever the
number of objects: claim the run lock, read every state and cached describe, save the
states, write the run history, release the lock. Counted as fakesnow receives them."""

from __future__ import annotations

from pathlib import Path

import pytest

from lht_devorg import DevOrg

from .conftest import make_workspace

#: The target of an unchanged run, plus one per object that changed.
UNCHANGED_RUN_STATEMENTS = 5


@pytest.mark.snowflake
def test_an_unchanged_run_sends_at_most_five_statements_to_snowflake(
    org: DevOrg, tmp_path: Path, fakesnow_server: dict, statements: list[str]
) -> None:
    ws = make_workspace("snowflake", tmp_path, org, fakesnow_server)
    ws.sync()
    ws.sync()  # the first incremental run settles every object's delete check
    statements.clear()
    report = ws.sync().report
    changed = [
        r["object_name"] for r in report["results"] if r["rows_written"] or r["delete_markers"]
    ]
    assert report["ok"] and len(report["results"]) == 7 and not changed, report
    sent = [s for s in statements if not s.upper().startswith(("SELECT CURRENT_", "SHOW ", "USE "))]
    assert len(sent) <= UNCHANGED_RUN_STATEMENTS + len(changed), "\n".join(sent)
    kinds = [s.split()[0].upper() for s in sent]
    assert kinds.count("MERGE") == 2 and kinds.count("INSERT") == 1, "\n".join(sent)


@pytest.mark.snowflake
def test_an_unchanged_run_saves_every_object_state_and_its_history_on_snowflake(
    org: DevOrg, tmp_path: Path, fakesnow_server: dict
) -> None:
    ws = make_workspace("snowflake", tmp_path, org, fakesnow_server)
    ws.sync()
    ws.sync()
    _, before = ws.query(
        "select object_name, last_success_at from salesforce_staging._lht_state order by 1"
    )
    report = ws.sync().report
    _, after = ws.query(
        "select object_name, last_success_at from salesforce_staging._lht_state order by 1"
    )
    assert [name for name, _ in after] == [name for name, _ in before] and len(after) == 7
    assert all(new > old for (_, old), (_, new) in zip(before, after, strict=True)), (
        "every state moved on"
    )
    _, runs = ws.query(
        "select count(*), count(distinct _lht_batch_id) from salesforce_staging._lht_runs "
        f"where run_id = '{report['run_id']}'"
    )
    assert runs == [(8, 1)], "the run's 7 object rows and its own row, as one batch"
