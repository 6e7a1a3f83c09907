"""`dbt` for the tests, as a process of its own forked from one that has already imported dbt.

A `dbt` command spends two to three seconds importing dbt-core and its DuckDB adapter before
it does anything; the suite runs hundreds of them. Here each command is a fresh process
forked from a server (the standard library's ``forkserver``) that imported those modules
once: the command line, environment, working directory, stdout, stderr and exit code are
the command's own, exactly as with ``subprocess.run``. The server imports no thread-starting
module (pyarrow, the Snowflake connector), so forking it is safe.

``LHT_TEST_DBT_FORK=0`` runs the `dbt` executable instead. The README's commands, the demo
and the crash tests always run real executables.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: What the server imports once; each command finds these already loaded.
PRELOAD = ["dbt.cli.main", "dbt.adapters.duckdb"]

_context: Any = None


def _forkserver() -> Any:
    global _context
    if _context is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        _context = context
    return _context


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # sys.exit("message"), as the interpreter prints it
    return 1


def _child(argv: list[str], env: dict[str, str], cwd: str, out: str, err: str) -> None:
    """The forked command: its own streams, environment and directory, then dbt's console script."""
    for fd, path in ((1, out), (2, err)):
        target = os.open(path, os.O_WRONLY)
        os.dup2(target, fd)
        os.close(target)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 - the process's own stream
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.argv = list(argv)
    code = 1
    try:
        from dbt.cli.main import cli

        cli()
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException:  # noqa: BLE001 - an uncaught error ends the process as Python does
        traceback.print_exc()
    finally:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def run_dbt(
    argv: Sequence[str], *, env: Mapping[str, str], cwd: str | os.PathLike[str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` (the `dbt` executable and its arguments) like ``subprocess.run(argv,
    env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)``."""
    if os.environ.get("LHT_TEST_DBT_FORK") == "0":
        return subprocess.run(
            list(argv), env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=timeout
        )
    with tempfile.TemporaryDirectory(prefix="lht-dbt-") as tmp:
        out, err = Path(tmp, "stdout"), Path(tmp, "stderr")
        out.touch()
        err.touch()
        process = _forkserver().Process(
            target=_child, args=(list(argv), dict(env), os.fspath(cwd), str(out), str(err))
        )
        process.start()
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired(
                list(argv),
                timeout,
                out.read_text(errors="replace"),
                err.read_text(errors="replace"),
            )
        return subprocess.CompletedProcess(
            list(argv),
            process.exitcode,
            out.read_text(errors="replace"),
            err.read_text(errors="replace"),
        )
