"""``POST /services/data/vNN.N/composite``: up to 25 subrequests in one API call.

As Salesforce documents it (REST API Developer Guide, "Composite"): the whole request counts
as one call toward the API limits; each subrequest names a ``referenceId``, and a later
subrequest's ``url`` or ``body`` may use an earlier one's result as ``@{ref.field}``
(``@{ref.records[0].Id}`` for arrays). At most 25 subrequests, of which at most 5 are query
or sObject Collections operations. The reply is always HTTP 200 with one
``{body, httpHeaders, httpStatusCode, referenceId}`` per subrequest, in order.

``allOrNone: false`` (the default): a failed subrequest does not stop the others, but a
subrequest that refers to a failed or missing result is not run (400 PROCESSING_HALTED).
``allOrNone: true``: the first failure rolls back every change of the request and every
other subrequest answers 400 PROCESSING_HALTED.

Not supported, as on Salesforce: Bulk jobs, binary (blob) reads, nested composite calls.
"""

from __future__ import annotations

import email.message
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from urllib.parse import quote as url_quote

from ..errors import OrgError
from .rest import JSON, Call, Reply

#: Subrequests per composite request, and how many of them may be queries or collections.
MAX_SUBREQUESTS = 25
MAX_QUERY_SUBREQUESTS = 5

_DATA_URL = re.compile(r"^/services/data/v(\d+\.\d+)/(.*?)/?$")
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_REFERENCE_ID = re.compile(r"^[A-Za-z0-9_]+$")
_QUERY_PATHS = re.compile(r"^(query|queryAll)(/.*)?$|^composite/sobjects(/.*)?$")
_UNSUPPORTED = re.compile(
    r"^(jobs/|composite$|composite/(batch|tree|graph)\b)|^sobjects/\w+/\w+/\w+$"
)

HALTED_ROLLED_BACK = (
    "The transaction was rolled back since another operation in the same transaction failed."
)

Dispatch = Callable[[Call], Reply]


class _Halted(Exception):
    """A subrequest that is not run (a reference to a failed or missing result)."""


def _halted(message: str) -> list[dict[str, str]]:
    return [{"errorCode": "PROCESSING_HALTED", "message": message}]


def _is_query(path: str) -> bool:
    return bool(_QUERY_PATHS.match(path))


class CompositeRequests:
    """The ``composite`` resource: runs subrequests through the org's own router."""

    def __init__(self, dispatch: Dispatch, engine: Any) -> None:
        self.dispatch = dispatch
        self.engine = engine

    def resources(self, call: Call) -> Reply:
        """``GET composite``: the composite resources this org serves."""
        base = f"/services/data/v{call.version}/composite"
        return Reply(200, {"sobjects": f"{base}/sobjects"})

    def run(self, call: Call) -> Reply:
        """``POST composite``."""
        body = call.json()
        if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
            raise OrgError(
                400, "JSON_PARSER_ERROR", "The request body needs a 'compositeRequest' array"
            )
        subrequests = body["compositeRequest"]
        all_or_none = bool(body.get("allOrNone", False))
        self._check(subrequests)
        if not all_or_none:
            return Reply(
                200, {"compositeResponse": self._run_all(call, subrequests, stop_on_error=False)}
            )
        lock = self.engine._lock  # noqa: SLF001 - one transaction over the org's own connection
        with lock:
            con = self.engine._con  # noqa: SLF001
            con.execute("BEGIN TRANSACTION")
            try:
                results = self._run_all(call, subrequests, stop_on_error=True)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            failed = next((i for i, r in enumerate(results) if r["httpStatusCode"] >= 400), None)
            if failed is None:
                con.execute("COMMIT")
                return Reply(200, {"compositeResponse": results})
            con.execute("ROLLBACK")
        halted = [
            results[failed]
            if i == failed
            else {
                "body": _halted(HALTED_ROLLED_BACK),
                "httpHeaders": {},
                "httpStatusCode": 400,
                "referenceId": sub.get("referenceId"),
            }
            for i, sub in enumerate(subrequests)
        ]
        return Reply(200, {"compositeResponse": halted})

    def _check(self, subrequests: list[Any]) -> None:
        if not subrequests:
            raise OrgError(
                400, "INVALID_INPUT", "compositeRequest must contain at least one subrequest"
            )
        if len(subrequests) > MAX_SUBREQUESTS:
            raise OrgError(
                400,
                "LIMIT_EXCEEDED",
                f"Composite requests cannot contain more than {MAX_SUBREQUESTS} subrequests",
            )
        seen: set[str] = set()
        queries = 0
        for sub in subrequests:
            if not isinstance(sub, dict) or not sub.get("method") or not sub.get("url"):
                raise OrgError(
                    400, "INVALID_INPUT", "Each subrequest needs method, url and referenceId"
                )
            ref = sub.get("referenceId")
            if not isinstance(ref, str) or not _REFERENCE_ID.match(ref):
                raise OrgError(
                    400,
                    "INVALID_INPUT",
                    f"Invalid referenceId {ref!r}: use letters, digits and underscores",
                )
            if ref in seen:
                raise OrgError(
                    400, "INVALID_INPUT", f"Duplicate referenceId provided in the request: {ref}"
                )
            seen.add(ref)
            match = _DATA_URL.match(urlsplit(str(sub["url"])).path)
            if match is None:
                raise OrgError(
                    400, "INVALID_INPUT", f"The url of {ref} must start with /services/data/vXX.X/"
                )
            if _UNSUPPORTED.match(match.group(2)):
                raise OrgError(
                    400,
                    "INVALID_INPUT",
                    f"The resource of {ref} is not supported in a composite request",
                )
            queries += _is_query(match.group(2))
        if queries > MAX_QUERY_SUBREQUESTS:
            raise OrgError(
                400,
                "LIMIT_EXCEEDED",
                f"Composite requests cannot contain more than {MAX_QUERY_SUBREQUESTS} "
                "query or sObject Collections subrequests",
            )

    def _run_all(
        self, call: Call, subrequests: list[dict[str, Any]], *, stop_on_error: bool
    ) -> list[dict[str, Any]]:
        done: dict[str, tuple[int, Any]] = {}
        results: list[dict[str, Any]] = []
        for sub in subrequests:
            ref = sub["referenceId"]
            try:
                url = _resolve_text(str(sub["url"]), done, quote=True)
                body = _resolve_value(sub.get("body"), done)
            except _Halted as exc:
                result = {
                    "body": _halted(str(exc)),
                    "httpHeaders": {},
                    "httpStatusCode": 400,
                    "referenceId": ref,
                }
            else:
                result = self._one(
                    call, str(sub["method"]).upper(), url, body, sub.get("httpHeaders") or {}, ref
                )
            done[ref] = (result["httpStatusCode"], result["body"])
            results.append(result)
            if stop_on_error and result["httpStatusCode"] >= 400:
                break
        return results

    def _one(
        self, call: Call, method: str, url: str, body: Any, headers: dict[str, Any], ref: str
    ) -> dict[str, Any]:
        parts = urlsplit(url)
        match = _DATA_URL.match(parts.path)
        assert match is not None  # checked before any subrequest ran
        message = email.message.Message()
        for name, value in headers.items():
            message[str(name)] = str(value)
        message["Content-Type"] = JSON
        sub = Call(
            method,
            match.group(2).strip("/"),
            match.group(1),
            dict(parse_qsl(parts.query, keep_blank_values=True)),
            message,
            b"" if body is None else json.dumps(body).encode(),
        )
        try:
            reply = self.dispatch(sub)
        except OrgError as exc:
            reply = Reply(exc.status, exc.body())
        if isinstance(reply.body, (bytes, bytearray)):
            payload: Any = reply.body.decode("utf-8", "replace")
        else:
            payload = reply.body
        return {
            "body": payload,
            "httpHeaders": dict(reply.headers),
            "httpStatusCode": reply.status,
            "referenceId": ref,
        }


def _lookup(ref: str, path: str, done: dict[str, tuple[int, Any]]) -> Any:
    if ref not in done:
        raise _Halted(
            f"Invalid reference specified. No value for {ref} found. Provided "
            f"referenceId ('{ref}') must be defined earlier in the request."
        )
    status, value = done[ref]
    if status >= 400:
        raise _Halted(
            f"Invalid reference specified. No value for {ref}{path} found in {ref}. "
            f"Provided referenceId ('{ref}') refers to a failed subrequest."
        )
    for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        key, index = step
        try:
            value = value[int(index)] if index else value[key]
        except (KeyError, IndexError, TypeError):
            raise _Halted(
                f"Invalid reference specified. No value for {ref}{path} found in {ref}."
            ) from None
    return value


def _resolve_text(text: str, done: dict[str, tuple[int, Any]], *, quote: bool = False) -> str:
    def one(match: re.Match[str]) -> str:
        value = _lookup(match.group(1), match.group(2), done)
        rendered = value if isinstance(value, str) else json.dumps(value)
        return url_quote(rendered, safe="") if quote else rendered

    return _REFERENCE.sub(one, text)


def _resolve_value(value: Any, done: dict[str, tuple[int, Any]]) -> Any:
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return _lookup(whole.group(1), whole.group(2), done)
        return _resolve_text(value, done)
    if isinstance(value, list):
        return [_resolve_value(v, done) for v in value]
    if isinstance(value, dict):
        return {k: _resolve_value(v, done) for k, v in value.items()}
    return value
