"""How much of a dbt docs page is described: the share of the columns of a package's models
(as ``catalog.json`` lists them: the real columns) with a description in ``manifest.json``
(what the docs page shows)."""

from __future__ import annotations

import json
from pathlib import Path


def docs_coverage(target: Path, package: str = "lht") -> tuple[int, int, list[str]]:
    """(described columns, columns, the undescribed ones as model.column) of ``package``'s models."""
    catalog = json.loads((target / "catalog.json").read_text())["nodes"]
    manifest = json.loads((target / "manifest.json").read_text())["nodes"]
    described, total, missing = 0, 0, []
    for unique_id, node in catalog.items():
        if not unique_id.startswith(f"model.{package}."):
            continue
        documented = {
            name.lower(): column for name, column in manifest[unique_id]["columns"].items()
        }
        for name in node["columns"]:
            total += 1
            if ((documented.get(name.lower()) or {}).get("description") or "").strip():
                described += 1
            else:
                missing.append(f"{unique_id.split('.')[-1]}.{name}")
    return described, total, missing
