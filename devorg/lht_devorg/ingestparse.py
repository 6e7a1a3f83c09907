"""An ingest job's upload parsed into Arrow string columns, when that gives exactly the rows
the ``csv`` module would.

pyarrow's CSV reader is many times faster than the ``csv`` module but more lenient: it takes
text after a closing quote (``"a"b``) that ``csv`` (strict) refuses, and it refuses rows of
the wrong number of cells that the job reports one by one. So :func:`read_columns` first
checks where the upload's quotes are (vectorised, one pass), and answers None (read it with the
``csv`` module) for anything it cannot vouch for: a quote out of place, an unterminated
quoted value, a NUL byte, a row of the wrong width, text that is not UTF-8, a single column.
Cells stay text; an empty cell is ``""`` (never null); blank lines are skipped, as ``csv``
rows that are empty are.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

log = logging.getLogger(__name__)

_BOM = b"\xef\xbb\xbf"
#: The largest row pyarrow must hold in one block (a row never spans blocks).
_BLOCK_BYTES = 16 << 20


def _quoted_as_csv_reads(data: bytes, delimiter: str) -> bool:
    """True when every quote opens a value at its start or closes it before a delimiter or a
    line end (doubled quotes inside): values ``csv`` (strict) and pyarrow read alike.

    Quotes alternate between opening and closing; an opening quote follows a delimiter, a line
    end, the start, or the closing quote just before it (a doubled quote inside a value); a
    closing quote precedes a delimiter, a line end, the end, or the next opening quote.
    """
    buf = np.frombuffer(data, np.uint8)
    at = np.flatnonzero(buf == ord('"'))
    if not len(at):
        return True
    if len(at) % 2:
        return False
    around = np.zeros(256, np.bool_)
    around[[ord(delimiter), ord("\r"), ord("\n"), ord('"')]] = True
    opening, closing = at[0::2], at[1::2]
    before = buf[np.maximum(opening - 1, 0)]
    after = buf[np.minimum(closing + 1, len(buf) - 1)]
    return bool((around[before] | (opening == 0)).all() and (around[after] | (closing == len(buf) - 1)).all())


def read_columns(path: Path, delimiter: str, header: list[str]) -> pa.Table | None:
    """The data rows of the upload as a table of string columns, or None (see the module)."""
    if len(header) < 2:
        return None
    data = path.read_bytes()
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    if b"\x00" in data or not _quoted_as_csv_reads(data, delimiter):
        return None
    names = [f"c{j}" for j in range(len(header))]
    try:
        table = pcsv.read_csv(
            pa.py_buffer(data),
            read_options=pcsv.ReadOptions(column_names=names, use_threads=False, block_size=_BLOCK_BYTES),
            parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, double_quote=True,
                                            escape_char=False, ignore_empty_lines=True),
            convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in names}, null_values=[],
                                                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowException) as exc:
        log.debug("upload %s read with the csv module: %s", path, exc)
        return None
    if table.num_rows < 2 or [table.column(j)[0].as_py() for j in range(len(header))] != header:
        return None
    return table.slice(1)


def chunks(table: pa.Table, size: int) -> Iterator[list[pa.Array]]:
    """The table's rows ``size`` at a time, as one array per column."""
    for start in range(0, table.num_rows, size):
        part = table.slice(start, size)
        yield [part.column(j).combine_chunks() for j in range(part.num_columns)]


def as_rows(columns: list[pa.Array]) -> list[list[str]]:
    """A chunk's cells row by row (as the ``csv`` module gives them)."""
    return [list(row) for row in zip(*(c.to_pylist() for c in columns))]
