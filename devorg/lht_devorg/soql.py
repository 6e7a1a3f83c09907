"""SOQL parser: a tokenizer and a recursive-descent parser producing a small AST.

Supported: ``SELECT field, ... | COUNT()``, ``FROM object``, ``WHERE`` with AND/OR/NOT and
parentheses, comparisons (= != <> < <= > >=), IN / NOT IN, LIKE, ``ORDER BY f [ASC|DESC]
[NULLS FIRST|LAST], ...``, ``LIMIT n``. Everything else SOQL has (relationship paths, GROUP BY,
OFFSET, FIELDS(), TYPEOF, subqueries, date literals, functions) is refused with
MALFORMED_QUERY rather than answered wrongly. Errors carry Salesforce's message shape: the
query around the bad token, a caret line, ``ERROR at Row:r:Column:c`` and the reason.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from .errors import OrgError
from .soqllex import Token, error_at, tokenize

_CLAUSE_WORDS = {"group", "having", "offset", "with", "for", "update", "typeof", "using", "scope"}

@dataclass
class FieldRef:
    name: str
    token: Token


@dataclass
class Literal:
    kind: str  # string, number, date, datetime, boolean, null
    value: object
    token: Token


@dataclass
class Comparison:
    field: FieldRef
    op: str  # = != < <= > >= like in notin
    value: Literal | list[Literal]


@dataclass
class BoolOp:
    op: str  # and, or, not
    args: list


@dataclass
class OrderItem:
    field: FieldRef
    descending: bool
    nulls_first: bool


@dataclass
class Query:
    text: str
    object: Token
    fields: list[FieldRef] = field(default_factory=list)
    is_count: bool = False
    where: object = None
    order: list[OrderItem] = field(default_factory=list)
    limit: int | None = None


class _Parser:
    def __init__(self, query: str):
        self.q = query
        self.toks = tokenize(query)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def fail(self, tok: Token | None = None, reason: str | None = None) -> OrgError:
        tok = tok or self.tok
        return error_at(self.q, tok.pos, "MALFORMED_QUERY", reason or f"unexpected token: '{tok.text}'")

    def is_word(self, *words: str) -> bool:
        return self.tok.kind == "ident" and self.tok.text.lower() in words

    def take(self) -> Token:
        tok = self.tok
        self.i += 1
        return tok

    def expect_word(self, word: str) -> Token:
        if not self.is_word(word):
            raise self.fail()
        return self.take()

    def expect_punct(self, ch: str) -> Token:
        if self.tok.kind != "punct" or self.tok.text != ch:
            raise self.fail()
        return self.take()

    def parse(self) -> Query:
        self.expect_word("select")
        fields, is_count = self.select_list()
        self.expect_word("from")
        if self.tok.kind != "ident":
            raise self.fail()
        query = Query(self.q, self.take(), fields, is_count)
        if self.tok.kind == "punct" and self.tok.text in (".", ","):
            raise self.fail(reason="Only one sObject can be selected in the FROM clause" if self.tok.text == "," else None)
        if self.is_word("where"):
            self.take()
            query.where = self.or_expr()
        if self.is_word(*_CLAUSE_WORDS):
            raise self.fail(reason=f"{self.tok.text.upper()} is not supported by this org")
        if self.is_word("order"):
            self.take()
            self.expect_word("by")
            query.order = self.order_list()
        if self.is_word("limit"):
            self.take()
            if self.tok.kind != "number" or not self.tok.text.isdigit():
                raise self.fail()
            query.limit = int(self.take().text)
        if self.tok.kind != "eof":
            if self.is_word(*_CLAUSE_WORDS):
                raise self.fail(reason=f"{self.tok.text.upper()} is not supported by this org")
            raise self.fail()
        return query

    def select_list(self) -> tuple[list[FieldRef], bool]:
        if self.is_word("count") and self.toks[self.i + 1].text == "(":
            count_tok = self.take()
            self.take()
            if self.tok.text != ")":
                raise self.fail(count_tok, "aggregate functions other than COUNT() are not supported by this org")
            self.take()
            return [], True
        fields = [self.field_ref(in_select=True)]
        while self.tok.kind == "punct" and self.tok.text == ",":
            self.take()
            fields.append(self.field_ref(in_select=True))
        return fields, False

    def field_ref(self, in_select: bool = False) -> FieldRef:
        tok = self.tok
        if tok.kind == "punct" and tok.text == "(" and in_select:
            raise self.fail(reason="parent-to-child subqueries are not supported by this org")
        if tok.kind != "ident" or tok.text.lower() in ("from", "where", "select"):
            raise self.fail()
        self.take()
        if self.tok.kind == "punct" and self.tok.text == "(":
            raise self.fail(tok, f"function {tok.text.upper()}() is not supported by this org")
        if self.tok.kind == "punct" and self.tok.text == ".":
            raise self.fail(tok, "relationship fields (Parent.Field) are not supported by this org")
        if tok.text.lower() == "typeof":
            raise self.fail(tok, "TYPEOF is not supported by this org")
        return FieldRef(tok.text, tok)

    def order_list(self) -> list[OrderItem]:
        items = []
        while True:
            ref = self.field_ref()
            desc = False
            if self.is_word("asc", "desc"):
                desc = self.take().text.lower() == "desc"
            nulls_first = not desc  # Salesforce: ASC sorts nulls first, DESC last
            if self.is_word("nulls"):
                self.take()
                if not self.is_word("first", "last"):
                    raise self.fail()
                nulls_first = self.take().text.lower() == "first"
            items.append(OrderItem(ref, desc, nulls_first))
            if not (self.tok.kind == "punct" and self.tok.text == ","):
                return items
            self.take()

    def or_expr(self) -> object:
        args = [self.and_expr()]
        while self.is_word("or"):
            self.take()
            args.append(self.and_expr())
        return args[0] if len(args) == 1 else BoolOp("or", args)

    def and_expr(self) -> object:
        args = [self.not_expr()]
        while self.is_word("and"):
            self.take()
            args.append(self.not_expr())
        return args[0] if len(args) == 1 else BoolOp("and", args)

    def not_expr(self) -> object:
        if self.is_word("not"):
            self.take()
            return BoolOp("not", [self.not_expr()])
        if self.tok.kind == "punct" and self.tok.text == "(":
            self.take()
            inner = self.or_expr()
            self.expect_punct(")")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        ref = self.field_ref()
        if self.tok.kind == "op":
            op = {"<>": "!="}.get(self.tok.text, self.tok.text)
            self.take()
            return Comparison(ref, op, self.literal())
        if self.is_word("like"):
            self.take()
            return Comparison(ref, "like", self.literal())
        negate = False
        if self.is_word("not"):
            self.take()
            negate = True
        if self.is_word("in"):
            self.take()
            self.expect_punct("(")
            if self.is_word("select"):
                raise self.fail(reason="semi-join subqueries are not supported by this org")
            values = [self.literal()]
            while self.tok.kind == "punct" and self.tok.text == ",":
                self.take()
                values.append(self.literal())
            self.expect_punct(")")
            return Comparison(ref, "notin" if negate else "in", values)
        if self.is_word("includes", "excludes"):
            raise self.fail(reason="INCLUDES/EXCLUDES are not supported by this org")
        raise self.fail()

    def literal(self) -> Literal:
        tok = self.tok
        if tok.kind == "string":
            self.take()
            return Literal("string", tok.value, tok)
        if tok.kind == "number":
            self.take()
            return Literal("number", Decimal(tok.text), tok)
        if tok.kind == "date":
            self.take()
            try:
                return Literal("date", dt.date.fromisoformat(tok.text), tok)
            except ValueError:
                raise self.fail(tok) from None
        if tok.kind == "datetime":
            self.take()
            return Literal("datetime", _parse_datetime(tok, self), tok)
        if tok.kind == "ident" and tok.text.lower() in ("true", "false"):
            self.take()
            return Literal("boolean", tok.text.lower() == "true", tok)
        if tok.kind == "ident" and tok.text.lower() == "null":
            self.take()
            return Literal("null", None, tok)
        if tok.kind == "ident":
            raise self.fail(tok, f"date literals and bind variables such as {tok.text} are not supported by this org")
        raise self.fail()


def _parse_datetime(tok: Token, parser: _Parser) -> dt.datetime:
    text = tok.text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise parser.fail(tok) from None
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def parse(query: str) -> Query:
    """Parse a SOQL string (OrgError 400 MALFORMED_QUERY on a syntax SOQL or this org refuses)."""
    return _Parser(query).parse()
