"""Salesforce names and Ids, and warehouse identifiers: the one home of their rules.

Every name that reaches SOQL or SQL (object, field, push key or column, schema, table) is
checked here, against the whole string (``fullmatch``: a trailing newline is not a name),
before any SQL or SOQL is rendered. Quoting (the warehouse's and dbt's) escapes embedded
quotes as a second line of defence; these checks are the first.

This module imports nothing from lht but the errors.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping

from lht.errors import InvalidNameError

#: Longest object or field API name lht accepts: a 15-character namespace, a 40-character
#: name and a suffix such as ``__ChangeEvent`` or ``__Latitude__s`` stay well under it.
MAX_API_NAME = 80
#: Longest warehouse identifier (schema, table, column) lht creates or reads.
MAX_IDENTIFIER = 255

# An API name is segments joined by "__": an object's namespace, name and suffix (Account,
# Invoice__c, ns__Thing__c), a field's also a component (ns__Site__Latitude__s). A segment
# starts with a letter and is letters and digits with single underscores between them
# (Address_2), never at its end.
_SEGMENT = r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*"
_OBJECT_NAME = re.compile(rf"{_SEGMENT}(?:__{_SEGMENT}){{0,2}}")
_FIELD_NAME = re.compile(rf"{_SEGMENT}(?:__{_SEGMENT}){{0,3}}")
#: The object rule as text, for the dbt macro ``lht_object_name`` that repeats it.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A push model's column: a field (Name, Score__c), a lookup written through its parent's
# external id (Account.External_Id__c: a relationship name, then a field), or a column of
# the model's own that is not sent (`_note`).
_PUSH_COLUMN = re.compile(
    rf"{_SEGMENT}(?:__{_SEGMENT}){{0,3}}(?:\.{_SEGMENT}(?:__{_SEGMENT}){{0,3}})?|_[A-Za-z0-9_]*"
)
# A part of a relation dbt built (database, schema, table): what the engines take unquoted,
# plus `-` (a DuckDB database is named after its file).
_RELATION_PART = re.compile(r"[A-Za-z0-9_$][A-Za-z0-9_$-]*")
_ID = re.compile(r"[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?")
_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

#: The patterns, by kind, that the dbt macros check the same names against
#: (``lht_name_patterns`` in ``dbt_project/macros/lht_names.sql``; a test keeps them equal).
PATTERNS = {
    "object": _OBJECT_NAME.pattern,
    "field": _FIELD_NAME.pattern,
    "identifier": _IDENTIFIER.pattern,
    "push_column": _PUSH_COLUMN.pattern,
}


def _matches(pattern: re.Pattern[str], name: object) -> bool:
    return (
        isinstance(name, str) and len(name) <= MAX_API_NAME and pattern.fullmatch(name) is not None
    )


def is_object_name(name: object) -> bool:
    """True when ``name`` is a well-formed Salesforce object API name."""
    return _matches(_OBJECT_NAME, name)


def is_field_name(name: object) -> bool:
    """True when ``name`` is a well-formed Salesforce field API name."""
    return _matches(_FIELD_NAME, name)


def check_object_name(name: object) -> str:
    """``name`` if it is a Salesforce object API name (Account, Invoice__c, ns__Thing__c), else
    raise :class:`InvalidNameError`."""
    if not is_object_name(name):
        raise InvalidNameError(
            f"{name!r} is not a valid Salesforce object API name. Use the API name shown in Setup > Object "
            "Manager: letters, digits and single underscores, starting with a letter, like Account, "
            "Invoice__c or ns__Thing__c."
        )
    return str(name)


def check_field_name(name: object, what: str = "field") -> str:
    """``name`` if it is a Salesforce field API name (Name, Score__c, ns__Amount__c), else raise
    :class:`InvalidNameError` naming ``what`` it was meant to be."""
    if not is_field_name(name):
        raise InvalidNameError(
            f"{what} {name!r} is not a valid Salesforce field API name: letters, digits and single "
            "underscores, starting with a letter, like Name or External_Id__c."
        )
    return str(name)


def check_identifier(name: object, what: str = "name") -> str:
    """``name`` if it is a plain warehouse identifier (a schema, table or column: letters, digits
    and underscores, not starting with a digit), else raise :class:`InvalidNameError`."""
    if (
        not isinstance(name, str)
        or len(name) > MAX_IDENTIFIER
        or _IDENTIFIER.fullmatch(name) is None
    ):
        raise InvalidNameError(
            f"Invalid {what} {name!r}: use letters, digits and underscores, starting with a letter "
            "or an underscore."
        )
    return name


def check_push_column(name: object, what: str = "column") -> str:
    """``name`` if it can be a push model's column: a field API name, ``Relationship.Field`` (a
    lookup through its parent's external id) or a column starting with ``_`` (not sent), else
    raise :class:`InvalidNameError` naming ``what`` it was meant to be."""
    if (
        not isinstance(name, str)
        or len(name) > 2 * MAX_API_NAME + 1
        or _PUSH_COLUMN.fullmatch(name) is None
    ):
        raise InvalidNameError(
            f"{what} {name!r} is not a field API name (Name, Score__c), a lookup through a parent's external id "
            "(Account.External_Id__c) or a column starting with `_` (not sent): rename it in the model."
        )
    return name


def check_relation_part(name: object, what: str = "relation") -> str:
    """``name`` if it is a database, schema or table name dbt can have built (letters, digits,
    ``_``, ``$`` and ``-``), else raise :class:`InvalidNameError`."""
    if (
        not isinstance(name, str)
        or len(name) > MAX_IDENTIFIER
        or _RELATION_PART.fullmatch(name) is None
    ):
        raise InvalidNameError(
            f"Invalid {what} name {name!r}: use letters, digits and underscores."
        )
    return name


def table_name(object_name: str) -> str:
    """The staging and main table of an object: its checked API name, lower-cased."""
    return check_object_name(object_name).lower()


def id_suffix(id15: str) -> str:
    """Salesforce's 3-character case-safe suffix of a 15-character Id."""
    out = []
    for chunk in range(3):
        bits = sum(
            1 << i for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]) if "A" <= ch <= "Z"
        )
        out.append(_SUFFIX_CHARS[bits])
    return "".join(out)


def id_problem(value: object, key_prefix: str | None = None, label: str = "") -> str | None:
    """Why ``value`` is not a Salesforce record Id (of the object whose Ids start with
    ``key_prefix``, called ``label``), or None when it is one. The whole string must be the Id:
    15 or 18 letters and digits, an 18-character Id's checksum right."""
    if not isinstance(value, str) or not value:
        return "is empty" if value in (None, "") else f"is not text ({value!r})"
    if _ID.fullmatch(value) is None:
        return f"{value!r} is not a Salesforce Id (15 or 18 letters and digits)"
    if len(value) == 18 and value[15:].upper() != id_suffix(value[:15]):
        return f"{value!r} has a wrong checksum (its last 3 characters should be {id_suffix(value[:15])})"
    if key_prefix is not None and value[:3] != key_prefix:
        article = "an" if label[:1] in tuple("AEIOU") else "a"
        return f"{value!r} is not {article} {label or 'record'} Id (those start with {key_prefix})"
    return None


def to18(value: str) -> str:
    """The 18-character form of a valid 15- or 18-character Id."""
    return value[:15] + id_suffix(value[:15])


def close_names(
    name: str, known: Iterable[str], labels: Mapping[str, str] | None = None, limit: int = 3
) -> list[str]:
    """The names of ``known`` closest to a mistyped ``name`` (case-insensitive, best first);
    with ``labels`` ({api name: label}) a name whose label is close counts too
    (``Invoices`` finds ``Invoice__c`` labelled Invoice)."""
    by_lower: dict[str, str] = {}
    for candidate in known:
        by_lower.setdefault(candidate.lower(), candidate)
    typed = name.lower()
    bare = re.sub(r"__c$", "", typed)
    found = [
        by_lower[m] for m in difflib.get_close_matches(typed, list(by_lower), n=limit, cutoff=0.75)
    ]
    if labels:
        by_label: dict[str, str] = {}
        for api, label in labels.items():
            by_label.setdefault(str(label).lower(), api)
        for match in difflib.get_close_matches(bare, list(by_label), n=limit, cutoff=0.8):
            if by_label[match] not in found:
                found.append(by_label[match])
    return found[:limit]
