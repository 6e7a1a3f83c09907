"""`lht push`: every push model (or the named ones), in the dbt DAG's order, under the run lock.

Each push's change set is its dbt view (:mod:`lht.push.changeset`), read here: no dbt runs.
The change sets are computed in the warehouse first; Salesforce is logged in to only when
some push has rows to send (or work left by a killed run to settle), so a push right
after a successful one makes no Salesforce call at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from lht.catalog import Catalog
from lht.config import Settings, credentials_from_env, settings_from_env
from lht.errors import ApiLimitError, ConfigError, LhtError
from lht.manifest import Manifest, ModelNode, load_manifest
from lht.project import find_project_dir
from lht.push import changeset
from lht.push.allowance import choose_bulk
from lht.push.recover import recover
from lht.push.send import PushRun, mirror, send_collections
from lht.push.sendbulk import BULK_BATCH_ROWS, send_bulk
from lht.push.spec import PushRefused, PushSpec, check_columns, push_spec
from lht.push.validate import SendPlan, check, parent_columns
from lht.salesforce.client import SalesforceClient, connect
from lht.warehouse.connection import Warehouse, load_target
from lht.warehouse.connection import connect as connect_warehouse
from lht.warehouse.lock import run_lock
from lht.warehouse.pushstate import PushStateStore
from lht.warehouse.results import ensure_push_results
from lht.warehouse.runs import record_run
from lht.warehouse.state import StateStore
from lht.warehouse.target import Target
from lht.writeback import FAILED, OK, REFUSED, ModelReport, WritebackReport

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PushRequest:
    """What the user asked ``lht push`` to do."""

    names: Sequence[str] = ()
    dry_run: bool = False
    full: bool = False
    target: str | None = None
    profiles_dir: Path | None = None
    project_dir: Path | None = None
    wait_for_lock: bool = False


class _LazyClient:
    """The run's Salesforce client, logged in to at its first use only; a failed login is
    not attempted again within the run (every push that needs the client fails with it)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client: SalesforceClient | None = None
        self._failed: LhtError | None = None

    def __call__(self) -> SalesforceClient:
        if self._failed is not None:
            raise self._failed
        if self.client is None:
            try:
                self.client = connect(credentials_from_env(self.settings.environ), self.settings)
            except LhtError as exc:
                self._failed = exc
                raise
        return self.client

    @property
    def calls(self) -> int:
        return self.client.total_calls if self.client else 0

    @property
    def usage(self) -> tuple[int, int] | None:
        return self.client.api_usage if self.client else None


def run_push(request: PushRequest, *, env: Mapping[str, str] | None = None) -> WritebackReport:
    """Run the pushes and return the report; configuration problems of the run raise."""
    project_dir = find_project_dir(request.project_dir)
    settings = settings_from_env(env)
    manifest = load_manifest(project_dir, settings)
    nodes = manifest.select(manifest.models_with_meta("lht_push"), request.names, "push")
    if not nodes:
        raise ConfigError(
            f"No push models in {manifest.path}: give a model `config: meta: lht_push:` "
            "(object, operation, key), then run `dbt build`."
        )
    target = load_target(project_dir, request.profiles_dir, request.target, settings)
    report = WritebackReport(
        command="push",
        started_at=datetime.now(timezone.utc),
        target=target.name,
        dry_run=request.dry_run,
    )
    client = _LazyClient(settings)
    with run_lock(target, wait=request.wait_for_lock):
        _run_pushes(request, manifest, nodes, settings, target, report, client)
    return report


def _run_pushes(
    request: PushRequest,
    manifest: Manifest,
    nodes: Sequence[ModelNode],
    settings: Settings,
    target: Target,
    report: WritebackReport,
    client: _LazyClient,
) -> None:
    """Every selected push, in order, under the run lock; results into ``report``."""
    views = changeset.change_views(manifest)
    wh = connect_warehouse(target)
    try:
        ensure_push_results(wh)
        PushStateStore(wh)
        stop: str | None = None
        for node in nodes:
            item = ModelReport(
                node.name,
                str(node.options.get("object") or ""),
                str(node.options.get("operation") or ""),
            )
            report.results.append(item)
            if stop:
                item.status, item.error = FAILED, f"not started: {stop}"
                continue
            started, calls = time.monotonic(), client.calls
            try:
                spec = push_spec(node)
                if spec.match_on:
                    changeset.check_match_table(wh, spec, manifest.main_table(spec.object_name))
                stored = changeset.model_columns_as_built(wh, spec)
                check_columns(stored)
                changes = changeset.open_change_set(
                    wh, spec, node, views.get(node.name.lower()), stored, full=request.full
                )
                _push_one(wh, client, settings, spec, stored, changes, item, request)
            except PushRefused as exc:
                item.status, item.refusals = REFUSED, item.refusals or [str(exc)]
            except ApiLimitError as exc:
                item.status, item.error, stop = FAILED, str(exc), "the API budget was reached"
            except LhtError as exc:
                logger.error("push %s failed: %s", item.name, exc)
                item.status, item.error = FAILED, str(exc)
            item.api_calls = client.calls - calls
            item.seconds = round(time.monotonic() - started, 3)
        report.finish(client.calls, client.usage, datetime.now(timezone.utc))
        if not request.dry_run:
            record_run(wh, report.run_rows())  # the run history (_lht_runs)
    finally:
        wh.close()
        report.api_calls = client.calls
        report.finished_at = report.finished_at or datetime.now(timezone.utc)


def _describe(
    wh: Warehouse, client: _LazyClient | None, settings: Settings, object_name: str
) -> dict | None:
    """The object's describe: the cached one while fresh (the catalog's rule), else fetched
    (when ``client``) and cached."""
    store = StateStore(wh)
    fetch = (lambda: client().describe(object_name)) if client is not None else None
    return Catalog.load(store, [object_name], settings).describe(object_name, store, fetch)


def _plan(
    wh: Warehouse, client: _LazyClient | None, settings: Settings, spec: PushSpec, stored: list[str]
) -> SendPlan | None:
    describe = _describe(wh, client, settings, spec.object_name)
    if describe is None:
        return None
    plan, refusals = check(spec, stored, describe)
    if refusals:
        raise PushRefused("; ".join(refusals))
    return plan


def _refuse_problems(
    spec: PushSpec, problems: list[tuple[str | None, int]], item: ModelReport
) -> None:
    if problems:
        item.refusals = [
            f"key {spec.key} is NULL on {n} row(s)"
            if k is None
            else f"key {spec.key} = {k!r} is on {n} rows"
            for k, n in problems
        ]
        raise PushRefused("; ".join(item.refusals))


def _push_one(
    wh: Warehouse,
    client: _LazyClient,
    settings: Settings,
    spec: PushSpec,
    stored: list[str],
    changes: changeset.ChangeSet,
    item: ModelReport,
    request: PushRequest,
) -> None:
    if request.dry_run:
        _dry_run(wh, client, settings, spec, stored, changes, item)
        return
    pending = PushStateStore(wh).pending(spec.name)
    if pending:
        plan = _plan(wh, client, settings, spec, stored)
        assert plan is not None
        recover(PushRun(wh, client, settings, spec, plan, changes, item), pending)
    item.considered = changeset.model_rows(wh, spec.relation)
    # the change set is computed once: its first rows tell the key problems and the engine, then it streams on
    parents = parent_columns(stored, _describe(wh, None, settings, spec.object_name), spec)
    stream = changeset.stream_changes(wh, changes, BULK_BATCH_ROWS, parents)
    streamed = _Counted()
    try:
        head = streamed.peek(stream, settings.push_bulk_min_rows)
        if head and changeset.has_problem(head[0]):
            streamed.rows = 0
            _refuse_problems(spec, changeset.problem_keys(head[0]), item)
        gone = None if head or not spec.mirror else changeset.first_mirror_delete(wh, changes)
        changeset.check_spec(wh, changes, spec, changeset.spec_of(head[0]) if head else gone)
        if not head and gone is None:
            item.unchanged = item.considered
            _plan(wh, None, settings, spec, stored)  # a cached describe still catches a bad column
            return
        plan = _plan(wh, client, settings, spec, stored)
        assert plan is not None
        run = PushRun(wh, client, settings, spec, plan, changes, item)
        bulk = (
            streamed.rows >= settings.push_bulk_min_rows
            or spec.operation == "hard_delete"
            or (spec.operation == "insert" and plan.key_header is None)
        )
        if head and bulk:
            bulk = choose_bulk(run, streamed.rows >= settings.push_bulk_min_rows)
        if head:
            (send_bulk if bulk else send_collections)(run, streamed.rest(head, stream))
        else:
            mirror(run)  # nothing changed: only the records that left the model, if any
    finally:
        stream.close()
        item.unchanged = max(item.considered - streamed.rows, 0)
    item.status = FAILED if item.failed else OK


class _Counted:
    """The change set's batches as they stream, counted; the first ones read ahead."""

    def __init__(self) -> None:
        self.rows = 0

    def peek(self, batches: Iterator[pa.RecordBatch], rows: int) -> list[pa.RecordBatch]:
        """The first batches, until they hold ``rows`` rows or the change set ends."""
        head: list[pa.RecordBatch] = []
        for batch in batches:
            head.append(batch)
            self.rows += batch.num_rows
            if self.rows >= rows:
                break
        return head

    def rest(
        self, head: list[pa.RecordBatch], batches: Iterator[pa.RecordBatch]
    ) -> Iterator[pa.RecordBatch]:
        """The batches read ahead, then the others (counted as they come)."""
        yield from head
        for batch in batches:
            self.rows += batch.num_rows
            yield batch


def _dry_run(
    wh: Warehouse,
    client: _LazyClient,
    settings: Settings,
    spec: PushSpec,
    stored: list[str],
    changes: changeset.ChangeSet,
    item: ModelReport,
) -> None:
    """The counts a push would send, with the describe check; no write call."""
    counts, problems, built, unmatched = changeset.counts(wh, changes)
    _refuse_problems(spec, problems, item)
    changeset.check_spec(wh, changes, spec, built)
    to_send = sum(n for (action, _), n in counts.items() if action != "none")
    item.considered = sum(n for (_, change), n in counts.items() if change != "gone")
    item.unchanged = sum(n for (action, _), n in counts.items() if action == "none")
    if to_send == 0:
        _plan(wh, None, settings, spec, stored)  # a cached describe still catches a bad column
        return
    _plan(wh, client, settings, spec, stored)
    inserts = sum(
        n for (a, c), n in counts.items() if a == "insert" or (a == "upsert" and c == "new")
    )
    deletes = sum(n for (a, _), n in counts.items() if a in ("delete", "hard_delete"))
    not_found, ambiguous = unmatched.get("not_found", 0), unmatched.get("ambiguous", 0)
    if spec.deletes:
        deletes -= not_found + ambiguous
    item.would = {
        "insert": inserts,
        "update": to_send - inserts - deletes - not_found - ambiguous,
        "delete": deletes,
        "unchanged": item.unchanged,
        "refused": 0,
        "not_found": not_found,
        "ambiguous_match": ambiguous,
    }
    if not_found or ambiguous:
        item.notes.append(
            f"match_on {spec.match_on}: {not_found:,} row(s) would be recorded NOT_FOUND and "
            f"{ambiguous:,} AMBIGUOUS_MATCH (no record, or several, of lht's {spec.object_name} "
            "table has the value); they are not sent."
        )
