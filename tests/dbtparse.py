"""dbt's partial parse, seeded: each test's copy of the dbt project starts with the parse of
the project as shipped, made once per test run for its profile, instead of parsing it again.

dbt keeps what it parsed in ``<target>/partial_parse.msgpack`` and reuses it when the files,
the cli vars, the profile's connection settings and the project's env vars are those it was
made with; a file a test changed or adds is parsed again, only it. A seed that does not fit
(another profile) costs nothing but the full parse dbt then does, so correctness never
depends on it. Seeds live in a directory shared by the xdist workers (one makes each, the
others wait on a file lock).

``LHT_TEST_DBT_SEED_PARSE=0`` leaves every project to parse itself.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from filelock import FileLock
from forkrun import run_dbt

REPO = Path(__file__).resolve().parents[1]
PROJECT_DIR = REPO / "dbt_project"
IGNORED = shutil.ignore_patterns("target", "logs", "dbt_packages", "*.duckdb*", ".user.yml")
PARTIAL_PARSE = "partial_parse.msgpack"
#: Environment variables that only say where dbt writes, never what it parses.
_WHERE = ("DBT_TARGET_PATH", "DBT_LOG_PATH")

_cache_dir: Path | None = None


def set_cache_dir(path: Path) -> None:
    """Where the seeds of this run are kept (the root conftest sets it per run)."""
    global _cache_dir
    _cache_dir = path


def copy_project(dest: Path) -> Path:
    """A copy of the shipped dbt project at ``dest`` (what every seed was parsed from)."""
    shutil.copytree(PROJECT_DIR, dest, ignore=IGNORED)
    return dest


def one_thread(profiles_text: str) -> str:
    """The shipped profiles.yml with its DuckDB output at ``threads: 1``: the test workers are
    the suite's parallelism, and dbt's own threads would only compete with them for the cores."""
    one = profiles_text.replace("threads: 4\n", "threads: 1\n", 1)
    assert one != profiles_text, (
        "the shipped profile no longer says `threads: 4` for its DuckDB output"
    )
    return one


def _relevant_env(env: Mapping[str, str]) -> dict[str, str]:
    return {
        k: v
        for k, v in env.items()
        if k.startswith(("LHT_", "DBT_", "SNOWFLAKE_")) and k not in _WHERE
    }


def seed_partial_parse(
    target_dir: Path, *, env: Mapping[str, str], profiles_text: str | None = None
) -> None:
    """Put into ``target_dir`` (a test's dbt target directory) the partial parse of the
    shipped project, parsed with ``profiles_text`` (default: the project's profiles.yml) and
    the environment ``env``."""
    if _cache_dir is None or os.environ.get("LHT_TEST_DBT_SEED_PARSE") == "0":
        return
    text = (
        profiles_text if profiles_text is not None else (PROJECT_DIR / "profiles.yml").read_text()
    )
    key = hashlib.sha256(repr((text, sorted(_relevant_env(env).items()))).encode()).hexdigest()[:16]
    seed = _cache_dir / f"parse-{key}" / PARTIAL_PARSE
    _cache_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(_cache_dir / f"parse-{key}.lock")):
        if not seed.exists() and not (_cache_dir / f"parse-{key}.failed").exists():
            _make_seed(seed.parent, text, env)
    if seed.exists():
        target_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(seed, target_dir / PARTIAL_PARSE)


def _make_seed(where: Path, profiles_text: str, env: Mapping[str, str]) -> None:
    work = where.with_suffix(".making")
    shutil.rmtree(work, ignore_errors=True)
    project = copy_project(work / "dbt_project")
    profiles = work / "profiles"
    profiles.mkdir()
    (profiles / "profiles.yml").write_text(profiles_text)
    run_env = {
        **env,
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt = str(Path(sys.executable).with_name("dbt"))
    done = run_dbt(
        [dbt, "parse", "--project-dir", str(project), "--profiles-dir", str(profiles)],
        env=run_env,
        cwd=work,
        timeout=600,
    )
    parsed = work / "target" / PARTIAL_PARSE
    if done.returncode == 0 and parsed.exists():
        where.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(parsed, where / PARTIAL_PARSE)
    else:  # the tests' own dbt commands will parse, and say what is wrong
        where.with_suffix(".failed").write_text(done.stdout[-5000:] + done.stderr[-5000:])
    shutil.rmtree(work, ignore_errors=True)
