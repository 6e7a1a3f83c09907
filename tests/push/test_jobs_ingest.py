"""`lht jobs` lists and shows ingest jobs too, and `lht jobs results JOB_ID` prints a job's result CSV
(`--successful`, the default, `--failed` and `--unprocessed`)."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import requests
from e2e.conftest import make_workspace

from lht.constants import API_VERSION
from lht_devorg import DevOrg


def _ingest_job(org: DevOrg, ids: list[str]) -> str:
    session = requests.Session()
    session.trust_env = False
    session.verify = org.ca_path
    session.headers["Authorization"] = f"Bearer {org.access_token}"
    base = f"{org.instance_url}/services/data/v{API_VERSION}/jobs/ingest"
    job = session.post(base, json={"object": "Account", "operation": "update"}).json()["id"]
    body = (
        "Id,Customer_Tier__c\n"
        + "\n".join(f"{i},{'Gold' if n else 'Platinum'}" for n, i in enumerate(ids))
        + "\n"
    )
    assert (
        session.put(
            f"{base}/{job}/batches", data=body.encode(), headers={"Content-Type": "text/csv"}
        ).status_code
        == 201
    )
    session.patch(f"{base}/{job}", json={"state": "UploadComplete"}).raise_for_status()
    for _ in range(200):
        if session.get(f"{base}/{job}").json()["state"] == "JobComplete":
            return job
        time.sleep(0.05)
    raise AssertionError("the ingest job did not complete")


def test_jobs_list_show_and_results_cover_ingest_jobs(tmp_path: Path) -> None:
    with DevOrg(
        counts={
            "User": 2,
            "Account": 5,
            "Contact": 0,
            "Lead": 0,
            "Opportunity": 0,
            "Case": 0,
            "Task": 0,
            "Invoice__c": 0,
            "Attachment": 0,
        },
        bulk_job_seconds=0.05,
    ) as org:
        ws = make_workspace("duckdb", tmp_path, org)
        ids = [
            r[0]
            for r in org.engine.cursor()
            .execute(f'select "Id" from {org.engine.table("Account")} order by "Id" limit 3')
            .fetchall()
        ]
        job = _ingest_job(org, ids)
        listed = json.loads(ws.run("lht", "jobs", "list", "--json").check().stdout)
        assert [(j["id"], j["jobType"], j["operation"]) for j in listed] == [
            (job, "V2Ingest", "update")
        ]
        assert (
            json.loads(ws.run("lht", "jobs", "show", job).check().stdout)["numberRecordsFailed"]
            == 1
        )
        successful = ws.run("lht", "jobs", "results", job, "--successful").check().stdout
        assert (
            ws.run("lht", "jobs", "results", job).check().stdout == successful
        )  # --successful is the default
        ok = list(csv.DictReader(io.StringIO(successful)))
        assert sorted(
            (r["sf__Id"], r["sf__Created"], r["Id"], r["Customer_Tier__c"]) for r in ok
        ) == sorted(
            (i, "false", i, "Gold") for i in ids[1:]
        )  # Salesforce's columns first, then the row as sent
        failed = list(
            csv.DictReader(
                io.StringIO(ws.run("lht", "jobs", "results", job, "--failed").check().stdout)
            )
        )
        assert [r["Id"] for r in failed] == [
            ids[0]
        ] and "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in failed[0]["sf__Error"]
        unprocessed = ws.run("lht", "jobs", "results", job, "--unprocessed").check().stdout
        assert list(csv.reader(io.StringIO(unprocessed))) == [["Id", "Customer_Tier__c"]]
        assert job in ws.run("lht", "jobs", "delete", job).check().stdout


def test_jobs_show_and_results_read_the_job_ids_lht_push_results_records(pws) -> None:
    from .conftest import BULK

    p = pws
    p.model(
        "push_tiers",
        "select Id, 'Gold' as Customer_Tier__c from {{ ref('account') }} where not _lht_is_deleted",
        object="Account",
        operation="update",
    )
    p.build()
    sent = p.result(p.push(env=BULK), "push_tiers")["sent"]
    p.build()
    _, rows = p.ws.query(
        "select distinct job_id from salesforce.lht_push_results where push_name = 'push_tiers'"
    )
    assert len(rows) == 1 and rows[0][0], rows
    job = rows[0][0]
    assert (
        json.loads(p.ws.run("lht", "jobs", "show", job).check().stdout)["numberRecordsProcessed"]
        == sent
    )
    ok = list(csv.DictReader(io.StringIO(p.ws.run("lht", "jobs", "results", job).check().stdout)))
    assert len(ok) == sent
