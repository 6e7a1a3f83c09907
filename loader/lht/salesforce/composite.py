"""The REST Composite resource: several REST calls in one request, one API call.

``POST /services/data/vNN.N/composite`` runs up to 25 subrequests, at most 5 of them query
(or sObject Collections) operations, and **the whole request counts as one call toward the
API limits** (REST API Developer Guide, "Composite"; unlike ``composite/batch``, whose
subrequests each count). Each subrequest answers with its own HTTP status and body; a
failed one is turned into exactly the error the same call made on its own would raise.

When the org or a proxy refuses the resource itself (404, 405, 501),
:class:`CompositeRefusedError` tells the caller to go back to separate calls.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import requests

from lht.clock import as_utc
from lht.constants import API_VERSION
from lht.errors import LhtError, SalesforceError
from lht.names import check_object_name
from lht.salesforce.client import SalesforceClient, translate
from lht.salesforce.sfparts import SfError, date_to_iso8601, exception_handler

logger = logging.getLogger(__name__)

#: Salesforce's documented caps for one composite request.
MAX_SUBREQUESTS = 25
MAX_QUERY_SUBREQUESTS = 5
#: HTTP statuses that mean "this org or proxy does not serve the composite resource".
REFUSED_STATUSES = (404, 405, 501)


class CompositeRefusedError(SalesforceError):
    """The org (or a proxy in front of it) does not serve the Composite resource."""


@dataclass(frozen=True)
class Subrequest:
    """One REST call inside a composite request."""

    reference: str
    url: str
    is_query: bool
    method: str = "GET"


@dataclass(frozen=True)
class SubResponse:
    """What one subrequest answered."""

    status: int
    body: Any
    url: str

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return 200 <= self.status < 300

    def error(self, what: str, *, can_relogin: bool = True) -> LhtError:
        """The error the same call made on its own would have raised."""
        response = requests.Response()
        response.status_code = self.status
        response.url = self.url
        response.raw = io.BytesIO(json.dumps(self.body).encode())  # the reply in hand, as a body
        try:
            exception_handler(response)
        except SfError as exc:
            return translate(exc, what, can_relogin=can_relogin)
        raise AssertionError("exception_handler always raises")  # pragma: no cover


def query_subrequest(reference: str, soql: str, *, include_deleted: bool) -> Subrequest:
    """A query (``queryAll`` when deleted rows are wanted) as a subrequest."""
    resource = "queryAll" if include_deleted else "query"
    return Subrequest(
        reference,
        f"/services/data/v{API_VERSION}/{resource}/?q={quote(soql, safe='')}",
        is_query=True,
    )


def deleted_subrequest(
    reference: str, object_name: str, start: datetime, end: datetime
) -> Subrequest:
    """A getDeleted check for ``[start, end]`` as a subrequest (as simple-salesforce words it)."""
    check_object_name(object_name)
    start, end = as_utc(start), as_utc(end)
    return Subrequest(
        reference,
        f"/services/data/v{API_VERSION}/sobjects/{object_name}/deleted/"
        f"?start={date_to_iso8601(start)}&end={date_to_iso8601(end)}",
        is_query=False,
    )


def groups(subrequests: Sequence[Subrequest], units: Sequence[Sequence[int]]) -> list[list[int]]:
    """Pack ``units`` (lists of subrequest indexes that belong together, e.g. one object's)
    into as few composite requests as the caps allow, keeping each unit whole and in order."""
    packed: list[list[int]] = []
    current: list[int] = []
    queries = 0
    for unit in units:
        unit_queries = sum(subrequests[i].is_query for i in unit)
        if len(unit) > MAX_SUBREQUESTS or unit_queries > MAX_QUERY_SUBREQUESTS:
            raise ValueError("one unit exceeds a composite request's caps")
        if current and (
            len(current) + len(unit) > MAX_SUBREQUESTS
            or queries + unit_queries > MAX_QUERY_SUBREQUESTS
        ):
            packed.append(current)
            current, queries = [], 0
        current.extend(unit)
        queries += unit_queries
    if current:
        packed.append(current)
    return packed


def send(client: SalesforceClient, subrequests: Sequence[Subrequest]) -> dict[str, SubResponse]:
    """Run ``subrequests`` in one composite request (``allOrNone: false``): one API call.

    Raises CompositeRefusedError when the resource itself is refused, and lht's usual typed
    errors when the request as a whole fails (session, budget, network after retries).
    """
    if (
        len(subrequests) > MAX_SUBREQUESTS
        or sum(s.is_query for s in subrequests) > MAX_QUERY_SUBREQUESTS
    ):
        raise ValueError("too many subrequests for one composite request")
    payload = {
        "allOrNone": False,
        "compositeRequest": [
            {"method": s.method, "url": s.url, "referenceId": s.reference} for s in subrequests
        ],
    }
    what = f"Composite request ({len(subrequests)} subrequests)"
    try:
        response = client.request("POST", f"{client.base_url}composite", what=what, json=payload)
    except SalesforceError as exc:
        if exc.http_status in REFUSED_STATUSES:
            raise CompositeRefusedError(
                f"{what}: the org refused the Composite resource (HTTP {exc.http_status})"
            ) from None
        raise
    try:
        # Decimal keeps currency and percent digits exact, as the client's own queries do
        answers = json.loads(response.content, parse_float=Decimal)["compositeResponse"]
    except (ValueError, KeyError, TypeError):
        raise SalesforceError(f"{what}: the reply is not a composite response") from None
    by_reference = {s.reference: s for s in subrequests}
    results: dict[str, SubResponse] = {}
    for answer in answers:
        ref = answer.get("referenceId")
        if ref in by_reference:
            results[ref] = SubResponse(
                int(answer.get("httpStatusCode") or 0),
                answer.get("body"),
                f"https://{client.instance}{by_reference[ref].url}",
            )
    missing = [ref for ref in by_reference if ref not in results]
    if missing:
        raise SalesforceError(f"{what}: the reply lacks subrequest(s) {', '.join(missing)}")
    return results
