"""`make demo`: the main job on the embedded defaults, end to end, with no credentials.

Starts the local Salesforce-compatible org (its data kept in ``.lht/`` so a second demo
finds the same org, with some fresh user activity), runs ``lht sync`` then ``dbt build``
on DuckDB exactly as a user or scheduler would, then a push: the demo model
``lht_demo_account_scores`` scores the accounts and ``lht push`` writes the scores back to
Account.Account_Score__c (only the changed ones on a second demo), and a second ``lht sync``
reads them back. Stops the org, says what happened, and ends by writing the run history as
a page (``lht report``) and saying where it is.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from lht.commands.localorg import import_local_org
from lht.errors import LocalOrgMissingError

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

ROOT = Path.cwd()
STATE_DIR = ROOT / ".lht"
PROJECT_DIR = ROOT / "dbt_project"
WAREHOUSE = ROOT / "lht.duckdb"
REPORT = ROOT / "lht-report.html"
BIN = Path(sys.executable).parent
#: Enables the demo's push model (models/demo/lht_demo_account_scores.sql).
DEMO_VARS = {"lht_demo_push": True}


def _run(
    argv: list[str], env: dict[str, str], capture: bool = False
) -> subprocess.CompletedProcess:
    console.print(f"[dim]$ {shlex.join([Path(argv[0]).name, *argv[1:]])}[/]")
    return subprocess.run(argv, env=env, cwd=ROOT, text=True, capture_output=capture, check=False)


def main() -> int:
    """Run the demo; return the process exit code."""
    try:
        import_local_org()  # when it is missing, say how to install it
    except LocalOrgMissingError as exc:
        errors.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        return exc.exit_code
    from lht.config import environment
    from lht_devorg import DevOrg
    from lht_devorg.core.activity import simulate_activity

    STATE_DIR.mkdir(exist_ok=True)
    org_db = STATE_DIR / "devorg.duckdb"
    second_run = org_db.exists() and WAREHOUSE.exists()
    began = time.monotonic()
    with DevOrg(db_path=org_db, state_dir=STATE_DIR / "devorg", keep_data=True) as org:
        if second_run:
            changed = simulate_activity(org.engine)
            console.print(f"The local org saw some user activity since the last demo: {changed}.")
        env = {
            **environment(),
            **org.env("token"),
            "LHT_DUCKDB_PATH": str(WAREHOUSE),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        console.print(
            f"Local Salesforce org at {org.instance_url} ({'incremental' if second_run else 'first'} run)"
        )
        sync = _run(
            [
                str(BIN / "lht"),
                "sync",
                "--project-dir",
                str(PROJECT_DIR),
                "--profiles-dir",
                str(PROJECT_DIR),
                "--json",
            ],
            env,
            capture=True,
        )
        if sync.stderr:
            sys.stderr.write(sync.stderr)
        report = json.loads(sync.stdout) if sync.stdout.strip().startswith("{") else None
        if report is None or sync.returncode != 0:
            console.print(sync.stdout)
            console.print("[red]lht sync failed[/]; see the messages above.")
            return sync.returncode or 1
        _print_sync(report)
        if not _build(env):
            return 1
        if not _push_and_read_back(env):
            return 1
    _print_summary(report, time.monotonic() - began, second_run)
    return _report(env)


def _build(env: dict[str, str], *select: str) -> bool:
    argv = [
        str(BIN / "dbt"),
        "build",
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--vars",
        json.dumps(DEMO_VARS),
    ]
    build = _run([*argv, *(["--select", *select] if select else [])], env)
    if build.returncode != 0:
        console.print("[red]dbt build failed[/]; see dbt's output above.")
    return build.returncode == 0


def _push_and_read_back(env: dict[str, str]) -> bool:
    """Push the demo's account scores to Salesforce, then sync Account to read them back."""
    console.print(
        "\n[bold]Push[/]: the model lht_demo_account_scores scores each account; lht push writes "
        "the changed scores back to Account.Account_Score__c."
    )
    push = _run(
        [
            str(BIN / "lht"),
            "push",
            "lht_demo_account_scores",
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
            "--json",
        ],
        env,
        capture=True,
    )
    report = json.loads(push.stdout) if push.stdout.strip().startswith("{") else None
    if report is None or push.returncode != 0:
        console.print(push.stdout + push.stderr)
        console.print("[red]lht push failed[/]; see the messages above.")
        return False
    for r in report["results"]:
        console.print(
            f"  {r['name']:<20} {r['status']:<7} {r['engine'] or '-':<11} {r['sent']:>6,} sent "
            f"{r['updated']:>6,} updated {r['unchanged']:>6,} unchanged {r['failed']:>4,} failed "
            f"{r['api_calls']:>3} API calls"
        )
    back = _run(
        [
            str(BIN / "lht"),
            "sync",
            "Account",
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
            "--json",
        ],
        env,
        capture=True,
    )
    if back.returncode != 0:
        console.print(back.stdout + back.stderr)
        return False
    if not _build(env, "account", "lht_push_results"):
        return False
    console.print(
        "Read back: the next `lht sync` brought the pushed scores into salesforce.account "
        "(select Name, Account_Score__c from salesforce.account); what was sent is in "
        "salesforce.lht_push_results."
    )
    return True


def _report(env: dict[str, str]) -> int:
    """``lht report``: the demo's runs as one HTML page; say where it is."""
    console.print()
    page = _run(
        [
            str(BIN / "lht"),
            "report",
            "--output",
            os.path.relpath(REPORT, ROOT),
            "--project-dir",
            os.path.relpath(PROJECT_DIR, ROOT),
            "--profiles-dir",
            os.path.relpath(PROJECT_DIR, ROOT),
        ],
        env,
        capture=True,
    )
    if page.returncode != 0:
        console.print(page.stdout + page.stderr)
        console.print("[red]lht report failed[/]; see the messages above.")
        return page.returncode
    console.print(
        f"Run history: {REPORT} (open it in a browser; it needs no network). "
        "`lht status` lists the last runs; `dbt test --select tag:lht_alerts` runs the alerts."
    )
    return 0


def _print_sync(report: dict) -> None:
    for r in report["results"]:
        console.print(
            f"  {r['object_name']:<14} {r['status']:<7} {r['mode']:<11} {r['engine'] or '-':<5} "
            f"{r['rows_written']:>8,} rows  {r['delete_markers']:>5,} delete markers  {r['api_calls']:>3} API calls"
        )


def _print_summary(report: dict, seconds: float, second_run: bool) -> None:
    objects = len(report["results"])
    kind = "incremental (only changed records were fetched)" if second_run else "full (first load)"
    console.print()
    console.print(
        f"[bold green]Done[/] in {seconds:.1f} s: {objects} objects, "
        f"{report['rows_written']:,} rows staged, {report['api_calls']} API calls; this run was {kind}."
    )
    console.print(
        f"Warehouse: {WAREHOUSE} (DuckDB). Main tables are in schema salesforce, staging in salesforce_staging."
    )
    console.print("Try:")
    dbt = os.path.relpath(BIN / "dbt", ROOT)
    console.print(
        f"  {dbt} show --project-dir dbt_project --profiles-dir dbt_project "
        '--inline "select Name, BillingCity, AnnualRevenue from salesforce.account '
        'where not _lht_is_deleted order by AnnualRevenue desc nulls last"'
    )
    console.print("Run `make demo` again: the second run is incremental.")


if __name__ == "__main__":
    sys.exit(main())
