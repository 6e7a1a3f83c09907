"""The org's metadata: describes of every object, describeGlobal, and the storage layout.

Standard objects come from real describe payloads (package data in ``describes/``); User,
Attachment and the custom object Invoice__c are completed or built by :mod:`.customobjects`.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ..errors import OrgError
from . import customobjects

REAL_OBJECTS = ("Account", "Contact", "Opportunity", "Lead", "Case", "Task")
#: Compound parents: no column of their own, assembled from their components.
COMPOUND_TYPES = ("address", "location")
_VERSION_RE = re.compile(r"/services/data/v\d+\.\d+/")


def _load(name: str) -> Any:
    return json.loads((resources.files("lht_devorg.meta") / "describes" / name).read_text("utf-8"))


def duck_type(f: dict) -> str:
    """The DuckDB column type storing a field of this describe."""
    t = f["type"]
    if t == "boolean":
        return "BOOLEAN"
    if t == "int":
        return "INTEGER"
    if t == "long":
        return "BIGINT"
    if t in ("double", "currency", "percent"):
        p, s = f.get("precision") or 0, f.get("scale") or 0
        return f"DECIMAL({p},{s})" if 0 < p <= 38 else "DOUBLE"
    if t == "date":
        return "DATE"
    if t == "datetime":
        return "TIMESTAMP"
    if t == "time":
        return "TIME"
    return "VARCHAR"


@dataclass
class ObjectSchema:
    """One object's describe plus lookups the engine needs."""

    name: str
    describe: dict
    fields: dict[str, dict] = field(default_factory=dict)  # lower-cased name -> field

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        """Rebuild the name lookups after the field list changed."""
        self.fields = {f["name"].lower(): f for f in self.describe["fields"]}
        self._exact = {f["name"]: f for f in self.describe["fields"]}

    @property
    def key_prefix(self) -> str:
        return self.describe["keyPrefix"]

    def field(self, name: str) -> dict | None:
        """The field named ``name`` (case-insensitive), or None."""
        return self._exact.get(name) or self.fields.get(name.lower())

    def stored_fields(self) -> list[dict]:
        """Fields with a column in the store (all but compound parents), in describe order."""
        return [f for f in self.describe["fields"] if f["type"] not in COMPOUND_TYPES]

    def components(self, parent: str) -> list[dict]:
        """The component fields of a compound parent."""
        return [f for f in self.describe["fields"] if f["compoundFieldName"] == parent]

    def formulas(self) -> dict[str, tuple[str, str]]:
        """Calculated fields with their SQL (compute, silent-change)."""
        specs = customobjects.FORMULAS.get(self.name, {})
        return {n: (sql, alt) for n, (_, sql, alt) in specs.items() if self.field(n)}


def _object_top(template: dict, entry: dict) -> dict:
    """Top-level describe keys for an object known only from its describeGlobal entry."""
    top = {k: v for k, v in template.items() if k != "fields"}
    top.update({k: v for k, v in entry.items() if k in top})
    name = entry["name"]
    top.update(
        childRelationships=[],
        actionOverrides=[],
        namedLayoutInfos=[],
        supportedScopes=[{"label": f"All {entry['labelPlural'].lower()}", "name": "everything"}],
        recordTypeInfos=[
            {
                "active": True,
                "available": True,
                "defaultRecordTypeMapping": True,
                "developerName": "Master",
                "master": True,
                "name": "Master",
                "recordTypeId": "012000000000000AAA",
                "urls": {
                    "layout": f"/services/data/v59.0/sobjects/{name}/describe/layouts/012000000000000AAA"
                },
            }
        ],
        urls={**entry["urls"], "describe": f"/services/data/v59.0/sobjects/{name}/describe"},
        compactLayoutable=entry.get("layoutable", False),
        searchLayoutable=entry.get("searchable", False),
        sobjectDescribeOption="FULL",
        networkScopeFieldName=None,
    )
    return top


class Schema:
    """Every object's describe; mutable through :meth:`add_field` / :meth:`remove_field`."""

    def __init__(self) -> None:
        glob = _load("describeGlobal.json")
        self._global_top = {k: v for k, v in glob.items() if k != "sobjects"}
        entries = {e["name"]: e for e in glob["sobjects"]}
        account = _load("Account.json")
        objs: dict[str, dict] = {}
        for name in REAL_OBJECTS:
            objs[name] = account if name == "Account" else _load(f"{name}.json")
        objs["User"] = {
            **_object_top(account, entries["User"]),
            "fields": customobjects.user_fields(_load("User.trimmed.json")),
        }
        objs["Attachment"] = {
            **_object_top(account, entries["Attachment"]),
            "fields": customobjects.attachment_fields(),
        }
        inv_entry = copy.deepcopy(entries["Account"])
        inv_entry.update(
            name="Invoice__c",
            label="Invoice",
            labelPlural="Invoices",
            keyPrefix="a0B",
            custom=True,
            feedEnabled=False,
            mergeable=False,
            mruEnabled=True,
            urls={
                k: v.replace("/Account", "/Invoice__c")
                for k, v in entries["Account"]["urls"].items()
                if k
                in (
                    "rowTemplate",
                    "describe",
                    "sobject",
                    "layouts",
                    "compactLayouts",
                    "quickActions",
                    "listviews",
                    "approvalLayouts",
                )
            },
        )
        entries["Invoice__c"] = inv_entry
        objs["Invoice__c"] = {
            **_object_top(account, inv_entry),
            "fields": customobjects.invoice_fields(),
        }
        for obj in ("Account", "Contact"):
            objs[obj]["fields"].extend(customobjects.push_fields(obj))
        for obj, formulas in customobjects.FORMULAS.items():
            for fname in formulas:
                if not any(f["name"] == fname for f in objs[obj]["fields"]):
                    objs[obj]["fields"].append(customobjects.formula_field(obj, fname))
        self._entries = entries
        self._objects = {name: ObjectSchema(name, d) for name, d in objs.items()}
        self._by_lower = {n.lower(): n for n in self._objects}

    def add_object(
        self, name: str, label: str, key_prefix: str, fields: list[dict]
    ) -> ObjectSchema:
        """Add a custom object shaped like Invoice__c (describeGlobal entry and describe)."""
        if self.get(name) is not None:
            raise OrgError(
                400, "DUPLICATE_DEVELOPER_NAME", f"There is already an object named {name}."
            )
        template = self._entries["Invoice__c"]
        entry = copy.deepcopy(template)
        entry.update(
            name=name,
            label=label,
            labelPlural=label,
            keyPrefix=key_prefix,
            urls={k: v.replace("/Invoice__c", f"/{name}") for k, v in template["urls"].items()},
        )
        self._entries[name] = entry
        top = {
            **self._objects["Invoice__c"].describe,
            **{k: v for k, v in entry.items() if k in self._objects["Invoice__c"].describe},
        }
        obj = ObjectSchema(
            name,
            {
                **top,
                "name": name,
                "label": label,
                "labelPlural": label,
                "keyPrefix": key_prefix,
                "fields": fields,
                "childRelationships": [],
                "recordTypeInfos": [],
            },
        )
        self._objects[name] = obj
        self._by_lower[name.lower()] = name
        return obj

    def objects(self) -> list[str]:
        """API names of every object, sorted as describeGlobal lists them."""
        return sorted(self._objects, key=str.lower)

    def get(self, name: str) -> ObjectSchema | None:
        """The object named ``name`` (case-insensitive), or None."""
        canon = self._by_lower.get(name.lower())
        return self._objects[canon] if canon else None

    def require(self, name: str) -> ObjectSchema:
        """Like :meth:`get`, raising Salesforce's 404 NOT_FOUND for an unknown object."""
        obj = self.get(name)
        if obj is None:
            raise OrgError(404, "NOT_FOUND", "The requested resource does not exist")
        return obj

    def describe(self, name: str, api_version: str = "59.0") -> dict:
        """The full describe body, its resource URLs in ``api_version``."""
        return _with_version(self.require(name).describe, api_version)

    def describe_global(self, api_version: str = "59.0") -> dict:
        """The describeGlobal body listing this org's objects."""
        sobjects = [self._entries[n] for n in self.objects()]
        return _with_version({**self._global_top, "sobjects": sobjects}, api_version)


def _with_version(body: dict, api_version: str) -> dict:
    text = json.dumps(body, ensure_ascii=False)
    return json.loads(_VERSION_RE.sub(f"/services/data/v{api_version}/", text))
