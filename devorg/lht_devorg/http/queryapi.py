"""The REST handlers of Bulk API 2.0 query jobs (``jobs/query``), over :class:`~lht_devorg.bulk.query.BulkJobs`."""

from __future__ import annotations

from ..bulk.query import BulkJobs
from ..errors import OrgError
from ..faults import BULK_KINDS, RESULT_KINDS, FaultInjector
from .rest import Call, Reply


class QueryApi:
    """Handlers taking a :class:`Call` and returning a :class:`Reply`; the bulk faults
    (a job failing or stuck, a results page cut short) apply here."""

    def __init__(self, jobs: BulkJobs, faults: FaultInjector) -> None:
        self.jobs = jobs
        self.faults = faults

    def create(self, call: Call) -> Reply:
        body = call.json()
        if not isinstance(body, dict):
            raise OrgError(400, "INVALIDJOB", "The request body must be a JSON object")
        full = f"/services/data/v{call.version}/jobs/query"
        fault = self.faults.take(BULK_KINDS, call.method, full)
        info = self.jobs.create(
            body, call.version,
            fail_message=fault.message if fault and fault.kind == "bulk_failed" else None,
            stuck=bool(fault and fault.kind == "bulk_stuck"))
        return Reply(200, info)

    def list(self, call: Call) -> Reply:
        return Reply(200, self.jobs.list(call.version, call.params.get("queryLocator")))

    def info(self, call: Call, job_id: str) -> Reply:
        return Reply(200, self.jobs.info(job_id))

    def abort(self, call: Call, job_id: str) -> Reply:
        body = call.json()
        return Reply(200, self.jobs.abort(job_id, body if isinstance(body, dict) else {}))

    def delete(self, call: Call, job_id: str) -> Reply:
        self.jobs.delete(job_id)
        return Reply(204)

    def results(self, call: Call, job_id: str) -> Reply:
        data, count, locator = self.jobs.results(job_id, call.version, call.params.get("locator"),
                                                 call.params.get("maxRecords"))
        reply = Reply(200, data, content_type="text/csv",
                      headers={"Sforce-NumberOfRecords": str(count), "Sforce-Locator": locator})
        fault = self.faults.take(RESULT_KINDS, "GET", f"/services/data/v{call.version}/{call.path}")
        if fault is not None:
            reply.truncate = str(fault.params.get("mode", "short"))
        return reply

    def result_pages(self, call: Call, job_id: str) -> Reply:
        return Reply(200, self.jobs.result_pages(job_id, call.version, call.params.get("locator")))
