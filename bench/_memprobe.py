"""Memory by stage inside one ``lht sync`` process (bench only, never imported by lht).

:func:`install` starts a thread that samples the process's RSS every 20 ms and marks the
stages of a sync from the writer's own calls:

- ``start-up``: until the first batch reaches the writer (imports, login, describe);
- ``extract``: from then on (download, parsing, writing Parquet files or DuckDB);
- ``load`` (Snowflake): inside ``SnowflakeLoad.commit``, the last PUT and the COPY INTO.

At exit it writes, as JSON to the file named by ``LHT_BENCH_MEMPROBE_OUT``, the peak RSS of
each stage, the pyarrow memory pool's backend and the peak of Arrow's live allocations.
Works on the loader of any commit that has ``lht.warehouse.snowflake_load``.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from typing import Any

_PAGE = os.sysconf("SC_PAGE_SIZE")
_state: dict[str, Any] = {"stage": "start-up", "peaks": {}}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE / 2**20


def _sample() -> None:
    while True:
        stage, rss = _state["stage"], _rss_mb()
        _state["peaks"][stage] = max(_state["peaks"].get(stage, 0.0), rss)
        time.sleep(0.02)


def _mark_first_write(module: Any, name: str) -> None:
    original = getattr(module, name)

    def first(*args: Any, **kwargs: Any) -> Any:
        if _state["stage"] == "start-up":
            _state["stage"] = "extract"
        return original(*args, **kwargs)

    setattr(module, name, first)


def _mark_load(cls: Any) -> None:
    original = cls.commit

    def commit(self: Any) -> None:
        before, _state["stage"] = _state["stage"], "load"
        try:
            original(self)
        finally:
            _state["stage"] = before

    cls.commit = commit


def _dump() -> None:
    import pyarrow as pa

    pool = pa.default_memory_pool()
    out = {
        "peaks": _state["peaks"],
        "pool": pool.backend_name,
        "arrow_peak_mb": pool.max_memory() / 2**20,
    }
    with open(os.environ["LHT_BENCH_MEMPROBE_OUT"], "w") as f:
        json.dump(out, f)


def install() -> None:
    """Start sampling and mark the stages (call before the CLI runs)."""
    from lht.warehouse import snowflake_load, writer

    _mark_first_write(snowflake_load, "append")
    _mark_first_write(writer, "_append_duckdb")
    _mark_load(snowflake_load.SnowflakeLoad)
    threading.Thread(target=_sample, name="memprobe", daemon=True).start()
    atexit.register(_dump)
