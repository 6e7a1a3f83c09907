"""Result spools: a Bulk 2.0 job's CSV rendered once, in chunks, to a file on disk.

Salesforce prepares a query job's results while the job is InProgress; the local org
does the same, so serving a results page is a file read, not a query. The spool is
rendered in chunks of ``chunk_rows`` rows; a page whose offset and size are whole
chunks (the default page size, ``resultPages`` URLs, round ``maxRecords``) is served
from it, any other page is rendered on demand.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

#: Rows per rendered chunk.
DEFAULT_CHUNK_ROWS = 5000


class ResultSpool:
    """One job's rendered CSV: a header and row chunks in one file."""

    def __init__(self, path: Path, total: int, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> None:
        self.path = path
        self.total = total
        self.chunk_rows = chunk_rows
        self.header = b""
        self._chunks: list[tuple[int, int]] = []  # (byte offset, byte length) per chunk
        self.done = threading.Event()
        self.error: BaseException | None = None
        self._closed = False

    def fill(self, render: Callable[[int, int], bytes], line_ending: str) -> None:
        """Render every chunk with ``render(offset, limit)`` (CSV with header). Run in a thread."""
        try:
            with open(self.path, "wb") as out:
                position = 0
                for start in range(0, max(self.total, 1), self.chunk_rows):
                    if self._closed:
                        return
                    data = render(start, self.chunk_rows)
                    if not self.header:
                        end = data.find(line_ending.encode())
                        self.header = data[: end + len(line_ending)] if end >= 0 else data
                    body = data[len(self.header):]
                    out.write(body)
                    self._chunks.append((position, len(body)))
                    position += len(body)
        except BaseException as exc:  # noqa: BLE001 - reported as the job's failure
            log.warning("rendering results to %s failed: %s", self.path, exc)
            self.error = exc
        finally:
            self.done.set()

    def page(self, offset: int, limit: int) -> bytes | None:
        """Header plus rows ``offset``..``offset+limit``; None unless made of whole chunks."""
        if not self.done.is_set() or self.error is not None or self._closed:
            return None
        if offset % self.chunk_rows or (limit % self.chunk_rows and offset + limit < self.total):
            return None
        first = offset // self.chunk_rows
        last = min(len(self._chunks), -(-(offset + limit) // self.chunk_rows))
        if first >= last:
            return self.header
        start = self._chunks[first][0]
        end = self._chunks[last - 1][0] + self._chunks[last - 1][1]
        with open(self.path, "rb") as spool:
            spool.seek(start)
            return self.header + spool.read(end - start)

    def close(self) -> None:
        """Stop rendering and delete the file."""
        self._closed = True
        try:
            os.unlink(self.path)
        except OSError:
            pass
