"""Benchmark: a Bulk 2.0 ingest job writing N rows into the local org.

Seeds an org with N Accounts, uploads one CSV of N rows (``update`` by Id, or ``upsert`` on
External_Id__c) with a handful of columns, closes the job and polls it until it is final.
Prints the upload seconds, the processing rows/s, the failed count and the result download
seconds. Measures the org, not a client: both a loader and simple-salesforce wait on this.

    python bench/devorg_ingest.py --rows 100000 [--operation update|upsert]
"""

from __future__ import annotations

import argparse
import csv
import io
import time

import requests

from lht_devorg import DevOrg


def _csv(record_ids: list[str], operation: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    key = "Id" if operation == "update" else "External_Id__c"
    writer.writerow(
        [key, "Description", "Account_Score__c", "Customer_Tier__c", "Phone", "NumberOfEmployees"]
    )
    for n, record_id in enumerate(record_ids, start=1):
        value = record_id if operation == "update" else f"ACC-{n:08d}"
        writer.writerow(
            [
                value,
                f"Pushed line {n}\nsecond line",
                f"{n % 1000 / 10:.1f}",
                ("Gold", "Silver", "Bronze")[n % 3],
                "#N/A" if n % 7 == 0 else "",
                n % 5000,
            ]
        )
    return out.getvalue().encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--operation", choices=("update", "upsert"), default="update")
    args = parser.parse_args()
    with DevOrg(counts={"Account": args.rows, "Contact": 10}, bulk_job_seconds=0.1) as org:
        ids = [
            r[0]
            for r in org.engine.cursor()
            .execute('SELECT "Id" FROM account WHERE NOT "IsDeleted" ORDER BY "Id"')
            .fetchall()
        ]
        data = _csv(ids, args.operation)
        with requests.Session() as s:
            s.verify, s.trust_env = org.ca_path, False
            s.headers["Authorization"] = f"Bearer {org.new_token()}"
            base = f"{org.instance_url}/services/data/v59.0/jobs/ingest"
            body = {"object": "Account", "operation": args.operation, "contentType": "CSV"}
            if args.operation == "upsert":
                body["externalIdFieldName"] = "External_Id__c"
            job = s.post(base, json=body, timeout=60).json()
            t0 = time.perf_counter()
            s.put(
                f"{base}/{job['id']}/batches",
                data=data,
                headers={"Content-Type": "text/csv"},
                timeout=600,
            )
            t1 = time.perf_counter()
            s.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"}, timeout=60)
            while (info := s.get(f"{base}/{job['id']}", timeout=60).json())["state"] not in (
                "JobComplete",
                "Failed",
                "Aborted",
            ):
                time.sleep(0.2)
            t2 = time.perf_counter()
            ok = s.get(f"{base}/{job['id']}/successfulResults", timeout=600).content
            t3 = time.perf_counter()
    rows = len(ids)
    print(f"rows={rows:,} operation={args.operation} upload_mb={len(data) / 1e6:.1f}")
    print(f"upload_s={t1 - t0:.2f} processing_s={t2 - t1:.2f} rows_per_s={rows / (t2 - t1):,.0f}")
    print(
        f"state={info['state']} processed={info['numberRecordsProcessed']:,} "
        f"failed={info['numberRecordsFailed']:,} results_mb={len(ok) / 1e6:.1f} results_s={t3 - t2:.2f}"
    )


if __name__ == "__main__":
    main()
