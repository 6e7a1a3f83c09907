"""Field paths of a SOQL query resolved against the org's metadata, and the joins they need.

``Account.Owner.Name`` on Contact follows the ``Account`` relationship (a reference field's
``relationshipName``) to Account, then ``Owner`` to User: each hop is a LEFT JOIN of the
target's table on its ``Id``. A polymorphic relationship (``Task.What``, ``Case.Owner``)
leads to Salesforce's ``Name`` entity: the union of every target object this org holds,
with the few fields Name has (Id, Name, Type, Alias, Email, ...).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from ..errors import OrgError
from ..meta.fieldspec import make_field
from ..meta.schema import ObjectSchema, Schema
from .lexer import error_at
from .nodes import FieldRef

#: Relationship hops a path may follow from the root object (Salesforce: five levels).
MAX_HOPS = 5
_NO_SUCH_COLUMN = (
    "No such column '{name}' on entity '{obj}'. If you are attempting to use a custom "
    "field, be sure to append the '__c' after the custom field name. Please reference "
    "your WSDL or the describe call for the appropriate names."
)
_NO_RELATIONSHIP = (
    "Didn't understand relationship '{name}' in field path. If you are attempting to use "
    "a custom relationship, be sure to append the '__r' after the custom relationship "
    "name. Please reference your WSDL or the describe call for the appropriate names."
)
#: Fields of the Name entity (polymorphic relationships), taken from each target when it has them.
_NAME_FIELDS = (
    ("Id", "id"),
    ("Name", "string"),
    ("Type", "picklist"),
    ("Alias", "string"),
    ("Email", "email"),
    ("FirstName", "string"),
    ("LastName", "string"),
    ("IsActive", "boolean"),
    ("Phone", "phone"),
    ("Title", "string"),
    ("Username", "string"),
    ("ProfileId", "reference"),
    ("UserRoleId", "reference"),
)


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def name_entity(targets: list[str]) -> ObjectSchema:
    """The describe-like schema of Salesforce's Name entity over ``targets``."""
    fields = []
    for fname, ftype in _NAME_FIELDS:
        extra = (
            {
                "picklistValues": [
                    {
                        "active": True,
                        "defaultValue": False,
                        "label": t,
                        "validFor": None,
                        "value": t,
                    }
                    for t in targets
                ]
            }
            if fname == "Type"
            else {}
        )
        fields.append(make_field(fname, ftype, fname, createable=False, updateable=False, **extra))
    return ObjectSchema(
        "Name", {"name": "Name", "keyPrefix": None, "fields": fields, "childRelationships": []}
    )


@dataclass
class Hop:
    """One followed relationship: from ``parent_alias`` through ``fk`` to ``target``."""

    rel: str  # canonical relationship name
    fk: dict  # the reference field on the parent side
    target: ObjectSchema
    alias: str
    parent_alias: str
    table_sql: str  # the joined table, or the Name entity's union


@dataclass
class Resolved:
    """A field path resolved: the hops it follows, its field and its SQL column."""

    hops: list[Hop]
    owner: ObjectSchema
    field: dict

    @property
    def alias(self) -> str:
        return self.hops[-1].alias if self.hops else ""

    @property
    def key(self) -> str:
        """The flattened name Bulk CSV uses: ``Account.Owner.Name``."""
        return ".".join([h.rel for h in self.hops] + [self.field["name"]])


@dataclass
class Scope:
    """Resolves paths of one query level; collects the LEFT JOINs they need."""

    schema: Schema
    obj: ObjectSchema
    text: str
    aliases: itertools.count
    alias: str = ""
    hops: dict[tuple[str, ...], Hop] = field(default_factory=dict)
    semi_joins: int = 0

    def __post_init__(self) -> None:
        self.alias = self.alias or f"t{next(self.aliases)}"

    def col(self, resolved: Resolved, name: str | None = None) -> str:
        """The SQL of ``resolved``'s column (or of another column ``name`` of its owner)."""
        return f"{q(resolved.alias or self.alias)}.{q(name or resolved.field['name'])}"

    def resolve(self, ref: FieldRef) -> Resolved:
        """Resolve ``ref`` (INVALID_FIELD with Salesforce's messages when it names nothing)."""
        parts = ref.parts
        # A path may start with the FROM object's own name: SELECT Account.Name FROM Account.
        if (
            len(parts) > 1
            and parts[0].text.lower() == self.obj.name.lower()
            and not self._relationship(self.obj, parts[0].text)
        ):
            parts = parts[1:]
        if len(parts) - 1 > MAX_HOPS:
            raise error_at(
                self.text,
                ref.token.pos,
                "INVALID_FIELD",
                f"SOQL statements cannot query relationships more than {MAX_HOPS} levels "
                "away from the root entity object.",
            )
        owner, alias, hops = self.obj, self.alias, []
        key: tuple[str, ...] = ()
        for tok in parts[:-1]:
            fk = self._relationship(owner, tok.text)
            if fk is None:
                raise error_at(
                    self.text,
                    ref.token.pos,
                    "INVALID_FIELD",
                    _NO_RELATIONSHIP.format(name=tok.text),
                )
            key = key + (fk["relationshipName"].lower(),)
            hop = self.hops.get(key)
            if hop is None:
                target, table_sql = self._target(fk, ref)
                hop = Hop(
                    fk["relationshipName"], fk, target, f"t{next(self.aliases)}", alias, table_sql
                )
                self.hops[key] = hop
            hops.append(hop)
            owner, alias = hop.target, hop.alias
        f = owner.field(parts[-1].text)
        if f is None:
            raise error_at(
                self.text,
                ref.token.pos,
                "INVALID_FIELD",
                _NO_SUCH_COLUMN.format(name=parts[-1].text, obj=owner.name),
            )
        return Resolved(hops, owner, f)

    @staticmethod
    def _relationship(obj: ObjectSchema, name: str) -> dict | None:
        lower = name.lower()
        return next(
            (
                f
                for f in obj.describe["fields"]
                if f["type"] == "reference" and (f.get("relationshipName") or "").lower() == lower
            ),
            None,
        )

    def _target(self, fk: dict, ref: FieldRef) -> tuple[ObjectSchema, str]:
        present = [t for t in fk["referenceTo"] if self.schema.get(t) is not None]
        if len(fk["referenceTo"]) > 1:
            return name_entity(present), self._name_union(present)
        target = self.schema.get(fk["referenceTo"][0]) if present else None
        if target is None:
            raise OrgError(
                400,
                "INVALID_FIELD",
                f"The relationship {fk['relationshipName']} leads to "
                f"{fk['referenceTo'][0]}, which this org does not hold; select {fk['name']} instead",
            )
        return target, q(target.name.lower())

    def _name_union(self, targets: list[str]) -> str:
        selects = []
        for name in targets:
            obj = self.schema.require(name)
            name_field = next(
                (f["name"] for f in obj.describe["fields"] if f.get("nameField")), None
            )
            cols = []
            for fname, _ in _NAME_FIELDS:
                if fname == "Type":
                    cols.append(f'CAST({_sql_text(obj.name)} AS VARCHAR) AS "Type"')
                elif fname == "Name":
                    cols.append(
                        f'{q(name_field)} AS "Name"'
                        if name_field
                        else 'CAST(NULL AS VARCHAR) AS "Name"'
                    )
                elif (f := obj.field(fname)) and f["type"] not in ("address", "location"):
                    cols.append(q(f["name"]))
                else:
                    cast = "BOOLEAN" if fname == "IsActive" else "VARCHAR"
                    cols.append(f"CAST(NULL AS {cast}) AS {q(fname)}")
            selects.append(f"SELECT {', '.join(cols)} FROM {q(obj.name.lower())}")
        return (
            "(" + " UNION ALL ".join(selects) + ")"
            if selects
            else '(SELECT NULL AS "Id" WHERE FALSE)'
        )

    def joins_sql(self) -> str:
        """The LEFT JOINs of every hop resolved so far, parents before children."""
        return "".join(
            f' LEFT JOIN {h.table_sql} AS {q(h.alias)} ON {q(h.alias)}."Id" = '
            f"{q(h.parent_alias)}.{q(h.fk['name'])}"
            for h in self.hops.values()
        )


def _sql_text(value: str) -> str:
    """An object API name (letters, digits, underscores) as a SQL string literal."""
    if not value.replace("_", "").isalnum():
        raise ValueError(f"not an API name: {value!r}")
    return f"'{value}'"
