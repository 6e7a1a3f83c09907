"""The three result CSVs of one Bulk 2.0 ingest job, in the job's delimiter and line ending,
every value quoted (as ``csv.QUOTE_ALL`` writes them):

- successfulResults: ``sf__Id``, ``sf__Created``, then the uploaded columns;
- failedResults: ``sf__Id``, ``sf__Error`` (``CODE:message:fields --``), then the columns;
- unprocessedrecords: the uploaded columns (rows never reached: an aborted or failed job).

Rows come one at a time (lists of cells, as the ``csv`` module read them) or a chunk at a
time as Arrow string columns, written by pyarrow's CSV writer (``all_valid`` quoting gives the
same bytes as ``csv.QUOTE_ALL`` for text).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from ..core import validate
from ..core.batchwrite import RowResult
from ..errors import OrgError

RESULT_NAMES = ("successfulResults", "failedResults", "unprocessedrecords")


@dataclass
class ChunkResults:
    """A chunk's update results as columns: each row's ``sf__Id`` ("" when none; no row is
    created) and the failed rows' errors by position."""

    record_ids: pa.Array
    errors: dict[int, OrgError]

    def __len__(self) -> int:
        return len(self.record_ids)

    def rows(self) -> list[RowResult]:
        """The same results as one :class:`RowResult` per row."""
        return [
            RowResult(rid, False, self.errors.get(i))
            for i, rid in enumerate(self.record_ids.to_pylist())
        ]


class ResultFiles:
    """The three result CSVs of one job, written as rows are processed."""

    def __init__(self, folder: Path, delimiter: str, line_ending: str) -> None:
        self.paths = {name: folder / f"{name}.csv" for name in RESULT_NAMES}
        self._files = {
            name: open(path, "w", newline="", encoding="utf-8") for name, path in self.paths.items()
        }
        self._writers = {
            name: csv.writer(
                f, delimiter=delimiter, lineterminator=line_ending, quoting=csv.QUOTE_ALL
            )
            for name, f in self._files.items()
        }
        self._options = pcsv.WriteOptions(
            include_header=False, delimiter=delimiter, quoting_style="all_valid", eol=line_ending
        )
        self.header: list[str] | None = None

    def start(self, header: list[str]) -> None:
        """Write the three header rows."""
        self.header = header
        self._writers["successfulResults"].writerow(["sf__Id", "sf__Created", *header])
        self._writers["failedResults"].writerow(["sf__Id", "sf__Error", *header])
        self._writers["unprocessedrecords"].writerow(header)

    def success(self, record_id: str, created: bool, row: list[str]) -> None:
        self._writers["successfulResults"].writerow(
            [record_id, "true" if created else "false", *row]
        )

    def successes(self, rows: Iterable[tuple[str, bool, list[str]]]) -> None:
        """Many successful rows (record Id, created?, the uploaded cells) at once."""
        self._writers["successfulResults"].writerows(
            [record_id, "true" if created else "false", *row] for record_id, created, row in rows
        )

    def failure(self, record_id: str, error: str, row: list[str]) -> None:
        self._writers["failedResults"].writerow([record_id, error, *row])

    def unprocessed(self, row: list[str]) -> None:
        self._writers["unprocessedrecords"].writerow(row)

    def _table(self, name: str, columns: Sequence[pa.Array]) -> None:
        if not len(columns[0]):
            return
        sink = pa.BufferOutputStream()
        pcsv.write_csv(pa.table({f"c{j}": c for j, c in enumerate(columns)}), sink, self._options)
        handle = self._files[name]
        handle.flush()  # the rows the csv module wrote before these, then the UTF-8 bytes as they are
        handle.buffer.write(sink.getvalue())

    def chunk(
        self, columns: Sequence[pa.Array], results: Sequence[RowResult] | ChunkResults
    ) -> int:
        """A chunk's results, its cells given as columns; the number of failed rows."""
        if isinstance(results, ChunkResults):
            return self._chunk_columns(columns, results)
        good = pa.array([r.error is None for r in results], pa.bool_())
        record_ids = pa.array([r.record_id for r in results], pa.string())
        created = pa.array(["true" if r.created else "false" for r in results], pa.string())
        self._table(
            "successfulResults",
            [record_ids.filter(good), created.filter(good), *(c.filter(good) for c in columns)],
        )
        errors = [validate.bulk_error(r.error) for r in results if r.error is not None]
        if errors:
            bad = pc.invert(good)
            self._table(
                "failedResults",
                [
                    record_ids.filter(bad),
                    pa.array(errors, pa.string()),
                    *(c.filter(bad) for c in columns),
                ],
            )
        return len(errors)

    def _chunk_columns(self, columns: Sequence[pa.Array], results: ChunkResults) -> int:
        failed = sorted(results.errors)
        mask = np.ones(len(results), np.bool_)
        mask[failed] = False
        good = pa.array(mask)
        record_ids = results.record_ids
        kept = len(results) - len(failed)
        self._table(
            "successfulResults",
            [
                record_ids.filter(good),
                pa.array(["false"] * kept, pa.string()),
                *(c.filter(good) for c in columns),
            ],
        )
        if failed:
            bad = pc.invert(good)
            errors = pa.array([validate.bulk_error(results.errors[i]) for i in failed], pa.string())
            self._table(
                "failedResults", [record_ids.filter(bad), errors, *(c.filter(bad) for c in columns)]
            )
        return len(failed)

    def unprocessed_columns(self, columns: Sequence[pa.Array]) -> None:
        """A chunk's rows, given as columns, into unprocessedrecords."""
        self._table("unprocessedrecords", columns)

    def close(self) -> None:
        for f in self._files.values():
            f.close()
