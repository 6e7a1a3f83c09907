"""The one job registry of Bulk API 2.0 query and ingest jobs: Ids, lookup, list pages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from lht_devorg.bulk.query import BulkJobs
from lht_devorg.bulk.registry import JOBS_PER_LIST_PAGE, JobRegistry, csv_format
from lht_devorg.cursors import encode_locator
from lht_devorg.errors import OrgError
from lht_devorg.ingest.jobs import IngestJobs


@dataclass
class _Job:
    id: str
    deleted: bool = False


def test_both_kinds_of_job_keep_their_jobs_in_the_one_registry(tmp_path: Path) -> None:
    query = BulkJobs(engine=None, spool_dir=tmp_path / "q")
    ingest = IngestJobs(engine=None, spool_dir=tmp_path / "i")
    try:
        assert isinstance(query.registry, JobRegistry) and isinstance(ingest.registry, JobRegistry)
        assert (query.registry.kind, query.registry.job_type) == ("query", "V2Query")
        assert (ingest.registry.kind, ingest.registry.job_type) == ("ingest", "V2Ingest")
    finally:
        query.close()
        ingest.close()


@pytest.mark.parametrize(("kind", "job_type"), [("query", "V2Query"), ("ingest", "V2Ingest")])
def test_the_job_list_pages_a_thousand_live_jobs_at_a_time(
    tmp_path: Path, kind: str, job_type: str
) -> None:
    registry: JobRegistry[_Job] = JobRegistry(kind, job_type, tmp_path)
    try:
        jobs = [_Job(registry.new_id()) for _ in range(JOBS_PER_LIST_PAGE + 2)]
        for job in jobs:
            registry.add(job)
        jobs[0].deleted = True
        first = registry.list_page("62.0", None, lambda job: {"id": job.id})
        assert first["done"] is False
        assert [r["id"] for r in first["records"]] == [
            j.id for j in jobs[1 : JOBS_PER_LIST_PAGE + 1]
        ]
        assert {r["jobType"] for r in first["records"]} == {job_type}
        assert first["nextRecordsUrl"] == (
            f"/services/data/v62.0/jobs/{kind}?queryLocator={encode_locator(JOBS_PER_LIST_PAGE)}"
        )
        second = registry.list_page(
            "62.0", encode_locator(JOBS_PER_LIST_PAGE), lambda job: {"id": job.id}
        )
        assert second == {
            "done": True,
            "records": [{"id": jobs[-1].id, "jobType": job_type}],
            "nextRecordsUrl": None,
        }
        assert len({job.id for job in jobs}) == len(jobs) and all(
            j.id.startswith("750") for j in jobs
        )
        with pytest.raises(OrgError) as refused:
            registry.get(jobs[0].id)
        assert refused.value.status == 404
        assert registry.get(jobs[1].id) is jobs[1]
    finally:
        registry.close()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"columnDelimiter": "SPACE"}, "Invalid column delimiter: SPACE"),
        ({"lineEnding": "CR"}, "Invalid line ending: CR"),
        ({"contentType": "JSON"}, "Only CSV is supported for ingest jobs"),
    ],
)
def test_a_job_in_a_format_bulk_does_not_have_is_refused(body: dict, message: str) -> None:
    with pytest.raises(OrgError) as refused:
        csv_format(body, "ingest")
    assert (refused.value.status, refused.value.error_code, refused.value.message) == (
        400,
        "INVALIDJOB",
        message,
    )
    assert csv_format({"columnDelimiter": "PIPE", "lineEnding": "CRLF"}, "query") == (
        "PIPE",
        "CRLF",
    )
