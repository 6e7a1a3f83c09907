"""Routing of ``/services/data/vNN.N/<path>`` calls to the REST, Composite, SOSL and Bulk 2.0
handlers, with the route faults (a path answered 404, 405 or 501)."""

from __future__ import annotations

import re
from collections.abc import Callable

from ..bulk.query import BulkJobs
from ..errors import not_found
from ..faults import ROUTE_KINDS, FaultInjector
from ..ingest.jobs import IngestJobs
from .composite import Composite
from .ingestapi import IngestApi
from .queryapi import QueryApi
from .rest import Call, Reply, RestApi
from .search import SearchApi
from .subrequests import CompositeRequests

Handler = Callable[..., Reply]


class Router:
    """Dispatches ``/services/data/vNN.N/<path>`` calls to the REST and Bulk handlers."""

    def __init__(
        self,
        rest: RestApi,
        composite: Composite,
        bulk: BulkJobs,
        faults: FaultInjector,
        ingest: IngestApi | None = None,
    ) -> None:
        self.bulk = bulk
        self.faults = faults
        r, c, q = rest, composite, QueryApi(bulk, faults, rest.limits)
        s = SearchApi(rest.engine)
        cr = CompositeRequests(self.dispatch, rest.engine)
        i = ingest or IngestApi(
            IngestJobs(rest.engine, bulk.job_seconds, faults=faults, limits=rest.limits)
        )
        self.ingest = i
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r""), r.resources),
            ("GET", re.compile(r"limits"), r.limits_resource),
            ("GET", re.compile(r"sobjects"), r.describe_global),
            ("GET", re.compile(r"sobjects/(\w+)"), r.sobject_basic),
            ("POST", re.compile(r"sobjects/(\w+)"), r.create),
            ("GET", re.compile(r"sobjects/(\w+)/describe"), r.describe),
            ("GET", re.compile(r"sobjects/(\w+)/deleted"), r.deleted),
            ("GET", re.compile(r"sobjects/(\w+)/updated"), r.updated),
            ("GET", re.compile(r"sobjects/(\w+)/(\w{15}|\w{18})"), r.get_record),
            ("PATCH", re.compile(r"sobjects/(\w+)/(\w{15}|\w{18})"), r.update),
            ("DELETE", re.compile(r"sobjects/(\w+)/(\w{15}|\w{18})"), r.delete),
            ("GET", re.compile(r"sobjects/(\w+)/(\w+)/([^/]+)"), r.get_by_external_id),
            ("GET", re.compile(r"sobjects/(\w+)/(\w{15}|\w{18})/(\w+)"), r.blob),
            ("PATCH", re.compile(r"sobjects/(\w+)/(\w+)/([^/]+)"), r.upsert),
            ("GET", re.compile(r"query"), lambda call: r.query(call, False)),
            ("GET", re.compile(r"queryAll"), lambda call: r.query(call, True)),
            (
                "GET",
                re.compile(r"(query|queryAll)/([\w-]+)"),
                lambda call, ep, loc: r.query_more(call, loc, ep),
            ),
            ("GET", re.compile(r"composite"), cr.resources),
            ("POST", re.compile(r"composite"), cr.run),
            ("POST", re.compile(r"composite/sobjects"), c.create),
            ("PATCH", re.compile(r"composite/sobjects"), c.update),
            ("DELETE", re.compile(r"composite/sobjects"), c.delete),
            ("PATCH", re.compile(r"composite/sobjects/(\w+)/(\w+)"), c.upsert),
            ("POST", re.compile(r"composite/sobjects/(\w+)"), c.retrieve),
            ("GET", re.compile(r"composite/sobjects/(\w+)"), c.retrieve),
            ("POST", re.compile(r"jobs/query"), q.create),
            ("GET", re.compile(r"jobs/query"), q.list),
            ("GET", re.compile(r"jobs/query/(\w+)"), q.info),
            ("PATCH", re.compile(r"jobs/query/(\w+)"), q.abort),
            ("DELETE", re.compile(r"jobs/query/(\w+)"), q.delete),
            ("GET", re.compile(r"jobs/query/(\w+)/results"), q.results),
            ("GET", re.compile(r"jobs/query/(\w+)/resultPages"), q.result_pages),
            ("GET", re.compile(r"search"), s.search),
            ("GET", re.compile(r"parameterizedSearch"), s.parameterized),
            ("POST", re.compile(r"parameterizedSearch"), s.parameterized),
            ("GET", re.compile(r"recent"), s.recent),
            ("POST", re.compile(r"jobs/ingest"), i.create),
            ("GET", re.compile(r"jobs/ingest"), i.list),
            ("GET", re.compile(r"jobs/ingest/(\w+)"), i.info),
            ("PATCH", re.compile(r"jobs/ingest/(\w+)"), i.change_state),
            ("DELETE", re.compile(r"jobs/ingest/(\w+)"), i.delete),
            ("PUT", re.compile(r"jobs/ingest/(\w+)/batches"), i.upload),
            ("GET", re.compile(r"jobs/ingest/(\w+)/(\w+)"), i.results),
        ]

    def dispatch(self, call: Call) -> Reply:
        """Run the handler for ``call`` (OrgError 404 NOT_FOUND if there is none)."""
        refused = self.faults.take(
            ROUTE_KINDS, call.method, f"/services/data/v{call.version}/{call.path}"
        )
        if refused is not None:
            status = int(refused.params["status"])
            code = refused.params.get("error_code") or (
                "NOT_FOUND"
                if status == 404
                else "METHOD_NOT_ALLOWED"
                if status == 405
                else "NOT_IMPLEMENTED"
            )
            return Reply(status, [{"errorCode": str(code), "message": refused.message}])
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(call.path)
            if match and method == call.method:
                return handler(call, *match.groups())
        raise not_found()
