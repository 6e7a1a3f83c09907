"""`lht objects`: what the org has (one describeGlobal call), and which of it lht loads.

Per object: API name, label, whether the project registers it, whether the user can query
it (lht can load only those) and whether it is replicateable (getDeleted finds its
deletions; the others are reconciled by Id). Outside an lht project the registered column
is unknown.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lht.config import credentials_from_env, settings_from_env
from lht.errors import ConfigError
from lht.project import load_project
from lht.salesforce.client import connect
from lht.salesforce.orgobjects import OrgObject, describe_global


@dataclass
class ObjectsReport:
    """The org's objects (filtered), and the registered ones when a project was found."""

    objects: list[OrgObject] = field(default_factory=list)
    registered: set[str] | None = None  # lower-case names; None outside a project
    project_dir: Path | None = None

    def is_registered(self, obj: OrgObject) -> bool | None:
        return None if self.registered is None else obj.name.lower() in self.registered

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``objects`` with ``registered`` (null outside a project)."""
        return {
            "project_dir": str(self.project_dir) if self.project_dir else None,
            "objects": [{**o.to_dict(), "registered": self.is_registered(o)} for o in self.objects],
        }


def list_objects(
    pattern: str | None = None,
    *,
    project_dir: Path | None = None,
    queryable_only: bool = False,
    env: Mapping[str, str] | None = None,
) -> ObjectsReport:
    """The org's objects whose name or label matches ``pattern`` (a glob, any case), by name."""
    report = ObjectsReport()
    try:
        project = load_project(project_dir)
    except ConfigError:
        if project_dir is not None:
            raise
    else:
        report.registered = {name.lower() for name in project.objects}
        report.project_dir = project.project_dir
    settings = settings_from_env(env)
    client = connect(credentials_from_env(settings.environ), settings)
    wanted = (pattern or "*").lower()
    for obj in describe_global(client):
        if queryable_only and not obj.queryable:
            continue
        if fnmatch.fnmatchcase(obj.name.lower(), wanted) or fnmatch.fnmatchcase(
            obj.label.lower(), wanted
        ):
            report.objects.append(obj)
    report.objects.sort(key=lambda o: o.name.lower())
    return report
