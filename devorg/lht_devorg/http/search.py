"""SOSL ``search``, ``parameterizedSearch`` and ``recent`` under ``/services/data/vNN.N/``.

Simple term searches: ``FIND {term} [IN ALL|NAME|EMAIL|PHONE FIELDS] [RETURNING
Obj[(fields [WHERE ...] [ORDER BY ...] [LIMIT n])], ...] [LIMIT n]``. A term is one or
more words (all must occur in the record, in any searched field; ``OR`` between words
means any), matched as whole words, case-insensitively, ``*`` and ``?`` as wildcards.
The records come through the SOQL engine (``SELECT fields FROM Obj WHERE Id IN (...)``
and the object's own WHERE), so their values look as a query shows them. Records are
in Id order rather than by relevance. Without RETURNING every searchable object is
searched and only Ids are returned, as Salesforce does.

``recent`` lists what the user viewed in the UI; an API-only org has viewed nothing, so
it is an empty list, as Salesforce answers an integration user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import OrgError
from ..meta.schema import COMPOUND_TYPES
from ..soql.planner import q
from .rest import Call, Reply

#: Most records one search returns (Salesforce's SOSL limit).
MAX_RECORDS = 2000
SCOPES = {
    "ALL": ("string", "textarea", "email", "phone", "url"),
    "NAME": (),
    "EMAIL": ("email",),
    "PHONE": ("phone",),
}
_HEAD = re.compile(
    r"\s*FIND\s*(\{(?P<brace>(?:[^}\\]|\\.)*)\}|'(?P<quote>(?:[^'\\]|\\.)*)')\s*",
    re.IGNORECASE | re.DOTALL,
)
_IN = re.compile(r"IN\s+(ALL|NAME|EMAIL|PHONE)\s+FIELDS\s*", re.IGNORECASE)
_LIMIT = re.compile(r"LIMIT\s+(\d+)\s*$", re.IGNORECASE)
_SPEC = re.compile(r"\s*(\w+)\s*(?:\((.*)\))?\s*$", re.DOTALL)
_TAIL = re.compile(r"\s+(WHERE|ORDER\s+BY|LIMIT)\s", re.IGNORECASE)


def malformed(message: str) -> OrgError:
    """Salesforce's error for SOSL it cannot read."""
    return OrgError(400, "MALFORMED_SEARCH", message)


@dataclass
class Target:
    """One object to search: the fields to return, its own WHERE / ORDER BY, its limit."""

    name: str
    fields: list[str] = field(default_factory=lambda: ["Id"])
    where: str = ""
    order: str = ""
    limit: int | None = None


@dataclass
class Search:
    """A parsed search: the term's words, the field scope, the objects, the overall limit."""

    words: list[str]
    any_word: bool
    scope: str = "ALL"
    targets: list[Target] | None = None
    limit: int = MAX_RECORDS


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses and quotes."""
    parts, depth, quote, start = [], 0, False, 0
    for i, ch in enumerate(text):
        if ch == "'" and (i == 0 or text[i - 1] != "\\"):
            quote = not quote
        elif not quote and ch == "(":
            depth += 1
        elif not quote and ch == ")":
            depth -= 1
        elif not quote and depth == 0 and ch == ",":
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def parse_target(spec: str) -> Target:
    """``Account(Id, Name WHERE ... ORDER BY ... LIMIT n)`` -> Target."""
    match = _SPEC.match(spec)
    if not match:
        raise malformed(f"unexpected token in RETURNING: {spec.strip()}")
    target = Target(match.group(1))
    inner = (match.group(2) or "").strip()
    if not inner:
        return target
    cut = _TAIL.search(" " + inner + " ")
    head, rest = (inner, "") if not cut else (inner[: cut.start()], inner[cut.start() :])
    target.fields = [f.strip() for f in head.split(",") if f.strip()] or ["Id"]
    limit = _LIMIT.search(rest.strip())
    if limit:
        target.limit = int(limit.group(1))
        rest = rest.strip()[: limit.start()]
    order = re.search(r"\bORDER\s+BY\s+(.*)$", rest, re.IGNORECASE | re.DOTALL)
    if order:
        target.order = order.group(1).strip()
        rest = rest[: order.start()]
    where = re.search(r"\bWHERE\s+(.*)$", rest, re.IGNORECASE | re.DOTALL)
    if where:
        target.where = where.group(1).strip()
    return target


def parse_term(term: str) -> tuple[list[str], bool]:
    """The words of a search term and whether any (OR) rather than all must match."""
    phrases = re.findall(r'"([^"]*)"|(\S+)', term.replace("\\", ""))
    words = [quoted or bare for quoted, bare in phrases]
    any_word = any(w.upper() == "OR" for w in words)
    words = [w for w in words if w.upper() not in ("AND", "OR", "AND NOT")]
    if not words or max(len(w.strip("*?")) for w in words) < 2:
        raise malformed("search term must be longer than one character")
    return words, any_word


def parse_sosl(text: str) -> Search:
    """Parse the simple SOSL this org answers (MALFORMED_SEARCH otherwise)."""
    head = _HEAD.match(text or "")
    if not head:
        raise malformed("SOSL must begin with FIND {term}")
    words, any_word = parse_term(
        head.group("brace") if head.group("brace") is not None else head.group("quote")
    )
    rest, search = text[head.end() :], None
    scope = _IN.match(rest)
    search = Search(words, any_word, scope.group(1).upper() if scope else "ALL")
    rest = rest[scope.end() :] if scope else rest
    if rest.upper().startswith("RETURNING"):
        body = rest[len("RETURNING") :]
        limit = _LIMIT.search(body)
        specs = _split_top(body)
        if limit and not specs[-1].rstrip().endswith(")") and (tail := _LIMIT.search(specs[-1])):
            search.limit = min(MAX_RECORDS, int(limit.group(1)))
            specs[-1] = specs[-1][: tail.start()]
        search.targets = [parse_target(s) for s in specs if s.strip()]
        rest = ""
    limit = _LIMIT.match(rest.strip())
    if limit:
        search.limit = min(MAX_RECORDS, int(limit.group(1)))
        rest = ""
    if rest.strip():
        raise malformed(f"unexpected token: {rest.strip().split()[0]}")
    return search


def word_pattern(word: str) -> str:
    """An RE2 pattern matching ``word`` as a whole word (``*``, ``?`` wildcards)."""
    body = re.escape(word).replace(r"\*", r"\w*").replace(r"\?", r"\w")
    return r"(?i)(^|\W)" + body + r"(\W|$)"


class SearchApi:
    """The search resources; ``engine`` is the org's OrgEngine."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def search(self, call: Call) -> Reply:
        """``GET search?q=SOSL``."""
        return Reply(
            200, {"searchRecords": self.run(parse_sosl(call.params.get("q", "")), call.version)}
        )

    def parameterized(self, call: Call) -> Reply:
        """``GET parameterizedSearch?q=term&sobject=...`` or ``POST`` with a JSON body."""
        spec: dict[str, Any] = dict(call.params)
        if call.method == "POST":
            body = call.json()
            spec = body if isinstance(body, dict) else {}
        if not spec.get("q"):
            raise OrgError(400, "MISSING_ARGUMENT", "Missing required parameter: q")
        words, any_word = parse_term(str(spec["q"]))
        default = spec.get("defaultLimit")
        common = spec.get("fields") or ["Id"]
        if isinstance(common, str):
            common = [f.strip() for f in common.split(",") if f.strip()]
        targets = None
        if call.method == "POST" and spec.get("sobjects"):
            targets = [
                Target(
                    o["name"],
                    list(o.get("fields") or common),
                    str(o.get("where") or ""),
                    "",
                    int(o.get("limit") or default or MAX_RECORDS),
                )
                for o in spec["sobjects"]
            ]
        elif spec.get("sobject"):
            name = str(spec["sobject"])
            fields = spec.get(f"{name}.fields")
            limit = spec.get(f"{name}.limit") or default
            targets = [
                Target(
                    name,
                    [f.strip() for f in fields.split(",")] if fields else common,
                    limit=int(limit) if limit else None,
                )
            ]
        search = Search(
            words,
            any_word,
            str(spec.get("in") or "ALL").upper(),
            targets,
            min(MAX_RECORDS, int(spec.get("overallLimit") or MAX_RECORDS)),
        )
        if search.scope not in SCOPES:
            raise malformed(f"unknown search scope: {search.scope}")
        return Reply(200, {"searchRecords": self.run(search, call.version)})

    def recent(self, call: Call) -> Reply:
        """``GET recent``: records the user viewed recently (none in an API-only org)."""
        limit = call.params.get("limit")
        if limit is not None and not limit.isdigit():
            raise OrgError(400, "INVALID_QUERY_FILTER_OPERATOR", f"Invalid limit: {limit}")
        return Reply(200, [])

    # -- running ---------------------------------------------------------------------
    def run(self, search: Search, version: str) -> list[dict]:
        """The ``searchRecords`` of ``search``: each object's matches, up to the limits."""
        targets = search.targets
        if targets is None:
            targets = [
                Target(s["name"])
                for s in self.engine.describe_global(version)["sobjects"]
                if s.get("searchable")
            ]
        out: list[dict] = []
        for target in targets:
            room = search.limit - len(out)
            if room <= 0:
                break
            out += self._one(search, target, min(room, target.limit or room), version)
        return out

    def _one(self, search: Search, target: Target, limit: int, version: str) -> list[dict]:
        obj = self.engine.schema.get(target.name)
        if obj is None:
            raise OrgError(400, "INVALID_TYPE", f"sObject type '{target.name}' is not supported.")
        kinds = SCOPES[search.scope]
        columns = [
            f["name"]
            for f in obj.stored_fields()
            if f["type"] not in COMPOUND_TYPES
            and (f["type"] in kinds if kinds else f.get("nameField"))
        ]
        if not columns:
            return []
        per_word = [
            " OR ".join(f"regexp_matches(CAST({q(c)} AS VARCHAR), ?)" for c in columns)
            for _ in search.words
        ]
        params = [word_pattern(w) for w in search.words for _ in columns]
        joined = (" OR " if search.any_word else " AND ").join(f"({p})" for p in per_word)
        live = ' AND NOT "IsDeleted"' if obj.field("IsDeleted") else ""
        cursor = self.engine.cursor()
        try:
            ids = [
                r[0]
                for r in cursor.execute(
                    f'SELECT "Id" FROM {self.engine.table(obj.name)} WHERE ({joined}){live} '
                    f'ORDER BY "Id" LIMIT {int(MAX_RECORDS)}',
                    params,
                ).fetchall()
            ]
        finally:
            cursor.close()
        if not ids:
            return []
        soql = (
            f"SELECT {', '.join(target.fields)} FROM {obj.name} WHERE Id IN ("
            + ", ".join(f"'{i}'" for i in ids)
            + ")"  # Ids read from the store: [0-9A-Za-z]
            + (f" AND ({target.where})" if target.where else "")
            + f" ORDER BY {target.order or 'Id'} LIMIT {int(limit)}"
        )
        result = self.engine.execute(soql, include_deleted=False)
        try:
            return self.engine.page_records(result, 0, limit, api_version=version)
        finally:
            self.engine.release(result)
