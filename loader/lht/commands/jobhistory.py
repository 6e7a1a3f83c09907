"""`lht jobs history`: the Bulk query jobs lht's syncs started, and which runs reused them.

Read from the warehouse (``_lht_bulk_jobs``, :mod:`lht.warehouse.bulkjobs`), as ``lht status``
reads it: no Salesforce call, nothing written, a DuckDB file opened read-only. A job a run
took up again after a crash names that run in ``reused_by``; Salesforce's own list (``lht
jobs list``) no longer shows it once the run that read it finished (lht deletes the job).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from lht.config import settings_from_env
from lht.project import load_project
from lht.warehouse.bulkjobs import BulkJobStore, JobRow
from lht.warehouse.connection import load_target
from lht.warehouse.reader import open_for_reading, reader_target


def job_history(
    object_name: str | None = None,
    *,
    limit: int = 50,
    project_dir: Path | None = None,
    profiles_dir: Path | None = None,
    target: str | None = None,
    env: Mapping[str, str] | None = None,
) -> list[JobRow]:
    """The newest ``limit`` Bulk query jobs of the syncs (of ``object_name``), newest first."""
    project = load_project(project_dir)
    settings = settings_from_env(env)
    where = reader_target(
        load_target(project.project_dir, profiles_dir, target, settings), project.project_dir
    )
    wh = open_for_reading(where)
    try:
        store = BulkJobStore(wh, create=False)
        return store.rows(object_name, limit) if store.exists() else []
    finally:
        wh.close()
