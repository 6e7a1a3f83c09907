"""Matching a Bulk ingest job's result files to the rows lht sent, by key, never by position.

The rows of a job are known by their key (with the hash of the values sent) when the key
column is uploaded, else by the digest of their cells (an insert keyed by a column of the
model's own). A successful file of keyed rows, nearly always the whole job, is matched
column by column with Arrow (a hash lookup of the key column, no Python object per row);
failed and unprocessed rows, and digest-matched rows, row by row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from lht.push.send import UNPROCESSED, PushRun, outcome, row_digest
from lht.salesforce import collections
from lht.warehouse.results import PushResult

logger = logging.getLogger(__name__)


@dataclass
class SentRows:
    """The rows one job holds: keyed (Arrow arrays of keys and values hashes) or by digest."""

    keys: list[pa.Array] = field(default_factory=list)
    hashes: list[pa.Array] = field(default_factory=list)
    by_digest: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    _table: pa.Table | None = None
    _lookup: dict[str, str | None] | None = None

    def add_keyed(self, keys: pa.Array, hashes: pa.Array) -> None:
        """Rows whose result rows carry their key."""
        self.keys.append(keys.cast(pa.string()))
        self.hashes.append(hashes.cast(pa.string()))
        self._table = self._lookup = None

    def add_digest(self, digest: str, key: str, values_hash: str | None) -> None:
        """A row whose result row is found by the digest of its cells."""
        self.by_digest.setdefault(digest, []).append((key, values_hash))

    def keyed(self) -> pa.Table:
        """The keyed rows as one table (``key``, ``hash``)."""
        if self._table is None:
            keys = pa.concat_arrays(self.keys) if self.keys else pa.array([], pa.string())
            hashes = pa.concat_arrays(self.hashes) if self.hashes else pa.array([], pa.string())
            self._table = pa.table({"key": keys, "hash": hashes})
        return self._table

    def hash_of(self, key: str) -> tuple[bool, str | None]:
        """(sent?, values hash) of one keyed row."""
        if self._lookup is None:
            table = self.keyed()
            self._lookup = dict(
                zip(table["key"].to_pylist(), table["hash"].to_pylist(), strict=True)
            )
        return (key in self._lookup, self._lookup.get(key))


@dataclass
class Locked:
    """Rows a job failed with a transient error: their cells as uploaded, keys and hashes."""

    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    keys: list[tuple[str, str | None]] = field(default_factory=list)


def successes_by_key(
    run: PushRun, job_id: str, batch: pa.Table, sent: SentRows, key_header: str
) -> pa.Table:
    """Successful result rows (``sf__Id``, ``sf__Created``, the key) as result rows, matched to
    the keys sent with one Arrow lookup."""
    keyed = sent.keyed()
    keys = batch.column(key_header)
    index = pc.index_in(keys, value_set=keyed["key"])
    known = pc.is_valid(index)
    unknown = len(keys) - pc.sum(known).as_py() if len(keys) else 0
    if unknown:
        logger.warning(
            "Bulk job %s: %d successful result rows have keys lht did not send", job_id, unknown
        )
        batch, index = batch.filter(known), index.filter(known)
        keys = batch.column(key_header)
    n = len(keys)
    ids = batch.column("sf__Id")
    created = (
        pc.equal(pc.utf8_lower(batch.column("sf__Created")), "true")
        if "sf__Created" in batch.schema.names
        else False
    )
    return run.result_table(
        n,
        key_value=keys,
        success=True,
        salesforce_id=pc.if_else(pc.equal(ids, ""), pa.scalar(None, pa.string()), ids),
        created=created,
        values_hash=keyed["hash"].take(index),
        job_id=job_id,
    )


def match_rows(
    run: PushRun,
    job_id: str,
    which: str,
    batch: pa.RecordBatch,
    sent: SentRows,
    locked: Locked | None = None,
) -> Iterator[PushResult]:
    """Result rows of one batch of a result file, row by row (failed, unprocessed, or by digest).

    Rows failed with a transient error go to ``locked`` (when given) instead of a result.
    """
    data = [n for n in batch.schema.names if not n.startswith("sf__")]
    operation = run.spec.operation
    key_header = run.plan.key_header
    for row in batch.to_pylist():
        if key_header is not None:
            key = row.get(key_header)
            known, values_hash = sent.hash_of(key)
            if not known:
                logger.warning(
                    "Bulk job %s: a %s result row has key %r, which lht did not send",
                    job_id,
                    which,
                    key,
                )
                continue
        else:
            found = sent.by_digest.get(row_digest([row.get(n) for n in data])) or []
            if not found:
                logger.warning(
                    "Bulk job %s: a %s result row matches no row lht sent", job_id, which
                )
                continue
            key, values_hash = found.pop(0)
        if which == "successful":
            answer = collections.RowResult(
                True, row.get("sf__Id") or None, str(row.get("sf__Created", "")).lower() == "true"
            )
        elif which == "failed":
            code, _, message = str(row.get("sf__Error") or "UNKNOWN_ERROR:").partition(":")
            if locked is not None and code in collections.TRANSIENT_ROW_ERRORS:
                locked.header = data
                locked.rows.append([row.get(n) or "" for n in data])
                locked.keys.append((key, values_hash))
                continue
            answer = collections.RowResult(
                False, row.get("sf__Id") or None, None, code, message.strip()
            )
        else:
            answer = collections.RowResult(
                False,
                None,
                None,
                UNPROCESSED,
                f"not processed: Bulk job {job_id} ended before this row",
            )
        yield outcome(run, key, operation, answer, values_hash, job_id)
