"""The warehouse as commands that only read it open it (``lht status``, ``lht docs``,
``lht merge --dry-run``): never created, DuckDB files opened read-only.

A DuckDB profile's relative ``path`` (``lht.duckdb``) is read from the working directory,
as dbt-duckdb reads it. The README runs ``lht sync`` and ``dbt build`` from the project's
parent with ``--project-dir dbt_project``, so the file is there; a reader run from inside
the project (``cd dbt_project && lht status``) would name a file that does not exist. A
reader then looks for the same relative path beside the project and in it, says which file
it reads, and otherwise refuses (exit 2): no warehouse there yet, run ``lht sync`` first.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from lht.errors import WarehouseMissingError
from lht.warehouse.connection import Warehouse, connect
from lht.warehouse.target import Target

logger = logging.getLogger(__name__)


def reader_target(target: Target, project_dir: Path) -> Target:
    """``target``, its DuckDB file found for reading (see the module docstring).

    Raises WarehouseMissingError when no file exists where the profile says, nor beside or
    in the dbt project at ``project_dir``.
    """
    if target.kind != "duckdb" or target.path is None or str(target.path) == ":memory:":
        return target
    if target.path.is_file():
        return target
    configured = target.configured_path or str(target.path)
    if not Path(configured).is_absolute():
        for base in (project_dir.parent, project_dir):
            candidate = (base / configured).resolve()
            if candidate.is_file() and candidate != target.path.resolve():
                logger.warning(
                    "No warehouse at %s (the profile's path %r is read from the working directory, "
                    "as dbt reads it); reading %s, beside the dbt project.",
                    target.path,
                    configured,
                    candidate,
                )
                return replace(target, path=candidate)
    raise WarehouseMissingError(
        f"No warehouse at {target.path} yet (the profile's path {configured!r} is read from the working "
        f"directory, as dbt reads it, and no such file is beside the dbt project {project_dir} either). "
        "Run `lht sync` first, or run this from the directory you ran `lht sync` and `dbt build` in."
    )


def open_for_reading(target: Target, staging_schema: str | None = None) -> Warehouse:
    """Open ``target`` (found with :func:`reader_target`) without writing or creating anything."""
    return connect(target, staging_schema, read_only=True)
