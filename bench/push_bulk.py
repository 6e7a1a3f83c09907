"""`lht push` through Bulk API 2.0 ingest vs the naive way, same run, same rows.

100,000 changed rows of a 20-column model (Id and 19 updateable Account fields) against
the local org:

* lht: ``lht push`` of a dbt model over the rows (its change-set view, built by dbt, read from
  DuckDB; CSV streamed from Arrow batches, one ingest job, results read back and written to
  the warehouse);
* naive: the rows read with pandas, then simple-salesforce's
  ``sf.bulk2.Account.update(records=...)``.

Prints rows/s, API calls and peak RSS of each, and the calls of a second ``lht push`` with
nothing changed (target: 0). Targets: lht at least 3x the naive rows/s, peak RSS under 400 MB.
Run: ``python bench/push_bulk.py [ROWS]``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import BIN, BenchWorkspace, print_table, run_measured, running_org  # noqa: E402

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 105_000  # ~100,000 live
FIELDS = 19
TEXT_TYPES = {"string", "textarea", "phone", "url"}
NUMBER_TYPES = {"double", "currency", "percent", "int"}
#: Fields Account's duplicate rule matches on: values repeated every 997 rows would make the
#: later rows duplicates of the earlier ones (as in Salesforce), so the bench leaves them out.
DUPLICATE_RULE_FIELDS = {"Name", "Website"}


def _fields(org) -> list[dict]:
    """19 updateable, non-unique text and number fields of Account."""
    chosen = []
    for f in org.engine.describe("Account")["fields"]:
        if not f.get("updateable") or f.get("unique") or f.get("externalId") or f.get("calculated"):
            continue
        if f["name"] in DUPLICATE_RULE_FIELDS:
            continue
        if f["type"] in TEXT_TYPES and (f.get("length") or 0) >= 20 or f["type"] in NUMBER_TYPES:
            chosen.append(f)
    if len(chosen) < FIELDS:
        raise SystemExit(f"Account has only {len(chosen)} suitable fields")
    return chosen[:FIELDS]


def _expression(f: dict, salt: str) -> str:
    if f["type"] in TEXT_TYPES:
        return f"'{salt} ' || cast(i % 997 as varchar) || ' {f['name'][:8]}'"
    if f["type"] == "int":
        return "cast(i % 1000 as integer)"
    digits = max(int(f.get("precision") or 10) - int(f.get("scale") or 0) - 1, 1)
    return f"cast((i % {10 ** min(digits, 6)}) as double) + 0.5"


def _seed_rows(ws: BenchWorkspace, org, fields: list[dict], salt: str) -> int:
    import duckdb

    con = duckdb.connect(str(ws.database))
    ids = [
        r[0]
        for r in org.engine.cursor()
        .execute(
            f'select "Id" from {org.engine.table("Account")} where not "IsDeleted" order by "Id" limit {ROWS}'
        )
        .fetchall()
    ]
    con.execute("create schema if not exists bench")
    con.execute(
        "create or replace table bench.ids as select * from (select unnest(?) as Id)", [ids]
    )
    columns = ", ".join(f'{_expression(f, salt)} as "{f["name"]}"' for f in fields)
    con.execute(
        f"create or replace table bench.rows as select Id, {columns} from "
        "(select Id, row_number() over (order by Id) as i from bench.ids)"
    )
    con.close()
    return len(ids)


NAIVE = """
import duckdb, json, sys
from simple_salesforce import Salesforce
db, instance, token, version = sys.argv[1:5]
df = duckdb.connect(db, read_only=True).sql("select * from bench.rows").df()
sf = Salesforce(instance_url=instance, session_id=token, version=version)
result = sf.bulk2.Account.update(records=df.to_dict("records"))
print(json.dumps(result, default=str))
"""


def main() -> None:
    from lht.constants import API_VERSION

    with tempfile.TemporaryDirectory(prefix="lht-bench-push-") as tmp:
        root = Path(tmp)
        with running_org(
            {
                "User": 5,
                "Account": ROWS,
                "Contact": 0,
                "Lead": 0,
                "Opportunity": 0,
                "Case": 0,
                "Task": 0,
                "Invoice__c": 0,
                "Attachment": 0,
            },
            root,
        ) as (org, seeded):
            print(f"local org seeded with {ROWS:,} Accounts in {seeded:.0f}s")
            ws = BenchWorkspace(org, root)
            fields = _fields(org)
            models = ws.project / "models" / "bench"
            models.mkdir()
            (models / "push_bench.sql").write_text(
                "{{ config(materialized='view', meta={'lht_push': {'object': 'Account', 'operation': 'update', "
                "'key': 'Id'}}) }}\nselect * from bench.rows\n"
            )

            ws.run("add", "--push", "push_bench")  # its change-set view, as the README says
            ws.sync(
                "User"
            )  # as in any lht project, a sync came first (it creates the push results table)
            rows = _seed_rows(
                ws, org, fields, "naive"
            )  # the live accounts (a few seeded ones are deleted)
            script = root / "naive.py"
            script.write_text(NAIVE)
            before = org.api_calls
            code, out, err, naive_s, naive_rss = run_measured(
                [
                    sys.executable,
                    str(script),
                    str(ws.database),
                    org.instance_url,
                    org.access_token,
                    API_VERSION,
                ],
                ws.env,
                ws.root,
            )
            if code != 0:
                raise SystemExit(f"naive run failed:\n{err[-3000:]}")
            naive_calls = org.api_calls - before

            _seed_rows(ws, org, fields, "lht")  # new values: every row changed
            ws.dbt("build", "--select", "push_bench+", "lht_push_results")
            push = [
                str(BIN / "lht"),
                "push",
                "--json",
                "--project-dir",
                str(ws.project),
                "--profiles-dir",
                str(ws.project),
            ]
            # look first, as a user does (not measured)
            code, out, err, _, _ = run_measured([*push, "--dry-run"], ws.env, ws.root)
            if code != 0:
                raise SystemExit(f"lht push --dry-run failed:\n{out[-2000:]}\n{err[-3000:]}")
            before = org.api_calls
            code, out, err, lht_s, lht_rss = run_measured(push, ws.env, ws.root)
            if code != 0:
                raise SystemExit(f"lht push failed:\n{out[-2000:]}\n{err[-3000:]}")
            report = json.loads(out)["results"][0]
            lht_calls = org.api_calls - before
            if report["updated"] != rows:
                raise SystemExit(f"lht push updated {report['updated']} of {rows} rows: {report}")

            before = org.api_calls
            started = time.perf_counter()
            code, out, err, again_s, _ = run_measured(push, ws.env, ws.root)
            again_calls = org.api_calls - before
            print_table(
                f"lht push vs naive bulk2 update: {rows:,} changed rows x {FIELDS + 1} columns",
                ["way", "seconds", "rows/s", "API calls", "peak RSS MB"],
                [
                    [
                        "lht push (Bulk ingest)",
                        f"{lht_s:.1f}",
                        f"{rows / lht_s:,.0f}",
                        lht_calls,
                        f"{lht_rss:.0f}",
                    ],
                    [
                        "naive (pandas + sf.bulk2)",
                        f"{naive_s:.1f}",
                        f"{rows / naive_s:,.0f}",
                        naive_calls,
                        f"{naive_rss:.0f}",
                    ],
                    ["lht push, nothing changed", f"{again_s:.1f}", "-", again_calls, "-"],
                ],
            )
            print(
                f"\nspeed-up {naive_s / lht_s:.2f}x (target >= 3x); peak RSS {lht_rss:.0f} MB (target < 400); "
                f"no-change run {again_calls} calls (target 0); {time.perf_counter() - started:.0f}s"
            )


if __name__ == "__main__":
    main()
