"""`lht report`: one self-contained HTML page from the run history, opened in a real browser
(Debian's headless Chromium, with every network request refused) to see its charts drawn."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from lht.warehouse.connection import connect, load_target
from lht.warehouse.runs import RunRow, write_runs

REPO = Path(__file__).resolve().parents[2]
LHT = str(Path(sys.executable).with_name("lht"))
CHARTS = ("lht-sync-rows", "lht-sync-seconds", "lht-api-usage", "lht-writeback", "lht-freshness")
HOSTILE = "<script>document.title='owned'</script> & more"


def chromium() -> str:
    """Debian's chromium, which `make test` (and so CI) installs."""
    found = shutil.which("chromium")
    assert found, (
        "Debian's chromium is not installed: `make test` installs it (apt-get install chromium)"
    )
    return found


def rendered_dom(page: Path, profile: Path) -> str:
    """The page's DOM after Chromium ran its scripts, with any network request refused."""
    argv = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
        "--virtual-time-budget=15000",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _history(root: Path) -> None:
    """A week of runs: syncs of two objects (one failing three times), a push with rejected
    rows, a merge and a refused run."""
    target = load_target(root / "dbt_project", root / "dbt_project")
    now = datetime.now(timezone.utc)
    rows: list[RunRow] = []
    for n in range(6):
        start = now - timedelta(days=6 - n, minutes=5)
        end, run_id = start + timedelta(seconds=40), f"{start:%Y%m%dT%H%M%SZ}-sync{n}"
        usage = {"api_usage_used": 1000 + 900 * n, "api_usage_limit": 15000}
        failing = n >= 3
        rows += [
            RunRow(
                run_id,
                "sync",
                "Account",
                start,
                end,
                "ok",
                1 if failing else 0,
                "incremental",
                "rest",
                12.5 + n,
                100 * n,
                3,
                1,
                None,
                rows_extracted=100 * n,
                delete_markers=n,
                records_marked_deleted=1,
                **usage,
            ),
            RunRow(
                run_id,
                "sync",
                "Contact",
                start,
                end,
                "failed" if failing else "ok",
                1 if failing else 0,
                "incremental",
                None if failing else "bulk",
                30.0 - n,
                0 if failing else 5000,
                6,
                0,
                HOSTILE if failing else None,
                **usage,
            ),
            RunRow(
                run_id,
                "sync",
                None,
                start,
                end,
                "failed" if failing else "ok",
                1 if failing else 0,
                seconds=40.0,
                api_calls=1,
                **usage,
            ),
        ]
    start = now - timedelta(hours=2)
    rows += [
        RunRow(
            "push1",
            "push",
            "push_account_scores",
            start,
            start,
            "failed",
            1,
            "update",
            "collections",
            3.0,
            90,
            2,
            rows_considered=120,
            rows_sent=100,
            rows_updated=90,
            rows_failed=10,
            rows_unchanged=20,
            error_message="FIELD_CUSTOM_VALIDATION_EXCEPTION: score too high",
        ),
        RunRow("push1", "push", None, start, start, "failed", 1, seconds=3.0),
        RunRow(
            "merge1",
            "merge",
            "dedup_accounts",
            start,
            start,
            "ok",
            0,
            None,
            "soap",
            1.0,
            4,
            2,
            rows_considered=5,
            rows_sent=4,
            rows_merged=4,
            rows_already_merged=1,
            merge_requests=3,
        ),
        RunRow("merge1", "merge", None, start, start, "ok", 0, seconds=1.0, api_calls=1),
        RunRow(
            "refused1",
            "sync",
            None,
            now,
            now,
            "refused",
            3,
            seconds=0.1,
            error_message="Another lht sync holds the lock on lht.duckdb",
        ),
    ]
    wh = connect(target)
    try:
        write_runs(wh, rows)
    finally:
        wh.close()


@pytest.fixture
def project_root(tmp_path: Path) -> Path:
    """A copy of the project with the default DuckDB target (lht.duckdb in the current folder)."""
    shutil.copytree(
        REPO / "dbt_project",
        tmp_path / "dbt_project",
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "*.duckdb*"),
    )
    return tmp_path


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "LHT_", "DBT_"))}


def test_the_report_draws_every_chart_in_a_browser_without_network(
    project_root: Path, monkeypatch
) -> None:
    monkeypatch.chdir(
        project_root
    )  # the default target's lht.duckdb is relative to it, as for the user
    _history(project_root)
    done = subprocess.run(
        [
            LHT,
            "report",
            "--output",
            "report.html",
            "--project-dir",
            "dbt_project",
            "--profiles-dir",
            "dbt_project",
        ],
        cwd=project_root,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    page = project_root / "report.html"
    assert str(page) in done.stdout, "the command says where the report is"
    html = page.read_text(encoding="utf-8")
    assert not re.search(
        r"""<(script|link|img|iframe)[^>]+(src|href)\s*=\s*["']?(https?:)?//""", html, re.I
    ), "the page loads something from the network"

    dom = rendered_dom(page, project_root / "chromium-profile")
    for chart in CHARTS:
        match = re.search(rf'<div id="{chart}"[^>]*>(.*?)</section>', dom, re.S)
        assert match, f"chart {chart} is not on the page"
        drawn = match.group(1)
        assert 'class="main-svg"' in drawn, f"chart {chart} was not drawn"
        assert re.search(r'class="(trace scatter|trace bars|point)', drawn), (
            f"chart {chart} has no data drawn"
        )
    assert "&lt;script&gt;document.title='owned'&lt;/script&gt; &amp; more" in dom, (
        "a message was not escaped"
    )
    assert "<title>lht run history" in dom, "a message ran as a script"
    for text in (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION: score too high",
        "Another lht sync holds the lock",
        "push_account_scores",
        "dedup_accounts",
    ):
        assert text in dom, text
    assert "Never synced successfully: Case, Lead, Opportunity, Task, User." in dom


def test_the_report_of_a_warehouse_without_runs_says_so(project_root: Path) -> None:
    done = subprocess.run(
        [
            LHT,
            "report",
            "-o",
            "out/report.html",
            "--project-dir",
            "dbt_project",
            "--profiles-dir",
            "dbt_project",
        ],
        cwd=project_root,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    html = (project_root / "out" / "report.html").read_text(encoding="utf-8")
    assert "No sync run in this period." in html and "No failure in this period." in html
    assert (
        "Never synced successfully: Account, Case, Contact, Lead, Opportunity, Task, User." in html
    )
