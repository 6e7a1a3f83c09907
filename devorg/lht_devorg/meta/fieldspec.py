"""Describe-shaped field dicts for fields the real payloads do not carry.

Real describes have 57 keys per field; :func:`make_field` fills all of them by the
conventions the real payloads show (``soapType`` by type, ``byteLength`` = 3 x ``length`` for
text, ``tns:ID`` and length 18 for ids and references, ...).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FIELD_KEYS = (
    "aggregatable",
    "aiPredictionField",
    "autoNumber",
    "byteLength",
    "calculated",
    "calculatedFormula",
    "cascadeDelete",
    "caseSensitive",
    "compoundFieldName",
    "controllerName",
    "createable",
    "custom",
    "defaultValue",
    "defaultValueFormula",
    "defaultedOnCreate",
    "dependentPicklist",
    "deprecatedAndHidden",
    "digits",
    "displayLocationInDecimal",
    "encrypted",
    "externalId",
    "extraTypeInfo",
    "filterable",
    "filteredLookupInfo",
    "formulaTreatNullNumberAsZero",
    "groupable",
    "highScaleNumber",
    "htmlFormatted",
    "idLookup",
    "inlineHelpText",
    "label",
    "length",
    "mask",
    "maskType",
    "name",
    "nameField",
    "namePointing",
    "nillable",
    "permissionable",
    "picklistValues",
    "polymorphicForeignKey",
    "precision",
    "queryByDistance",
    "referenceTargetField",
    "referenceTo",
    "relationshipName",
    "relationshipOrder",
    "restrictedDelete",
    "restrictedPicklist",
    "scale",
    "searchPrefilterable",
    "soapType",
    "sortable",
    "type",
    "unique",
    "updateable",
    "writeRequiresMasterRead",
)

SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "long": "xsd:long",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "time": "xsd:time",
    "address": "urn:address",
    "location": "urn:location",
    "base64": "xsd:base64Binary",
    "anyType": "xsd:anyType",
}
TEXT_TYPES = {
    "string",
    "textarea",
    "picklist",
    "multipicklist",
    "combobox",
    "email",
    "phone",
    "url",
    "encryptedstring",
}
NUMBER_TYPES = {"double", "currency", "percent"}
#: Long text areas (length > 255) and these types cannot be grouped, sorted or filtered on.
_NOT_GROUPABLE = NUMBER_TYPES | {
    "datetime",
    "time",
    "address",
    "location",
    "base64",
    "multipicklist",
}


def picklist(values: Iterable[str], default: str | None = None) -> list[dict]:
    """``picklistValues`` entries for plain values (label = value)."""
    return [
        {"active": True, "defaultValue": v == default, "label": v, "validFor": None, "value": v}
        for v in values
    ]


def make_field(name: str, type_: str, label: str | None = None, **overrides: Any) -> dict:
    """A complete describe field dict (57 keys, Salesforce's conventions) for ``name``/``type_``."""
    custom = name.endswith(("__c", "__s"))
    length = overrides.pop("length", 255 if type_ in TEXT_TYPES else 0)
    if type_ in ("id", "reference"):
        length = 18
    long_text = type_ == "textarea" and length > 4000
    calculated = bool(overrides.get("calculated"))
    system = type_ == "id" or name in (
        "IsDeleted",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
    )
    field: dict[str, Any] = {
        "aggregatable": type_ not in ("boolean", "address", "location", "base64", "multipicklist")
        and not long_text,
        "aiPredictionField": False,
        "autoNumber": False,
        "byteLength": 18
        if type_ in ("id", "reference")
        else (length * 3 if type_ in TEXT_TYPES else 0),
        "calculated": False,
        "calculatedFormula": None,
        "cascadeDelete": False,
        "caseSensitive": False,
        "compoundFieldName": None,
        "controllerName": None,
        "createable": not system and not calculated and type_ not in ("address", "location"),
        "custom": custom,
        "defaultValue": False if type_ == "boolean" else None,
        "defaultValueFormula": None,
        "defaultedOnCreate": system or type_ == "boolean",
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": 9 if type_ == "int" else (18 if type_ == "long" else 0),
        "displayLocationInDecimal": type_ == "location",
        "encrypted": False,
        "externalId": False,
        "extraTypeInfo": "plaintextarea" if type_ == "textarea" else None,
        "filterable": not long_text and type_ != "base64",
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": type_ not in _NOT_GROUPABLE and not long_text,
        "highScaleNumber": False,
        "htmlFormatted": False,
        "idLookup": type_ == "id",
        "inlineHelpText": None,
        "label": label or name.removesuffix("__c").replace("_", " "),
        "length": length,
        "mask": None,
        "maskType": None,
        "name": name,
        "nameField": False,
        "namePointing": False,
        "nillable": not system and type_ != "boolean",
        "permissionable": None,
        "picklistValues": [],
        "polymorphicForeignKey": False,
        "precision": 0,
        "queryByDistance": type_ in ("address", "location"),
        "referenceTargetField": None,
        "referenceTo": [],
        "relationshipName": None,
        "relationshipOrder": None,
        "restrictedDelete": False,
        "restrictedPicklist": False,
        "scale": 0,
        "searchPrefilterable": False,
        "soapType": SOAP_TYPES.get(type_, "xsd:string"),
        "sortable": type_ not in ("address", "location", "base64", "multipicklist")
        and not long_text,
        "type": type_,
        "unique": False,
        "updateable": not system and not calculated and type_ not in ("address", "location"),
        "writeRequiresMasterRead": False,
    }
    if calculated:
        field["createable"] = field["updateable"] = False
        field["nillable"] = True
        field["formulaTreatNullNumberAsZero"] = type_ in NUMBER_TYPES
    unknown = set(overrides) - set(FIELD_KEYS)
    if unknown:
        raise ValueError(f"unknown describe field keys: {sorted(unknown)}")
    field.update(overrides)
    if type_ == "reference" and len(field["referenceTo"]) > 1:
        field["namePointing"] = field["polymorphicForeignKey"] = True
    elif type_ == "reference" and "searchPrefilterable" not in overrides:
        field["searchPrefilterable"] = bool(field["nillable"])
    if field["permissionable"] is None:
        field["permissionable"] = bool(field["nillable"]) and not system
    return {k: field[k] for k in FIELD_KEYS}


def complete_field(partial: dict) -> dict:
    """Fill a partial field dict (e.g. the trimmed User payload, or add_field input) to 57 keys.

    Keys present in ``partial`` win; missing ones follow the conventions of :func:`make_field`.
    """
    extra = {
        k: v for k, v in partial.items() if k in FIELD_KEYS and k not in ("name", "type", "label")
    }
    type_ = partial["type"]
    if type_ in TEXT_TYPES and "length" not in extra:
        extra["length"] = {"phone": 40, "email": 80, "textarea": 255}.get(type_, 255)
    if type_ in ("double", "currency", "percent") and "precision" not in extra:
        extra["precision"], extra["scale"] = 18, 0
    return make_field(partial["name"], type_, partial.get("label"), **extra)
