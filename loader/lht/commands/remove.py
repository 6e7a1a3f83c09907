"""`lht remove`: undo `lht add`.

Deletes the object's model files (main table and history), its entries in the sources and
models YAML files and the unit tests of those models, and its options in
``dbt_project.yml`` (``vars.lht_objects``, ``vars.lht_formula_columns``). Refused, with
nothing changed, while another model of the project still ``ref``s one of them. The
warehouse is left alone: the staging, main and history tables and lht's state of the
object are data, and the report says how to drop them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from lht.commands import yamlfile
from lht.commands.docs import HISTORY_SUFFIX
from lht.config import Settings, settings_from_env
from lht.constants import DESCRIBE_TABLE, STATE_TABLE
from lht.errors import ConfigError
from lht.project import SOURCE_NAME, SOURCES_FILE, load_project

OPTION_VARS = ("lht_objects", "lht_formula_columns")


@dataclass
class Removed:
    """What ``lht remove`` changed in the project, and what it left in the warehouse."""

    objects: list[str]
    deleted: list[Path] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)
    #: the warehouse tables left as they are, and SQL that drops them and lht's state of them
    tables: list[str] = field(default_factory=list)
    drop_sql: list[str] = field(default_factory=list)


def remove_objects(
    names: Iterable[str],
    project_dir: str | os.PathLike | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> Removed:
    """Unregister ``names`` (registered objects, any case); see the module docstring."""
    project = load_project(project_dir)
    objects = project.resolve(names)
    models = {o.lower() for o in objects} | {f"{o.lower()}{HISTORY_SUFFIX}" for o in objects}
    files = [path for o in objects for path in project.model_files.get(o.lower(), [])]
    _refuse_if_referenced(project.project_dir / "models", models, set(files))
    result = Removed(objects=objects)
    texts: dict[Path, str] = {}
    sources = project.models_dir / SOURCES_FILE
    if sources.is_file():
        document = yamlfile.load(sources)
        for source in document.get("sources") or []:
            if source.get("name") == SOURCE_NAME and source.get("tables") is not None:
                gone = yamlfile.remove(
                    source["tables"], lambda t: _named(t, {o.lower() for o in objects})
                )
                result.edited += [f"{sources.name}: source table {t['name']}" for t in gone]
        texts[sources] = yamlfile.dumps(document)
    for path in sorted({*project.models_dir.glob("*.yml"), *project.models_dir.glob("*.yaml")}):
        document = yamlfile.load(path)
        if not isinstance(document, CommentedMap):
            continue
        for key, picks in (
            ("models", lambda e: _named(e, models)),
            (
                "unit_tests",
                lambda e: isinstance(e, Mapping) and str(e.get("model", "")).lower() in models,
            ),
        ):
            if document.get(key) is not None:
                gone = yamlfile.remove(document[key], picks)
                result.edited += [
                    f"{path.name}: {key[:-1].replace('_', ' ')} {e['name']}" for e in gone
                ]
        texts.setdefault(path, yamlfile.dumps(document))
    config_path = project.project_dir / "dbt_project.yml"
    config = yamlfile.load(config_path)
    variables = config.get("vars") if isinstance(config, CommentedMap) else None
    for var in OPTION_VARS:
        options = variables.get(var) if isinstance(variables, Mapping) else None
        if not isinstance(options, MutableMapping):
            continue
        for key in [k for k in options if str(k).lower() in {o.lower() for o in objects}]:
            del options[key]
            result.edited.append(f"dbt_project.yml: vars.{var}.{key}")
    texts[config_path] = yamlfile.dumps(config)
    for path in files:
        path.unlink()
        result.deleted.append(path)
    for path, text in texts.items():
        if text != path.read_text(encoding="utf-8"):
            yamlfile.save(path, text)
    _left_in_warehouse(
        result, objects, {o for o in objects if project.objects[o].history}, settings_from_env(env)
    )
    return result


def _named(entry: Any, names: set[str]) -> bool:
    return isinstance(entry, Mapping) and str(entry.get("name", "")).lower() in names


def _refuse_if_referenced(models_root: Path, models: set[str], removing: set[Path]) -> None:
    """ConfigError naming the models (other than those removed) that ``ref`` a removed one."""
    pattern = re.compile(r"""\bref\(\s*(?:['"]\w+['"]\s*,\s*)?['"](\w+)['"]""")
    users = []
    for path in sorted(models_root.rglob("*.sql")) if models_root.is_dir() else []:
        if path in removing:
            continue
        named = {m.lower() for m in pattern.findall(path.read_text(encoding="utf-8"))} & models
        if named:
            users.append(f"{path.relative_to(models_root.parent)} (ref {', '.join(sorted(named))})")
    if users:
        raise ConfigError(
            f"Other models use what lht remove would delete: {'; '.join(users)}. Change or remove "
            "them first, or dbt could no longer build the project. Nothing was changed."
        )


def _left_in_warehouse(
    result: Removed, objects: list[str], histories: set[str], settings: Settings
) -> None:
    staging, schema = settings.staging_schema, settings.schema
    for name in objects:
        table = name.lower()
        result.tables += [
            f"{schema}.{table}",
            *([f"{schema}.{table}{HISTORY_SUFFIX}"] if name in histories else []),
            f"{staging}.{table}",
        ]
    result.drop_sql += [f"drop table if exists {t};" for t in result.tables]
    listed = ", ".join(f"'{name.lower()}'" for name in objects)
    result.drop_sql += [
        f"delete from {staging}.{t} where lower(object_name) in ({listed});"
        for t in (STATE_TABLE, DESCRIBE_TABLE)
    ]
