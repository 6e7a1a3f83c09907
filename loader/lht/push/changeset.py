"""The change set of each push: a dbt view beside the push model, read here, never rendered here.

The view is a model whose SQL is ``{{ lht.lht_push_changes('<push model>') }}`` (file
``<push model>__lht_changes.sql``, written by ``lht add --push``); ``dbt build`` builds it
after the push model. It reads the push model and the results staging table live, so a
push right after another sees what the other had accepted. ``lht push`` finds it in the
manifest by its ``meta.lht_push_changes``, checks it matches the push model as built (its
columns, and the options it was built with: ``_lht_spec``), and runs plain queries over
it: the rows to send ordered by key (key problems first: a push with any is refused), the
counts per action for ``--dry-run``, the mirror deletions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa

from lht.constants import PUSH_RESULTS_TABLE
from lht.errors import LhtError
from lht.manifest import Manifest, ModelNode
from lht.push.spec import PushRefused, PushSpec
from lht.warehouse.connection import Warehouse

logger = logging.getLogger(__name__)

#: The meta key the change-set view carries (set by the ``lht_push_changes`` macro).
CHANGES_META = "lht_push_changes"
#: The change-set view's file name after the push model's.
CHANGES_SUFFIX = "__lht_changes"
#: The one line of a change-set view's file.
CHANGES_SQL = "{{{{ lht.lht_push_changes('{name}') }}}}\n"
#: Columns the change set adds in front of the model's own.
ACTION, FULL_ACTION, CHANGE, KEY, KEY_ROWS = (
    "_lht_action",
    "_lht_full_action",
    "_lht_change",
    "_lht_key",
    "_lht_key_rows",
)
HASH, SF_ID, SPEC = "_lht_values_hash", "_lht_salesforce_id", "_lht_spec"
MATCH, MATCH_ID = "_lht_match", "_lht_match_id"
LHT_COLUMNS = (
    ACTION,
    FULL_ACTION,
    CHANGE,
    KEY,
    KEY_ROWS,
    HASH,
    "_lht_accepted_hash",
    SF_ID,
    "_lht_last_success",
    SPEC,
    MATCH,
    MATCH_ID,
)
#: ``_lht_match`` values of rows whose record was not found once (each a row result, never sent).
UNMATCHED = {"not_found": "NOT_FOUND", "ambiguous": "AMBIGUOUS_MATCH"}
#: What each column the change set adds means (the YAML ``lht add --push`` writes).
COLUMN_DESCRIPTIONS = {
    ACTION: "The operation lht push sends for the row (the push's operation), or none.",
    FULL_ACTION: "The operation `lht push --full` sends: every row, but an insert never creates a key's record twice.",
    CHANGE: "Why: new (never accepted), retry (the last attempt failed), changed (values differ from those "
    "Salesforce last accepted), unchanged, or gone (a record this push created whose key left the model: "
    "deleted, with mirror: true).",
    KEY: "The row's key, as text.",
    KEY_ROWS: "Rows of the push model with this key; lht push refuses the push when it is above 1 or the key is NULL.",
    HASH: "Fingerprint (md5) of the row's values now.",
    "_lht_accepted_hash": "Fingerprint of the values Salesforce last accepted for the key (NULL if never).",
    SF_ID: "The Salesforce Id last accepted for the key.",
    "_lht_last_success": "Whether the key's newest attempt succeeded (NULL if never attempted).",
    SPEC: "The options the view was built with (JSON: operation, key, mirror, results_live, match_on); lht push "
    "refuses a view built with other options than the model has now.",
    MATCH: "The record match_on found: found (one live record of lht's main table has the key), not_found, "
    "ambiguous (several), or NULL without match_on.",
    MATCH_ID: "With match_on: the Id of the one live record whose match field equals the key (NULL otherwise).",
}
#: How many problem keys a refusal names.
PROBLEM_KEYS = 5


@dataclass(frozen=True)
class ChangeSet:
    """The change-set view of one push, checked against the push model as built."""

    push_name: str
    relation: str
    full: bool = False

    @property
    def action(self) -> str:
        """The column of the action to take: ``--full``'s, or the changes-only one."""
        return FULL_ACTION if self.full else ACTION


def changes_file(node: ModelNode) -> str:
    """Where the push model's change-set view goes: beside the model's file."""
    folder = str(Path(node.path).parent) if node.path else "models"
    return f"{folder}/{node.name}{CHANGES_SUFFIX}.sql"


def change_views(manifest: Manifest) -> dict[str, ModelNode]:
    """The change-set views of the manifest, by their push model's name (lower case)."""
    found: dict[str, ModelNode] = {}
    for node in manifest.models_with_meta(CHANGES_META):
        push = node.options.get("push")
        if isinstance(push, str):
            found.setdefault(push.lower(), node)
    return found


def _columns(wh: Warehouse, relation: str) -> list[str] | None:
    """The relation's columns as stored, or None when it cannot be read (not built)."""
    try:
        return list(wh.fetch_arrow(f"select * from {relation} where 1 = 0").schema.names)
    except LhtError as exc:
        logger.info("cannot read %s: %s", relation, exc)
        return None


def model_columns_as_built(wh: Warehouse, spec: PushSpec) -> list[str]:
    """The push model's columns as stored; PushRefused saying to run ``dbt build`` when it
    was never built."""
    columns = _columns(wh, spec.relation)
    if columns is None:
        raise PushRefused(
            f"its table {spec.relation} does not exist or cannot be read: run `dbt build` "
            "(it was parsed but not built)."
        )
    return columns


def open_change_set(
    wh: Warehouse,
    spec: PushSpec,
    node: ModelNode,
    view: ModelNode | None,
    stored: Sequence[str],
    *,
    full: bool,
) -> ChangeSet:
    """The push's change-set view, checked to match the push model as built; PushRefused
    naming the file to add, or saying to run ``dbt build``."""
    if view is None:
        raise PushRefused(
            f"it has no change-set view: add the file {changes_file(node)} containing "
            f"`{CHANGES_SQL.format(name=node.name).strip()}` (`lht add --push {node.name}` writes it), "
            "then run `dbt build`."
        )
    columns = _columns(wh, view.relation)
    if columns is None:
        raise PushRefused(
            f"its change-set view {view.name} ({view.relation}) is not built: run `dbt build` "
            f"(`dbt build --select {node.name}+` builds the model and its view)."
        )
    own = [c for c in columns if c.lower() not in LHT_COLUMNS]
    if [c.lower() for c in own] != [c.lower() for c in stored] or not {SPEC, MATCH} <= {
        c.lower() for c in columns
    }:
        raise PushRefused(
            f"its change-set view {view.name} was built for other columns than the model has now: "
            f"run `dbt build --select {node.name}+` (the model, then its view)."
        )
    return ChangeSet(spec.name, view.relation, full)


def check_match_table(wh: Warehouse, spec: PushSpec, relation: str | None) -> None:
    """PushRefused, naming the fix, when ``match_on`` cannot be resolved: the object has no
    main table in the project (``relation`` None) or it was never built from a sync."""
    fix = (
        f"`match_on` finds records in lht's synced {spec.object_name} table: run `lht add {spec.object_name}`, "
        f"`lht sync {spec.object_name}` and `dbt build`, then push again."
    )
    if relation is None:
        raise PushRefused(
            f"{spec.object_name} is not synced by lht (no model calls "
            f"lht_main_table('{spec.object_name}')): {fix}"
        )
    columns = _columns(wh, relation)
    fields = [c for c in columns or () if c.lower() != "id" and not c.lower().startswith("_lht_")]
    if not fields:  # not built, or built before the object's first sync (Id and lht's columns only)
        raise PushRefused(
            f"{spec.object_name} is not synced by lht ({relation} has no synced records): {fix}"
        )
    if spec.match_on and spec.match_on.lower() not in {c.lower() for c in fields}:
        raise PushRefused(
            f"meta.lht_push.match_on {spec.match_on!r} is not a column of {relation} (a field "
            f"lht does not sync, or misspelt): name a synced field of {spec.object_name}."
        )


def check_spec(wh: Warehouse, changes: ChangeSet, spec: PushSpec, built: str | None) -> None:
    """PushRefused when the view was built with other options than the model has now, or
    before any result of this push existed while some exist now (``built``: a ``_lht_spec``)."""
    if built is None:
        return
    try:
        options: Mapping[str, object] = json.loads(built)
    except ValueError:
        options = {}
    rebuild = (
        f"its change-set view was built {{}}: run `dbt build` (`dbt build --select {changes.push_name}+` "
        "builds the model and its view)."
    )
    if (
        options.get("operation") != spec.operation
        or str(options.get("key", "")).lower() != spec.key.lower()
        or options.get("mirror") is not spec.mirror
        or str(options.get("match_on") or "").lower() != (spec.match_on or "").lower()
    ):
        raise PushRefused(rebuild.format(f"for other meta.lht_push options ({options})"))
    if options.get("results_live") is False:
        found = wh.execute(
            f"select count(*) from {wh.table(PUSH_RESULTS_TABLE)} where {wh.quote('push_name')} = ?",
            [spec.name],
        )
        if found and int(found[0][0]):
            raise PushRefused(
                rebuild.format(
                    "before this push's first results existed, and would send their rows again"
                )
            )


def problem_keys(batch: pa.RecordBatch) -> list[tuple[str | None, int]]:
    """The NULL and duplicate keys at the head of a batch of the stream (they sort first),
    with the rows carrying each; at most ``PROBLEM_KEYS`` of them."""
    keys = batch.column(column_of(batch, KEY)).to_pylist()
    rows = batch.column(column_of(batch, KEY_ROWS)).to_pylist()
    problems: dict[str | None, int] = {}
    for k, n in zip(keys, rows, strict=True):
        if k is not None and (n or 0) <= 1:
            break
        if k not in problems and len(problems) == PROBLEM_KEYS:
            break
        problems[k] = int(n or 0)
    return list(problems.items())


class Counts(NamedTuple):
    """The dry run's view of a change set: rows per (action, change), mirror deletions
    included; the NULL and duplicate keys (:func:`problem_keys`); the view's ``_lht_spec``;
    with ``match_on``, the rows to send whose record was not found once (by ``_lht_match``)."""

    rows: dict[tuple[str, str], int]
    problems: list[tuple[str | None, int]]
    spec: str | None
    unmatched: dict[str, int]


def counts(wh: Warehouse, changes: ChangeSet) -> Counts:
    """The counts of the change set (:class:`Counts`), in one query (two with key problems)."""
    found: dict[tuple[str, str], int] = {}
    unmatched: dict[str, int] = {}
    spec = None
    problems = False
    for action, change, problem, match, built, n in wh.execute(
        f"select {changes.action}, {CHANGE}, ({KEY} is null or {KEY_ROWS} > 1), {MATCH}, min({SPEC}), count(*) "
        f"from {changes.relation} group by 1, 2, 3, 4"
    ):
        found[(str(action), str(change))] = found.get((str(action), str(change)), 0) + int(n)
        if match in UNMATCHED and action != "none":
            unmatched[str(match)] = unmatched.get(str(match), 0) + int(n)
        spec = spec or built
        problems = problems or bool(problem)
    if not problems:
        return Counts(found, [], spec, unmatched)
    head = wh.fetch_arrow(
        f"select {KEY}, {KEY_ROWS} from {changes.relation} where {KEY} is null or {KEY_ROWS} > 1 "
        f"order by {KEY} nulls first limit {PROBLEM_KEYS * 10_000}"
    )
    return Counts(
        found,
        problem_keys(head.combine_chunks().to_batches()[0]) if head.num_rows else [],
        spec,
        unmatched,
    )


def model_rows(wh: Warehouse, relation: str) -> int:
    """The push model's rows (each is in the change set, sent or not)."""
    return int(wh.execute(f"select count(*) from {relation}")[0][0])


def rows_to_send(wh: Warehouse, changes: ChangeSet) -> int:
    """The rows the push would send (mirror deletions aside): one count over the view."""
    return int(
        wh.execute(
            f"select count(*) from {changes.relation} where {CHANGE} <> 'gone' "
            f"and {changes.action} <> 'none'"
        )[0][0]
    )


def stream_changes(
    wh: Warehouse, changes: ChangeSet, batch_rows: int, parents: Sequence[str] = ()
) -> Generator[pa.RecordBatch, None, None]:
    """The rows to send, ordered by key (a stable order; nothing is paged by LIMIT/OFFSET),
    rows with key problems first (NULL keys, then duplicates): when the first row has one,
    the push is refused. ``parents`` (the model's lookup columns, as stored) order the rows
    by parent before the key, so one parent's children go out together (one Bulk batch, one
    collections call) and parallel batches do not wait on each other's parent locks."""
    problem = f"({KEY} is null or {KEY_ROWS} > 1)"
    by_parent = "".join(
        f'"{column.replace(chr(34), chr(34) * 2)}" nulls first, ' for column in parents
    )
    yield from wh.stream_arrow(
        f"select * from {changes.relation} where {CHANGE} <> 'gone' and ({changes.action} <> 'none' or {problem}) "
        f"order by {problem} desc, {by_parent}{KEY} nulls first",
        batch_rows=batch_rows,
    )


def stream_mirror_deletes(
    wh: Warehouse, changes: ChangeSet, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    """The mirror deletions (key and Salesforce Id), ordered by key."""
    yield from wh.stream_arrow(
        f"select {KEY}, {SF_ID} from {changes.relation} where {CHANGE} = 'gone' order by {KEY}",
        batch_rows=batch_rows,
    )


def first_mirror_delete(wh: Warehouse, changes: ChangeSet) -> str | None:
    """The ``_lht_spec`` of the first mirror deletion, or None when there is none."""
    rows = wh.execute(f"select {SPEC} from {changes.relation} where {CHANGE} = 'gone' limit 1")
    return str(rows[0][0]) if rows else None


def has_problem(batch: pa.RecordBatch) -> bool:
    """True when the batch's first row has a key problem (NULL or duplicate key)."""
    if batch.num_rows == 0:
        return False
    key = batch.column(column_of(batch, KEY))[0].as_py()
    rows = batch.column(column_of(batch, KEY_ROWS))[0].as_py()
    return key is None or (rows or 0) > 1


def spec_of(batch: pa.RecordBatch) -> str | None:
    """The ``_lht_spec`` the view was built with, from a batch of it."""
    return batch.column(column_of(batch, SPEC))[0].as_py() if batch.num_rows else None


def column_of(batch: pa.RecordBatch, name: str) -> str:
    """The batch's column called ``name`` in any case (Snowflake returns upper case)."""
    for column in batch.schema.names:
        if column.lower() == name.lower():
            return column
    raise KeyError(name)
