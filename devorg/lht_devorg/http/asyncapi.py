"""The Bulk API 1.0 resources under ``/services/async/NN.N/``, over
:class:`~..bulk1.jobs.Bulk1Jobs`.

The session id comes in the ``X-SFDC-Session`` header (an ``Authorization: Bearer`` header
is taken too). Job and batch documents are JSON when the request's Content-Type is JSON,
XML when it is XML, and otherwise follow the job's content type (JSON for a JSON job, XML
for the others); errors likewise, as ``{exceptionCode, exceptionMessage}``, with HTTP 400
(an invalid session included, as Salesforce answers it).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..bulk1 import formats
from ..bulk1.formats import Bulk1Error
from ..bulk1.jobs import QUERY_OPERATIONS, Bulk1Jobs, Job
from .auth import TokenStore
from .limits import ApiLimits
from .rest import Call, Reply, version_supported

Handler = Callable[..., Reply]


def _json_format(call: Call, job: Job | None = None) -> bool:
    """True when the answer to ``call`` is JSON (see the module's docstring)."""
    content_type = (call.headers.get("Content-Type") or "").lower()
    if "json" in content_type:
        return True
    if "xml" in content_type:
        return False
    return job is not None and job.content_type == "JSON"


def _doc(body_type: tuple[bytes, str], status: int = 200) -> Reply:
    body, content_type = body_type
    return Reply(status, body, content_type=content_type)


class AsyncApi:
    """Answers ``/services/async/NN.N/<path>`` calls."""

    def __init__(self, jobs: Bulk1Jobs, tokens: TokenStore, limits: ApiLimits) -> None:
        self.jobs, self.tokens, self.limits = jobs, tokens, limits
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("POST", re.compile(r"job"), self.create),
            ("GET", re.compile(r"job/(\w+)"), self.info),
            ("POST", re.compile(r"job/(\w+)"), self.change_state),
            ("POST", re.compile(r"job/(\w+)/batch"), self.add_batch),
            ("GET", re.compile(r"job/(\w+)/batch"), self.batches),
            ("GET", re.compile(r"job/(\w+)/batch/(\w+)"), self.batch_info),
            ("GET", re.compile(r"job/(\w+)/batch/(\w+)/request"), self.request),
            ("GET", re.compile(r"job/(\w+)/batch/(\w+)/result"), self.result),
            ("GET", re.compile(r"job/(\w+)/batch/(\w+)/result/(\w+)"), self.result_data),
        ]

    def handle(self, call: Call) -> Reply:
        """Answer one call (its session checked here)."""
        token = call.headers.get("X-SFDC-Session") or ""
        if not token:
            scheme, _, value = (call.headers.get("Authorization") or "").partition(" ")
            token = value.strip() if scheme.lower() in ("bearer", "oauth") else ""
        try:
            if not self.tokens.valid(token.strip()):
                raise Bulk1Error("InvalidSessionId", "Invalid session id")
            if not version_supported(call.version):
                raise Bulk1Error("InvalidUrl", f"Unsupported API version: {call.version}", 404)
            if not self.limits.consume():
                raise Bulk1Error("ExceededQuota", "TotalRequests Limit exceeded.", 403)
            for method, pattern, handler in self.routes:
                match = pattern.fullmatch(call.path)
                if match and method == call.method:
                    return handler(call, *match.groups())
            raise Bulk1Error("InvalidUrl", f"Unknown resource: {call.method} {call.path}", 404)
        except Bulk1Error as exc:
            job = self._job_of(call)
            return _doc(formats.error(exc.code, exc.message, _json_format(call, job)), exc.status)

    def _job_of(self, call: Call) -> Job | None:
        match = re.match(r"job/(\w+)", call.path)
        if not match:
            return None
        try:
            return self.jobs.get(match.group(1))
        except Bulk1Error:
            return None

    # -- jobs -----------------------------------------------------------------------------
    def create(self, call: Call) -> Reply:
        json_format = _json_format(call)
        job = self.jobs.create(formats.parse_job_request(call.body, json_format), call.version)
        return _doc(
            formats.document("jobInfo", self.jobs.job_items(job, json_format), json_format), 201
        )

    def info(self, call: Call, job_id: str) -> Reply:
        job = self.jobs.get(job_id)
        json_format = _json_format(call, job)
        return _doc(formats.document("jobInfo", self.jobs.job_items(job, json_format), json_format))

    def change_state(self, call: Call, job_id: str) -> Reply:
        job = self.jobs.get(job_id)
        json_format = _json_format(call, job)
        wanted = formats.parse_job_request(call.body, json_format).get("state")
        job = self.jobs.change_state(job_id, str(wanted or ""))
        return _doc(formats.document("jobInfo", self.jobs.job_items(job, json_format), json_format))

    # -- batches --------------------------------------------------------------------------
    def add_batch(self, call: Call, job_id: str) -> Reply:
        batch = self.jobs.add_batch(job_id, call.body)
        job = self.jobs.get(job_id)
        json_format = _json_format(call, job)
        return _doc(
            formats.document("batchInfo", self.jobs.batch_items(batch, json_format), json_format),
            201,
        )

    def batches(self, call: Call, job_id: str) -> Reply:
        job = self.jobs.get(job_id)
        json_format = _json_format(call, job)
        return _doc(
            formats.batch_list(
                [self.jobs.batch_items(b, json_format) for b in list(job.batches)], json_format
            )
        )

    def batch_info(self, call: Call, job_id: str, batch_id: str) -> Reply:
        job, batch = self.jobs.batch(job_id, batch_id)
        json_format = _json_format(call, job)
        return _doc(
            formats.document("batchInfo", self.jobs.batch_items(batch, json_format), json_format)
        )

    def request(self, call: Call, job_id: str, batch_id: str) -> Reply:
        job, batch = self.jobs.batch(job_id, batch_id)
        content_type = (
            "text/plain"
            if job.operation in QUERY_OPERATIONS
            else formats.CONTENT_TYPES[job.content_type]
        )
        return Reply(200, batch.request_path.read_bytes(), content_type=content_type)

    def result(self, call: Call, job_id: str, batch_id: str) -> Reply:
        job, _, outcome = self.jobs.completed(job_id, batch_id)
        if job.operation in QUERY_OPERATIONS:
            return _doc(formats.result_list(list(outcome.results), job.content_type == "JSON"))
        return Reply(
            200,
            formats.ingest_results(outcome.rows, job.content_type),
            content_type=formats.CONTENT_TYPES[job.content_type],
        )

    def result_data(self, call: Call, job_id: str, batch_id: str, result_id: str) -> Reply:
        job, _, outcome = self.jobs.completed(job_id, batch_id)
        path = outcome.results.get(result_id)
        if path is None:
            raise Bulk1Error("InvalidBatch", f"Unable to find object: {result_id}")
        return Reply(200, path.read_bytes(), content_type=formats.CONTENT_TYPES[job.content_type])
