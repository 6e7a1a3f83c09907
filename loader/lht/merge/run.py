"""`lht merge`: merge duplicates inside Salesforce from dbt models, under the run lock.

A merge model carries ``config.meta.lht_merge: {object: Account}`` (Account, Contact or
Lead) and returns ``MasterId`` and ``LoserId``, one row per record to merge away. Every
selected model is read and validated first: one refusal sends nothing at all. Then, per
model: the losers' state is read with queryAll (a loser deleted with ``MasterRecordId``
set is already merged: skipped and reported, recorded once), the rest are grouped by
master (two losers per request, 200 requests per call) and sent through SOAP
``merge()``; each call's results are written through the writer before the next call, so
a killed run loses at most the confirmations of one call, which the next run finds
again in Salesforce's state. Requests Salesforce refuses are recorded, the others go
on, and the next run sends them again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lht.clock import utcnow
from lht.config import credentials_from_env, settings_from_env
from lht.errors import ConfigError, LhtError, MergeRefusedError, WarehouseError
from lht.manifest import ModelNode, load_manifest
from lht.merge.validate import KEY_PREFIXES, Pair, group_requests, validate_rows
from lht.project import find_project_dir
from lht.salesforce.client import SalesforceClient
from lht.salesforce.client import connect as connect_salesforce
from lht.salesforce.merge_soap import MAX_REQUESTS_PER_CALL, MergeResult, merge, merge_state
from lht.warehouse.connection import Warehouse, load_target
from lht.warehouse.connection import connect as connect_warehouse
from lht.warehouse.lock import run_lock
from lht.warehouse.merge_results import (
    ALREADY_MERGED,
    MERGED,
    MergeResultRow,
    recorded_successes,
    write_merge_results,
)
from lht.warehouse.merge_results import (
    FAILED as RESULT_FAILED,
)
from lht.warehouse.runs import record_run
from lht.writeback import DRY_RUN, FAILED, REFUSED, ModelReport, WritebackReport

logger = logging.getLogger(__name__)

META_KEY = "lht_merge"
#: Row errors kept in a model's report, for people (every one is in the results table).
REPORTED_ERRORS = 5


@dataclass(frozen=True)
class MergeRequest:
    """What the user asked ``lht merge`` to do."""

    names: Sequence[str] = ()
    dry_run: bool = False
    target: str | None = None
    profiles_dir: Path | None = None
    project_dir: Path | None = None
    wait_for_lock: bool = False


#: The fields of a merge model's report (push's counts, engine and operation are not merge's).
MERGE_FIELDS = (
    "name",
    "object_name",
    "status",
    "considered",
    "already_merged",
    "sent",
    "merged",
    "failed",
    "requests",
    "api_calls",
    "seconds",
    "refusals",
    "errors",
    "error",
)


@dataclass
class MergeModelReport(ModelReport):
    """One merge model's outcome: ``sent`` losers, ``merged``, ``failed``, ``already_merged``;
    ``requests`` merge() requests sent (or, dry, to send); ``api_calls`` every call spent on
    the model (state reads and merges); ``pairs`` (dry run) the master/loser pairs it would send."""

    requests: int = 0
    merged: int = 0
    already_merged: int = 0
    pairs: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of merge's fields (``pairs`` in a dry run)."""
        data = {name: getattr(self, name) for name in MERGE_FIELDS}
        data["rows_written"] = self.rows_written  # as every report of the run history says it
        if self.status == DRY_RUN:
            data["to_merge"] = len(self.pairs)
            data["pairs"] = list(self.pairs)
        return data

    @property
    def rows_written(self) -> int:
        """Losers merged by this run."""
        return self.merged

    def run_counts(self) -> dict[str, object]:
        """This model's columns of its ``_lht_runs`` row."""
        return {
            "engine": self.engine,
            "rows_considered": self.considered,
            "rows_sent": self.sent,
            "rows_merged": self.merged,
            "rows_already_merged": self.already_merged,
            "rows_failed": self.failed,
            "merge_requests": self.requests,
        }


@dataclass
class MergeReport(WritebackReport):
    """A whole ``lht merge`` run."""

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["results"] = [r.to_dict() for r in self.results]  # type: ignore[attr-defined]
        return data


def _object_of(model: ModelNode) -> str:
    wanted = model.options.get("object")
    by_lower = {name.lower(): name for name in KEY_PREFIXES}
    if not isinstance(wanted, str) or wanted.lower() not in by_lower:
        raise ConfigError(
            f"Model {model.name}: meta.{META_KEY}.object must be one of "
            f"{', '.join(KEY_PREFIXES)} (Salesforce merges only those), not {wanted!r}."
        )
    return by_lower[wanted.lower()]


def _read_rows(wh: Warehouse, model: ModelNode) -> list[tuple[object, object]]:
    try:
        table = wh.fetch_arrow(f"select * from {model.relation}")
    except WarehouseError as exc:
        raise ConfigError(
            f"Cannot read merge model {model.name} ({model.relation}): {exc}. "
            "Run `dbt build` first."
        ) from None
    names = {name.lower(): name for name in table.column_names}
    missing = [c for c in ("MasterId", "LoserId") if c.lower() not in names]
    if missing:
        raise ConfigError(
            f"Merge model {model.name} must return the columns MasterId and LoserId; "
            f"it lacks {', '.join(missing)} (it has {', '.join(table.column_names)})."
        )
    masters = table.column(names["masterid"]).to_pylist()
    losers = table.column(names["loserid"]).to_pylist()
    return list(zip(masters, losers, strict=True))


def run_merge(request: MergeRequest, *, env: Mapping[str, str] | None = None) -> WritebackReport:
    """Run one ``lht merge`` and return its report (exit code in ``report.exit_code``).

    Configuration problems (manifest, profile, credentials, lock) raise; a refused model
    makes the report refused, with nothing sent for any model.
    """
    project_dir = find_project_dir(request.project_dir)
    settings = settings_from_env(env)
    manifest = load_manifest(project_dir, settings)
    models = manifest.select(manifest.models_with_meta(META_KEY), request.names, "merge")
    if not models:
        raise ConfigError(
            f"No merge models in {manifest.path}: a merge model sets "
            f"`config.meta.{META_KEY}: {{object: Account}}` and returns MasterId, LoserId; "
            "add one, run `dbt build`, then `lht merge`."
        )
    objects = [_object_of(m) for m in models]
    credentials = credentials_from_env(settings.environ)
    target = load_target(project_dir, request.profiles_dir, request.target, settings)
    report = MergeReport("merge", started_at=utcnow(), target=target.name, dry_run=request.dry_run)
    with run_lock(target, wait=request.wait_for_lock):
        warehouse = connect_warehouse(target, read_only=request.dry_run)  # a dry run writes nothing
        try:
            plans = _validate_all(warehouse, models, objects, report)
            calls, usage = 0, None
            if plans:
                client = connect_salesforce(credentials, settings)
                for model, mr, pairs in plans:
                    _merge_model(client, warehouse, model, mr, pairs, request.dry_run)
                calls, usage = client.total_calls, client.api_usage
            report.finish(calls, usage, utcnow())
            if not request.dry_run:
                record_run(warehouse, report.run_rows())  # the run history (_lht_runs)
        finally:
            warehouse.close()
            report.finished_at = report.finished_at or utcnow()
    return report


def _validate_all(
    wh: Warehouse, models: Sequence[ModelNode], objects: Sequence[str], report: WritebackReport
) -> list[tuple[ModelNode, MergeModelReport, list[Pair]]]:
    """Every model's rows, validated; [] when any model is refused (nothing is sent then)."""
    plans = []
    for model, object_name in zip(models, objects, strict=True):
        mr = MergeModelReport(name=model.name, object_name=object_name, operation="merge")
        report.results.append(mr)
        rows = _read_rows(wh, model)
        mr.considered = len(rows)
        try:
            plans.append((model, mr, validate_rows(model.name, object_name, rows)))
        except MergeRefusedError as exc:
            mr.status = REFUSED
            mr.refusals.append(str(exc))
    if any(r.status == REFUSED for r in report.results):
        for _, mr, _ in plans:
            mr.error = "not sent: another merge model of this run was refused"
        return []
    return plans


def _merge_model(
    client: SalesforceClient,
    wh: Warehouse,
    model: ModelNode,
    mr: MergeModelReport,
    pairs: list[Pair],
    dry_run: bool,
) -> None:
    started = utcnow()
    calls_before = client.total_calls
    try:
        state = merge_state(client, mr.object_name, [p.loser_id for p in pairs])
        done = [p for p in pairs if _merged(state.get(p.loser_id))]
        todo = [p for p in pairs if not _merged(state.get(p.loser_id))]
        mr.already_merged = mr.unchanged = len(done)
        requests = group_requests(mr.object_name, todo)
        mr.requests = len(requests)
        if dry_run:
            mr.status = DRY_RUN
            mr.pairs = [
                {"master_id": r.master_id, "loser_id": loser}
                for r in requests
                for loser in r.loser_ids
            ]
            return
        mr.engine = "soap"
        recorded = recorded_successes(wh, model.name)
        first = [
            _already_row(model.name, mr.object_name, p, state[p.loser_id][1])
            for p in done
            if p.loser_id not in recorded
        ]
        if first:
            write_merge_results(wh, first, attempted_at=utcnow())
        for start in range(0, len(requests), MAX_REQUESTS_PER_CALL):
            chunk = requests[start : start + MAX_REQUESTS_PER_CALL]
            results = _confirm_deleted(client, merge(client, chunk))
            rows = [row for result in results for row in _rows(model.name, result)]
            write_merge_results(wh, rows, attempted_at=utcnow())
            for row in rows:
                mr.sent += 1
                if row.success:
                    mr.merged += 1
                else:
                    mr.failed += 1
                    if len(mr.errors) < REPORTED_ERRORS:
                        mr.errors.append(
                            f"{row.loser_id} into {row.master_id}: {row.error_code}: {row.error_message}"
                        )
        if mr.failed:
            mr.status = FAILED
    except LhtError as exc:
        mr.status = FAILED
        mr.error = str(exc)
        logger.error("merge model %s failed: %s", model.name, exc)
    finally:
        mr.api_calls = client.total_calls - calls_before
        mr.seconds = round((utcnow() - started).total_seconds(), 3)


def _merged(state: tuple[bool, str | None] | None) -> bool:
    return bool(state and state[0] and state[1])


def _already_row(name: str, object_name: str, pair: Pair, into: str | None) -> MergeResultRow:
    note = None if into == pair.master_id else f"merged into {into}, not into {pair.master_id}"
    return MergeResultRow(
        name, object_name, pair.master_id, pair.loser_id, ALREADY_MERGED, True, error_message=note
    )


def _rows(name: str, result: MergeResult) -> list[MergeResultRow]:
    request = result.request
    return [
        MergeResultRow(
            name,
            request.object_name,
            request.master_id,
            loser,
            MERGED if result.success else RESULT_FAILED,
            result.success,
            None if result.success else result.error_code,
            None if result.success else result.error_message,
            len(result.updated_related_ids) if result.success else None,
        )
        for loser in request.loser_ids
    ]


def _confirm_deleted(client: SalesforceClient, results: list[MergeResult]) -> list[MergeResult]:
    """A request refused with ENTITY_IS_DELETED whose losers are merged into its master was
    done by an earlier attempt of the same call (a retry after a lost answer): a success."""
    doubtful = [r for r in results if not r.success and r.error_code == "ENTITY_IS_DELETED"]
    if not doubtful:
        return results
    state = merge_state(
        client,
        doubtful[0].request.object_name,
        [loser for r in doubtful for loser in r.request.loser_ids],
    )
    for result in doubtful:
        request = result.request
        if all(state.get(loser) == (True, request.master_id) for loser in request.loser_ids):
            result.success, result.error_code, result.error_message = True, None, None
    return results
