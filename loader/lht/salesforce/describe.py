"""Turn an object's describe into the plan of what lht loads and how.

Compound address/location parents are skipped (their components are ordinary fields);
string compound parents such as Contact.Name or Opportunity.Fiscal are loaded like any
other field. Every skipped field is logged by name with the reason.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from lht.errors import SalesforceError
from lht.typemap import FieldSpec

logger = logging.getLogger(__name__)

#: Field types Bulk API 2.0 cannot serialize to CSV: objects with them go through REST.
BULK_UNREADABLE_TYPES = frozenset({"base64", "json", "complexvalue"})
#: Watermark candidates, best first.
WATERMARK_FIELDS = ("SystemModstamp", "LastModifiedDate", "CreatedDate")
#: Compound parent types that are never loaded.
COMPOUND_PARENT_TYPES = frozenset({"address", "location"})


@dataclass(frozen=True)
class ObjectPlan:
    """What lht loads for one object, as decided from its describe."""

    object_name: str
    fields: tuple[FieldSpec, ...]
    skipped: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    rest_only: tuple[str, ...] = ()
    bulk_supported: bool = True
    watermark_field: str | None = None
    formula_fields: tuple[str, ...] = ()
    #: How deletions are found: ``getdeleted``, ``reconcile`` (Id reconciliation) or ``none``.
    delete_strategy: str = "getdeleted"

    @property
    def field_names(self) -> tuple[str, ...]:
        """Names of the loaded fields, in describe order."""
        return tuple(f.name for f in self.fields)

    def spec(self, name: str) -> FieldSpec:
        """The loaded field called ``name`` (case-insensitive); KeyError if not loaded."""
        lowered = name.lower()
        for spec in self.fields:
            if spec.name.lower() == lowered:
                return spec
        raise KeyError(name)

    @property
    def uses_bulk(self) -> bool:
        """Whether Bulk API 2.0 can read this object as planned."""
        return self.bulk_supported and not self.rest_only


def _skip_reason(raw: Mapping[str, Any]) -> str | None:
    kind = str(raw.get("type") or "").lower()
    if kind in COMPOUND_PARENT_TYPES:
        return f"compound {kind}: loaded as components"
    if raw.get("deprecatedAndHidden"):
        return "deprecated and hidden in Salesforce"
    return None


def _derive(
    object_name: str, specs: tuple[FieldSpec, ...], skipped: Mapping[str, str], bulk_supported: bool
) -> ObjectPlan:
    names = {s.name for s in specs}
    kinds = {s.name: s.sf_type.lower() for s in specs}
    watermark = next((w for w in WATERMARK_FIELDS if kinds.get(w) == "datetime"), None)
    return ObjectPlan(
        object_name=object_name,
        fields=specs,
        skipped=MappingProxyType(dict(skipped)),
        rest_only=tuple(s.name for s in specs if s.sf_type.lower() in BULK_UNREADABLE_TYPES),
        bulk_supported=bulk_supported,
        watermark_field=watermark if watermark in names else None,
        formula_fields=tuple(s.name for s in specs if s.calculated),
    )


def plan_object(describe: Mapping[str, Any]) -> ObjectPlan:
    """Build the ObjectPlan of a describe (``GET sobjects/NAME/describe``)."""
    name = str(describe.get("name") or "")
    if not name:
        raise SalesforceError("The describe has no object name; describe the object again")
    if describe.get("queryable") is False:
        raise SalesforceError(
            f"{name} cannot be queried (describe says queryable=false), so lht cannot load it; "
            "remove it from the project or grant the user read access"
        )
    specs: list[FieldSpec] = []
    skipped: dict[str, str] = {}
    for raw in describe.get("fields") or []:
        reason = _skip_reason(raw)
        if reason is not None:
            skipped[raw["name"]] = reason
            logger.info("%s.%s not loaded: %s", name, raw["name"], reason)
            continue
        specs.append(FieldSpec.from_describe(raw))
    if not any(s.name == "Id" for s in specs):
        raise SalesforceError(
            f"{name} has no Id field in its describe; lht loads only objects with an Id"
        )
    plan = dataclasses.replace(
        _derive(name, tuple(specs), skipped, bulk_supported=True),
        delete_strategy=delete_strategy(describe),
    )
    if plan.rest_only:
        logger.info(
            "%s has fields Bulk API 2.0 cannot read (%s): it is read through REST",
            name,
            ", ".join(plan.rest_only),
        )
    return plan


def delete_strategy(describe: Mapping[str, Any]) -> str:
    """How lht finds an object's deletions, from describe's flags.

    ``replicateable`` objects answer getDeleted (``getdeleted``). The others (history, share,
    feed, knowledge objects...) refuse it: if their records can be deleted (``deletable``)
    their Ids are reconciled (``reconcile``: a full Id read compared with staging); if they
    cannot (append-only history), there is nothing to find (``none``).
    """
    if describe.get("replicateable", True) is not False:
        return "getdeleted"
    return "reconcile" if describe.get("deletable", True) is not False else "none"


def drop_field(plan: ObjectPlan, name: str, reason: str) -> ObjectPlan:
    """A plan without field ``name`` (logged with ``reason``); KeyError if not loaded."""
    spec = plan.spec(name)
    if spec.name == "Id":
        raise SalesforceError(f"{plan.object_name}.Id cannot be dropped ({reason})")
    logger.warning("%s.%s dropped from the load: %s", plan.object_name, spec.name, reason)
    skipped = {**plan.skipped, spec.name: reason}
    specs = tuple(s for s in plan.fields if s.name != spec.name)
    return dataclasses.replace(
        _derive(plan.object_name, specs, skipped, plan.bulk_supported),
        delete_strategy=plan.delete_strategy,
    )


def without_bulk(plan: ObjectPlan, reason: str) -> ObjectPlan:
    """The same plan marked as not readable by Bulk API 2.0 (logged with ``reason``)."""
    logger.warning("%s is read through REST: %s", plan.object_name, reason)
    return dataclasses.replace(plan, bulk_supported=False)
