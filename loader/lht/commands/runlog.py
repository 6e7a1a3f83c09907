"""Runs refused before they start, recorded in the run history.

A ``lht sync``, ``lht push`` or ``lht merge`` that raises instead of returning its report
(the run lock held by another run, configuration to fix, a login refused) writes one run
row saying so (``object_name`` NULL, outcome ``refused`` for exit codes 2 and 3, else
``failed``, the message in ``error_message``) where the warehouse is reachable: the
profile's target can be read and, on DuckDB, the database file exists. A DuckDB file held
by another process is written by the next run (:func:`lht.warehouse.runs.record_refusal`).
A run that dies (killed, a bug) writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from lht.config import settings_from_env
from lht.errors import LhtError
from lht.project import find_project_dir
from lht.warehouse.runs import FAILED, REFUSED, RunRow, new_run_id, record_refusal
from lht.warehouse.target import load_target

logger = logging.getLogger(__name__)


@contextmanager
def refusals_recorded(
    command: str, *, project_dir: Path | None, profiles_dir: Path | None, target: str | None
) -> Iterator[None]:
    """Record a refusal (an :class:`LhtError` out of the block) in the run history, then re-raise."""
    started = datetime.now(timezone.utc)
    try:
        yield
    except LhtError as exc:
        _record(command, exc, started, project_dir, profiles_dir, target)
        raise


def _record(
    command: str,
    exc: LhtError,
    started: datetime,
    project_dir: Path | None,
    profiles_dir: Path | None,
    target: str | None,
) -> None:
    try:
        # a refusal may come from a bad setting: the target is found with that one at its default
        where = load_target(
            find_project_dir(project_dir),
            profiles_dir,
            target,
            settings_from_env(skip_invalid=True),
        )
    except LhtError as why:
        logger.info("The refusal was not recorded in the run history: %s", why)
        return
    finished = datetime.now(timezone.utc)
    row = RunRow(
        run_id=new_run_id(started),
        command=command,
        object_name=None,
        started_at=started,
        finished_at=finished,
        outcome=REFUSED if exc.exit_code in (2, 3) else FAILED,
        exit_code=exc.exit_code,
        seconds=round((finished - started).total_seconds(), 3),
        error_message=str(exc),
    )
    try:
        outcome = record_refusal(where, row)
    except (LhtError, OSError) as why:  # recording must never hide the refusal itself
        logger.info("The refusal was not recorded in the run history: %s", why)
        return
    logger.info("The refusal was %s in the run history", outcome)
