"""SOQL tokenizer, SOQL's words, and Salesforce's error-message shape pointing at a position
in the query."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import OrgError

_DATETIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2})"
_TOKEN_RE = re.compile(
    rf"(?P<ws>\s+)|(?P<datetime>{_DATETIME})|(?P<date>\d{{4}}-\d{{2}}-\d{{2}})(?![\dT])"
    r"|(?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>!=|<>|<=|>=|=|<|>)|(?P<punct>[(),.:])|(?P<string>')"
)
_ESCAPES = {
    "n": "\n",
    "N": "\n",
    "r": "\r",
    "R": "\r",
    "t": "\t",
    "T": "\t",
    "b": "\b",
    "B": "\b",
    "f": "\f",
    "F": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
}
#: Escapes kept as written because LIKE gives them meaning (``\%``, ``\_``).
_LIKE_ESCAPES = {"%", "_"}

#: Words the parser reads as SOQL's own: clauses it refuses, reserved words (never an alias),
#: aggregate functions, date literals.
CLAUSE_WORDS = {"with", "for", "update", "typeof", "using", "scope"}
RESERVED = {
    "select",
    "from",
    "where",
    "group",
    "having",
    "order",
    "limit",
    "offset",
    "and",
    "or",
    "not",
    "in",
    "like",
    "includes",
    "excludes",
    "asc",
    "desc",
    "nulls",
    "by",
    "with",
    "for",
}
AGGREGATES = {"count", "count_distinct", "sum", "avg", "min", "max"}
#: Date literals taking ``:n``, and those that do not.
DATE_LITERALS_N = {
    "last_n_days",
    "next_n_days",
    "last_n_weeks",
    "next_n_weeks",
    "last_n_months",
    "next_n_months",
    "last_n_quarters",
    "next_n_quarters",
    "last_n_years",
    "next_n_years",
    "n_days_ago",
    "n_weeks_ago",
    "n_months_ago",
    "n_quarters_ago",
    "n_years_ago",
    "last_n_fiscal_quarters",
    "next_n_fiscal_quarters",
    "last_n_fiscal_years",
    "next_n_fiscal_years",
    "n_fiscal_quarters_ago",
    "n_fiscal_years_ago",
}
DATE_LITERALS = {
    "yesterday",
    "today",
    "tomorrow",
    "last_week",
    "this_week",
    "next_week",
    "last_month",
    "this_month",
    "next_month",
    "last_90_days",
    "next_90_days",
    "last_quarter",
    "this_quarter",
    "next_quarter",
    "last_year",
    "this_year",
    "next_year",
    "last_fiscal_quarter",
    "this_fiscal_quarter",
    "next_fiscal_quarter",
    "last_fiscal_year",
    "this_fiscal_year",
    "next_fiscal_year",
}


@dataclass
class Token:
    kind: str  # ident, number, string, date, datetime, op, punct, eof
    text: str
    pos: int
    value: object = None


def error_at(query: str, pos: int, code: str, reason: str, status: int = 400) -> OrgError:
    """An OrgError whose message points at ``pos`` in ``query`` as Salesforce's parser does."""
    pos = max(0, min(pos, len(query)))
    line_start = query.rfind("\n", 0, pos) + 1
    row = query.count("\n", 0, pos) + 1
    line_end = query.find("\n", pos)
    line = query[line_start : line_end if line_end >= 0 else len(query)]
    col = pos - line_start
    start = max(0, col - 30)
    if start > 0:  # begin the excerpt at a word boundary, as Salesforce does
        while (
            start > 0
            and (line[start - 1].isalnum() or line[start - 1] == "_")
            and (line[start].isalnum() or line[start] == "_")
        ):
            start -= 1
        while start < col and line[start] in " \t,":
            start += 1
    excerpt = line[start:]
    return OrgError(
        status,
        code,
        f"\n{excerpt}\n{' ' * (col - start)}^\nERROR at Row:{row}:Column:{col + 1}\n{reason}",
    )


def tokenize(query: str) -> list[Token]:
    """Split a SOQL string into tokens (MALFORMED_QUERY on a character SOQL does not know)."""
    out: list[Token] = []
    pos = 0
    while pos < len(query):
        m = _TOKEN_RE.match(query, pos)
        if not m:
            raise error_at(query, pos, "MALFORMED_QUERY", f"unexpected token: '{query[pos]}'")
        kind = m.lastgroup or ""
        if kind == "string":
            tok, pos = _read_string(query, pos)
            out.append(tok)
            continue
        if kind != "ws":
            out.append(Token(kind, m.group(), pos))
        pos = m.end()
    out.append(Token("eof", "<EOF>", len(query)))
    return out


def _read_string(query: str, start: int) -> tuple[Token, int]:
    chars: list[str] = []
    i = start + 1
    while i < len(query):
        ch = query[i]
        if ch == "'":
            return Token("string", query[start : i + 1], start, "".join(chars)), i + 1
        if ch == "\\":
            nxt = query[i + 1 : i + 2]
            if nxt in _ESCAPES:
                chars.append(_ESCAPES[nxt])
            elif nxt in _LIKE_ESCAPES:
                chars.append("\\" + nxt)
            else:
                raise error_at(
                    query,
                    i,
                    "MALFORMED_QUERY",
                    "Invalid string literal '"
                    + query[start : i + 2]
                    + "'. Illegal character sequence '\\"
                    + nxt
                    + "' in string literal.",
                )
            i += 2
            continue
        chars.append(ch)
        i += 1
    raise error_at(query, start, "MALFORMED_QUERY", "unexpected token: '<EOF>'")
