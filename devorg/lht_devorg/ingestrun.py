"""One Bulk API 2.0 ingest job's processing: the uploaded CSV parsed, written, and the three
result files.

The CSV is read with the ``csv`` module, row by row (quoted multi-line text intact), in
chunks of :data:`CHUNK_ROWS` rows, each chunk written in one transaction. Cells follow
Bulk 2.0's rules: an empty cell leaves the field as it is, ``#N/A`` sets it to null, a header
``Account.External_Id__c`` sets a lookup through the parent's external id. An update chunk
without lookup or unique-field columns is checked and written column by column
(:mod:`.ingestcols`, the same results); other chunks row by row (:mod:`.batchwrite`).

Result files, in the job's delimiter and line ending, every value quoted:

- successfulResults: ``sf__Id``, ``sf__Created``, then the uploaded columns;
- failedResults: ``sf__Id``, ``sf__Error`` (``CODE:message:fields --``), then the columns;
- unprocessedrecords: the uploaded columns (rows never reached: an aborted or failed job).

A problem with the whole upload (an unknown column, a missing Id or external-id column, the
wrong line ending) fails the job with ``errorMessage``; every row is then unprocessed.
"""

from __future__ import annotations

import csv
import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from . import batchwrite, ingestcols, validate
from .errors import OrgError

log = logging.getLogger(__name__)

#: Rows per transaction (the store's write lock is held for one chunk at a time).
CHUNK_ROWS = 5000
RESULT_NAMES = ("successfulResults", "failedResults", "unprocessedrecords")


class JobFailed(Exception):
    """The upload as a whole cannot be processed; the message is the job's errorMessage."""


class ResultFiles:
    """The three result CSVs of one job, written as rows are processed."""

    def __init__(self, folder: Path, delimiter: str, line_ending: str) -> None:
        self.paths = {name: folder / f"{name}.csv" for name in RESULT_NAMES}
        self._files = {name: open(path, "w", newline="", encoding="utf-8") for name, path in self.paths.items()}
        self._writers = {name: csv.writer(f, delimiter=delimiter, lineterminator=line_ending,
                                          quoting=csv.QUOTE_ALL) for name, f in self._files.items()}
        self.header: list[str] | None = None

    def start(self, header: list[str]) -> None:
        """Write the three header rows."""
        self.header = header
        self._writers["successfulResults"].writerow(["sf__Id", "sf__Created", *header])
        self._writers["failedResults"].writerow(["sf__Id", "sf__Error", *header])
        self._writers["unprocessedrecords"].writerow(header)

    def success(self, record_id: str, created: bool, row: list[str]) -> None:
        self._writers["successfulResults"].writerow([record_id, "true" if created else "false", *row])

    def successes(self, rows: Iterable[tuple[str, bool, list[str]]]) -> None:
        """Many successful rows (record Id, created?, the uploaded cells) at once."""
        self._writers["successfulResults"].writerows(
            [record_id, "true" if created else "false", *row] for record_id, created, row in rows)

    def failure(self, record_id: str, error: str, row: list[str]) -> None:
        self._writers["failedResults"].writerow([record_id, error, *row])

    def unprocessed(self, row: list[str]) -> None:
        self._writers["unprocessedrecords"].writerow(row)

    def close(self) -> None:
        for f in self._files.values():
            f.close()


def _check_line_ending(path: Path, line_ending: str) -> None:
    with open(path, "rb") as f:
        first = f.readline()
    if first.endswith(b"\r\n") and line_ending == "\n":
        raise JobFailed("ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF")
    if first.endswith(b"\n") and not first.endswith(b"\r\n") and line_ending == "\r\n":
        raise JobFailed("ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is CRLF")


def _columns(schema: Any, obj_name: str, header: list[str], operation: str,
             ext_field: str | None) -> list[dict | None]:
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
            if not any(f["type"] == "reference" and (f["relationshipName"] or "").lower() == rel
                       for f in obj.describe["fields"]):
                raise JobFailed(f"InvalidBatch : Field name not found : {name}")
            out.append(None)
            continue
        f = obj.field(name)
        if f is None:
            raise JobFailed(f"InvalidBatch : Field name not found : {name}")
        out.append(f)
    return out


#: Field types whose CSV cell is the value (no conversion, no type check).
_AS_TEXT = frozenset({"string", "textarea", "phone", "url", "email", "picklist", "multipicklist",
                      "encryptedstring", "combobox", "id", "reference"})


def _values(header: list[str], fields: list[dict | None], row: list[str]) -> dict | OrgError:
    """One CSV row as write values: empty cells left out, ``#N/A`` null (or the row's error)."""
    if len(row) != len(header):
        return OrgError(400, "INVALID_FIELD", f"The row has {len(row)} values; the header has {len(header)}", [])
    values: dict = {}
    try:
        for name, f, cell in zip(header, fields, row):
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


def process(engine: Any, job: Any, files: ResultFiles, *, stopped: Callable[[], bool],
            before_row: Callable[[dict], None], progress: Callable[[int, int], None]) -> None:
    """Write the job's uploaded rows; raise JobFailed when the upload as a whole is refused.

    ``stopped()`` is checked between chunks (an aborted job); ``progress(processed, failed)``
    is called after each chunk.
    """
    delimiter, line_ending = job.delimiter_char, job.line_ending_chars
    processed = failed = 0
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
            fields = _columns(engine.schema, job.object_name, header, job.operation, job.external_id_field)
        except JobFailed:
            _rest_unprocessed(reader, files, [])
            raise
        chunks = _chunks(reader, CHUNK_ROWS)
        while True:
            try:
                chunk = next(chunks)
            except StopIteration:
                break
            except csv.Error as exc:
                raise JobFailed(f"InvalidBatch : Failed to parse the CSV: {exc}") from None
            if stopped():
                _rest_unprocessed(itertools.chain.from_iterable(chunks), files, chunk)
                return
            columnwise = ingestcols.applies(job.operation, header, fields, chunk)
            rows = [] if columnwise else [_values(header, fields, row) for row in chunk]
            try:
                with engine.transaction():
                    if columnwise:
                        results = ingestcols.apply_update(engine, engine.schema.require(job.object_name),
                                                          header, fields, chunk, before_row)
                    else:
                        results = batchwrite.apply(engine, job.object_name, job.operation, rows,
                                                   job.external_id_field, before_row)
            except Exception as exc:  # noqa: BLE001 - the job fails, its rows stay unprocessed
                log.warning("ingest job %s failed while writing: %s", job.id, exc)
                _rest_unprocessed(itertools.chain.from_iterable(chunks), files, chunk)
                raise JobFailed("InternalServerError : the rows could not be written") from exc
            files.successes((result.record_id, result.created, row) for row, result in zip(chunk, results)
                            if result.error is None)
            for row, result in zip(chunk, results):
                if result.error is not None:
                    failed += 1
                    files.failure(result.record_id, validate.bulk_error(result.error), row)
            processed += len(chunk)
            progress(processed, failed)


def _rest_unprocessed(rest: Iterator[list[str]], files: ResultFiles, pending: list[list[str]]) -> None:
    """``pending`` and every row left in ``rest`` into unprocessedrecords."""
    for row in pending:
        files.unprocessed(row)
    try:
        for row in rest:
            if row:
                files.unprocessed(row)
    except csv.Error:
        return
