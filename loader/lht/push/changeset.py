"""The change set of each push, computed in the warehouse by the ``lht_push_*`` macros.

dbt renders the macros (``dbt compile --inline "{{ lht.lht_push_sql(specs) }}"``, one call
for every push of a run, no warehouse query); the SQL is cached beside dbt's manifest, keyed
by the pushes, their columns and the lht macros' text, so a run whose pushes did not
change runs no dbt at all. The compile reuses the partial parse of the user's last dbt
command (the pushes reach the macro through an environment variable, not ``--vars``, and
``--target`` is passed only when the user named one), so it does not parse the project
again. The loader then runs it: the key problems (refusals), the counts per action, and
the rows to send, streamed in Arrow batches ordered by key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from lht.errors import ConfigError
from lht.manifest import Manifest, target_dir
from lht.warehouse.connection import Warehouse
from lht.warehouse.target import Target

logger = logging.getLogger(__name__)

CACHE_FILE = "lht_push_sql.json"
#: dbt's partial-parse state, in the target directory.
PARTIAL_PARSE = "partial_parse.msgpack"
#: The environment variable the pushes reach the macro through.
SPECS_ENV = "LHT_PUSH_SPECS_JSON"
#: Above this size (bytes of JSON) the pushes go through ``--vars`` instead: an environment
#: string is limited to 128 KiB on Linux. dbt then parses the whole project again.
SPECS_ENV_MAX = 100_000
#: Columns the change set adds in front of the model's own.
ACTION, CHANGE, KEY, HASH, SF_ID = "_lht_action", "_lht_change", "_lht_key", "_lht_values_hash", "_lht_salesforce_id"


@dataclass(frozen=True)
class PushSql:
    """The SQL of one push."""

    change_set: str
    key_problems: str
    mirror_deletes: str | None


def _dbt_executable() -> str:
    beside = Path(sys.executable).with_name("dbt")
    found = str(beside) if beside.exists() else shutil.which("dbt")
    if not found:
        raise ConfigError("lht push needs dbt to render its change-set macros, and no `dbt` executable was "
                          "found beside Python or on PATH: install dbt-duckdb or dbt-snowflake.")
    return found


def _lht_macros(manifest: Manifest) -> str:
    try:
        data = json.loads(manifest.path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    macros = data.get("macros") or {}
    return "".join(m.get("macro_sql", "") for uid, m in sorted(macros.items()) if ".lht_push" in uid
                   or ".default__lht_push" in uid or ".snowflake__lht_push" in uid or ".duckdb__lht_push" in uid)


def _cache_key(target: Target, manifest: Manifest, specs: Sequence[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps([target.kind, target.name, list(specs), _lht_macros(manifest)],
                                     sort_keys=True).encode()).hexdigest()


def _read_cache(cache: Path, key: str) -> dict[str, PushSql] | None:
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached.get("key") == key:
            return {name: PushSql(**sql) for name, sql in cached["sql"].items()}
    except (OSError, ValueError, TypeError, KeyError):
        pass
    return None


def cached_sql(project_dir: Path, target: Target, manifest: Manifest,
               specs: Sequence[dict[str, Any]]) -> dict[str, PushSql] | None:
    """The cached SQL of every push in ``specs``, or None when something changed since."""
    return _read_cache(target_dir(project_dir, target.settings) / CACHE_FILE, _cache_key(target, manifest, specs))


def _reuse_partial_parse(source: Path, own_target: Path) -> None:
    """Copy dbt's partial-parse state into the compile's target directory (atomically), so
    the compile starts from the project as the user's last dbt command parsed it."""
    state = source / PARTIAL_PARSE
    if not state.is_file():
        return
    try:
        own_target.mkdir(parents=True, exist_ok=True)
        partial = own_target / f".{PARTIAL_PARSE}.{os.getpid()}"
        shutil.copyfile(state, partial)
        os.replace(partial, own_target / PARTIAL_PARSE)
    except OSError as exc:
        logger.info("dbt will parse the project again: could not copy %s (%s)", state, exc)


def _compile_command(project_dir: Path, target: Target, specs: Sequence[dict[str, Any]],
                     own_target: Path) -> tuple[list[str], dict[str, str]]:
    """The ``dbt compile --inline`` command line and environment for ``specs``."""
    env = dict(target.settings.environ)
    payload = json.dumps(list(specs))
    size = len(payload.encode())
    argv = [_dbt_executable(), "compile", "--quiet", "--output", "json"]
    if size <= SPECS_ENV_MAX:
        env[SPECS_ENV] = payload
        argv += ["--inline", f"{{{{ lht.lht_push_sql(fromjson(env_var('{SPECS_ENV}'))) }}}}"]
    else:
        logger.info("The pushes' JSON is %d bytes: passing it through --vars (dbt parses the project again)", size)
        argv += ["--inline", "{{ lht.lht_push_sql() }}", "--vars", json.dumps({"lht_push_specs": list(specs)})]
    argv += ["--project-dir", str(project_dir), "--target-path", str(own_target),
             "--profiles-dir", str(target.profiles_file.parent)]
    if target.named or target.settings.dbt_target:
        # dbt keys its partial parse on the target it was given (flag or DBT_TARGET), not on
        # the profile's default: name it only when the user's dbt commands see one named too
        argv += ["--target", target.name]
    return argv, env


def compile_sql(project_dir: Path, target: Target, manifest: Manifest,
                specs: Sequence[dict[str, Any]]) -> dict[str, PushSql]:
    """The SQL of every push in ``specs`` (cached; dbt runs only when something changed)."""
    key = _cache_key(target, manifest, specs)
    dbt_target = target_dir(project_dir, target.settings)
    cache = dbt_target / CACHE_FILE
    found = _read_cache(cache, key)
    if found is not None:
        return found
    # a target directory of its own: the user's manifest (lht's registry) stays as dbt build left it
    own_target = dbt_target / "lht_push"
    _reuse_partial_parse(dbt_target, own_target)
    argv, env = _compile_command(project_dir, target, specs, own_target)
    logger.info("Rendering the change-set SQL of %d push(es) with dbt", len(specs))
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=project_dir, env=env, timeout=600)
    try:
        start = proc.stdout.index("{")
        compiled = json.loads(json.loads(proc.stdout[start:])["compiled"])
    except (ValueError, KeyError, TypeError):
        compiled = None
    if proc.returncode != 0 or not isinstance(compiled, dict):
        tail = (proc.stdout + proc.stderr).strip()[-2000:]
        raise ConfigError(f"dbt could not render lht's push macros (is the lht dbt package installed in "
                          f"{project_dir}?):\n{tail}")
    result = {name: PushSql(change_set=sql["change_set"], key_problems=sql["key_problems"],
                            mirror_deletes=sql.get("mirror_deletes")) for name, sql in compiled.items()}
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"key": key, "sql": {n: vars(s) for n, s in result.items()}}), encoding="utf-8")
    except OSError as exc:
        logger.warning("Could not cache the push SQL in %s: %s", cache, exc)
    return result


def key_problems(wh: Warehouse, sql: PushSql, limit: int = 5) -> list[tuple[str | None, int]]:
    """The first NULL or duplicate keys of the model, with how many rows carry each."""
    rows = wh.execute(f"select * from ({sql.key_problems}) as problems order by 1 nulls first limit {int(limit)}")
    return [(r[0], int(r[1])) for r in rows]


def counts(wh: Warehouse, sql: PushSql, *, mirror_only: bool = False) -> dict[tuple[str, str], int]:
    """Rows per (action, change) of the change set, mirror deletions included (only those
    with ``mirror_only``)."""
    found = {} if mirror_only else {(str(a), str(c)): int(n) for a, c, n in wh.execute(
        f"select {ACTION}, {CHANGE}, count(*) from ({sql.change_set}) as changes group by 1, 2")}
    if sql.mirror_deletes:
        for a, c, n in wh.execute(f"select {ACTION}, {CHANGE}, count(*) from ({sql.mirror_deletes}) as gone group by 1, 2"):
            found[(str(a), str(c))] = found.get((str(a), str(c)), 0) + int(n)
    return found


def model_rows(wh: Warehouse, relation: str) -> int:
    """The push model's rows (each is in the change set, sent or not)."""
    return int(wh.execute(f"select count(*) from {relation}")[0][0])


def stream_changes(wh: Warehouse, sql: PushSql, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """The rows to send, ordered by key (a stable order; nothing is paged by LIMIT/OFFSET)."""
    yield from wh.stream_arrow(
        f"select * from ({sql.change_set}) as changes where {ACTION} <> 'none' order by {KEY}", batch_rows=batch_rows)


def stream_mirror_deletes(wh: Warehouse, sql: PushSql, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """The mirror deletions (key and Salesforce Id), ordered by key."""
    if sql.mirror_deletes:
        yield from wh.stream_arrow(f"select * from ({sql.mirror_deletes}) as gone order by {KEY}",
                                   batch_rows=batch_rows)


def column_of(batch: pa.RecordBatch, name: str) -> str:
    """The batch's column called ``name`` in any case (Snowflake returns upper case)."""
    for column in batch.schema.names:
        if column.lower() == name.lower():
            return column
    raise KeyError(name)
