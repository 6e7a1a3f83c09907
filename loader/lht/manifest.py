"""dbt's ``target/manifest.json`` read as lht's registry of write-back models.

``lht push`` and ``lht merge`` find their models by a key of ``config.meta``
(``lht_push``, ``lht_merge``): :func:`load_manifest` reads the manifest ``dbt build``
left behind, :meth:`Manifest.models_with_meta` gives the models carrying one key, in the
dbt DAG's order then by name, each with its relation (as dbt quotes it) and its options.
No dbt import: the manifest is JSON.
"""

from __future__ import annotations

import heapq
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lht.config import Settings, settings_from_env
from lht.dbtfiles import project_config
from lht.errors import ConfigError

logger = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class ModelNode:
    """One dbt model of the manifest that carries an lht meta key."""

    name: str
    unique_id: str
    relation: str  # the relation as dbt renders it (quoted, engine's own case)
    database: str | None
    schema: str
    identifier: str
    options: Mapping[str, Any]
    columns: Sequence[str] = field(default_factory=tuple)  # columns documented in YAML, if any
    path: str = ""


@dataclass
class Manifest:
    """The parsed manifest: its nodes and the DAG between them."""

    path: Path
    nodes: dict[str, dict[str, Any]]

    def _order(self) -> list[str]:
        """Every node's unique id in DAG order (parents first), ties broken by name."""
        parents = {
            uid: [p for p in (node.get("depends_on") or {}).get("nodes") or [] if p in self.nodes]
            for uid, node in self.nodes.items()
        }
        children: dict[str, list[str]] = {uid: [] for uid in self.nodes}
        waiting = {uid: len(ps) for uid, ps in parents.items()}
        for uid, ps in parents.items():
            for p in ps:
                children[p].append(uid)
        ready = [(self.nodes[uid].get("name", uid), uid) for uid, n in waiting.items() if n == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            _, uid = heapq.heappop(ready)
            order.append(uid)
            for child in children[uid]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    heapq.heappush(ready, (self.nodes[child].get("name", child), child))
        order += sorted(
            set(self.nodes) - set(order)
        )  # a cycle cannot happen in dbt; keep them anyway
        return order

    def models_with_meta(self, key: str) -> list[ModelNode]:
        """Models whose ``config.meta`` (or ``meta``) has ``key``, in DAG order then by name."""
        found = []
        for uid in self._order():
            node = self.nodes[uid]
            if node.get("resource_type") != "model":
                continue
            meta = {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}
            if key not in meta:
                continue
            options = meta[key]
            if not isinstance(options, Mapping):
                raise ConfigError(
                    f"Model {node.get('name')}: meta.{key} must be a mapping of options, "
                    f"not {options!r}."
                )
            identifier = node.get("alias") or node["name"]
            relation = node.get("relation_name") or ".".join(
                f'"{p}"' for p in (node.get("database"), node.get("schema"), identifier) if p
            )
            found.append(
                ModelNode(
                    name=node["name"],
                    unique_id=uid,
                    relation=relation,
                    database=node.get("database"),
                    schema=node.get("schema") or "",
                    identifier=identifier,
                    options=dict(options),
                    columns=tuple((node.get("columns") or {}).keys()),
                    path=node.get("original_file_path") or "",
                )
            )
        return found

    def main_table(self, object_name: str) -> str | None:
        """The relation of lht's main table of ``object_name`` (the model whose SQL calls
        ``lht_main_table('<object>')``), or None when the project has none."""
        call = re.compile(
            r"lht_main_table\(\s*['\"]" + re.escape(object_name) + r"['\"]\s*\)", re.IGNORECASE
        )
        for uid in sorted(self.nodes):
            node = self.nodes[uid]
            if node.get("resource_type") == "model" and call.search(node.get("raw_code") or ""):
                identifier = node.get("alias") or node["name"]
                return node.get("relation_name") or ".".join(
                    f'"{p}"' for p in (node.get("database"), node.get("schema"), identifier) if p
                )
        return None

    def select(
        self, models: Sequence[ModelNode], names: Iterable[str], what: str
    ) -> list[ModelNode]:
        """``models`` named in ``names`` (case-insensitive), kept in their run order; all when none."""
        wanted = [n for n in names]
        if not wanted:
            return list(models)
        by_name = {m.name.lower(): m for m in models}
        unknown = [n for n in wanted if n.lower() not in by_name]
        if unknown:
            known = ", ".join(m.name for m in models) or "none"
            raise ConfigError(
                f"{', '.join(unknown)}: no {what} model of that name in {self.path} "
                f"(known: {known}). Check the name, then run `dbt build`."
            )
        chosen = {n.lower() for n in wanted}
        return [m for m in models if m.name.lower() in chosen]


def target_dir(project_dir: Path, settings: Settings | None = None) -> Path:
    """The dbt target directory: ``DBT_TARGET_PATH`` (of ``settings``, default the process
    environment's), else the project's ``target-path``."""
    configured = (settings if settings is not None else settings_from_env()).dbt_target_path
    if not configured:
        configured = str(project_config(project_dir).get("target-path") or "target")
    path = Path(configured)
    return path if path.is_absolute() else project_dir / path


def load_manifest(project_dir: Path, settings: Settings | None = None) -> Manifest:
    """Read ``target/manifest.json``; ConfigError saying to run ``dbt build`` when it is missing."""
    path = target_dir(project_dir, settings) / MANIFEST_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"No dbt manifest at {path}: run `dbt build` in {project_dir} first "
            "(lht finds its models in the manifest dbt writes)."
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"Cannot read the dbt manifest {path} ({exc}): run `dbt build` again."
        ) from None
    nodes = data.get("nodes")
    if not isinstance(nodes, dict):
        raise ConfigError(f"{path} has no nodes: it is not a dbt manifest; run `dbt build`.")
    return Manifest(path=path, nodes=nodes)
