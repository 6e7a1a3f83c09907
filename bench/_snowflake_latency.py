"""A Snowflake connection with a fixed latency per round trip (bench only, never imported by lht).

:func:`install` wraps ``SnowflakeConnection.cmd_query``, the one call through which the
connector sends every statement (the loader's own, ``write_pandas``'s, and the PUT command a
file upload starts with), to sleep after each one as long as a round trip to a real account
would take, and to count the statements by kind. At exit the counts are written as JSON to
the file named by ``LHT_BENCH_ROUNDTRIPS_OUT``.

The latencies (seconds, env ``LHT_BENCH_LATENCY`` as ``statement,put,copy`` overrides them):

- 0.3 per statement: a query's compilation and round trip through Snowflake's cloud
  services layer; 100-300 ms is what users report even for one-row lookups on a large
  warehouse, ``SELECT 1`` alone compiling in about 40 ms (Stack Overflow, "Snowflake as a
  backend for high-demand API", summarised at https://openillumi.com/?p=80303).
- 0.5 per PUT: the PUT command's round trip plus the file's upload to the stage's cloud
  storage (one more HTTPS exchange with S3, GCS or Azure per file or chunk).
- 1.0 per COPY INTO: a load statement's compilation, warehouse scheduling and per-file
  processing; Snowflake's guide to data files says each file carries processing overhead
  and advises aggregating small files into 100-250 MB ones
  (https://docs.snowflake.com/en/user-guide/data-load-considerations-prepare). One second
  is the figure the issue gives for a real account, size aside.

fakesnow's server stages files the way GCS does, and the connector asks it once more per
file for a presigned URL (``PUT 'file://<name>'`` with no folder): that request is counted
apart (``presign``) and not delayed, as it does not happen on AWS or Azure accounts.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import threading
import time
from collections import Counter
from typing import Any

LATENCY = {"statement": 0.3, "put": 0.5, "copy": 1.0}
_PRESIGN = re.compile(r"^\s*PUT\s+'file://[^/']+'", re.IGNORECASE)


def kind(sql: str) -> str:
    """``put``, ``copy``, ``presign`` or ``statement``."""
    text = sql.lstrip().upper()
    if text.startswith("PUT"):
        return "presign" if _PRESIGN.match(sql) else "put"
    if text.startswith("COPY INTO"):
        return "copy"
    return "statement"


def install() -> Counter:
    """Wrap the connector; return the live counter."""
    from snowflake.connector.connection import SnowflakeConnection

    raw = os.environ.get("LHT_BENCH_LATENCY")
    latency = (
        dict(zip(("statement", "put", "copy"), map(float, raw.split(",")), strict=True))
        if raw
        else LATENCY
    )
    counts: Counter = Counter()
    lock = threading.Lock()
    original = SnowflakeConnection.cmd_query

    def cmd_query(self: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
        result = original(self, sql, *args, **kwargs)
        k = kind(sql)
        with lock:
            counts[k] += 1
        if k != "presign":
            time.sleep(latency[k])
        return result

    SnowflakeConnection.cmd_query = cmd_query  # type: ignore[method-assign]
    out = os.environ.get("LHT_BENCH_ROUNDTRIPS_OUT")
    if out:
        atexit.register(lambda: open(out, "w").write(json.dumps(dict(counts))))
    return counts
