"""`lht jobs list|show|abort|delete` on Bulk API 2.0 query jobs; lht's own jobs are deleted
by the sync itself."""

from __future__ import annotations

import json

import requests
from e2e.conftest import Workspace

from lht.constants import API_VERSION


def _create_job(ws: Workspace, soql: str) -> str:
    session = requests.Session()
    session.trust_env = False
    response = session.post(
        f"{ws.org.instance_url}/services/data/v{API_VERSION}/jobs/query",
        json={"operation": "query", "query": soql},
        headers={"Authorization": f"Bearer {ws.org.access_token}"},
        verify=ws.org.ca_path,
    )
    response.raise_for_status()
    return response.json()["id"]


def _jobs(ws: Workspace) -> list[dict]:
    return json.loads(ws.run("lht", "jobs", "list", "--json").check().stdout)


def test_sync_leaves_no_bulk_job_behind_and_jobs_commands_manage_the_others(
    workspace: Workspace,
) -> None:
    ws = workspace
    report = ws.sync("Account", extra_env={"LHT_REST_MAX_ROWS": "10"}).report
    assert report["results"][0]["engine"] == "bulk"
    assert _jobs(ws) == [], "lht left its own Bulk job in the org"

    done = _create_job(ws, "SELECT Id FROM Account")
    ws.org.faults.add("bulk_stuck")
    stuck = _create_job(ws, "SELECT Id, Name FROM Contact")
    listed = {j["id"]: j for j in _jobs(ws)}
    assert set(listed) == {done, stuck}
    contact_only = json.loads(
        ws.run("lht", "jobs", "list", "--object", "contact", "--json").check().stdout
    )
    assert [j["id"] for j in contact_only] == [stuck]
    running = json.loads(
        ws.run("lht", "jobs", "list", "--state", "InProgress", "--json").check().stdout
    )
    assert [j["id"] for j in running] == [stuck]
    table = ws.run("lht", "jobs", "list").check().stdout
    assert done in table and stuck in table

    shown = json.loads(ws.run("lht", "jobs", "show", stuck).check().stdout)
    assert shown["id"] == stuck and shown["state"] in ("UploadComplete", "InProgress")

    refused = ws.run("lht", "jobs", "delete", stuck)
    assert refused.returncode != 0 and "lht jobs abort" in refused.stderr
    ws.run("lht", "jobs", "abort", stuck).check()
    assert json.loads(ws.run("lht", "jobs", "show", stuck).check().stdout)["state"] == "Aborted"

    assert stuck in ws.run("lht", "jobs", "delete", stuck).check().stdout
    deleted = ws.run("lht", "jobs", "delete", "--finished").check().stdout
    assert done in deleted and stuck not in deleted
    assert _jobs(ws) == []

    missing = ws.run("lht", "jobs", "show", stuck)
    assert missing.returncode != 0 and "No Bulk API 2.0 query or ingest job" in missing.stderr
