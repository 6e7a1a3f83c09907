"""The README is a test: every shell block of README.md runs verbatim, in order, from the root
of a fresh copy of the repository, against the local org.

Blocks are read with pytest-codeblocks' parser. A block the test cannot run here (cron, the sf
CLI, the suite itself) carries ``<!-- pytest.mark.skip(reason="...") -->`` before its fence,
with the reason; any other shell block runs with ``bash -e`` and fails the test when it exits
non-zero. ``<!--pytest-codeblocks:expected-output-->`` before a ``text`` block documents output:
each of its lines must appear in what the block before it printed (``...`` stands for any text,
spaces for any whitespace).
The commands the README's Python scheduler snippets run are run too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_codeblocks import extract_from_file

from .conftest import REPO

README = REPO / "README.md"
#: The fences run as shell scripts.
SHELLS = {"bash", "sh", "shell", "console", "zsh"}
PY_COMMAND = re.compile(r"""(?:bash_command=|subprocess\.run\()\s*"([^"]+)\"""")
SKIP = re.compile(r"""pytest\.mark\.skip\(reason=(["'])(.+)\1\)$""")


def shell_blocks() -> list:
    """The README's shell blocks, in order."""
    return [b for b in extract_from_file(README) if (b.syntax or "").strip() in SHELLS]


def skip_reason(block) -> str | None:
    """The reason a block is marked not runnable here, or None."""
    for mark in block.marks:
        found = SKIP.match(mark.strip())
        if found:
            return found.group(2)
        raise AssertionError(
            f"README line {block.lineno}: unknown mark {mark!r}; use pytest.mark.skip(reason=...)"
        )
    return None


def expected_lines(block) -> list[re.Pattern[str]]:
    """The documented output of a block, one pattern per line: ``...`` matches any text, a run
    of spaces any run of whitespace (tables are aligned to their content)."""

    def pattern(line: str) -> re.Pattern[str]:
        parts = [
            r"\s+".join(re.escape(word) for word in part.split())
            for part in line.strip().split("...")
        ]
        return re.compile(".*".join(parts))

    return [pattern(line) for line in (block.expected_output or "").splitlines() if line.strip()]


def _fresh_copy(dest: Path) -> Path:
    """The repository's files (tracked and new, not ignored) copied to ``dest``, with the
    suite's own virtual environment as its installed ``.venv``."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard", "-z"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    venv = Path(sys.prefix)
    (dest / ".venv").symlink_to(venv)
    # installed (the suite runs in it, dev extras included): `make install` in the copy has
    # nothing to do, so it never installs the temporary copy into the suite's own venv
    for name in (".lht-installed", ".lht-dev-installed"):
        (venv / name).touch(exist_ok=True)
    stamped = (venv / ".lht-installed").stat().st_mtime
    for name in ("pyproject.toml", "devorg/pyproject.toml"):
        os.utime(dest / name, (stamped - 1,) * 2)
    return dest


def test_readme_shows_the_two_commands_first() -> None:
    first = shell_blocks()[0]
    assert [line.split("#")[0].strip() for line in first.code.splitlines()][:2] == [
        "make demo",
        "make test",
    ]
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_every_readme_shell_block_is_run_or_marked_with_a_reason() -> None:
    blocks = shell_blocks()
    assert len(blocks) >= 10
    for block in blocks:
        reason = skip_reason(block)
        assert reason is None or len(reason) > 20, (
            f"README line {block.lineno}: say why the block cannot run here"
        )
    pushes = [b for b in blocks if "lht push" in b.code and skip_reason(b) is None]
    assert pushes and any(
        "lht_push_changes" in b.code or "lht add --push" in b.code for b in blocks
    )


@pytest.mark.timeout(2400)  # every README command, one after the other, on a shared machine
def test_every_readme_shell_block_runs_verbatim_from_a_fresh_copy(org, tmp_path: Path) -> None:
    root = _fresh_copy(tmp_path / "lht")
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            (
                "SF_",
                "LHT_",
                "SNOWFLAKE_",
                "DBT_ENV_SECRET",
                "DBT_TARGET_PATH",
                "DBT_LOG_PATH",
                "DBT_PROFILES_DIR",
                "VIRTUAL_ENV",
            )
        )
    }
    env = {
        **base,
        **org.env("token"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PATH": f"{root / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }
    ran, skipped = [], []
    for block in shell_blocks():
        reason = skip_reason(block)
        if reason:
            skipped.append(block.lineno)
            continue
        run = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", block.code],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        shown = f"README line {block.lineno}:\n{block.code}\n--- exit {run.returncode}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        assert run.returncode == 0, shown
        assert "Traceback" not in run.stderr, shown
        output = (run.stdout + run.stderr).splitlines()
        for pattern in expected_lines(block):
            assert any(pattern.search(line) for line in output), (
                f"documented output {pattern.pattern!r} absent\n{shown}"
            )
        ran.append(block.lineno)
    for snippet in (b for b in extract_from_file(README) if (b.syntax or "").strip() == "python"):
        for command in PY_COMMAND.findall(snippet.code):
            run = subprocess.run(
                ["bash", "-c", command],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
            assert run.returncode == 0, f"{command}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert ran and skipped
    import duckdb

    con = duckdb.connect(str(root / "lht.duckdb"), read_only=True)
    try:
        invoices = con.execute(
            "select count(*) from salesforce.invoice__c where not _lht_is_deleted"
        ).fetchone()[0]
        pushed = con.execute(
            "select count(*), count(*) filter (where success) from salesforce.lht_push_results "
            "where push_name = 'account_scores'"
        ).fetchone()
    finally:
        con.close()
    assert invoices == org.engine.count("Invoice__c"), (
        "the README's `lht add` + sync + build built the new main table"
    )
    assert pushed[0] > 0 and pushed[0] == pushed[1], (
        "the README's push was accepted and its results built"
    )


@pytest.mark.slow
def test_make_demo_runs_twice_and_the_second_run_is_incremental(tmp_path: Path) -> None:
    shutil.copytree(
        REPO / "dbt_project",
        tmp_path / "dbt_project",
        ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*"),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "LHT_"))}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    runs = [
        subprocess.run(
            [sys.executable, "-m", "lht.commands.demo"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "this run was full" in runs[0].stdout
    assert "this run was incremental" in runs[1].stdout
    assert str(tmp_path / "lht.duckdb") in runs[1].stdout
    assert "dbt show" in runs[1].stdout
    report = tmp_path / "lht-report.html"
    assert runs[1].stdout.rstrip().splitlines()[-1].startswith(f"Run history: {report}"), (
        "the demo ends with the report"
    )
    assert report.stat().st_size > 1_000_000 and "lht-sync-rows" in report.read_text(
        encoding="utf-8"
    )
