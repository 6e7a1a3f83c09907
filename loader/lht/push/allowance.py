"""Whether a push that would go by Bulk API 2.0 does: the duplicate-rule option and the org's
daily ingest allowance decide.

Bulk API 2.0 has no duplicate-rule header, so a push with ``allow_duplicates`` goes by
sObject Collections whatever its size. Ingest is capped per rolling 24 hours
(``DailyBulkApiBatches`` in ``/limits``, shared with Bulk API 1.0; Salesforce counts each
10,000 records of a 2.0 job as one batch): before the push's first job, one ``/limits``
call tells what is left. A push that would not fit goes by collections when the day's
API requests can carry it, else it is refused; either way the report says so.
"""

from __future__ import annotations

import logging

from lht.push import changeset
from lht.push.send import PushRun
from lht.push.spec import PushRefused
from lht.salesforce import collections
from lht.salesforce.ingest import bulk_batches

logger = logging.getLogger(__name__)


def _remaining(limits: dict, name: str) -> int | None:
    entry = limits.get(name)
    if not isinstance(entry, dict) or entry.get("Remaining") is None:
        return None
    return int(entry["Remaining"])


def collections_can_send(run: PushRun) -> bool:
    """False for what only Bulk can send: a hard delete, an insert whose key is not sent."""
    return run.spec.operation != "hard_delete" and not (
        run.spec.operation == "insert" and run.plan.key_header is None
    )


def choose_bulk(run: PushRun, large: bool) -> bool:
    """True to send the push by Bulk API 2.0, False by collections (noted in the report);
    PushRefused when neither can send it. ``large``: the change set reached
    ``LHT_PUSH_BULK_MIN_ROWS`` (else Bulk was chosen because collections cannot send it)."""
    spec = run.spec
    if spec.allow_duplicates:
        if not collections_can_send(run):
            raise PushRefused(
                "meta.lht_push.allow_duplicates needs sObject Collections (Bulk API 2.0 has no "
                "duplicate-rule header), which cannot send an insert keyed by a column that is not "
                "sent: key the insert by an external id field."
            )
        run.report.notes.append(
            "sent by sObject Collections although Bulk-sized: allow_duplicates needs the "
            "duplicate-rule header, which Bulk API 2.0 does not have."
        )
        return False
    limits = run.client().limits()
    remaining = _remaining(limits, "DailyBulkApiBatches")
    if remaining is None:
        logger.info("the org's limits do not list DailyBulkApiBatches; sending by Bulk")
        return True
    if bulk_batches(run.report.considered) <= remaining:  # every row of the model would fit
        return True
    rows = changeset.rows_to_send(run.wh, run.changes)
    needed = bulk_batches(rows)
    if needed <= remaining:
        return True
    calls = -(-rows // collections.COLLECTION_SIZE)
    requests = _remaining(limits, "DailyApiRequests")
    short = (
        f"the org's Bulk API allowance is short: {rows:,} rows need {needed:,} Bulk batches "
        f"(10,000 records each) and {remaining:,} are left in the 24-hour window"
    )
    if collections_can_send(run) and (requests is None or calls < requests):
        run.report.notes.append(
            f"{short}; sent by sObject Collections instead ({calls:,} API calls)."
        )
        return False
    why = (
        "collections cannot send a hard delete or an insert whose key is not sent"
        if not collections_can_send(run)
        else f"sObject Collections would need {calls:,} API calls and {requests:,} are left today"
    )
    raise PushRefused(
        f"{short}, and {why}. Push again once the allowance recovers (Salesforce counts it "
        "over a rolling 24 hours), or push fewer rows."
    )
