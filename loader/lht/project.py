"""The dbt project as lht's registry: which objects are registered, and with which options.

An object is registered when the dbt project has a main-table model for it, a model file
whose whole body is ``{{ lht.lht_main_table('Account') }}``. ``lht add`` writes that file and
the matching entries of the sources and models YAML files. Its history is enabled when a
model calls ``{{ lht.lht_history_table('Account') }}`` (``lht add Account --history``).
Per-object loader options live in ``dbt_project.yml`` under
``vars: lht_objects: {Account: {where: ...}}``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lht.dbtfiles import PROJECT_FILE, mapping, project_vars, read_text
from lht.errors import ConfigError, ObjectNotRegisteredError
from lht.names import check_object_name, close_names

logger = logging.getLogger(__name__)

MODELS_SUBDIR = Path("models") / "salesforce"
SOURCES_FILE = "_salesforce__sources.yml"
MODELS_FILE = "_salesforce__models.yml"
SOURCE_NAME = "salesforce_staging"

_MODEL_CALL = re.compile(r"lht_main_table\(\s*['\"]([A-Za-z0-9_]+)['\"]")
_HISTORY_CALL = re.compile(r"lht_history_table\(\s*['\"]([A-Za-z0-9_]+)['\"]")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any, what: str) -> int:
    """Parse ``30``, ``90s``, ``15m``, ``6h``, ``1d``, ``2w`` into seconds."""
    if isinstance(value, int) and value >= 0:
        return value
    match = _DURATION.match(str(value))
    if not match:
        raise ConfigError(
            f"{what}: '{value}' is not a duration. Write it like 90s, 15m, 6h, 1d or 2w."
        )
    return int(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True)
class ObjectOptions:
    """Loader options for one registered object (``vars: lht_objects: <Name>:``)."""

    where: str | None = None
    formula_refresh_every: int | None = None
    deleted_check_every: int | None = None
    #: True when the project has a history model for the object (never set in vars).
    history: bool = False


@dataclass
class Project:
    """A dbt project that lht loads for."""

    project_dir: Path
    objects: dict[str, ObjectOptions] = field(default_factory=dict)
    #: lower-case object name -> the model files calling lht_main_table or lht_history_table for it
    model_files: dict[str, list[Path]] = field(default_factory=dict)

    @property
    def models_dir(self) -> Path:
        return self.project_dir / MODELS_SUBDIR

    def resolve(self, names: Iterable[str]) -> list[str]:
        """Map user-typed object names to registered names (case-insensitive), in order."""
        by_lower = {name.lower(): name for name in self.objects}
        resolved: list[str] = []
        for name in names:
            check_object_name(name)
            registered = by_lower.get(name.lower())
            if registered is None:
                raise ObjectNotRegisteredError(self._not_registered(name))
            if registered not in resolved:
                resolved.append(registered)
        return resolved

    def _not_registered(self, name: str) -> str:
        """Why ``name`` cannot be used, with the registered names it may have meant."""
        known = ", ".join(sorted(self.objects)) or "none yet"
        close = close_names(name, self.objects)
        if close:
            meant = " or ".join(close)
            return (
                f"{name} is not registered in {self.project_dir}: did you mean {meant}? "
                f"Registered objects: {known}. To load another object, register it first with "
                "`lht add <Object>` (it checks the name against the org)."
            )
        return (
            f"{name} is not registered in {self.project_dir}. Register it with `lht add {name}` "
            f"(it checks the name against the org and writes the dbt model), then run `lht sync {name}`. "
            f"Registered objects: {known}."
        )


def find_project_dir(project_dir: str | os.PathLike | None = None) -> Path:
    """The dbt project directory: the option, else the current directory, else ./dbt_project."""
    candidates = [Path(project_dir)] if project_dir else [Path.cwd(), Path.cwd() / "dbt_project"]
    for candidate in candidates:
        if (candidate / "dbt_project.yml").is_file():
            return candidate.resolve()
    where = " nor in ".join(str(c) for c in candidates)
    raise ConfigError(
        f"No dbt_project.yml in {where}: this is not an lht project. Run lht from your dbt project "
        "(or its parent holding dbt_project/), or pass --project-dir DIR."
    )


def load_project(project_dir: str | os.PathLike | None = None) -> Project:
    """Read the registered objects and their options from the dbt project."""
    root = find_project_dir(project_dir)
    options = _object_options(root)
    objects: dict[str, ObjectOptions] = {}
    histories: set[str] = set()
    files: dict[str, list[Path]] = {}
    models = root / MODELS_SUBDIR
    for path in sorted(models.glob("*.sql")) if models.is_dir() else []:
        text = read_text(path, "dbt model file")
        match = _MODEL_CALL.search(text)
        if match:
            name = check_object_name(match.group(1))
            objects[name] = options.get(name.lower(), ObjectOptions())
            files.setdefault(name.lower(), []).append(path)
        history = _HISTORY_CALL.search(text)
        if history:
            histories.add(check_object_name(history.group(1)).lower())
            files.setdefault(history.group(1).lower(), []).append(path)
    for name, opts in objects.items():
        if name.lower() in histories:
            objects[name] = replace(opts, history=True)
    for name in sorted(histories - {name.lower() for name in objects}):
        logger.warning(
            "a history model names %s, which has no main-table model; register it with `lht add`",
            name,
        )
    unknown = set(options) - {name.lower() for name in objects}
    for name in sorted(unknown):
        logger.warning("vars.lht_objects names %s, which has no main-table model; ignored", name)
    return Project(project_dir=root, objects=objects, model_files=files)


#: The options of ``vars: lht_objects: <Object>:``.
OPTIONS = ("where", "formula_refresh_every", "deleted_check_every")


def _object_options(root: Path) -> dict[str, ObjectOptions]:
    path = root / PROJECT_FILE
    raw = mapping(
        project_vars(root).get("lht_objects"),
        path,
        "vars.lht_objects",
        "object names to their options",
    )
    options: dict[str, ObjectOptions] = {}
    for name, opts in raw.items():
        check_object_name(str(name))
        key = f"vars.lht_objects.{name}"
        opts = mapping(
            opts,
            path,
            key,
            f"options ({', '.join(OPTIONS)}) to values, like "
            f'`{name}: {{where: "Industry != null"}}`',
        )
        extra = set(opts) - set(OPTIONS)
        if extra:
            raise ConfigError(
                f"{path}: `{key}` has unknown option(s) {sorted(map(str, extra))}; "
                f"allowed: {list(OPTIONS)}."
            )
        options[str(name).lower()] = ObjectOptions(
            where=_checked_where(opts.get("where"), path, f"{key}.where"),
            formula_refresh_every=_optional_duration(
                opts.get("formula_refresh_every"), f"{key}.formula_refresh_every"
            ),
            deleted_check_every=_optional_duration(
                opts.get("deleted_check_every"), f"{key}.deleted_check_every"
            ),
        )
    return options


def _checked_where(value: Any, path: Path, key: str) -> str | None:
    """A where filter, refused at load time (before any connection) when it is not one
    SOQL condition as text, or is unsafe."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(
            f'{path}: `{key}` must be one SOQL condition as text (like "Industry != null"), '
            f"not {value!r}."
        )
    from lht.salesforce.soql import validate_where

    try:
        return validate_where(value)
    except ConfigError as exc:
        raise ConfigError(f"dbt_project.yml: {key}: {exc}") from None


def _optional_duration(value: Any, what: str) -> int | None:
    return None if value is None else parse_duration(value, f"dbt_project.yml: {what}")
