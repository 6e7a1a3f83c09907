"""Local-only admin endpoints under ``/__devorg/`` (not part of Salesforce's API).

For tests that run lht as a subprocess. Every call needs ``Authorization: Bearer
<admin token>`` (the DevOrg's ``admin_token``, also in ``env.sh`` as
``LHT_DEVORG_ADMIN_TOKEN``); admin calls never count against the API allowance.

- ``POST /__devorg/faults`` arm a fault (JSON: kind, path, method, times, seconds,
  message, params); ``GET`` lists faults with ``fired`` counts; ``DELETE`` clears them.
- ``POST /__devorg/purge`` ``{object, ids}``: hard-delete records from the recycle bin.
- ``POST /__devorg/undelete`` ``{object, ids}``: restore soft-deleted records.
- ``POST /__devorg/fields`` ``{object, add: field}``, ``{object, remove: name}``,
  ``{object, retype: name, changes: {type, precision, scale, length...}}`` (a type change),
  ``{object, hide: name}`` / ``{object, show: name}`` (field-level security, values kept).
- ``POST /__devorg/object_flags`` ``{object, flags: {replicateable: false, ...}}``: describe
  flags of a history/share/feed-like object; getDeleted/getUpdated then answer CANNOT_REPLICATE.
- ``POST /__devorg/formula`` ``{object, field, ids?}``: change a formula's values
  without moving SystemModstamp.
- ``POST /__devorg/expire_tokens``: every issued session id becomes invalid.
- ``POST /__devorg/api_usage`` ``{used}``: set today's API request count.
- ``POST /__devorg/bulk_query_jobs`` ``{used?, max?}``: set today's Bulk 2.0 query job count
  and the daily maximum; at the maximum, creating a query job answers 400 EXCEEDEDQUOTA.
- ``GET /__devorg/state``: API calls used, faults fired.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from ..errors import OrgError
from ..faults import FaultSpecError


class Admin:
    """Admin endpoint handlers; ``app`` is the server's OrgApp."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.token = token

    def apply_action(self, kind: str, params: dict[str, Any]) -> None:
        """Run a schema/data change fault (add_field, remove_field, change_formula)."""
        engine = self.app.engine
        if kind == "add_field":
            engine.add_field(params["object"], params["field"])
        elif kind == "remove_field":
            engine.remove_field(params["object"], params["field"])
        elif kind == "change_formula":
            engine.change_formula_silently(params["object"], params["field"], params.get("ids"))

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        """Answer an admin call: (status, JSON body)."""
        authz = headers.get("Authorization") or ""
        if not hmac.compare_digest(authz.encode(), f"Bearer {self.token}".encode()):
            return 401, [{"message": "admin token required", "errorCode": "INVALID_SESSION_ID"}]
        try:
            spec = json.loads(body or b"{}")
        except ValueError:
            return 400, [{"message": "body is not JSON", "errorCode": "JSON_PARSER_ERROR"}]
        route = (method, path.rstrip("/"))
        app = self.app
        try:
            if route == ("POST", "/__devorg/faults"):
                return 201, app.faults.add_from_json(spec).to_dict()
            if route == ("GET", "/__devorg/faults"):
                return 200, {"faults": app.faults.report(), "fired": app.faults.fired()}
            if route == ("DELETE", "/__devorg/faults"):
                app.faults.clear()
                return 200, {"faults": []}
            if route == ("POST", "/__devorg/purge"):
                app.engine.purge(spec["object"], list(spec["ids"]))
                return 200, {"purged": len(spec["ids"])}
            if route == ("POST", "/__devorg/undelete"):
                for record_id in spec["ids"]:
                    app.engine.undelete(spec["object"], record_id)
                return 200, {"undeleted": len(spec["ids"])}
            if route == ("POST", "/__devorg/fields"):
                if "add" in spec:
                    self.apply_action("add_field", {"object": spec["object"], "field": spec["add"]})
                elif "retype" in spec:
                    app.engine.change_field_type(
                        spec["object"], spec["retype"], dict(spec["changes"])
                    )
                elif "hide" in spec or "show" in spec:
                    app.engine.set_field_visible(
                        spec["object"], spec.get("hide") or spec["show"], "show" in spec
                    )
                else:
                    self.apply_action(
                        "remove_field", {"object": spec["object"], "field": spec["remove"]}
                    )
                return 200, {"ok": True}
            if route == ("POST", "/__devorg/object_flags"):
                app.engine.set_object_flags(spec["object"], dict(spec["flags"]))
                return 200, {"ok": True}
            if route == ("POST", "/__devorg/formula"):
                self.apply_action("change_formula", spec)
                return 200, {"ok": True}
            if route == ("POST", "/__devorg/expire_tokens"):
                app.tokens.expire_all()
                return 200, {"ok": True}
            if route == ("POST", "/__devorg/api_usage"):
                app.limits.set_used(int(spec["used"]))
                return 200, {"used": app.limits.used}
            if route == ("POST", "/__devorg/bulk_query_jobs"):
                app.limits.set_bulk_jobs(
                    None if spec.get("used") is None else int(spec["used"]),
                    None if spec.get("max") is None else int(spec["max"]),
                )
                return 200, {"used": app.limits.bulk_jobs, "max": app.limits.bulk_jobs_max}
            if route == ("GET", "/__devorg/state"):
                return 200, {
                    "api_calls": app.limits.used,
                    "api_max": app.limits.daily_max,
                    "bulk_query_jobs": app.limits.bulk_jobs,
                    "faults_fired": app.faults.fired(),
                }
        except OrgError as exc:
            return exc.status, exc.body()
        except (KeyError, TypeError, ValueError, FaultSpecError) as exc:
            return 400, [{"message": f"bad admin request: {exc}", "errorCode": "INVALID_INPUT"}]
        return 404, [{"message": "unknown admin endpoint", "errorCode": "NOT_FOUND"}]
