"""Result spools: a Bulk 2.0 job's CSV rendered once, in one streaming pass, to a file on disk.

Salesforce prepares a query job's results while the job is InProgress; the local org does
the same, so serving a results page is a file read, not a query. :meth:`ResultSpool.fill`
takes the query's rows as they stream (tables of ``chunk_rows`` rows, see :mod:`..core.stream`),
has pyarrow's CSV writer append each table's rows to the file (in C++, with no copy
through Python bytes) and records each chunk's byte offset, byte length and row
count; the header is kept apart. A page is the header plus the chunks it covers, read from
the file in one piece; a page that starts or ends inside a chunk re-slices that chunk: its
rows are read back as text and written again with the same options, which gives exactly the
bytes those rows had (:func:`render.read_csv_rows`), whatever the delimiter, line ending,
quotes, line breaks or NULLs in them.
"""

from __future__ import annotations

import bisect
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import pyarrow.csv as pacsv

from ..soql import render

log = logging.getLogger(__name__)

#: Rows per spooled chunk (pages of whole chunks are read from the file as they are).
DEFAULT_CHUNK_ROWS = 5000


class Chunk(NamedTuple):
    """Where one chunk's rows are in the spool file."""

    offset: int
    length: int
    rows: int


class ResultSpool:
    """One job's rendered CSV: the header in memory, the rows in chunks in one file.

    ``done`` is set by the job once the spool is complete (or the job failed); pages are
    served only then. ``close`` stops a fill in progress and deletes the file.
    """

    def __init__(self, path: Path, delimiter: str, line_ending: str) -> None:
        self.path = path
        self.delimiter = delimiter
        self.line_ending = line_ending
        self.columns: list[str] = []
        self.header = b""
        self.total = 0
        self._chunks: list[Chunk] = []
        self._starts: list[int] = []  # the first row of each chunk
        self.done = threading.Event()
        self._closed = False

    def fill(self, columns: list[str], tables: Iterable[pa.Table]) -> bool:
        """Write the rows of ``tables`` (CSV text) in order; False when closed before the end."""
        self.columns = list(columns)
        self.header = render.csv_header(self.columns, self.delimiter, self.line_ending)
        if self._closed:
            return False
        try:
            # pyarrow writes the CSV straight into the file (no copy through Python bytes).
            with pa.OSFile(str(self.path), "wb") as out:
                writer = None
                for table in tables:
                    if self._closed:
                        return False
                    if writer is None:
                        writer = pacsv.CSVWriter(
                            out,
                            table.schema,
                            write_options=render.csv_write_options(
                                self.delimiter, self.line_ending, header=False
                            ),
                        )
                    position = out.tell()
                    writer.write_table(table)
                    self._chunks.append(Chunk(position, out.tell() - position, table.num_rows))
                    self._starts.append(self.total)
                    self.total += table.num_rows
                if writer is not None:
                    writer.close()
        finally:
            if self._closed:
                self._unlink()  # closed while the file was being written
        log.debug("spooled %d rows to %s", self.total, self.path)
        return True

    def page(self, offset: int, limit: int) -> bytes:
        """The header and rows ``offset``..``offset+limit`` (clipped to the total)."""
        stop = min(offset + limit, self.total)
        if offset >= stop:
            return self.header
        first = bisect.bisect_right(self._starts, offset) - 1
        last = bisect.bisect_left(self._starts, stop)  # chunks first..last-1 hold the page
        start = self._chunks[first].offset
        end = self._chunks[last - 1].offset + self._chunks[last - 1].length
        with open(self.path, "rb") as spool:
            spool.seek(start)
            data = spool.read(end - start)
        head, tail = offset - self._starts[first], stop - self._starts[last - 1]
        if head == 0 and tail == self._chunks[last - 1].rows:
            return self.header + data  # whole chunks
        view = memoryview(data)
        parts: list[bytes | memoryview] = [self.header]
        for i in range(first, last):
            chunk = self._chunks[i]
            body = view[chunk.offset - start : chunk.offset - start + chunk.length]
            lo = head if i == first else 0
            hi = tail if i == last - 1 else chunk.rows
            parts.append(body if (lo, hi) == (0, chunk.rows) else self._rows(body, lo, hi))
        return b"".join(parts)

    def _rows(self, body: memoryview, lo: int, hi: int) -> bytes:
        """Rows ``lo``..``hi`` of one chunk, byte for byte as the chunk has them."""
        rows = render.read_csv_rows(bytes(body), len(self.columns), self.delimiter)
        return render.write_csv(
            rows.slice(lo, hi - lo), self.delimiter, self.line_ending, header=False
        )

    def close(self) -> None:
        """Stop filling and delete the file."""
        self._closed = True
        self._unlink()

    def _unlink(self) -> None:
        try:
            os.unlink(self.path)
        except OSError:
            pass
