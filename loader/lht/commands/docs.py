"""Descriptions of lht's models in their YAML, from an object's describe: ``lht docs``
(from the describes ``lht sync`` caches) and ``lht add`` (from the org's).

dbt's docs page shows what the project's properties YAML says (the manifest), not the
warehouse's column comments (which ``lht.lht_document_columns`` keeps too, for SQL
clients). So each lht model's entry gets the object's label as its description and one
entry per column: a Salesforce field as ``lht.lht_field_description`` words it (label,
``Object.Field: type``, inline help text), an lht column by its meaning. Every text lht
writes is marked ``config: {meta: {lht_generated: true}}``; lht rewrites only marked texts
that still read as it wrote them, so a description a user wrote or edited is never
touched, and a column whose field left the describe keeps its entry (the column stays in
the table). New columns are appended in describe order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from lht.commands import yamlfile
from lht.config import settings_from_env
from lht.errors import LhtError
from lht.project import load_project
from lht.salesforce.describe import plan_object
from lht.warehouse.connection import load_target
from lht.warehouse.reader import open_for_reading, reader_target
from lht.warehouse.state import StateStore

GENERATED = "lht_generated"
HISTORY_SUFFIX = "_history"

#: What lht's own columns mean: the same words as the macro ``lht_column_meanings``.
LHT_COLUMNS = {
    "_lht_batch_id": "lht: the newest staging batch merged into this row (batch ids sort in the order lht sync wrote them).",
    "_lht_extracted_at": "lht: when the lht sync extract that produced this row's newest batch started (UTC).",
    "_lht_is_deleted": "lht: true when the record is deleted in Salesforce (recycle bin, hard delete or purge); the row keeps its last known values.",
    "_lht_synced_at": "lht: when the dbt run that last changed this row ran.",
    "_lht_in_filter": "lht: false when the record exists but no longer matches the object's where filter (vars.lht_objects); the row keeps the last values read while it matched.",
    "_lht_kind": "lht: what the staged row is: record (a full record), deleted (a delete marker), formula (refreshed formula fields only), fields (newly visible fields, backfilled) or filtered (a record that left the where filter).",
    "valid_from": "lht history: when this version became the record's state (its SystemModstamp).",
    "valid_to": "lht history: when the next version replaced this one; null while it is current.",
    "is_current": "lht history: true for the newest version of the record.",
}
MAIN_COLUMNS = (
    "_lht_batch_id",
    "_lht_extracted_at",
    "_lht_is_deleted",
    "_lht_in_filter",
    "_lht_synced_at",
)
HISTORY_COLUMNS = (
    "valid_from",
    "valid_to",
    "is_current",
    "_lht_is_deleted",
    "_lht_batch_id",
    "_lht_extracted_at",
    "_lht_synced_at",
)
#: Model descriptions of earlier lht versions, rewritten like marked ones.
_LEGACY = (
    re.compile(r"Salesforce \S+ records, one row per Id, merged from staging\.$"),
    re.compile(r"One row per \S+ record; merged from staging by lht_main_table\.$"),
    re.compile(
        r"Every version of Salesforce \S+ records \(valid_from, valid_to, is_current\); "
        r"built from staging by lht_history_table\.$"
    ),
)


def field_description(object_name: str, field_: Mapping[str, Any]) -> str:
    """A field's description as ``lht.default__lht_field_description`` words it."""
    kind = str(field_.get("type") or "unknown type")
    if field_.get("referenceTo"):
        kind += " to " + ", ".join(field_["referenceTo"])
    if field_.get("calculated"):
        kind += ", formula"
    text = f"{field_.get('label') or field_['name']} ({object_name}.{field_['name']}: {kind})."
    help_text = str(field_.get("inlineHelpText") or "").strip()
    return f"{text} {help_text}" if help_text else text


def _jinja_safe(text: str) -> str:
    """dbt renders descriptions as Jinja: text that looks like Jinja is kept as it is."""
    return f"{{% raw %}}{text}{{% endraw %}}" if re.search(r"\{[{%#]", text) else text


@dataclass
class ModelDocs:
    """What one model's YAML entry should say."""

    model: str
    object_name: str
    description: str
    columns: list[tuple[str, str]] = field(default_factory=list)

    def looks_generated(self, column: str | None, text: str) -> bool:
        """True when ``text`` reads as lht wrote it for ``column`` (None: the model)."""
        if column is None:
            return f"Salesforce {self.object_name} records" in text or any(
                p.search(text) for p in _LEGACY
            )
        if column.lower() in LHT_COLUMNS:
            return text.startswith("lht")
        return f"({self.object_name}.{column}: " in text


def model_docs(
    object_name: str, describe: Mapping[str, Any], *, history: bool = False
) -> ModelDocs:
    """The descriptions of ``object_name``'s main table (or history table) from its describe."""
    plan = plan_object(describe)
    raw = {f["name"]: f for f in describe.get("fields") or []}
    label = str(describe.get("label") or object_name)
    columns = [
        (spec.name, _jinja_safe(field_description(object_name, raw[spec.name])))
        for spec in plan.fields
    ]
    extra: tuple[str, ...]
    if history:
        text = (
            f"{label} history: every version of Salesforce {object_name} records (valid_from, valid_to, "
            "is_current), built from staging by lht."
        )
        extra = HISTORY_COLUMNS
    else:
        text = (
            f"{label}: Salesforce {object_name} records, one row per Id, merged from staging by lht "
            "(deleted records stay, flagged by _lht_is_deleted)."
        )
        extra = MAIN_COLUMNS
    columns += [(name, LHT_COLUMNS[name]) for name in extra]
    return ModelDocs(
        f"{object_name.lower()}{HISTORY_SUFFIX if history else ''}",
        object_name,
        _jinja_safe(text),
        columns,
    )


def _metas(node: Mapping[str, Any]) -> list[Any]:
    """The ``meta`` mappings of a YAML node: ``config: meta:`` and the older top-level ``meta:``."""
    config = node.get("config")
    found = [config.get("meta") if isinstance(config, Mapping) else None, node.get("meta")]
    return [meta for meta in found if isinstance(meta, Mapping)]


def _marked(node: Mapping[str, Any]) -> bool:
    return any(meta.get(GENERATED) for meta in _metas(node))


def unmark(node: CommentedMap) -> bool:
    """Remove a description lht generated, and its mark, from ``node``; True if it had one."""
    if not _marked(node):
        return False
    node.pop("description", None)
    for key in ("config", "meta"):
        holder = node.get(key)
        meta = holder.get("meta") if key == "config" and isinstance(holder, Mapping) else holder
        if isinstance(meta, MutableMapping) and GENERATED in meta:
            del meta[GENERATED]
            if key == "config" and not meta:
                del holder["meta"]
            if not node[key]:
                del node[key]
    return True


def _mark(node: CommentedMap) -> None:
    """Add ``config: {meta: {lht_generated: true}}`` to ``node`` (keeping any config it has)."""
    config = node.get("config")
    if not isinstance(config, CommentedMap):
        config = yamlfile.block({"meta": {GENERATED: True}})
        config.fa.set_flow_style()
        position = list(node).index("description") + 1 if "description" in node else len(node)
        node.insert(position, "config", config)
        return
    meta = config.get("meta")
    if not isinstance(meta, CommentedMap):
        config["meta"] = yamlfile.block({GENERATED: True})
    else:
        meta[GENERATED] = True


def _describe(node: CommentedMap, text: str) -> None:
    text = DoubleQuotedScalarString(text)  # as dbt projects quote descriptions
    if "description" in node:
        node["description"] = text
    else:
        node.insert(1 if "name" in node else 0, "description", text)


def _owned(node: Mapping[str, Any], docs: ModelDocs, column: str | None) -> bool:
    """True when lht may write ``node``'s description: none yet, or one lht wrote, unchanged."""
    current = node.get("description")
    if not current:
        return True
    if column is None and not _marked(node):
        return any(p.search(str(current)) for p in _LEGACY)  # an earlier lht's text
    return _marked(node) and docs.looks_generated(column, str(current))


def apply_docs(entry: CommentedMap, docs: ModelDocs) -> bool:
    """Write ``docs`` into a model's YAML entry where lht may; True when anything changed."""
    changed = False
    if _owned(entry, docs, None) and entry.get("description") != docs.description:
        _describe(entry, docs.description)
        changed = True
    if entry.get("description") == docs.description and not _marked(entry):
        _mark(entry)
        changed = True
    columns = entry.get("columns")
    if not isinstance(columns, CommentedSeq):
        columns = CommentedSeq()
        entry["columns"] = columns
    by_name = {str(c.get("name")).lower(): c for c in columns if isinstance(c, CommentedMap)}
    new = []
    for name, text in docs.columns:
        node = by_name.get(name.lower())
        if node is None:
            node = yamlfile.block({"name": name})
            _describe(node, text)
            _mark(node)
            lht_at = next(
                (
                    i
                    for i, c in enumerate(columns)
                    if isinstance(c, Mapping) and str(c.get("name")).lower() in LHT_COLUMNS
                ),
                None,
            )
            if name.lower() in LHT_COLUMNS or lht_at is None:
                new.append(node)
            else:
                columns.insert(lht_at, node)  # a new field goes before lht's own columns
        elif _owned(node, docs, name) and node.get("description") != text:
            _describe(node, text)
            if not _marked(node):
                _mark(node)
        else:
            continue
        changed = True
    yamlfile.append(columns, new)
    return changed


def document(entries: Mapping[str, yamlfile.YamlEntry], all_docs: Sequence[ModelDocs]) -> list[str]:
    """Apply each model's docs to its entry; the names of the models whose entry changed
    (models without an entry are skipped: ``lht add`` writes entries)."""
    return [
        docs.model
        for docs in all_docs
        if docs.model in entries and apply_docs(entries[docs.model].entry, docs)
    ]


@dataclass
class DocsReport:
    """What ``lht docs`` wrote (or, with ``check``, would write)."""

    check: bool
    models: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def refresh_docs(
    objects: Sequence[str] = (),
    *,
    project_dir: Path | None = None,
    profiles_dir: Path | None = None,
    target: str | None = None,
    check: bool = False,
    env: Mapping[str, str] | None = None,
) -> DocsReport:
    """Describe the models of ``objects`` (default: every registered object) in their YAML, from
    the describes ``lht sync`` cached; with ``check`` write nothing, only say what would change."""
    project = load_project(project_dir)
    names = project.resolve(objects) if objects else list(project.objects)
    settings = settings_from_env(env)
    where = reader_target(
        load_target(project.project_dir, profiles_dir, target, settings), project.project_dir
    )
    wh = open_for_reading(where)
    try:
        store = StateStore(wh, create=False)
        cached = {name: store.get_describe(name) for name in names} if store.exists()[1] else {}
    finally:
        wh.close()
    report = DocsReport(check=check)
    all_docs = []
    for name in names:
        entry = cached.get(name)
        if entry is None:
            report.notes.append(
                f"{name}: not synced yet (no cached describe); run `lht sync {name}`, then `lht docs`."
            )
            continue
        try:
            all_docs.append(model_docs(name, entry[1]))
            if project.objects[name].history:
                all_docs.append(model_docs(name, entry[1], history=True))
        except LhtError as exc:
            report.notes.append(f"{name}: {exc}")
    entries = yamlfile.model_entries(project.models_dir)
    for docs in all_docs:
        if docs.model not in entries:
            report.notes.append(
                f"{docs.model}: no entry in the YAML of {project.models_dir}; `lht add` writes one."
            )
    before = {item.path: item.path.read_text(encoding="utf-8") for item in entries.values()}
    report.models = document(entries, all_docs)
    changed = yamlfile.changed_files(entries.values(), before)
    report.files = sorted(changed)
    if not check:
        for path, text in changed.items():
            yamlfile.save(path, text)
    return report
