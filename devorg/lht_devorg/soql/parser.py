"""SOQL parser: a recursive-descent parser over :mod:`.lexer` tokens producing a small AST.

Supported: ``SELECT`` of fields and relationship paths (``Account.Owner.Name``), ``COUNT()``,
aggregate functions with aliases (``COUNT(Id) n``, ``SUM``, ``AVG``, ``MIN``, ``MAX``,
``COUNT_DISTINCT``), ``toLabel(f)``, ``FIELDS(ALL|STANDARD|CUSTOM)`` and parent-to-child
subqueries ``(SELECT ... FROM Contacts ...)``; ``FROM object``; ``WHERE`` with AND/OR/NOT and
parentheses, comparisons (= != <> < <= > >=), LIKE, IN / NOT IN lists and semi-/anti-join
subqueries, INCLUDES / EXCLUDES, date literals (``TODAY``, ``LAST_N_DAYS:30``, ...);
``GROUP BY``, ``HAVING``, ``ORDER BY f [ASC|DESC] [NULLS FIRST|LAST]``, ``LIMIT``, ``OFFSET``.
TYPEOF, WITH, FOR and the rest are refused with MALFORMED_QUERY rather than answered wrongly.
Errors carry Salesforce's message shape (see :func:`.lexer.error_at`); the tree's nodes are
in :mod:`.nodes`.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from ..errors import OrgError
from .lexer import (
    AGGREGATES,
    CLAUSE_WORDS,
    DATE_LITERALS,
    DATE_LITERALS_N,
    RESERVED,
    Token,
    error_at,
    tokenize,
)
from .nodes import (
    BoolOp,
    Comparison,
    FieldRef,
    FieldsMacro,
    Func,
    Literal,
    OrderItem,
    Query,
    SubQuery,
)


class _Parser:
    def __init__(self, query: str):
        self.q = query
        self.toks = tokenize(query)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def fail(self, tok: Token | None = None, reason: str | None = None) -> OrgError:
        tok = tok or self.tok
        return error_at(
            self.q, tok.pos, "MALFORMED_QUERY", reason or f"unexpected token: '{tok.text}'"
        )

    def is_word(self, *words: str) -> bool:
        return self.tok.kind == "ident" and self.tok.text.lower() in words

    def is_punct(self, ch: str) -> bool:
        return self.tok.kind == "punct" and self.tok.text == ch

    def take(self) -> Token:
        tok = self.tok
        self.i += 1
        return tok

    def expect_word(self, word: str) -> Token:
        if not self.is_word(word):
            raise self.fail()
        return self.take()

    def expect_punct(self, ch: str) -> Token:
        if not self.is_punct(ch):
            raise self.fail()
        return self.take()

    def integer(self) -> int:
        if self.tok.kind != "number" or not self.tok.text.isdigit():
            raise self.fail()
        return int(self.take().text)

    # -- statement ----------------------------------------------------------------------------
    def parse(self, *, sub: bool = False) -> Query:
        self.expect_word("select")
        items, is_count = self.select_list()
        self.expect_word("from")
        if self.tok.kind != "ident":
            raise self.fail()
        obj = self.take()
        while sub and self.is_punct("."):  # FROM Account.Contacts
            self.take()
            if self.tok.kind != "ident":
                raise self.fail()
            obj = self.take()
        query = Query(self.q, obj, items, is_count)
        if self.is_punct(",") or self.is_punct("."):
            raise self.fail(
                reason="Only one sObject can be selected in the FROM clause"
                if self.tok.text == ","
                else None
            )
        if (
            self.tok.kind == "ident"
            and not self.is_word(*RESERVED)
            and not self.is_word(*CLAUSE_WORDS)
        ):
            self.take()  # an alias of the object (SELECT a.Name FROM Account a) is not supported
            raise self.fail(self.toks[self.i - 1], "object aliases are not supported by this org")
        if self.is_word("where"):
            self.take()
            query.where = self.or_expr()
        self.refuse_clause_words()
        if self.is_word("group"):
            self.take()
            self.expect_word("by")
            if self.is_word("rollup", "cube"):
                raise self.fail(
                    reason=f"GROUP BY {self.tok.text.upper()} is not supported by this org"
                )
            query.group_by = [self.field_ref()]
            while self.is_punct(","):
                self.take()
                query.group_by.append(self.field_ref())
            if self.is_word("having"):
                self.take()
                query.having = self.or_expr()
        if self.is_word("order"):
            self.take()
            self.expect_word("by")
            query.order = self.order_list()
        if self.is_word("limit"):
            self.take()
            query.limit = self.integer()
        if self.is_word("offset"):
            self.take()
            query.offset = self.integer()
        self.refuse_clause_words()
        if not (self.is_punct(")") if sub else self.tok.kind == "eof"):
            raise self.fail()
        return query

    def refuse_clause_words(self) -> None:
        if self.is_word(*CLAUSE_WORDS):
            raise self.fail(reason=f"{self.tok.text.upper()} is not supported by this org")

    def select_list(self) -> tuple[list, bool]:
        if self.is_word("count") and self.peek().text == "(" and self.peek(2).text == ")":
            self.i += 3
            return [], True
        items = [self.select_item()]
        while self.is_punct(","):
            self.take()
            items.append(self.select_item())
        return items, False

    def select_item(self) -> object:
        tok = self.tok
        if self.is_punct("("):
            self.take()
            if not self.is_word("select"):
                raise self.fail()
            inner = self.parse(sub=True)
            self.expect_punct(")")
            return SubQuery(inner, tok)
        if self.is_word("typeof"):
            raise self.fail(reason="TYPEOF is not supported by this org")
        if tok.kind == "ident" and self.peek().text == "(":
            name = tok.text.lower()
            if name == "fields":
                self.take()
                self.take()
                if not self.is_word("all", "standard", "custom"):
                    raise self.fail()
                kind = self.take().text.lower()
                self.expect_punct(")")
                return FieldsMacro(kind, tok)
            func = self.function()
            func.alias = self.alias()
            return func
        ref = self.field_ref()
        ref.alias = self.alias()
        return ref

    def alias(self) -> str | None:
        if (
            self.tok.kind == "ident"
            and not self.is_word(*RESERVED)
            and not self.is_word(*CLAUSE_WORDS)
        ):
            return self.take().text
        return None

    def function(self) -> Func:
        tok = self.take()
        name = tok.text.lower()
        if name not in AGGREGATES and name != "tolabel":
            raise self.fail(tok, f"function {tok.text.upper()}() is not supported by this org")
        self.expect_punct("(")
        arg = None
        if not (name == "count" and self.is_punct(")")):
            arg = self.field_ref()
        self.expect_punct(")")
        return Func(name, arg, tok)

    def field_ref(self) -> FieldRef:
        tok = self.tok
        if tok.kind != "ident" or tok.text.lower() in ("from", "where", "select"):
            raise self.fail()
        parts = [self.take()]
        while self.is_punct("."):
            self.take()
            if self.tok.kind != "ident":
                raise self.fail()
            parts.append(self.take())
        if self.is_punct("("):
            raise self.fail(tok, f"function {tok.text.upper()}() is not supported by this org")
        return FieldRef(parts)

    def order_list(self) -> list[OrderItem]:
        items = []
        while True:
            if self.tok.kind == "ident" and self.peek().text == "(":
                ref: FieldRef | Func = self.function()
            else:
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
            if not self.is_punct(","):
                return items
            self.take()

    # -- conditions ---------------------------------------------------------------------------
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
        if self.is_punct("("):
            self.take()
            inner = self.or_expr()
            self.expect_punct(")")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        if self.tok.kind == "ident" and self.peek().text == "(":
            ref: FieldRef | Func = self.function()
        else:
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
            start = self.expect_punct("(")
            if self.is_word("select"):
                inner = self.parse(sub=True)
                self.expect_punct(")")
                return Comparison(ref, "notin" if negate else "in", SubQuery(inner, start))
            return Comparison(ref, "notin" if negate else "in", self.literal_list())
        if self.is_word("includes", "excludes") and not negate:
            op = self.take().text.lower()
            self.expect_punct("(")
            return Comparison(ref, op, self.literal_list())
        raise self.fail()

    def literal_list(self) -> list[Literal]:
        values = [self.literal()]
        while self.is_punct(","):
            self.take()
            values.append(self.literal())
        self.expect_punct(")")
        return values

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
        if tok.kind == "ident" and tok.text.lower() in DATE_LITERALS:
            self.take()
            return Literal("dateliteral", (tok.text.lower(), None), tok)
        if tok.kind == "ident" and tok.text.lower() in DATE_LITERALS_N:
            self.take()
            if not self.is_punct(":"):
                raise self.fail()
            self.take()
            if self.tok.kind != "number" or not self.tok.text.isdigit():
                raise self.fail()
            return Literal("dateliteral", (tok.text.lower(), int(self.take().text)), tok)
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
