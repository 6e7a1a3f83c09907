"""Per-loser results of ``lht merge``, appended through THE writer.

Every loser a merge run handles gets one row in ``<staging>._lht_merge_results``
(append-only, kind ``merge_result``): merged, refused by Salesforce, or found already
merged. dbt builds ``salesforce.lht_merge_results`` from it (one row per merge and loser,
the newest attempt).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from lht.constants import KIND_MERGE_RESULT, MERGE_RESULTS_TABLE
from lht.typemap import FieldSpec
from lht.warehouse.connection import Warehouse
from lht.warehouse.results import write_result_rows
from lht.warehouse.writer import WriteResult

#: ``outcome`` values.
MERGED = "merged"
FAILED = "failed"
ALREADY_MERGED = "already_merged"


@dataclass(frozen=True)
class MergeResultRow:
    """What happened to one loser of a merge model."""

    merge_name: str
    object_name: str
    master_id: str
    loser_id: str
    outcome: str  # merged | failed | already_merged
    success: bool
    error_code: str | None = None
    error_message: str | None = None
    related_moved: int | None = None  # records re-parented by the request (updatedRelatedIds)
    attempted_at: datetime | None = None


#: The columns of ``_lht_merge_results`` (besides the writer's metadata), typed by the type map.
MERGE_RESULT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("merge_name", "string"),
    FieldSpec("object_name", "string"),
    FieldSpec("master_id", "id"),
    FieldSpec("loser_id", "id"),
    FieldSpec("outcome", "string"),
    FieldSpec("success", "boolean"),
    FieldSpec("error_code", "string"),
    FieldSpec("error_message", "textarea"),
    FieldSpec("related_moved", "int"),
    FieldSpec("attempted_at", "datetime"),
)
assert [f.name for f in fields(MergeResultRow)] == [f.name for f in MERGE_RESULT_FIELDS]


def write_merge_results(
    wh: Warehouse, rows: Sequence[MergeResultRow], *, attempted_at: datetime
) -> WriteResult:
    """Append ``rows`` as one batch; a row without ``attempted_at`` gets the batch's time."""
    return write_result_rows(
        wh,
        MERGE_RESULTS_TABLE,
        KIND_MERGE_RESULT,
        MERGE_RESULT_FIELDS,
        rows,
        attempted_at=attempted_at,
    )


def recorded_successes(wh: Warehouse, merge_name: str) -> set[str]:
    """Losers of ``merge_name`` whose merge is already recorded as a success (18-char Ids)."""
    table = wh.table(MERGE_RESULTS_TABLE)
    if not wh.columns(MERGE_RESULTS_TABLE):
        return set()
    rows = wh.execute(
        f"SELECT DISTINCT {wh.quote('loser_id')} FROM {table} "
        f"WHERE {wh.quote('merge_name')} = ? AND {wh.quote('success')}",
        [merge_name],
    )
    return {str(r[0]) for r in rows}
