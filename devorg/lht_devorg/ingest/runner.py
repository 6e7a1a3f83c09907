"""One Bulk API 2.0 ingest job's processing: the uploaded CSV parsed, written, and the three
result files (:mod:`.results`).

The CSV is read into Arrow string columns by pyarrow, a segment at a time, for as long as that
gives exactly the ``csv`` module's rows (:mod:`.csvparse`), the rest with the ``csv``
module, row by row (quoted multi-line text intact either way), in chunks of
:data:`CHUNK_ROWS` rows (Salesforce's internal batch size); the job's progress moves a chunk
at a time. Cells follow Bulk 2.0's rules: an empty cell leaves the field as it is, ``#N/A``
sets it to null, a header ``Account.External_Id__c`` sets a lookup through the parent's
external id. An update chunk without lookup or unique-field columns is checked and written
column by column (:mod:`.colwise`, the same results), a few chunks per transaction
(:mod:`.updategroup`); so are an upsert's rows that match one record each
(:mod:`.upsertcols`); other chunks row by row (:mod:`..core.batchwrite`), one per transaction.

A problem with the whole upload (an unknown column, a missing Id or external-id column, the
wrong line ending) fails the job with ``errorMessage``; every row is then unprocessed.
"""

from __future__ import annotations

import csv
import itertools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..core import batchwrite, validate
from ..core.rules import WriteRules
from ..errors import OrgError
from . import colwise, csvparse, locks, updategroup, upsertcols
from .results import RESULT_NAMES, ChunkResults, ResultFiles

__all__ = ["CHUNK_ROWS", "RESULT_NAMES", "JobFailed", "ResultFiles", "process"]

log = logging.getLogger(__name__)

#: Rows per chunk (checked, and reported in the job's progress, one chunk at a time), as
#: Salesforce's internal batches of a Bulk 2.0 job.
CHUNK_ROWS = 10_000


class JobFailed(Exception):
    """The upload as a whole cannot be processed; the message is the job's errorMessage."""


def _check_line_ending(path: Path, line_ending: str) -> None:
    with open(path, "rb") as f:
        first = f.readline()
    if first.endswith(b"\r\n") and line_ending == "\n":
        raise JobFailed(
            "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF"
        )
    if first.endswith(b"\n") and not first.endswith(b"\r\n") and line_ending == "\r\n":
        raise JobFailed(
            "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is CRLF"
        )


def _columns(
    schema: Any, obj_name: str, header: list[str], operation: str, ext_field: str | None
) -> list[dict | None]:
    """The describe field of each column (None for a lookup column); JobFailed if one is unknown."""
    obj = schema.require(obj_name)
    lowered = [h.lower() for h in header]
    if operation in ("delete", "hardDelete") and lowered != ["id"]:
        raise JobFailed(f"InvalidBatch : The '{operation}' batch must contain only ids")
    if operation == "upsert" and (ext_field or "").lower() not in lowered:
        raise JobFailed(f"InvalidBatch : Field name not found : {ext_field}")
    if len(set(lowered)) != len(lowered):
        raise JobFailed("InvalidBatch : Duplicate field name in the header")
    out: list[dict | None] = []
    for name in header:
        if "." in name:
            rel = name.partition(".")[0].rpartition(":")[2].lower()
            if not any(
                f["type"] == "reference" and (f["relationshipName"] or "").lower() == rel
                for f in obj.describe["fields"]
            ):
                raise JobFailed(f"InvalidBatch : Field name not found : {name}")
            out.append(None)
            continue
        f = obj.field(name)
        if f is None:
            raise JobFailed(f"InvalidBatch : Field name not found : {name}")
        out.append(f)
    return out


#: Field types whose CSV cell is the value (no conversion, no type check).
_AS_TEXT = frozenset(
    {
        "string",
        "textarea",
        "phone",
        "url",
        "email",
        "picklist",
        "multipicklist",
        "encryptedstring",
        "combobox",
        "id",
        "reference",
    }
)


def _values(header: list[str], fields: list[dict | None], row: list[str]) -> dict | OrgError:
    """One CSV row as write values: empty cells left out, ``#N/A`` null (or the row's error)."""
    if len(row) != len(header):
        return OrgError(
            400, "INVALID_FIELD", f"The row has {len(row)} values; the header has {len(header)}", []
        )
    values: dict = {}
    try:
        for name, f, cell in zip(header, fields, row, strict=True):
            if cell == "":
                continue
            if cell == validate.NULL_CELL:
                values[name if f is None else f["name"]] = None
            elif f is None:
                values[name] = cell
            elif f["type"] in _AS_TEXT:
                values[f["name"]] = cell  # csv_value returns these cells as they are
            else:
                values[f["name"]] = validate.csv_value(f, cell)
    except OrgError as exc:
        return exc
    return values


def _chunks(reader: Iterator[list[str]], size: int) -> Iterator[list[list[str]]]:
    chunk: list[list[str]] = []
    for row in reader:
        if not row:
            continue  # a blank line
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _parsed_chunks(
    reader: Iterator[list[str]], path: Path, delimiter: str, header: list[str]
) -> Iterator[list[pa.Array] | list[list[str]]]:
    """The upload's chunks: Arrow columns while pyarrow reads them as ``csv`` would, then
    (:class:`.csvparse.NotVouched`) the rest as rows of the ``csv`` module's ``reader``."""
    done = 0
    try:
        for columns in csvparse.ahead(csvparse.column_chunks(path, delimiter, header, CHUNK_ROWS)):
            yield columns
            done += len(columns[0])
        return
    except csvparse.NotVouched:
        pass
    for row in reader:  # the rows already written, as the csv module reads them
        if done <= 0:
            yield from _chunks(itertools.chain([row], reader), CHUNK_ROWS)
            return
        done -= bool(row)


def process(
    engine: Any,
    job: Any,
    files: ResultFiles,
    *,
    stopped: Callable[[], bool],
    before_row: Callable[[dict], None],
    progress: Callable[[int, int], None],
    row_faults: Callable[[], bool] | None = None,
    batch_rows: int = CHUNK_ROWS,
    parallel: int = 1,
) -> None:
    """Write the job's uploaded rows; raise JobFailed when the upload as a whole is refused.

    ``stopped()`` is checked between chunks (an aborted job); ``progress(processed, failed)``
    is called after each chunk. ``before_row`` runs before each row's write (the row-lock
    fault); when ``row_faults()`` says no such fault is armed, a chunk skips it. Rows of
    batches of ``batch_rows`` processed ``parallel`` at a time fail with UNABLE_TO_LOCK_ROW
    when another of those batches holds their parent (:mod:`.locks`). The job's assignment
    rule and Account's duplicate rule apply (:mod:`..core.rules`).
    """
    delimiter, line_ending = job.delimiter_char, job.line_ending_chars
    with open(job.upload_path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise JobFailed("InvalidBatch : The upload holds no header row") from None
        except csv.Error as exc:
            raise JobFailed(f"InvalidBatch : Failed to parse the CSV: {exc}") from None
        files.start(header)
        try:
            _check_line_ending(job.upload_path, line_ending)
            fields = _columns(
                engine.schema, job.object_name, header, job.operation, job.external_id_field
            )
        except JobFailed:
            _rest_unprocessed(([row] for row in reader), files, [])
            raise
        chunks = _parsed_chunks(reader, job.upload_path, delimiter, header)
        rules = _Rules(
            WriteRules(getattr(job, "assignment_rule_id", None)),
            locks.locked_rows(job.upload_path, delimiter, fields, batch_rows, parallel),
        )
        # Account's duplicate rule matches on Name and Website: a job sending Website goes row by
        # row (the column-wise paths do not run the rule; a job changing Name alone is not checked)
        rules.generic = bool(
            rules.locked
            or rules.write.assignment_rule_id
            or (job.object_name == "Account" and "website" in {h.lower() for h in header})
        )
        _write_all(
            engine,
            job,
            header,
            fields,
            chunks,
            files,
            stopped=stopped,
            before_row=before_row,
            progress=progress,
            row_faults=row_faults,
            rules=rules,
        )


@dataclass
class _Rules:
    """What a job's rows meet besides their own checks: the write rules, the rows that find
    their parent locked, and whether that sends every chunk through the row-by-row path."""

    write: WriteRules
    locked: set[int] = field(default_factory=set)
    generic: bool = False
    offset: int = 0  # rows of the job before the chunk being written


def _write_all(
    engine: Any,
    job: Any,
    header: list[str],
    fields: list[dict | None],
    chunks: Iterator[Any],
    files: ResultFiles,
    *,
    stopped: Callable[[], bool],
    before_row: Callable[[dict], None],
    progress: Callable[[int, int], None],
    row_faults: Callable[[], bool] | None,
    rules: _Rules,
) -> None:
    """Every chunk written in order (column-wise update chunks a group at a time,
    :mod:`.updategroup`), its results into the files and the progress moved after it."""
    group = updategroup.UpdateGroup(engine, engine.schema.require(job.object_name), fields)
    counts = [0, 0]  # processed, failed

    def report(chunk: list, results: Any) -> None:
        if isinstance(chunk[0], pa.Array):
            counts[1] += files.chunk(chunk, results)
            counts[0] += len(chunk[0])
        else:
            counts[1] += _rows_results(files, chunk, results)
            counts[0] += len(chunk)
        progress(counts[0], counts[1])

    def failed(exc: Exception, chunk: list | None) -> JobFailed:
        log.warning("ingest job %s failed while writing: %s", job.id, exc)
        pending = group.chunks()
        if chunk is not None and not any(c is chunk for c in pending):
            pending.append(chunk)
        _rest_unprocessed(chunks, files, pending)
        return JobFailed("InternalServerError : the rows could not be written")

    def flush() -> None:
        try:
            group.write(report)
        except Exception as exc:  # noqa: BLE001 - the job fails, its rows stay unprocessed
            raise failed(exc, None) from exc

    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            break
        except csv.Error as exc:
            flush()
            raise JobFailed(f"InvalidBatch : Failed to parse the CSV: {exc}") from None
        if stopped():
            flush()
            _rest_unprocessed(chunks, files, [chunk])
            return
        hook = before_row if row_faults is None or row_faults() else None
        try:
            if hook is None and not rules.generic and group.takes(job.operation, chunk):
                if group.add(chunk):
                    group.write(report)
                continue
            group.write(report)
            with engine.transaction():
                results = _write_chunk(engine, job, header, fields, chunk, hook, rules)
        except Exception as exc:  # noqa: BLE001 - the job fails, its rows stay unprocessed
            raise failed(exc, chunk) from exc
        rules.offset += len(chunk[0]) if isinstance(chunk[0], pa.Array) else len(chunk)
        report(chunk, results)
    flush()


def _write_chunk(
    engine: Any,
    job: Any,
    header: list[str],
    fields: list[dict | None],
    chunk: list,
    before_row: Callable[[dict], None] | None,
    rules: _Rules,
) -> list[batchwrite.RowResult] | ChunkResults:
    """One chunk (rows, or Arrow columns) written: column-wise when it can be, else row by row."""
    obj = engine.schema.require(job.object_name)
    if rules.generic:
        rows = [
            _values(header, fields, row)
            for row in (
                csvparse.as_rows(chunk) if chunk and isinstance(chunk[0], pa.Array) else chunk
            )
        ]
        for i in range(len(rows)):
            if rules.offset + i in rules.locked and not isinstance(rows[i], OrgError):
                values = rows[i]
                rows[i] = validate.row_lock(str(values.get("Id") or "") or None)  # type: ignore[union-attr]
        return batchwrite.apply(
            engine,
            job.object_name,
            job.operation,
            rows,
            job.external_id_field,
            before_row,
            rules.write,
        )
    if chunk and isinstance(chunk[0], pa.Array):
        if colwise.applies_columns(job.operation, fields, chunk):
            return colwise.apply_update_columns(engine, obj, fields, chunk, before_row)
        if job.operation == "upsert" and before_row is None:
            columns = chunk

            def rest(indices: list[int]) -> list[batchwrite.RowResult]:
                taken = pa.array(indices, pa.int64())
                rows = [
                    _values(header, fields, row)
                    for row in csvparse.as_rows([c.take(taken) for c in columns])
                ]
                return batchwrite.apply(
                    engine, job.object_name, "upsert", rows, job.external_id_field
                )

            results = upsertcols.apply(engine, obj, fields, columns, job.external_id_field, rest)
            if results is not None:
                return results
        chunk = csvparse.as_rows(chunk)
    elif colwise.applies(job.operation, header, fields, chunk):
        return colwise.apply_update(engine, obj, header, fields, chunk, before_row)
    rows = [_values(header, fields, row) for row in chunk]
    return batchwrite.apply(
        engine, job.object_name, job.operation, rows, job.external_id_field, before_row
    )


def _rows_results(
    files: ResultFiles, chunk: list[list[str]], results: list[batchwrite.RowResult]
) -> int:
    """A chunk of ``csv`` rows' results into the files; the number of failed rows."""
    files.successes(
        (result.record_id, result.created, row)
        for row, result in zip(chunk, results, strict=True)
        if result.error is None
    )
    failed = 0
    for row, result in zip(chunk, results, strict=True):
        if result.error is not None:
            failed += 1
            files.failure(result.record_id, validate.bulk_error(result.error), row)
    return failed


def _rest_unprocessed(rest: Iterator[Any], files: ResultFiles, pending: list) -> None:
    """The ``pending`` chunks and every chunk left in ``rest`` (rows, or Arrow columns) into
    unprocessedrecords."""
    try:
        for item in itertools.chain(pending, rest):
            if item and isinstance(item[0], pa.Array):
                files.unprocessed_columns(item)
                continue
            for row in item:
                if row:
                    files.unprocessed(row)
    except csv.Error:
        return


#: The header check and the cell rules under public names, for Bulk API 1.0 batches
#: (:mod:`lht_devorg.bulk1`), which follow the same rules.
header_fields = _columns
row_values = _values
