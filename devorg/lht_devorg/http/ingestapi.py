"""The REST handlers of Bulk API 2.0 ingest jobs (``jobs/ingest``), over :class:`~..ingest.jobs.IngestJobs`."""

from __future__ import annotations

from ..errors import OrgError
from ..ingest.jobs import IngestJobs
from ..ingest.runner import RESULT_NAMES
from .rest import Call, Reply


class IngestApi:
    """Handlers taking a :class:`Call` and returning a :class:`Reply`."""

    def __init__(self, jobs: IngestJobs) -> None:
        self.jobs = jobs

    def create(self, call: Call) -> Reply:
        body = call.json()
        if not isinstance(body, dict):
            raise OrgError(400, "INVALIDJOB", "The request body must be a JSON object")
        return Reply(200, self.jobs.create(body, call.version))

    def list(self, call: Call) -> Reply:
        return Reply(200, self.jobs.list(call.version, call.params.get("queryLocator")))

    def info(self, call: Call, job_id: str) -> Reply:
        return Reply(200, self.jobs.info(job_id))

    def change_state(self, call: Call, job_id: str) -> Reply:
        body = call.json()
        return Reply(200, self.jobs.change_state(job_id, body if isinstance(body, dict) else {}))

    def upload(self, call: Call, job_id: str) -> Reply:
        self.jobs.upload(job_id, call.body)
        return Reply(201)

    def delete(self, call: Call, job_id: str) -> Reply:
        self.jobs.delete(job_id)
        return Reply(204)

    def results(self, call: Call, job_id: str, kind: str) -> Reply:
        """The three result CSVs; the resource names match case-insensitively (Salesforce's
        documentation writes ``unprocessedrecords``, simple-salesforce ``unprocessedRecords``)."""
        name = next((n for n in RESULT_NAMES if n.lower() == kind.lower()), None)
        if name is None:
            raise OrgError(404, "NOT_FOUND", "The requested resource does not exist")
        return Reply(200, self.jobs.results(job_id, name), content_type="text/csv")
