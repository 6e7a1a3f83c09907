"""The org's objects, from one describeGlobal call: ``lht objects`` lists them, ``lht add``
checks a name against them (and suggests the closest when it is not one)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from lht.names import close_names
from lht.salesforce.client import SalesforceClient


@dataclass(frozen=True)
class OrgObject:
    """One object of the org as describeGlobal lists it."""

    name: str
    label: str
    custom: bool = False
    queryable: bool = False
    replicateable: bool = False
    retrieveable: bool = False
    key_prefix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def describe_global(client: SalesforceClient) -> list[OrgObject]:
    """Every object the user can see, in describeGlobal's order (one API call)."""
    answer = client.with_session(
        "Listing the org's objects (describeGlobal)", lambda api: api.describe()
    )
    return [
        OrgObject(
            name=str(o["name"]),
            label=str(o.get("label") or o["name"]),
            custom=bool(o.get("custom")),
            queryable=bool(o.get("queryable")),
            replicateable=bool(o.get("replicateable")),
            retrieveable=bool(o.get("retrieveable")),
            key_prefix=o.get("keyPrefix"),
        )
        for o in (answer or {}).get("sobjects") or []
    ]


class OrgObjects:
    """The org's objects by name (case-insensitive), with suggestions for names it lacks."""

    def __init__(self, objects: Iterable[OrgObject]) -> None:
        self.objects = list(objects)
        self._by_lower = {o.name.lower(): o for o in self.objects}

    def find(self, name: str) -> OrgObject | None:
        """The object called ``name`` in any case, or None."""
        return self._by_lower.get(name.lower())

    def suggest(self, name: str) -> list[str]:
        """The objects whose name (or label) is closest to ``name``, best first."""
        return close_names(
            name, [o.name for o in self.objects], {o.name: o.label for o in self.objects}
        )
