"""The REST handlers of Bulk API 2.0 query jobs (``jobs/query``), over :class:`~lht_devorg.bulk.query.BulkJobs`."""

from __future__ import annotations

from ..bulk.query import BulkJobs
from ..errors import OrgError
from ..faults import BULK_KINDS, RESULT_KINDS, FaultInjector
from .limits import ApiLimits
from .rest import Call, Reply

#: Bulk API 2.0's answer to a query job over the org's daily allowance (its error list:
#: ExceededQuota, "The job or batch you tried to create exceeds the allowed number for the
#: past 24-hour period"; Bulk API 2.0 spells error codes in capitals, as INVALIDJOB).
EXCEEDED_QUOTA = "EXCEEDEDQUOTA"


class QueryApi:
    """Handlers taking a :class:`Call` and returning a :class:`Reply`; the bulk faults
    (a job failing or stuck, a results page cut short) and the daily allowance of query
    jobs (``limits``) apply here."""

    def __init__(
        self, jobs: BulkJobs, faults: FaultInjector, limits: ApiLimits | None = None
    ) -> None:
        self.jobs = jobs
        self.faults = faults
        self.limits = limits

    def create(self, call: Call) -> Reply:
        body = call.json()
        if not isinstance(body, dict):
            raise OrgError(400, "INVALIDJOB", "The request body must be a JSON object")
        if self.limits is not None and not self.limits.take_bulk_job():
            raise OrgError(
                400,
                EXCEEDED_QUOTA,
                "ExceededQuota : The job you tried to create exceeds the allowed number of "
                f"Bulk API 2.0 query jobs for the past 24-hour period "
                f"({self.limits.bulk_jobs_max:,}; DailyBulkV2QueryJobs in limits/)",
            )
        full = f"/services/data/v{call.version}/jobs/query"
        fault = self.faults.take(BULK_KINDS, call.method, full)
        info = self.jobs.create(
            body,
            call.version,
            fail_message=fault.message if fault and fault.kind == "bulk_failed" else None,
            stuck=bool(fault and fault.kind == "bulk_stuck"),
        )
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
        data, count, locator = self.jobs.results(
            job_id, call.version, call.params.get("locator"), call.params.get("maxRecords")
        )
        reply = Reply(
            200,
            data,
            content_type="text/csv",
            headers={"Sforce-NumberOfRecords": str(count), "Sforce-Locator": locator},
        )
        fault = self.faults.take(RESULT_KINDS, "GET", f"/services/data/v{call.version}/{call.path}")
        if fault is not None:
            reply.truncate = str(fault.params.get("mode", "short"))
        return reply

    def result_pages(self, call: Call, job_id: str) -> Reply:
        return Reply(200, self.jobs.result_pages(job_id, call.version, call.params.get("locator")))
