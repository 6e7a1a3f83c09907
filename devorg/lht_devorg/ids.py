"""Salesforce record Ids: 15 case-sensitive base-62 characters plus a 3-character case-safe suffix.

The suffix is Salesforce's documented checksum: for each 5-character chunk of the 15-character
Id, a 5-bit number whose bit *i* is set when character *i* is an upper-case letter, mapped to
``ABCDEFGHIJKLMNOPQRSTUVWXYZ012345``.
"""

from __future__ import annotations

import functools
import re

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
#: Characters 4-5 of every Id this org issues (Salesforce's instance/pod part), then "0".
POD = "8d0"
#: Digits of the per-object counter (62**9 Ids per object).
COUNTER_DIGITS = 9

_ID_RE = re.compile(r"^[0-9A-Za-z]{15}([0-9A-Za-z]{3})?$")


@functools.lru_cache(maxsize=1 << 16)
def _chunk_char(chunk: str) -> str:
    """The suffix character of one 5-character chunk of an Id (chunks repeat across Ids)."""
    bits = 0
    for i, ch in enumerate(chunk):
        if "A" <= ch <= "Z":
            bits |= 1 << i
    return SUFFIX_CHARS[bits]


def suffix(id15: str) -> str:
    """The 3-character case-safe suffix of a 15-character Id."""
    return _chunk_char(id15[0:5]) + _chunk_char(id15[5:10]) + _chunk_char(id15[10:15])


def to18(value: str) -> str:
    """The 18-character form of a 15- or 18-character Id (ValueError if it is not an Id)."""
    if not _ID_RE.match(value):
        raise ValueError(f"invalid ID field: {value}")
    id15 = value[:15]
    return id15 + suffix(id15)


def is_id(value: str) -> bool:
    """True when ``value`` is shaped like a 15- or 18-character Id with a valid suffix."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        return False
    return len(value) == 15 or value[15:].upper() == suffix(value[:15]).upper()


def make_id(key_prefix: str, n: int) -> str:
    """The ``n``-th Id of the object with ``key_prefix`` (deterministic)."""
    digits = []
    for _ in range(COUNTER_DIGITS):
        n, r = divmod(n, 62)
        digits.append(BASE62[r])
    id15 = key_prefix + POD + "".join(reversed(digits))
    return id15 + suffix(id15)


def sql_id_expr(key_prefix: str, n_sql: str) -> str:
    """A DuckDB expression computing :func:`make_id` for the integer expression ``n_sql``.

    ``key_prefix`` must be 3 base-62 characters (checked); it is spliced as a literal.
    """
    if not re.fullmatch(r"[0-9A-Za-z]{3}", key_prefix):
        raise ValueError(f"bad key prefix {key_prefix!r}")
    head = key_prefix + POD  # characters 1-6 of the Id
    # chunk 1 = head[0:5]; chunk 2 = head[5] + counter digits 0..3; chunk 3 = counter digits 4..8
    digit = [
        f"substr('{BASE62}', CAST((({n_sql}) // {62 ** (COUNTER_DIGITS - 1 - i)}) % 62 AS BIGINT) + 1, 1)"
        for i in range(COUNTER_DIGITS)
    ]
    upper = [
        f"(CASE WHEN ((({n_sql}) // {62 ** (COUNTER_DIGITS - 1 - i)}) % 62) BETWEEN 10 AND 35 THEN 1 ELSE 0 END)"
        for i in range(COUNTER_DIGITS)
    ]
    s1 = SUFFIX_CHARS[sum(1 << i for i, ch in enumerate(head[:5]) if "A" <= ch <= "Z")]
    head6_upper = 1 if "A" <= head[5] <= "Z" else 0
    bits2 = (
        f"({head6_upper} + " + " + ".join(f"{upper[i]} * {1 << (i + 1)}" for i in range(4)) + ")"
    )
    bits3 = "(" + " + ".join(f"{upper[4 + i]} * {1 << i}" for i in range(5)) + ")"
    return (
        f"('{head}' || " + " || ".join(digit) + f" || '{s1}' || "
        f"substr('{SUFFIX_CHARS}', {bits2} + 1, 1) || substr('{SUFFIX_CHARS}', {bits3} + 1, 1))"
    )


#: The org's Id (key prefix 00D) and the Id of the user every session belongs to (005),
#: the first User record, whose Username is the one to log in with.
ORG_ID = make_id("00D", 1)
ADMIN_USER_ID = make_id("005", 1)
ADMIN_USERNAME = "admin@lht-devorg.local"
