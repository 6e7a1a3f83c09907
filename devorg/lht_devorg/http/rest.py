"""REST resources of the local org under ``/services/data/vNN.N/`` (except Bulk 2.0 jobs).

Each handler takes a :class:`Call` and returns a :class:`Reply`, or raises
:class:`~lht_devorg.errors.OrgError`, which the server turns into Salesforce's JSON
error array with the same status code.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import unquote

from ..cursors import Cursors
from ..errors import OrgError, not_found
from ..ids import to18
from ..soql.columnmeta import column_metadata
from ..soql.planner import q

JSON = "application/json;charset=UTF-8"
#: Records per composite/sobjects request.
COMPOSITE_MAX = 200
#: Highest API version the org answers; versions below 20.0 are gone from Salesforce.
MIN_VERSION, MAX_VERSION = 20, 66
#: getDeleted / getUpdated answer for no more than this many days before the day of the call.
REPLICATION_DAYS = 30


@dataclass
class Call:
    """One API request, already authenticated."""

    method: str
    path: str  # path after /services/data/vNN.N/, no trailing slash
    version: str  # "59.0"
    params: dict[str, str]
    headers: Any  # an email.message.Message (case-insensitive)
    body: bytes = b""

    def json(self) -> Any:
        """The request body as JSON (OrgError 400 JSON_PARSER_ERROR if it is not)."""
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise OrgError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}") from None


@dataclass
class Reply:
    """What to answer: status, body (JSON-able or bytes), content type, extra headers."""

    status: int = 200
    body: Any = None
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    truncate: str | None = None  # "short" or "drop": the truncate_results fault


def versions_body() -> list[dict[str, str]]:
    """``GET /services/data/``: every API version the org speaks, oldest first."""
    out = []
    for number in range(MIN_VERSION, MAX_VERSION + 1):
        k = number - 59  # v59.0 is Winter '24
        season = ("Winter", "Spring", "Summer")[k % 3]
        out.append(
            {
                "label": f"{season} '{24 + k // 3:02d}",
                "url": f"/services/data/v{number}.0",
                "version": f"{number}.0",
            }
        )
    return out


def version_supported(version: str) -> bool:
    """True for the versions :func:`versions_body` lists."""
    major, _, minor = version.partition(".")
    return major.isdigit() and minor == "0" and MIN_VERSION <= int(major) <= MAX_VERSION


def http_date(moment: datetime) -> str:
    """RFC 1123 date (``Last-Modified``)."""
    return format_datetime(moment.astimezone(timezone.utc), usegmt=True)


def _not_modified_since(call: Call, changed_at: datetime) -> bool:
    value = call.headers.get("If-Modified-Since")
    if not value:
        return False
    try:
        since = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    return changed_at <= since


def batch_size(call: Call) -> int:
    """``Sforce-Query-Options: batchSize=N`` clamped to 200..2000 (default 2000)."""
    options = call.headers.get("Sforce-Query-Options") or ""
    for part in options.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip() == "batchSize" and value.strip().isdigit():
            return max(200, min(2000, int(value)))
    return 2000


def parse_replication_date(value: str | None, name: str) -> datetime:
    """A ``start``/``end`` parameter of getDeleted/getUpdated, seconds dropped."""
    if not value:
        raise OrgError(400, "MISSING_ARGUMENT", f"Missing required parameter: {name}")
    try:
        moment = datetime.fromisoformat(value.strip().replace(" ", "+"))
    except ValueError:
        raise OrgError(
            400, "MALFORMED_QUERY", f"{name}: Unable to parse date/time value: {value}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(second=0, microsecond=0)


class RestApi:
    """The REST resources; ``engine`` is the org's OrgEngine."""

    #: The identity URL of the org's user (the resource list's ``identity``); set by the app.
    identity_url = ""

    def __init__(self, engine: Any, limits: Any) -> None:
        self.engine = engine
        self.limits = limits
        self.cursors = Cursors(engine)

    # -- describe -----------------------------------------------------------
    def describe_global(self, call: Call) -> Reply:
        changed = self.engine.metadata_changed_at()
        if _not_modified_since(call, changed):
            return Reply(304)
        return Reply(
            200,
            self.engine.describe_global(call.version),
            headers={"Last-Modified": http_date(changed)},
        )

    def describe(self, call: Call, name: str) -> Reply:
        described = self.engine.describe(name, call.version)
        changed = self.engine.metadata_changed_at(described["name"])
        if _not_modified_since(call, changed):
            return Reply(304)
        return Reply(200, described, headers={"Last-Modified": http_date(changed)})

    def sobject_basic(self, call: Call, name: str) -> Reply:
        described = self.engine.describe(name, call.version)
        entry = next(
            (
                s
                for s in self.engine.describe_global(call.version)["sobjects"]
                if s["name"] == described["name"]
            ),
            None,
        )
        return Reply(200, {"objectDescribe": entry, "recentItems": []})

    def resources(self, call: Call) -> Reply:
        base = f"/services/data/v{call.version}"
        names = (
            "sobjects",
            "query",
            "queryAll",
            "limits",
            "composite",
            "jobs",
            "search",
            "parameterizedSearch",
            "recent",
        )
        body = {n: f"{base}/{n}" for n in names}
        if self.identity_url:
            body["identity"] = self.identity_url  # an absolute URL, as Salesforce gives it
        return Reply(200, body)

    def limits_resource(self, call: Call) -> Reply:
        return Reply(200, self.limits.limits_body())

    # -- query --------------------------------------------------------------
    def query(self, call: Call, include_deleted: bool) -> Reply:
        soql = call.params.get("q")
        if not soql:
            raise OrgError(400, "MALFORMED_QUERY", "A query string is required (parameter q)")
        if (call.params.get("columns") or "").lower() == "true":
            checked = self.engine.plan(soql, include_deleted=include_deleted, bulk=False)
            return Reply(200, column_metadata(checked))
        result = self.engine.execute(soql, include_deleted=include_deleted, bulk=False)
        batch = batch_size(call)
        if result.is_count or result.total_size <= batch:
            records = (
                []
                if result.is_count
                else self.engine.page_records(result, 0, batch, api_version=call.version)
            )
            self.engine.release(result)
            return Reply(200, {"totalSize": result.total_size, "done": True, "records": records})
        cursor_id = self.cursors.open(result, batch)
        return self._page(call, cursor_id, 0, "queryAll" if include_deleted else "query")

    def query_more(self, call: Call, locator: str, endpoint: str) -> Reply:
        cursor_id, _, offset = locator.rpartition("-")
        if not cursor_id or not offset.isdigit():
            raise OrgError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(call, cursor_id, int(offset), endpoint)

    def _page(self, call: Call, cursor_id: str, offset: int, endpoint: str) -> Reply:
        cursor = self.cursors.get(cursor_id)
        total = cursor.result.total_size
        if offset > total:
            raise OrgError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        records = self.engine.page_records(
            cursor.result, offset, cursor.batch, api_version=call.version
        )
        following = offset + cursor.batch
        body: dict[str, Any] = {"totalSize": total, "done": following >= total}
        if following < total:
            body["nextRecordsUrl"] = (
                f"/services/data/v{call.version}/{endpoint}/{cursor_id}-{following}"
            )
        else:
            self.cursors.close(cursor_id)
        body["records"] = records
        return Reply(200, body)

    # -- replication --------------------------------------------------------
    def _window(self, call: Call) -> tuple[datetime, datetime]:
        """``start``/``end`` as documented: seconds ignored, start before end by at least a
        minute, start no earlier than 30 days before the day of the call (UTC)."""
        start = parse_replication_date(call.params.get("start"), "start")
        end = parse_replication_date(call.params.get("end"), "end")
        now = self.engine.now().replace(tzinfo=timezone.utc)
        if start >= end:
            raise OrgError(
                400,
                "INVALID_REPLICATION_DATE",
                "startDate must chronologically precede endDate by more than one minute",
            )
        oldest = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
            days=REPLICATION_DAYS
        )
        if start < oldest:
            raise OrgError(
                400,
                "INVALID_REPLICATION_DATE",
                f"startDate cannot be more than {REPLICATION_DAYS} days ago",
            )
        return start, end

    def _replicable(self, name: str) -> str:
        """The object's API name; 400 CANNOT_REPLICATE when describe says replicateable=false
        (history, share, feed objects...), as Salesforce answers getDeleted/getUpdated."""
        described = self.engine.describe(name)
        if described.get("replicateable") is False:
            raise OrgError(
                400, "CANNOT_REPLICATE", f"The {described['name']} object cannot be replicated"
            )
        return described["name"]

    def deleted(self, call: Call, name: str) -> Reply:
        start, end = self._window(call)
        return Reply(200, self.engine.deleted(self._replicable(name), start, end))

    def updated(self, call: Call, name: str) -> Reply:
        start, end = self._window(call)
        return Reply(200, self.engine.updated(self._replicable(name), start, end))

    # -- records ------------------------------------------------------------
    def get_record(self, call: Call, name: str, record_id: str) -> Reply:
        fields = call.params.get("fields")
        wanted = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
        return Reply(
            200, self.engine.get_record(name, record_id, fields=wanted, api_version=call.version)
        )

    def create(self, call: Call, name: str) -> Reply:
        values = call.json()
        if not isinstance(values, dict):
            raise OrgError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        values.pop("attributes", None)
        new_id = self.engine.create(name, values)
        return Reply(201, {"id": new_id, "success": True, "errors": []})

    def update(self, call: Call, name: str, record_id: str) -> Reply:
        values = call.json()
        if not isinstance(values, dict):
            raise OrgError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        values.pop("attributes", None)
        self.engine.update(name, record_id, values)
        return Reply(204)

    def delete(self, call: Call, name: str, record_id: str) -> Reply:
        self.engine.delete(name, record_id)
        return Reply(204)

    # -- external ids -------------------------------------------------------
    def _external_matches(self, call: Call, name: str, field_name: str, value: str) -> list[str]:
        found = self.engine.matching_ids(name, field_name, unquote(value))
        if not found:
            raise not_found()
        return found

    def _choices(self, call: Call, name: str, found: list[str]) -> Reply:
        obj = self.engine.schema.require(name).name
        return Reply(300, [f"/services/data/v{call.version}/sobjects/{obj}/{i}" for i in found])

    def get_by_external_id(self, call: Call, name: str, field_name: str, value: str) -> Reply:
        """``GET sobjects/NAME/FIELD/VALUE`` (or a base64 field's bytes, ``sobjects/NAME/ID/FIELD``)."""
        obj = self.engine.schema.require(name)
        if obj.field(field_name) is None and len(field_name) in (15, 18):
            return self.blob(call, name, field_name, value)
        found = self._external_matches(call, name, field_name, value)
        if len(found) > 1:
            return self._choices(call, name, found)
        return self.get_record(call, name, found[0])

    def upsert(self, call: Call, name: str, field_name: str, value: str) -> Reply:
        """``PATCH sobjects/NAME/FIELD/VALUE``: 201 created; updated: 200 (v46+) or 204; 300 if several."""
        values = call.json()
        if not isinstance(values, dict):
            raise OrgError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        values.pop("attributes", None)
        try:
            record_id, created = self.engine.upsert(name, field_name, unquote(value), values)
        except OrgError as exc:
            if exc.status == 300:
                return self._choices(call, name, list(getattr(exc, "record_ids", [])))
            raise
        body = {"id": record_id, "success": True, "errors": [], "created": created}
        if created:
            return Reply(201, body)
        return Reply(200, body) if float(call.version) >= 46 else Reply(204)

    def blob(self, call: Call, name: str, record_id: str, field_name: str) -> Reply:
        """``GET sobjects/NAME/ID/FIELD`` of a base64 field (Attachment Body): the bytes."""
        obj = self.engine.schema.require(name)
        described = obj.field(field_name)
        if described is None or described["type"] != "base64":
            raise not_found()
        try:
            full_id = to18(record_id)
        except ValueError:
            raise not_found() from None
        row = (
            self.engine.cursor()
            .execute(
                f'SELECT {q(described["name"])} FROM {self.engine.table(obj.name)} WHERE "Id" = ?',
                [full_id],
            )
            .fetchone()
        )
        if row is None or row[0] is None:
            raise not_found()
        return Reply(200, base64.b64decode(row[0]), content_type="application/octet-stream")
