"""Bulk API 2.0 ingest jobs: create, upload (checked: 201), close (checked), wait, results.

One job per upload (at most ``LHT_PUSH_BULK_MAX_BYTES`` of CSV, 100 MB by default,
under Salesforce's 150 MB base64 limit); Salesforce splits it into its own batches. The
job is polled with THE polling helper (:func:`lht.salesforce.bulk.wait_for_job`).
``JobComplete`` does not mean every row succeeded: the caller reads the successful,
failed and unprocessed result CSVs (:func:`download_results`), which come back in no
particular order and are matched to rows by their key column, never by position.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from lht.errors import BulkJobError
from lht.lazy import pa
from lht.lazy import pacsv as pcsv
from lht.names import check_object_name
from lht.salesforce.bulk import INGEST_POLLS, _jobs_url, abort_job, delete_job, wait_for_job
from lht.salesforce.client import SalesforceClient
from lht.salesforce.sfparts import format_soql

logger = logging.getLogger(__name__)

#: lht's operation names -> Bulk API 2.0's.
OPERATIONS = {
    "insert": "insert",
    "update": "update",
    "upsert": "upsert",
    "delete": "delete",
    "hard_delete": "hardDelete",
}
#: Result files of an ingest job: lht's name -> the resource.
RESULTS = {
    "successful": "successfulResults",
    "failed": "failedResults",
    "unprocessed": "unprocessedrecords",
}
#: Default largest CSV upload per job (bytes).
MAX_UPLOAD_BYTES = 100_000_000
#: Records Salesforce counts as one batch of an ingest job (against DailyBulkApiBatches).
INGEST_BATCH_RECORDS = 10_000

__all__ = [
    "INGEST_BATCH_RECORDS",
    "OPERATIONS",
    "RESULTS",
    "abort_ingest_job",
    "active_assignment_rule",
    "bulk_batches",
    "close_job",
    "create_ingest_job",
    "delete_ingest_job",
    "download_results",
    "ingest_job_info",
    "read_result_csv",
    "stream_results",
    "upload_csv",
    "wait_for_ingest_job",
]


def bulk_batches(rows: int) -> int:
    """The Bulk API batches an ingest job of ``rows`` records uses of the org's daily
    allowance (DailyBulkApiBatches): Salesforce counts each 10,000 records as one."""
    return max(1, -(-rows // INGEST_BATCH_RECORDS))


def active_assignment_rule(client: SalesforceClient, object_name: str) -> str:
    """The Id of ``object_name``'s active assignment rule (the job property takes an Id, not
    "default"); BulkJobError naming the fix when the object has none."""
    soql = format_soql(
        "SELECT Id FROM AssignmentRule WHERE SobjectType = {} AND Active = true LIMIT 1",
        object_name,
    )
    records = (
        client.query(soql, what=f"Finding the active assignment rule of {object_name}").get(
            "records"
        )
        or []
    )
    if not records:
        raise BulkJobError(
            f"{object_name} has no active assignment rule: activate one in Setup, or set "
            "meta.lht_push.assignment_rule_id to the Id of the rule to run."
        )
    return str(records[0]["Id"])


def create_ingest_job(
    client: SalesforceClient,
    object_name: str,
    operation: str,
    *,
    external_id_field: str | None = None,
    assignment_rule_id: str | None = None,
) -> str:
    """Create an ingest job (state Open) and return its id. ``assignment_rule_id``: an
    AssignmentRule Id, or ``default`` (the object's active rule), for the job property
    ``assignmentRuleId`` (Lead, Case)."""
    check_object_name(object_name)
    body: dict[str, Any] = {
        "object": object_name,
        "operation": OPERATIONS[operation],
        "contentType": "CSV",
        "lineEnding": "LF",
        "columnDelimiter": "COMMA",
    }
    if operation == "upsert":
        body["externalIdFieldName"] = external_id_field
    if assignment_rule_id:
        body["assignmentRuleId"] = (
            active_assignment_rule(client, object_name)
            if assignment_rule_id == "default"
            else assignment_rule_id
        )
    info = client.request(
        "POST",
        _jobs_url(client, kind="ingest"),
        data=json.dumps(body),
        what=f"Creating a Bulk API 2.0 {operation} job on {object_name}",
    ).json()
    logger.info("Bulk ingest job %s created (%s %s)", info["id"], operation, object_name)
    return str(info["id"])


def upload_csv(client: SalesforceClient, job_id: str, path: Path) -> None:
    """Upload the job's one CSV file; BulkJobError unless Salesforce answers 201 Created."""
    with path.open("rb") as body:
        response = client.request(
            "PUT",
            _jobs_url(client, job_id, "ingest") + "/batches",
            data=body,
            headers={"Content-Type": "text/csv"},
            what=f"Uploading the rows of Bulk job {job_id}",
        )
    if response.status_code != 201:
        raise BulkJobError(
            f"Uploading the rows of Bulk job {job_id}: Salesforce answered HTTP "
            f"{response.status_code}, not 201 Created; the job is aborted and its rows "
            "are sent again next run."
        )


def close_job(client: SalesforceClient, job_id: str) -> dict[str, Any]:
    """Mark the upload complete (Salesforce starts processing); checked like the upload."""
    response = client.request(
        "PATCH",
        _jobs_url(client, job_id, "ingest"),
        data=json.dumps({"state": "UploadComplete"}),
        what=f"Closing Bulk job {job_id}",
    )
    info = response.json() if response.content else {}
    if response.status_code != 200 or info.get("state") not in (
        "UploadComplete",
        "InProgress",
        "JobComplete",
    ):
        raise BulkJobError(
            f"Closing Bulk job {job_id}: Salesforce answered HTTP {response.status_code} "
            f"with state {info.get('state')!r}, not UploadComplete."
        )
    return info


def ingest_job_info(client: SalesforceClient, job_id: str) -> dict[str, Any]:
    """The job's info (state, numberRecordsProcessed, numberRecordsFailed, errorMessage)."""
    return client.request(
        "GET", _jobs_url(client, job_id, "ingest"), what=f"Reading Bulk job {job_id}"
    ).json()


def wait_for_ingest_job(
    client: SalesforceClient, job_id: str, deadline_seconds: float, rows: int | None = None
) -> dict[str, Any]:
    """Poll until the job ends (JobComplete, Failed or Aborted) and return its info.

    ``rows`` (the rows uploaded, when known) paces the polls by the job's progress.
    """
    return wait_for_job(
        client,
        job_id,
        deadline_seconds,
        kind="ingest",
        fail=False,
        expected_records=rows,
        **INGEST_POLLS,  # type: ignore[arg-type]
    )


def stream_results(client: SalesforceClient, job_id: str, which: str) -> Iterator[bytes]:
    """The bytes of one result CSV (``successful``, ``failed`` or ``unprocessed``), streamed."""
    url = _jobs_url(client, job_id, "ingest") + f"/{RESULTS[which]}/"
    response = client.request(
        "GET",
        url,
        what=f"Reading the {which} results of Bulk job {job_id}",
        headers={"Accept": "text/csv"},
        stream=True,
    )
    try:
        yield from response.iter_content(chunk_size=1 << 20)
    finally:
        response.close()


def download_results(client: SalesforceClient, job_id: str, which: str, dest: Path) -> Path:
    """Save one result CSV to ``dest`` (memory stays flat whatever its size)."""
    with dest.open("wb") as out:
        for chunk in stream_results(client, job_id, which):
            out.write(chunk)
    return dest


def read_result_csv(path: Path, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
    """A result CSV as batches of text columns (multi-line values intact; empty file: nothing);
    only ``columns`` (those of them the file has) when given."""
    with path.open(encoding="utf-8", newline="") as f:
        header = next(csv.reader(f), None)
    if not header:
        return
    wanted = [name for name in header if columns is None or name in columns]
    reader = pcsv.open_csv(
        path,
        # one 1 MB block at a time, on one thread: no read-ahead buffers held while a push settles
        read_options=pcsv.ReadOptions(block_size=1 << 20, use_threads=False),
        parse_options=pcsv.ParseOptions(newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            include_columns=wanted,
            strings_can_be_null=False,
            null_values=[],
        ),
    )
    yield from reader


def abort_ingest_job(client: SalesforceClient, job_id: str) -> None:
    """Abort an ingest job (best effort)."""
    abort_job(client, job_id, "ingest")


def delete_ingest_job(client: SalesforceClient, job_id: str) -> None:
    """Delete a finished ingest job and its results (best effort)."""
    delete_job(client, job_id, "ingest")
