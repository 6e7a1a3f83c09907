"""Seeded local orgs for the tests: each seed is made once per test run, then copied.

Seeding is deterministic (same counts and seed, same data: ``OrgEngine.seed``) and is most of
what starting a :class:`lht_devorg.DevOrg` costs (seconds for the default counts, far more
for tens of thousands of rows). :func:`install` makes every ``DevOrg`` the tests start
without a database of its own (``db_path``) begin from a copy of a database seeded once per
run for its counts and seed, shared by the xdist workers through ``cache_dir`` (a file lock
lets one worker seed while the others wait). The org is otherwise started as usual: its own
TLS material, keys, tokens, clock and server; it deletes its copy when it stops.

``LHT_TEST_SEED_CACHE=0`` seeds every org afresh.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock

from lht_devorg import DevOrg

_installed: tuple[Callable[..., Any], Callable[..., Any]] | None = None


def _key(counts: dict[str, int] | None, seed: int) -> str:
    text = json.dumps(
        {"counts": sorted((counts or {}).items()) if counts is not None else None, "seed": seed}
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _template(
    cache_dir: Path,
    counts: dict[str, int] | None,
    seed: int,
    start: Callable[..., Any],
    stop: Callable[..., Any],
) -> Path:
    """The seeded database for (counts, seed), made by the first worker that needs it."""
    path = cache_dir / f"org-{_key(counts, seed)}.duckdb"
    with FileLock(str(path) + ".lock"):
        if not path.exists():
            work = path.with_suffix(".making")
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            maker = DevOrg(counts=counts, seed=seed, db_path=work / "org.duckdb")
            start(maker)
            stop(maker)  # closes the database: everything is in the file
            shutil.rmtree(maker.state_dir, ignore_errors=True)
            (work / "org.duckdb").rename(path)
            shutil.rmtree(work, ignore_errors=True)
    return path


def install(cache_dir: Path) -> None:
    """Start every ``DevOrg`` without a ``db_path`` from a copy of its seed (see the module doc)."""
    global _installed
    if _installed is not None or os.environ.get("LHT_TEST_SEED_CACHE") == "0":
        return
    cache_dir.mkdir(parents=True, exist_ok=True)
    original_start, original_stop = DevOrg.start, DevOrg.stop

    def start(self: DevOrg) -> DevOrg:
        if self.db_path is None and not self.keep_data:
            template = _template(cache_dir, self.counts, self.seed, original_start, original_stop)
            copy_dir = Path(tempfile.mkdtemp(prefix="lht-test-org-"))
            shutil.copyfile(template, copy_dir / "org.duckdb")
            self.db_path, self.keep_data = copy_dir / "org.duckdb", True
            self._lht_test_copy = copy_dir  # type: ignore[attr-defined]
        return original_start(self)

    def stop(self: DevOrg) -> None:
        try:
            original_stop(self)
        finally:
            copy_dir = self.__dict__.pop("_lht_test_copy", None)
            if copy_dir is not None:
                shutil.rmtree(copy_dir, ignore_errors=True)
                self.db_path, self.keep_data = None, False

    DevOrg.start, DevOrg.stop = start, stop  # type: ignore[method-assign]
    _installed = (original_start, original_stop)


def uninstall() -> None:
    """Undo :func:`install`."""
    global _installed
    if _installed is not None:
        DevOrg.start, DevOrg.stop = _installed  # type: ignore[method-assign]
        _installed = None
