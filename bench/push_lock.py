"""Record locks by parent: a Bulk push of Contacts ordered by their Account vs the same rows in
key order, against the local org's lock model (batches of 10,000 records, 4 at a time; a
batch needing a parent another batch of its group holds fails the row with
UNABLE_TO_LOCK_ROW).

* lht: ``lht push`` of an update model selecting ``Id, AccountId, Description`` of every
  Contact (its rows go ordered by AccountId, then Id); the first ingest job's failed rows
  are the lock failures (lht sends them again in a small follow-up job);
* key order: the same rows, ordered by Id as lht sent them before ordering by parent, in one
  ingest job of the org.

Prints the rows each way fails with UNABLE_TO_LOCK_ROW, and lht's jobs and seconds.
Run: ``python bench/push_lock.py [CONTACTS]``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import BIN, BenchWorkspace, print_table, run_measured  # noqa: E402

from lht_devorg import DevOrg  # noqa: E402

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 40_000
ACCOUNTS = 400
MODEL = (
    "{{ config(materialized='table', meta={'lht_push': {'object': 'Contact', 'operation': 'update', "
    "'key': 'Id'}}) }}\nselect Id, AccountId, 'v2 ' || Id as Description from {{ ref('contact') }} "
    "where not _lht_is_deleted and AccountId is not null\n"
)


def _failures(org: DevOrg, rows: list[tuple[str, str]]) -> tuple[int, float]:
    """Rows an update job of ``rows`` (in this order) fails, and the job's seconds."""
    text = "Id,AccountId,Description\n" + "".join(f"{cid},{aid},v3 {cid}\n" for cid, aid in rows)
    started = time.perf_counter()
    job = org.ingest.create(
        {"object": "Contact", "operation": "update", "contentType": "CSV"}, "62.0"
    )
    org.ingest.upload(job["id"], text.encode())
    org.ingest.change_state(job["id"], {"state": "UploadComplete"})
    created = org.ingest.get(job["id"])
    created.done.wait(600)
    return created.failed, time.perf_counter() - started


def main() -> None:
    counts = {
        "User": 5,
        "Account": ACCOUNTS,
        "Contact": ROWS,
        "Lead": 0,
        "Opportunity": 0,
        "Case": 0,
        "Task": 0,
        "Invoice__c": 0,
        "Attachment": 0,
    }
    with tempfile.TemporaryDirectory(prefix="lht-bench-lock-") as tmp:
        root = Path(tmp)
        with DevOrg(
            counts=counts, db_path=root / "org.duckdb", state_dir=root / "org", bulk_job_seconds=0.1
        ) as org:
            ws = BenchWorkspace(org, root)
            ws.sync("Contact")
            models = ws.project / "models" / "bench"
            models.mkdir()
            (models / "push_contacts.sql").write_text(MODEL)
            ws.run("add", "--push", "push_contacts")
            ws.dbt("build", "--select", "contact", "push_contacts+", "lht_push_results")
            rows = (
                org.engine.cursor()
                .execute(
                    f'select "Id", "AccountId" from {org.engine.table("Contact")} '
                    'where not "IsDeleted" and "AccountId" is not null order by "Id"'
                )
                .fetchall()
            )
            jobs_before = len(org.ingest.registry.created())
            push = [
                str(BIN / "lht"),
                "push",
                "--json",
                "--project-dir",
                str(ws.project),
                "--profiles-dir",
                str(ws.project),
            ]
            code, out, err, lht_s, _ = run_measured(push, ws.env, ws.root)
            if code != 0:
                raise SystemExit(f"lht push failed:\n{out[-2000:]}\n{err[-3000:]}")
            report = json.loads(out)["results"][0]
            jobs = org.ingest.registry.created()[jobs_before:]
            parent_failed = jobs[0].failed
            key_failed, key_s = _failures(org, [(r[0], r[1]) for r in rows])
            print_table(
                f"Bulk update of {len(rows):,} Contacts over {ACCOUNTS} Accounts: UNABLE_TO_LOCK_ROW",
                ["order", "rows failed on a lock", "share", "jobs", "seconds"],
                [
                    [
                        "lht push (by AccountId, then Id)",
                        f"{parent_failed:,}",
                        f"{parent_failed / len(rows):.2%}",
                        len(jobs),
                        f"{lht_s:.1f}",
                    ],
                    [
                        "same rows by Id (one job)",
                        f"{key_failed:,}",
                        f"{key_failed / len(rows):.2%}",
                        1,
                        f"{key_s:.1f}",
                    ],
                ],
            )
            print(
                f"\nlht push: {report['updated']:,} updated, {report['failed']:,} failed, "
                f"{report['bulk_batches']} Bulk batches, {report['api_calls']} API calls"
            )


if __name__ == "__main__":
    main()
