"""`lht add` and `lht remove`: register objects by writing their dbt model and YAML entries,
and undo it.

``lht add`` first checks each name against the org (one describeGlobal call; ``--offline``
skips it): a name that is not an object there, or one the user cannot query, is refused
with the closest names, and nothing is written. Then per object: the model file (one
macro call), its entries in the sources and models YAML shaped like the entries already
there (so a project's conventions are kept), and, from the org's describe of it, the
description of the table and of every column (:mod:`lht.commands.docs`). ``--history``
also writes the opt-in history model ``<object>_history.sql`` and its entry.

``lht remove`` deletes what ``lht add`` wrote (model files, YAML entries and the unit tests
of those models, the object's ``vars``) and leaves the warehouse alone: staging and main
tables are data. Comments and ordering of the YAML files are kept (:mod:`lht.commands.yamlfile`).
"""

from __future__ import annotations

import copy
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from lht.commands import yamlfile
from lht.commands.docs import HISTORY_SUFFIX, ModelDocs, apply_docs, model_docs, unmark
from lht.config import credentials_from_env, settings_from_env
from lht.errors import ConfigError, CredentialsError, LhtError, SalesforceError
from lht.names import check_object_name
from lht.project import MODELS_FILE, SOURCE_NAME, SOURCES_FILE, find_project_dir, load_project
from lht.salesforce.client import SalesforceClient, connect
from lht.salesforce.orgobjects import OrgObjects, describe_global

logger = logging.getLogger(__name__)

MODEL_TEMPLATE = "{{{{ lht.lht_main_table('{name}') }}}}\n"
HISTORY_TEMPLATE = "{{{{ lht.lht_history_table('{name}') }}}}\n"
KIND_COLUMN = {
    "name": "_lht_kind",
    "description": "What the staged row is: record, deleted (a delete marker), formula, fields or filtered.",
    "data_tests": [
        {
            "lht_accepted_values": {
                "arguments": {"values": ["record", "deleted", "formula", "fields", "filtered"]}
            }
        }
    ],
}
DEFAULT_SOURCE_TABLE: dict[str, Any] = {
    "name": None,
    "description": "Staged versions of Salesforce {name} records.",
    "columns": [KIND_COLUMN],
}
DEFAULT_MODEL: dict[str, Any] = {
    "name": None,
    "description": "Salesforce {name} records, one row per Id, merged from staging.",
    "columns": [{"name": "Id", "data_tests": ["unique", "not_null"]}],
}


@dataclass
class Added:
    """What ``lht add`` did: the files written, and what the user should know."""

    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def add_objects(
    names: Iterable[str],
    project_dir: str | os.PathLike | None = None,
    *,
    history: bool = False,
    offline: bool = False,
    env: Mapping[str, str] | None = None,
) -> Added:
    """Register each object (and with ``history``, enable its history model). Checked against
    the org unless ``offline``; nothing is written when any name is refused."""
    root = find_project_dir(project_dir)
    project = load_project(root)
    names = list(dict.fromkeys(check_object_name(name) for name in names))
    result = Added()
    registered = {name.lower(): name for name in project.objects}
    new = [name for name in names if name.lower() not in registered]
    for name in names:
        if name.lower() in registered and not history:
            result.notes.append(f"{registered[name.lower()]} is already registered; nothing to do.")
    with_history = {name.lower() for name, opts in project.objects.items() if opts.history}
    histories = []
    for name in (registered.get(n.lower(), n) for n in names) if history else ():
        if name.lower() in with_history:
            result.notes.append(f"{name} already has a history model; nothing to do.")
        else:
            histories.append(name)
    client = None if offline or not (new or histories) else _org_client([*new, *histories], env)
    if client is not None and new:
        spelled = dict(
            zip(new, _checked_against_org(client, new), strict=True)
        )  # as the org spells them
        new = list(spelled.values())
        histories = [spelled.get(name, name) for name in histories]
    models_dir = project.models_dir
    files = {models_dir / f"{n.lower()}.sql": MODEL_TEMPLATE.format(name=n) for n in new}
    files.update(
        {
            models_dir / f"{n.lower()}{HISTORY_SUFFIX}.sql": HISTORY_TEMPLATE.format(name=n)
            for n in histories
        }
    )
    taken = [str(path) for path in files if path.exists()]
    if taken:
        raise ConfigError(
            f"{', '.join(taken)} already exist(s) with other content; move it away or register by "
            "hand. Nothing was written."
        )
    docs = _docs(client, new, histories, result) if client is not None else []
    yaml_texts = _yaml_for_new(models_dir, new, histories, docs)
    models_dir.mkdir(parents=True, exist_ok=True)
    for path, body in files.items():
        path.write_text(body, encoding="utf-8")
        result.written.append(path)
    for path, text in yaml_texts.items():
        yamlfile.save(path, text)
        result.written.append(path)
    if offline and (new or histories):
        result.notes.append(
            "Not checked against the org (--offline), and the columns are not documented: run "
            "`lht docs` after the first `lht sync`."
        )
    return result


def _org_client(names: list[str], env: Mapping[str, str] | None) -> SalesforceClient:
    """A client of the org, or ConfigError saying how to register without one."""
    settings = settings_from_env(env)
    try:
        credentials = credentials_from_env(settings.environ)
    except CredentialsError as exc:
        raise ConfigError(
            f"lht add checks {', '.join(names)} against the org, but: {exc} "
            "Or pass --offline to register without checking."
        ) from None
    try:
        return connect(credentials, settings)
    except LhtError as exc:
        raise type(exc)(
            f"lht add could not reach the org to check {', '.join(names)}: {exc} "
            "Fix that, or pass --offline to register without checking."
        ) from None


def _checked_against_org(client: SalesforceClient, names: list[str]) -> list[str]:
    """The names as the org spells them; ConfigError (nothing written) naming every name refused."""
    catalog = OrgObjects(describe_global(client))
    problems, spelled = [], []
    for name in names:
        found = catalog.find(name)
        if found is None:
            close = catalog.suggest(name)
            hint = (
                f"did you mean {' or '.join(close)}?"
                if close
                else "no object there has a similar name"
            )
            problems.append(f"{name} is not an object of the org ({hint})")
        elif not found.queryable:
            problems.append(
                f"{found.name} exists but this user cannot query it (queryable=false), so lht cannot "
                "load it: grant the user's profile read access"
            )
        else:
            spelled.append(found.name)
    if problems:
        raise ConfigError(
            "; ".join(problems) + ". `lht objects` lists the org's objects. Nothing was written."
        )
    return spelled


def _docs(
    client: SalesforceClient, new: list[str], histories: list[str], result: Added
) -> list[ModelDocs]:
    """The descriptions of the new models, from the org's describe of each object (one call each)."""
    out = []
    for name in dict.fromkeys([*new, *histories]):
        describe = client.describe(name)
        try:
            if name in new:
                out.append(model_docs(name, describe))
            if name in histories:
                out.append(model_docs(name, describe, history=True))
        except SalesforceError as exc:
            result.notes.append(f"{name}: columns not documented ({exc}).")
    return out


def _yaml_for_new(
    models_dir: Path, new: list[str], histories: list[str], docs: list[ModelDocs]
) -> dict[Path, str]:
    """The new text of the sources and models YAML files with the new entries."""
    out: dict[Path, str] = {}
    by_model = {d.model: d for d in docs}
    if new:
        path = models_dir / SOURCES_FILE
        document = _document(path)
        tables = _source_tables(document, path)
        yamlfile.append(tables, [_source_entry(tables, name) for name in new])
        out[path] = yamlfile.dumps(document)
    if new or histories:
        path = models_dir / MODELS_FILE
        document = _document(path)
        if document.get("models") is None:
            document["models"] = CommentedSeq()
        models = document["models"]
        entries = [_model_entry(models, name) for name in new]
        entries += [yamlfile.block(_history_entry(name)) for name in histories]
        for entry in entries:
            if entry["name"] in by_model:
                apply_docs(entry, by_model[entry["name"]])
        yamlfile.append(models, entries)
        out[path] = yamlfile.dumps(document)
    return out


def _document(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError(
            f"{path} is missing; lht add needs the project's {path.name} to register objects. "
            "Nothing was written."
        )
    return yamlfile.load(path)


def _source_tables(document: Any, path: Path) -> CommentedSeq:
    for source in document.get("sources") or []:
        if source.get("name") == SOURCE_NAME:
            if source.get("tables") is None:
                source["tables"] = CommentedSeq()
            return source["tables"]
    raise ConfigError(
        f"{path} has no source named {SOURCE_NAME}; lht add appends staging tables to it. "
        "Nothing was written."
    )


def _history_entry(name: str) -> dict:
    return {
        "name": f"{name.lower()}{HISTORY_SUFFIX}",
        "description": f"Every version of Salesforce {name} records (valid_from, valid_to, is_current); "
        "built from staging by lht_history_table.",
        "columns": [
            {"name": "Id", "data_tests": ["not_null"]},
            {"name": "valid_from", "data_tests": ["not_null"]},
        ],
        "data_tests": [
            {"lht_unique_combination": {"arguments": {"columns": ["Id", "valid_from"]}}}
        ],
    }


def _plain(entries: CommentedSeq) -> CommentedMap | None:
    """The first entry of an object (not a history model) to copy the shape of."""
    return next(
        (
            e
            for e in entries
            if isinstance(e, CommentedMap)
            and "name" in e
            and not str(e["name"]).endswith(HISTORY_SUFFIX)
        ),
        None,
    )


def _source_entry(tables: CommentedSeq, name: str) -> CommentedMap:
    template = _plain(tables)
    if template is None:
        entry = copy.deepcopy(DEFAULT_SOURCE_TABLE)
        entry["name"], entry["description"] = name.lower(), entry["description"].format(name=name)
        return yamlfile.block(entry)
    entry = copy.deepcopy(template)
    old = str(entry["name"])
    entry["name"] = name.lower()
    return _rename(entry, old, name)


def _model_entry(models: CommentedSeq, name: str) -> CommentedMap:
    """A new model's entry: the shape of the first existing one (its tests, config and own
    words, renamed) without the texts lht generated for it; else lht's default."""
    template = _plain(models)
    if template is None:
        default = copy.deepcopy(DEFAULT_MODEL)
        default["name"], default["description"] = (
            name.lower(),
            default["description"].format(name=name),
        )
        return yamlfile.block(default)
    entry = copy.deepcopy(template)
    old = str(entry["name"])
    entry["name"] = name.lower()
    unmark(entry)
    columns = entry.get("columns")
    if isinstance(columns, CommentedSeq):
        for column in list(columns):
            if isinstance(column, CommentedMap) and unmark(column) and set(column) <= {"name"}:
                columns.remove(column)
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
