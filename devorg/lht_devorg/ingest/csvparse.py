"""An ingest job's upload parsed into Arrow string columns, a chunk of rows at a time, for as
long as that gives exactly the rows the ``csv`` module would.

pyarrow's CSV reader is many times faster than the ``csv`` module but more lenient: it takes
text after a closing quote (``"a"b``) that ``csv`` (strict) refuses, and it refuses rows of
the wrong number of cells that the job reports one by one. So :func:`column_chunks` reads the
upload in segments of whole rows (each ends at a line feed outside quoted values, so a
multi-line value stays in one segment), checks where each segment's quotes are (vectorised,
one pass) and parses it; at the first segment it cannot vouch for (a quote out of place, an
unterminated quoted value, a row of the wrong width, text that is not UTF-8) it raises
:class:`NotVouched`: the rows from there on are read with the ``csv`` module. So is a whole
upload with a NUL byte or a single column. The first chunk is thus ready once its own rows are
parsed, not the whole upload; :func:`ahead` parses the next ones while it is written. Cells
stay text; an empty cell is ``""`` (never null); blank lines are skipped, as ``csv`` rows that
are empty are.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

log = logging.getLogger(__name__)

_BOM = b"\xef\xbb\xbf"
#: About the bytes of one segment of rows parsed at a time (a longer row makes a longer one).
_SEGMENT_BYTES = 1 << 20
_QUOTE, _LF = ord('"'), ord("\n")


class NotVouched(Exception):
    """pyarrow may read the upload from here on differently from the ``csv`` module."""


def _quoted_as_csv_reads(buf: np.ndarray, at: np.ndarray, delimiter: str) -> bool:
    """True when every quote of the segment ``buf`` (``at``: the quotes' positions) opens a value
    at its start or closes it before a delimiter or a line end (doubled quotes inside): values
    ``csv`` (strict) and pyarrow read alike.

    Quotes alternate between opening and closing; an opening quote follows a delimiter, a line
    end, the start, or the closing quote just before it (a doubled quote inside a value); a
    closing quote precedes a delimiter, a line end, the end, or the next opening quote.
    """
    if not len(at):
        return True
    if len(at) % 2:
        return False
    around = np.zeros(256, np.bool_)
    around[[ord(delimiter), ord("\r"), _LF, _QUOTE]] = True
    opening, closing = at[0::2], at[1::2]
    before = buf[np.maximum(opening - 1, 0)]
    after = buf[np.minimum(closing + 1, len(buf) - 1)]
    return bool(
        (around[before] | (opening == 0)).all()
        and (around[after] | (closing == len(buf) - 1)).all()
    )


def _segment(buf: np.ndarray, pos: int) -> tuple[int, np.ndarray]:
    """(end, quote positions from ``pos``) of the next segment: whole rows from ``pos``, ending
    just after the last line feed outside quoted values within about :data:`_SEGMENT_BYTES`
    (or at the end of the upload)."""
    size = _SEGMENT_BYTES
    while True:
        window = buf[pos : pos + size]
        at = np.flatnonzero(window == _QUOTE)
        if pos + size >= len(buf):
            return len(buf), at
        feeds = np.flatnonzero(window == _LF)
        outside = feeds[np.searchsorted(at, feeds) % 2 == 0] if len(feeds) else feeds
        if len(outside):
            end = int(outside[-1]) + 1
            return pos + end, at[: np.searchsorted(at, end)]
        size *= 2


def _parse(data: memoryview, names: list[str], delimiter: str) -> pa.Table:
    return pcsv.read_csv(
        pa.py_buffer(data),
        read_options=pcsv.ReadOptions(
            column_names=names, use_threads=False, block_size=len(data) + 1
        ),
        parse_options=pcsv.ParseOptions(
            delimiter=delimiter,
            newlines_in_values=True,
            double_quote=True,
            escape_char=False,
            ignore_empty_lines=True,
        ),
        convert_options=pcsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _tables(path: Path, delimiter: str, header: list[str]) -> Iterator[pa.Table]:
    """The data rows of the upload, a segment at a time (NotVouched: see the module)."""
    if len(header) < 2:
        raise NotVouched
    data = path.read_bytes()
    start = len(_BOM) if data.startswith(_BOM) else 0
    if data.find(b"\x00", start) >= 0:
        raise NotVouched
    buf = np.frombuffer(data, np.uint8)
    view, names = memoryview(data), [f"c{j}" for j in range(len(header))]
    pos, first = start, True
    while pos < len(data):
        end, at = _segment(buf, pos)
        part = buf[pos:end]
        if not _quoted_as_csv_reads(part, at, delimiter):
            raise NotVouched
        try:
            table = _parse(view[pos:end], names, delimiter)
        except (pa.ArrowInvalid, pa.ArrowException) as exc:
            log.debug("upload %s read with the csv module from byte %d: %s", path, pos, exc)
            raise NotVouched from None
        pos = end
        if first:
            if (
                not table.num_rows
                or [table.column(j)[0].as_py() for j in range(len(header))] != header
            ):
                raise NotVouched
            table, first = table.slice(1), False
        if table.num_rows:
            yield table


def column_chunks(
    path: Path, delimiter: str, header: list[str], size: int
) -> Iterator[list[pa.Array]]:
    """The upload's data rows ``size`` at a time, as one string array per column; NotVouched
    (after the chunks it could vouch for) when the rest must be read with the ``csv`` module."""
    pending: list[pa.Table] = []
    held = 0
    for table in _tables(path, delimiter, header):
        pending.append(table)
        held += table.num_rows
        if held < size:
            continue
        whole = pa.concat_tables(pending)
        done = 0
        while held - done >= size:
            part = whole.slice(done, size)
            yield [part.column(j).combine_chunks() for j in range(part.num_columns)]
            done += size
        pending, held = ([whole.slice(done)] if held > done else []), held - done
    if held:
        whole = pa.concat_tables(pending)
        yield [whole.column(j).combine_chunks() for j in range(whole.num_columns)]


T = TypeVar("T")
_END = object()


def ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """``items`` as they are, made by a thread of their own up to ``depth`` ahead of the
    caller (pyarrow parses while the caller's database work runs); their exception raised here.
    The thread stops soon after the caller stops asking."""
    out: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            put((_END, exc))
            return
        put((_END, None))

    threading.Thread(target=run, name="devorg-ingest-parse", daemon=True).start()
    try:
        while True:
            item, exc = out.get()
            if item is _END:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()


def as_rows(columns: list[pa.Array]) -> list[list[str]]:
    """A chunk's cells row by row (as the ``csv`` module gives them)."""
    return [list(row) for row in zip(*(c.to_pylist() for c in columns), strict=True)]
