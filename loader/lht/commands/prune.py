"""`lht prune`: delete staged rows the main tables no longer need, never losing anything.

A staged row is deleted only when all of these hold:

- its batch is merged: ``_lht_batch_id <= max(_lht_batch_id)`` of the main table (an
  unmerged batch is never touched, and nothing is pruned before the first ``dbt build``);
- it was extracted before the cutoff (``--older-than``);
- it is not one of its Id's keepers: per Id and kind (``record``, ``deleted``,
  ``formula``) the newest row by batch, and the newest ``record`` by version
  (SystemModstamp, else LastModifiedDate, else CreatedDate). So staging always holds every
  Id's latest version: the loader's full-refresh delete markers and Id reconciliation read
  staged Ids, and the main table can still be rebuilt from staging.

Objects with a history model are refused: their history is built from every staged
version, and a rebuild of it would lose the pruned ones. The run lock is held throughout,
so no sync writes while rows are deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lht.clock import as_utc, utcnow
from lht.config import settings_from_env
from lht.constants import BATCH_ID_COLUMN, EXTRACTED_AT_COLUMN, KIND_COLUMN, KIND_RECORD
from lht.errors import ConfigError, PruneRefusedError
from lht.project import load_project, parse_duration
from lht.typemap import timestamp_sql_type
from lht.warehouse.connection import Warehouse, connect, load_target
from lht.warehouse.lock import run_lock
from lht.warehouse.snapshot import main_table_summary

logger = logging.getLogger(__name__)

VERSION_COLUMNS = ("SystemModstamp", "LastModifiedDate", "CreatedDate")

PRUNED, NOTHING, SKIPPED_HISTORY, NOT_BUILT = (
    "pruned",
    "nothing to prune",
    "skipped: history enabled",
    "skipped: main table not built",
)


@dataclass
class PruneResult:
    """What prune did (or, with ``dry_run``, would do) to one object's staging table."""

    object_name: str
    outcome: str = NOTHING
    rows_deleted: int = 0
    batches_emptied: int = 0
    rows_kept: int = 0
    merged_through: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def parse_age(value: str) -> int:
    """``--older-than`` in seconds: a number with its unit (30d, 12h, 2w). A bare number is
    refused rather than read as seconds: `--older-than 30` meant 30 days would prune nearly
    everything already merged."""
    if value.strip().isdigit():
        raise ConfigError(
            f"--older-than {value.strip()}: give the unit, e.g. --older-than {value.strip()}d "
            f"for {value.strip()} days (s, m, h, d or w); a bare number is ambiguous. Nothing was pruned."
        )
    return parse_duration(value, "--older-than")


def prune(
    objects: Sequence[str] = (),
    *,
    older_than_seconds: int,
    dry_run: bool = False,
    project_dir: Path | None = None,
    profiles_dir: Path | None = None,
    target: str | None = None,
    env: Mapping[str, str] | None = None,
    now: datetime | None = None,
    wait_for_lock: bool = False,
) -> list[PruneResult]:
    """Prune the staging tables of ``objects`` (default: every registered object).

    Naming an object that has history enabled raises PruneRefusedError before anything is
    deleted; without names such objects are skipped and reported.
    """
    project = load_project(project_dir)
    names = project.resolve(objects) if objects else list(project.objects)
    refused = [name for name in names if project.objects[name].history]
    if objects and refused:
        raise PruneRefusedError(
            f"{', '.join(refused)} {'has' if len(refused) == 1 else 'have'} a history model, which is built from "
            "every staged version; pruning would make it impossible to rebuild. Remove the history model "
            "(models/salesforce/<object>_history.sql) to prune, or leave these objects out."
        )
    cutoff = (now or utcnow()) - timedelta(seconds=older_than_seconds)
    settings = settings_from_env(env)
    schema = settings.schema
    # a dry run only reads: it neither creates nor writes the warehouse
    wh = connect(
        load_target(project.project_dir, profiles_dir, target, settings), read_only=dry_run
    )
    results: list[PruneResult] = []
    try:
        with run_lock(wh, wait=wait_for_lock):
            for name in names:
                if name in refused:
                    results.append(PruneResult(object_name=name, outcome=SKIPPED_HISTORY))
                    continue
                results.append(prune_object(wh, name, schema, cutoff=cutoff, dry_run=dry_run))
    finally:
        wh.close()
    return results


def prune_object(
    wh: Warehouse, name: str, schema: str, *, cutoff: datetime, dry_run: bool = False
) -> PruneResult:
    """Prune one object's staging table (see the module docstring for the rule)."""
    result = PruneResult(object_name=name)
    summary = main_table_summary(wh, name, schema)
    columns = wh.columns(name.lower())
    if summary is None or summary[1] is None or not columns:
        result.outcome = NOT_BUILT
        return result
    result.merged_through = summary[1]
    predicate, params = _prunable(wh, name, columns, merged_through=summary[1], cutoff=cutoff)
    table = wh.staging_table(name)
    with wh.transaction():
        rows, batches = wh.execute(
            f"SELECT count(*), count(DISTINCT {wh.quote(BATCH_ID_COLUMN)}) FROM {table} WHERE {predicate}",
            params,
        )[0]
        total = int(wh.execute(f"SELECT count(*) FROM {table}")[0][0])
        result.rows_deleted, result.rows_kept = int(rows), total - int(rows)
        result.batches_emptied = int(batches) - _batches_kept(wh, table, predicate, params)
        if rows and not dry_run:
            wh.execute(f"DELETE FROM {table} WHERE {predicate}", params)
    result.outcome = PRUNED if rows else NOTHING
    logger.info(
        "%s: %s %d staged row(s) of batches up to %s extracted before %s",
        name,
        "would delete" if dry_run else "deleted",
        result.rows_deleted,
        result.merged_through,
        cutoff.isoformat(),
    )
    return result


def _batches_kept(wh: Warehouse, table: str, predicate: str, params: list) -> int:
    """How many of the batches touched by ``predicate`` still keep a row afterwards."""
    batch = wh.quote(BATCH_ID_COLUMN)
    rows = wh.execute(
        f"SELECT count(DISTINCT {batch}) FROM {table} WHERE NOT ({predicate}) AND {batch} IN "
        f"(SELECT {batch} FROM {table} WHERE {predicate})",
        [*params, *params],
    )
    return int(rows[0][0])


def _prunable(
    wh: Warehouse, name: str, columns: Mapping[str, str], *, merged_through: str, cutoff: datetime
) -> tuple[str, list]:
    """The WHERE clause (and its parameters) selecting the rows prune may delete."""
    q, table = wh.quote, wh.staging_table(name)
    idc, batch, kind, extracted = (
        q("Id"),
        q(BATCH_ID_COLUMN),
        q(KIND_COLUMN),
        q(EXTRACTED_AT_COLUMN),
    )
    version = next((c for c in VERSION_COLUMNS if c.lower() in columns), None)
    key = f"{idc} || '|' || {kind} || '|' || {batch}"
    by_version = (
        (
            f"row_number() OVER (PARTITION BY {idc}, {kind} ORDER BY "
            f"CASE WHEN {kind} = ? THEN {q(version)} END DESC NULLS LAST, {batch} DESC)"
        )
        if version
        else "2"
    )
    keepers = f"""
        SELECT key FROM (
            SELECT {key} AS key,
                   row_number() OVER (PARTITION BY {idc}, {kind} ORDER BY {batch} DESC) AS newest_batch,
                   {by_version} AS newest_version
            FROM {table}
            WHERE {idc} IS NOT NULL
        ) ranked
        WHERE newest_batch = 1 OR newest_version = 1
    """
    predicate = (
        f"{batch} <= ? AND {extracted} < CAST(? AS {timestamp_sql_type(wh.kind)}) "  # type: ignore[arg-type]
        f"AND {idc} IS NOT NULL AND {key} NOT IN ({keepers})"
    )
    params: list = [merged_through, as_utc(cutoff).isoformat(sep=" ")]
    if version:
        params.append(KIND_RECORD)
    return predicate, params
