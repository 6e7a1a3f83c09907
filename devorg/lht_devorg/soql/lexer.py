"""SOQL tokenizer, and Salesforce's error-message shape pointing at a position in the query."""

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
_ESCAPES = {"n": "\n", "N": "\n", "r": "\r", "R": "\r", "t": "\t", "T": "\t", "b": "\b", "B": "\b",
            "f": "\f", "F": "\f", '"': '"', "'": "'", "\\": "\\"}
#: Escapes kept as written because LIKE gives them meaning (``\%``, ``\_``).
_LIKE_ESCAPES = {"%", "_"}


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
    line = query[line_start: line_end if line_end >= 0 else len(query)]
    col = pos - line_start
    start = max(0, col - 30)
    if start > 0:  # begin the excerpt at a word boundary, as Salesforce does
        while start > 0 and (line[start - 1].isalnum() or line[start - 1] == "_") and (line[start].isalnum() or line[start] == "_"):
            start -= 1
        while start < col and line[start] in " \t,":
            start += 1
    excerpt = line[start:]
    return OrgError(status, code, f"\n{excerpt}\n{' ' * (col - start)}^\nERROR at Row:{row}:Column:{col + 1}\n{reason}")


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
            return Token("string", query[start:i + 1], start, "".join(chars)), i + 1
        if ch == "\\":
            nxt = query[i + 1: i + 2]
            if nxt in _ESCAPES:
                chars.append(_ESCAPES[nxt])
            elif nxt in _LIKE_ESCAPES:
                chars.append("\\" + nxt)
            else:
                raise error_at(query, i, "MALFORMED_QUERY", "Invalid string literal '" + query[start:i + 2] +
                               "'. Illegal character sequence '\\" + nxt + "' in string literal.")
            i += 2
            continue
        chars.append(ch)
        i += 1
    raise error_at(query, start, "MALFORMED_QUERY", "unexpected token: '<EOF>'")
