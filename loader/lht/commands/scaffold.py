"""`lht add`: register objects by writing their dbt model and YAML entries.

The model file is one macro call; the YAML entries copy the shape of the entries already
there (so a project's own conventions are kept), renamed for the new object. Comments and
ordering in the YAML files are preserved (ruamel round-trip). ``--history`` also writes the
opt-in history model ``<object>_history.sql`` (``lht_history_table``) and its YAML entry.
"""

from __future__ import annotations

import copy
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from lht.errors import ConfigError
from lht.names import check_object_name
from lht.project import MODELS_FILE, SOURCE_NAME, SOURCES_FILE, find_project_dir, load_project

logger = logging.getLogger(__name__)

MODEL_TEMPLATE = "{{{{ lht.lht_main_table('{name}') }}}}\n"
HISTORY_TEMPLATE = "{{{{ lht.lht_history_table('{name}') }}}}\n"
HISTORY_SUFFIX = "_history"
KIND_COLUMN = {
    "name": "_lht_kind",
    "description": "What the staged row is: record, deleted (a delete marker) or formula.",
    "data_tests": [{"accepted_values": {"arguments": {"values": ["record", "deleted", "formula", "fields", "filtered"]}}}],
}
DEFAULT_SOURCE_TABLE = {"name": None, "description": "Staged batches of {name}, appended by lht sync.",
                        "columns": [KIND_COLUMN]}
DEFAULT_MODEL = {
    "name": None,
    "description": "One row per {name} record; merged from staging by lht_main_table.",
    "columns": [{"name": "id", "data_tests": ["unique", "not_null"]}],
}


def add_objects(names: Iterable[str], project_dir: str | os.PathLike | None = None, *,
                history: bool = False) -> list[Path]:
    """Register each object (and with ``history``, enable its history model); return the files
    written. What is already there is left as it is."""
    root = find_project_dir(project_dir)
    project = load_project(root)
    registered = {name.lower(): name for name in project.objects}
    with_history = {name.lower() for name, opts in project.objects.items() if opts.history}
    written: list[Path] = []
    new: list[str] = []
    histories: list[str] = []
    for name in names:
        check_object_name(name)
        if name.lower() not in registered:
            registered[name.lower()] = name
            new.append(name)
        elif not history:
            logger.warning("%s is already registered; nothing to do", name)
        if history and name.lower() not in with_history:
            with_history.add(name.lower())
            histories.append(registered[name.lower()])
        elif history:
            logger.warning("%s already has a history model; nothing to do", name)
    models_dir = project.models_dir
    models_dir.mkdir(parents=True, exist_ok=True)
    for name in new:
        written.append(_write_model(models_dir / f"{name.lower()}.sql", MODEL_TEMPLATE.format(name=name)))
    for name in histories:
        path = models_dir / f"{name.lower()}{HISTORY_SUFFIX}.sql"
        written.append(_write_model(path, HISTORY_TEMPLATE.format(name=name)))
    if new:
        written.append(_append_entries(models_dir / SOURCES_FILE, new, _source_tables))
    if new or histories:
        written.append(_append_entries(models_dir / MODELS_FILE, new, _model_list,
                                       extra=[_history_entry(name) for name in histories]))
    return written


def _write_model(path: Path, body: str) -> Path:
    if path.exists():
        raise ConfigError(f"{path} already exists with other content; move it away or register by hand.")
    path.write_text(body, encoding="utf-8")
    return path


def _history_entry(name: str) -> dict:
    return {
        "name": f"{name.lower()}{HISTORY_SUFFIX}",
        "description": f"Every version of Salesforce {name} records (valid_from, valid_to, is_current); "
                       "built from staging by lht_history_table.",
        "columns": [{"name": "Id", "data_tests": ["not_null"]},
                    {"name": "valid_from", "data_tests": ["not_null"]}],
        "data_tests": [{"lht_unique_combination": {"arguments": {"columns": ["Id", "valid_from"]}}}],
    }


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def _append_entries(path: Path, names: list[str], container, extra: list | None = None) -> Path:
    """Append an entry shaped like the existing ones per name, then the ``extra`` entries."""
    yaml = _yaml()
    if not path.is_file():
        raise ConfigError(f"{path} is missing; lht add needs the project's {path.name} to register objects.")
    document = yaml.load(path.read_text(encoding="utf-8"))
    entries, default = container(document, path)
    for name in names:
        entries.append(_entry_like(entries, default, name))
    entries.extend(extra or [])
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(document, handle)
    return path


def _source_tables(document: Any, path: Path) -> tuple[list, dict]:
    for source in document.get("sources") or []:
        if source.get("name") == SOURCE_NAME:
            source.setdefault("tables", [])
            return source["tables"], DEFAULT_SOURCE_TABLE
    raise ConfigError(f"{path} has no source named {SOURCE_NAME}; lht add appends staging tables to it.")


def _model_list(document: Any, path: Path) -> tuple[list, dict]:
    if document.get("models") is None:
        document["models"] = []
    return document["models"], DEFAULT_MODEL


def _entry_like(entries: list, default: dict, name: str) -> Any:
    """A copy of the first existing plain entry (or the default), renamed for ``name``."""
    lower = name.lower()
    template = next((e for e in entries if isinstance(e, dict) and "name" in e and "_history" not in str(e["name"])), None)
    if template is None:
        entry = copy.deepcopy(default)
        entry["name"] = lower
        entry["description"] = entry["description"].format(name=name)
        return entry
    old = str(template["name"])
    entry = copy.deepcopy(template)
    entry["name"] = lower
    return _rename(entry, old, name)


def _rename(node: Any, old: str, new: str) -> Any:
    """Replace the word ``old`` (any case) by ``new`` in a YAML node's descriptions."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                node[key] = re.sub(rf"\b{re.escape(old)}\b", new, value, flags=re.IGNORECASE)
            else:
                _rename(value, old, new)
    elif isinstance(node, list):
        for item in node:
            _rename(item, old, new)
    return node
