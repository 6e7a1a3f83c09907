"""`lht add --push MODEL`: write a push model's change-set view and its YAML beside the model.

The view is one line, ``{{ lht.lht_push_changes('MODEL') }}`` in ``MODEL__lht_changes.sql``;
the YAML (``MODEL__lht_changes.yml``) describes it and every column it adds. Files already
there with the same content are left alone; others are refused.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import yaml

from lht.errors import ConfigError
from lht.names import check_identifier
from lht.project import find_project_dir
from lht.push.changeset import CHANGES_SQL, CHANGES_SUFFIX, COLUMN_DESCRIPTIONS


def _model_paths(root: Path) -> list[Path]:
    try:
        config = yaml.safe_load((root / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        config = {}
    paths = config.get("model-paths") if isinstance(config, dict) else None
    return [root / str(p) for p in (paths if isinstance(paths, list) and paths else ["models"])]


def _model_file(root: Path, name: str) -> Path:
    found = [
        p for folder in _model_paths(root) if folder.is_dir() for p in folder.rglob(f"{name}.sql")
    ]
    if not found:
        raise ConfigError(
            f"No model file {name}.sql in {root}'s model paths: write the push model first "
            "(a model with `config: meta: lht_push:`), then run `lht add --push` again."
        )
    if len(found) > 1:
        raise ConfigError(
            f"{name}.sql is in more than one place ({', '.join(map(str, found))}): dbt would refuse it."
        )
    return found[0]


def view_yaml(name: str) -> str:
    """The properties YAML of ``name``'s change-set view."""
    doc = {
        "version": 2,
        "models": [
            {
                "name": f"{name}{CHANGES_SUFFIX}",
                "description": f"The change set of the push {name}: each of its rows with what lht push does about it, "
                "read live against the push results (docs: lht's README, Push to Salesforce). "
                f"Its other columns are {name}'s.",
                "columns": [
                    {"name": column, "description": text}
                    for column, text in COLUMN_DESCRIPTIONS.items()
                ],
            }
        ],
    }
    return yaml.safe_dump(doc, sort_keys=False, width=100)


def _write(path: Path, body: str) -> Path | None:
    if path.exists():
        if path.read_text(encoding="utf-8") == body:
            return None
        raise ConfigError(
            f"{path} already exists with other content; move it away or edit it by hand."
        )
    path.write_text(body, encoding="utf-8")
    return path


def add_push_views(
    names: Iterable[str], project_dir: str | os.PathLike | None = None
) -> list[Path]:
    """Write the change-set view (SQL and YAML) of each push model beside it; return the files written."""
    root = find_project_dir(project_dir)
    written: list[Path] = []
    for name in names:
        check_identifier(name, "push model name")
        folder = _model_file(root, name).parent
        for path, body in (
            (folder / f"{name}{CHANGES_SUFFIX}.sql", CHANGES_SQL.format(name=name)),
            (folder / f"{name}{CHANGES_SUFFIX}.yml", view_yaml(name)),
        ):
            if _write(path, body) is not None:
                written.append(path)
    return written
