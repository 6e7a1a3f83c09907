"""Deterministic seed data, generated in SQL from ``range(n)`` with hash-based values.

Nothing is held in Python memory per row, so a million Accounts seed in seconds. Every value
derives from ``hash(row number, seed, column)``: the same counts and seed give identical data.
Audit stamps follow Salesforce: CreatedDate <= LastModifiedDate <= SystemModstamp, a mass update
sharing one SystemModstamp second, some rows in the recycle bin, all in the past.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .. import ids
from ..meta.schema import ObjectSchema
from ..soql.planner import q
from .derived import DERIVED, derived_sql
from .records import ADMIN_USER_ID
from .seeddata import (
    COMPANY_A,
    COMPANY_B,
    COMPANY_C,
    DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    NASTY_VALUES,
    PLACES,
    STREETS,
)

if TYPE_CHECKING:
    from .store import OrgStore

__all__ = [
    "NASTY_VALUES",
    "DEFAULT_COUNTS",
    "DUPLICATE_ACCOUNTS",
    "duplicate_account_ids",
    "seed",
    "resolve_counts",
    "MASS_UPDATE_AT",
]

DEFAULT_COUNTS = {
    "User": 10,
    "Account": 200,
    "Contact": 400,
    "Lead": 150,
    "Opportunity": 300,
    "Case": 200,
    "Task": 400,
    "Invoice__c": 300,
    "Attachment": 20,
}
ORDER = [
    "User",
    "Account",
    "Contact",
    "Lead",
    "Opportunity",
    "Case",
    "Task",
    "Invoice__c",
    "Attachment",
]
SEED_START = dt.datetime(2024, 1, 1)
SEED_SPAN_SECONDS = 500 * 86400  # creations spread over 2024-01-01 .. 2025-05-15
#: The last event of the seed: a mass update stamped about a fifth of the live records with this
#: one second (LastModifiedDate = SystemModstamp), so the newest SystemModstamp is widely shared.
MASS_UPDATE_AT = dt.datetime(2025, 9, 1, 12, 0, 0)
#: Skipped by the generic picklist filler (derived, geographic or noise).
_SKIP_PICKLISTS = {
    "CleanStatus",
    "ForecastCategory",
    "ForecastCategoryName",
    "BillingStateCode",
    "BillingCountryCode",
    "ShippingStateCode",
    "ShippingCountryCode",
    "MailingStateCode",
    "MailingCountryCode",
    "OtherStateCode",
    "OtherCountryCode",
    "StateCode",
    "CountryCode",
}


def resolve_counts(counts: Mapping[str, int] | None) -> dict[str, int]:
    """Default counts overridden by ``counts`` (object names case-insensitive)."""
    out = dict(DEFAULT_COUNTS)
    for name, n in (counts or {}).items():
        canon = next((k for k in out if k.lower() == name.lower()), None)
        if canon is None:
            raise ValueError(f"cannot seed unknown object {name!r}; known: {', '.join(out)}")
        out[canon] = max(0, int(n))
    out["User"] = max(out["User"], 1)  # the integration user owns everything
    return out


def _lit(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


class _Gen:
    """SQL expression builders for one object's generator (row number column ``i``)."""

    def __init__(self, obj: str, seed: int, counts: dict[str, int]):
        self.obj, self.seed, self.counts = obj, int(seed), counts
        #: Columns computed once per row in the generator's base select (name -> expression).
        self.pre: dict[str, str] = {}

    def once(self, key: str, expr: str) -> str:
        """A column computed once per row (expensive expressions used several times)."""
        name = "p_" + "".join(ch if ch.isalnum() else "_" for ch in key)
        self.pre[name] = expr
        return name

    def h(self, key: str) -> str:
        return f"hash(i, {self.seed}, '{self.obj}.{key}')"

    def num(self, key: str, n: int) -> str:
        return f"CAST({self.h(key)} % {max(n, 1)} AS BIGINT)"

    def pick(self, key: str, values: list, null_pct: int = 0, index: str | None = None) -> str:
        index = index or self.num(key, len(values))
        expr = f"list_element([{', '.join(_lit(v) for v in values)}], {index} + 1)"
        return (
            f"CASE WHEN {self.num(key + '#null', 100)} < {null_pct} THEN NULL ELSE {expr} END"
            if null_pct
            else expr
        )

    def ref(self, key: str, target: str, null_pct: int = 0) -> str:
        n = self.counts.get(target, 0)
        if n == 0:
            return "NULL"
        prefix = {
            "User": "005",
            "Account": "001",
            "Contact": "003",
            "Lead": "00Q",
            "Opportunity": "006",
            "Case": "500",
            "Task": "00T",
            "Invoice__c": "a0B",
        }[target]
        if n <= 1000:  # small targets: pick from the literal list of their Ids
            expr = f"list_element([{', '.join(_lit(ids.make_id(prefix, k)) for k in range(1, n + 1))}], {self.num(key, n)} + 1)"
        else:
            expr = ids.sql_id_expr(prefix, self.once("ref_" + key, f"({self.num(key, n)} + 1)"))
        return (
            f"CASE WHEN {self.num(key + '#null', 100)} < {null_pct} THEN NULL ELSE {expr} END"
            if null_pct
            else expr
        )

    def money(self, key: str, lo: int, hi: int, scale: int = 2) -> str:
        return f"CAST(({lo} + {self.num(key, (hi - lo) * 10**scale)} / {10**scale}) AS DECIMAL(18,{scale}))"

    def day(self, key: str, start: dt.date, days: int) -> str:
        return f"(DATE '{start.isoformat()}' + CAST({self.num(key, days)} AS INTEGER))"


def _specs(g: _Gen) -> dict[str, str]:
    """Per-object value expressions (fields not listed: picklists random, others NULL)."""
    first = g.pick("first", FIRST_NAMES, index=g.once("first", g.num("first", len(FIRST_NAMES))))
    last = g.pick("last", LAST_NAMES, index=g.once("last", g.num("last", len(LAST_NAMES))))
    brand = g.pick("ca", COMPANY_A, index=g.once("ca", g.num("ca", len(COMPANY_A))))
    company = f"{brand} || ' ' || {g.pick('cb', COMPANY_B)} || ' ' || {g.pick('cc', COMPANY_C)}"
    place = {k: g.once("place_" + k, g.num("place." + k, len(PLACES))) for k in ("addr", "site")}
    p = lambda idx, key="addr": g.pick("place." + key, [pl[idx] for pl in PLACES], index=place[key])  # noqa: E731
    street = f"CAST(1 + {g.num('street#', 9000)} AS VARCHAR) || ' ' || {g.pick('street', STREETS)}"
    postal = f"{p(3)} || lpad(CAST({g.num('zip', 100)} AS VARCHAR), 2, '0')"
    phone = f"'+' || CASE WHEN {p(5)} IN ('US', 'CA') THEN '1' ELSE '44' END || ' ' || {p(6)} || ' 555 ' || lpad(CAST({g.num('phone', 10000)} AS VARCHAR), 4, '0')"
    email = (
        f"lower(strip_accents(replace({first}, '''', ''))) || '.' || lower(strip_accents(replace({last}, '''', ''))) || "
        f"CAST({g.num('mailn', 1000)} AS VARCHAR) || '@' || {g.pick('dom', DOMAINS)}"
    )
    owner = g.ref("owner", "User")
    address = lambda pre: {  # noqa: E731
        f"{pre}Street": street,
        f"{pre}City": p(0),
        f"{pre}State": p(1),
        f"{pre}StateCode": p(2),
        f"{pre}PostalCode": postal,
        f"{pre}Country": p(4),
        f"{pre}CountryCode": p(5),
        f"{pre}Latitude": f"CAST({p(7)} AS DECIMAL(18,15))",
        f"{pre}Longitude": f"CAST({p(8)} AS DECIMAL(18,15))",
    }
    specs: dict[str, dict[str, str]] = {
        "User": {
            "Username": f"CASE WHEN i = 1 THEN {_lit(ids.ADMIN_USERNAME)} ELSE 'user' || CAST(i AS VARCHAR) || '@lht-devorg.example.com' END",
            "FirstName": first,
            "LastName": last,
            "Email": email,
            "Alias": "'usr' || CAST(i AS VARCHAR)",
            "CommunityNickname": "'user' || CAST(i AS VARCHAR)",
            "IsActive": "true",
            "TimeZoneSidKey": "'America/Los_Angeles'",
            "LocaleSidKey": "'en_US'",
            "EmailEncodingKey": "'UTF-8'",
            "LanguageLocaleKey": "'en_US'",
            "UserType": "'Standard'",
            "ProfileId": "'00e8d000000AbCdAAK'",
            "Title": g.pick(
                "title",
                ["Account Executive", "Sales Manager", "Support Engineer", "Integration User"],
            ),
            **address(""),
        },
        "Account": {
            "Name": company,
            "OwnerId": owner,
            "Phone": phone,
            "Website": f"'https://www.' || lower({brand}) || '.example.com'",
            "AnnualRevenue": f"CAST({g.num('rev', 500)} * 100000 AS DECIMAL(18,0))",
            "NumberOfEmployees": f"CAST(1 + {g.num('emp', 20000)} AS INTEGER)",
            "AccountNumber": f"CASE WHEN {g.num('acctn', 2)} = 0 THEN CAST({g.num('acct', 100000)} AS VARCHAR) ELSE 'V' || CAST({g.num('acct', 1000000)} AS VARCHAR) END",
            "Description": g.pick(
                "desc",
                ["Key account", "Prospect from trade show", "Renewal due", "Partner, reseller"],
                40,
            ),
            "ParentId": "NULL",
            "Sic": f"CAST(1000 + {g.num('sic', 8000)} AS VARCHAR)",
            "SLAExpirationDate__c": g.day("sla", dt.date(2025, 1, 1), 730),
            "NumberofLocations__c": f"CAST({g.num('locs', 500)} AS DECIMAL(3,0))",
            "SLASerialNumber__c": f"CAST(100000 + {g.num('slasn', 900000)} AS VARCHAR)",
            "External_Id__c": "'ACC-' || lpad(CAST(i AS VARCHAR), 8, '0')",
            **address("Billing"),
            **address("Shipping"),
        },
        "Contact": {
            "FirstName": first,
            "LastName": last,
            "AccountId": g.ref("acc", "Account", 5),
            "OwnerId": owner,
            "Email": email,
            "Phone": phone,
            "Title": g.pick(
                "title", ["CEO", "CFO", "VP Sales", "Buyer", "Engineer", "Director, IT"], 20
            ),
            "Birthdate": g.day("bday", dt.date(1950, 1, 1), 18000),
            "External_Id__c": "'CON-' || lpad(CAST(i AS VARCHAR), 8, '0')",
            **address("Mailing"),
        },
        "Lead": {
            "FirstName": first,
            "LastName": last,
            "Company": company,
            "OwnerId": owner,
            "Email": email,
            "Phone": phone,
            **address(""),
            "AnnualRevenue": f"CAST({g.num('rev', 300)} * 10000 AS DECIMAL(18,0))",
            "NumberOfEmployees": f"CAST(1 + {g.num('emp', 5000)} AS INTEGER)",
        },
        "Opportunity": {
            "Name": f"{company} || ' - Deal'",
            "AccountId": g.ref("acc", "Account", 3),
            "OwnerId": owner,
            "Amount": g.money("amt", 0, 500000),
            "CloseDate": g.day("close", dt.date(2024, 1, 1), 900),
            "Probability": f"CAST({g.pick('prob', [10, 20, 50, 70, 90, 100, 0])} AS DECIMAL(3,0))",
            "Description": g.pick("desc", ["Upsell", "New business", "Renewal; multi-year"], 50),
        },
        "Case": {
            "CaseNumber": "lpad(CAST(1000 + i AS VARCHAR), 8, '0')",
            "AccountId": g.ref("acc", "Account", 10),
            "ContactId": g.ref("con", "Contact", 10),
            "OwnerId": owner,
            "Subject": g.pick(
                "subj",
                [
                    "Cannot log in",
                    "Invoice question",
                    "Feature request",
                    "Outage report",
                    "Data export",
                ],
            ),
            "Description": g.pick(
                "desc",
                ["Customer called twice.", "Escalated by CSM", "See attached log\nline 2"],
                30,
            ),
            "SuppliedEmail": email,
            "SuppliedName": f"{first} || ' ' || {last}",
        },
        "Task": {
            "Subject": g.pick("subj", ["Call", "Send Letter", "Send Quote", "Other", "Email"]),
            "OwnerId": owner,
            "WhoId": f"CASE WHEN {g.num('whokind', 2)} = 0 THEN {g.ref('who', 'Contact', 5)} ELSE {g.ref('wholead', 'Lead', 5)} END",
            "WhatId": f"CASE WHEN {g.num('whatkind', 2)} = 0 THEN {g.ref('what', 'Account', 5)} ELSE {g.ref('whatopp', 'Opportunity', 5)} END",
            "ActivityDate": g.day("act", dt.date(2024, 1, 1), 700),
            "Description": g.pick(
                "desc",
                ["Left voicemail", "Follow up next week", "Sent pricing, awaiting reply"],
                30,
            ),
        },
        "Invoice__c": {
            "Name": "'INV-' || lpad(CAST(i AS VARCHAR), 6, '0')",
            "OwnerId": owner,
            "Account__c": g.ref("acc", "Account", 2),
            "Amount__c": g.money("amt", 0, 100000),
            "Tax_Rate__c": f"CAST({g.pick('tax', ['0', '5', '7.25', '8.5', '19', '20'])} AS DECIMAL(5,2))",
            "Status__c": g.pick("status", ["Draft", "Sent", "Paid", "Overdue", "Void"]),
            "Categories__c": g.pick(
                "cats",
                ["Hardware", "Software;Support", "Services", "Hardware;Services;Training"],
                20,
            ),
            "Due_Date__c": g.day("due", dt.date(2024, 2, 1), 600),
            "Paid_At__c": f"CASE WHEN {g.num('paid', 2)} = 0 THEN NULL ELSE TIMESTAMP '2024-02-01' + to_seconds({g.num('paidat', 40000000)}) END",
            "Pickup_Time__c": f"TIME '08:00:00' + to_seconds({g.num('pickup', 36000)})",
            "Notes__c": g.pick(
                "notes", ["Net 30", "Paid by wire", "Customer disputes line 3, see email"], 40
            ),
            "Site__Latitude__s": f"CAST({p(7, 'site')} AS DECIMAL(18,15))",
            "Site__Longitude__s": f"CAST({p(8, 'site')} AS DECIMAL(18,15))",
            "Quantity__c": f"CAST(1 + {g.num('qty', 100)} AS DECIMAL(18,0))",
            "Is_Disputed__c": f"{g.num('disp', 20)} = 0",
            "External_Ref__c": "'ERP-' || lpad(CAST(i AS VARCHAR), 8, '0')",
        },
        "Attachment": {
            "ParentId": g.ref("parent", "Account"),
            "OwnerId": owner,
            "Name": "'file-' || CAST(i AS VARCHAR) || '.txt'",
            "ContentType": "'text/plain'",
            "Body": "to_base64(encode('attachment body ' || CAST(i AS VARCHAR)))",
            "BodyLength": "CAST(length('attachment body ' || CAST(i AS VARCHAR)) AS INTEGER)",
            "IsPrivate": "false",
        },
    }
    return specs[g.obj]


def _audit(g: _Gen, obj: ObjectSchema) -> dict[str, str]:
    created = f"(TIMESTAMP '{SEED_START}' + to_seconds({g.num('created', SEED_SPAN_SECONDS)}))"
    modified = f"(created + to_seconds({g.num('modified', 30 * 86400)}))"
    mass = f"TIMESTAMP '{MASS_UPDATE_AT}'"
    out = {
        "created": created,
        "modified_raw": modified,
        "is_mass": f"({g.num('mass', 5)} = 0)",
        "is_deleted": f"(i % 29 = 19 OR {g.num('deleted', 50)} = 7)"
        if obj.field("IsDeleted")
        else "false",
    }
    out["lmd"] = f"CASE WHEN is_mass THEN {mass} ELSE modified_raw END"
    sysmod = f"CASE WHEN NOT is_mass AND {g.num('sysonly', 10)} = 0 THEN lmd + to_seconds(1 + {g.num('sysgap', 86400)}) ELSE lmd END"
    out["smod"] = f"CASE WHEN is_deleted THEN ({sysmod}) + INTERVAL 2 DAY ELSE {sysmod} END"
    return out


def seed(eng: OrgStore, counts: dict[str, int], seed_value: int) -> None:
    """Fill every object's table (called by :meth:`OrgEngine.seed` under its lock)."""
    con = eng._con
    for name in ORDER:
        obj = eng.schema.require(name)
        n = counts[name]
        if n:
            _fill(eng, obj, n, _Gen(name, seed_value, counts))
        con.execute("INSERT OR REPLACE INTO _org_counter VALUES (?, ?)", [name, n + 1])
    _apply_nasty(eng, counts)
    _apply_duplicates(eng, counts)
    for name in ORDER:
        obj = eng.schema.require(name)
        if obj.field("IsDeleted"):
            con.execute(
                f'INSERT INTO _org_deleted SELECT ?, "Id", "SystemModstamp" FROM {q(name.lower())} '
                'WHERE "IsDeleted"',
                [name],
            )


def _fill(eng: OrgStore, obj: ObjectSchema, n: int, g: _Gen) -> None:
    specs = _specs(g)
    audit = _audit(g, obj)
    cols, exprs = [], []
    for f in obj.stored_fields():
        name = f["name"]
        expr = specs.get(name)
        if name == "Id":
            expr = ids.sql_id_expr(obj.key_prefix, "i")
        elif name == "IsDeleted":
            expr = "is_deleted"
        elif name == "CreatedDate":
            expr = "created"
        elif name == "LastModifiedDate":
            expr = "lmd"
        elif name == "SystemModstamp":
            expr = "smod"
        elif name in ("CreatedById", "LastModifiedById"):
            expr = _lit(ADMIN_USER_ID)
        elif expr is None and f["type"] in ("picklist", "combobox") and name not in _SKIP_PICKLISTS:
            values = [p["value"] for p in f["picklistValues"] if p["active"]]
            if values and not name.startswith("Recurrence"):
                expr = g.pick("pl." + name, values, 0 if not f["nillable"] else 25)
        elif expr is None and f["type"] == "boolean":
            expr = "false"
        if expr is not None:
            cols.append(q(name))
            exprs.append(f"{expr} AS {q(name)}")
    pre = "".join(f", {expr} AS {name}" for name, expr in g.pre.items())
    base = (
        f"SELECT i{pre}, {audit['created']} AS created, {audit['is_mass']} AS is_mass0, "
        f"{audit['is_deleted']} AS is_deleted FROM range(1, {n + 1}) t(i)"
    )
    step2 = (
        f"SELECT *, {audit['modified_raw']} AS modified_raw, is_mass0 AND NOT is_deleted "
        f"AND created < TIMESTAMP '{MASS_UPDATE_AT}' AS is_mass FROM ({base})"
    )
    step3 = f"SELECT *, {audit['lmd']} AS lmd FROM ({step2})"
    step4 = f"SELECT *, {audit['smod']} AS smod FROM ({step3})"
    eng._con.execute(
        f"INSERT INTO {q(obj.name.lower())} ({', '.join(cols)}) SELECT {', '.join(exprs)} FROM ({step4})"
    )
    for sql in derived_sql(obj):
        eng._con.execute(sql)


def _apply_nasty(eng: OrgStore, counts: dict[str, int]) -> None:
    for name, rows in NASTY_VALUES.items():
        obj = eng.schema.require(name)
        for number, values in enumerate(rows[: counts[name]], start=1):
            vals = dict(values)
            if "CreatedDate" in vals:
                vals["LastModifiedDate"] = vals["SystemModstamp"] = vals["CreatedDate"]
            if obj.field("IsDeleted"):
                vals["IsDeleted"] = False
            sets = ", ".join(f"{q(k)} = ?" for k in vals)
            eng._con.execute(
                f'UPDATE {q(name.lower())} SET {sets} WHERE "Id" = ?',
                [*vals.values(), ids.make_id(obj.key_prefix, number)],
            )
        for sql in derived_sql(obj):
            eng._con.execute(sql)


#: Seeded duplicate Accounts, (master number, duplicate number): each duplicate copies its
#: master's Name, Website, Phone and billing street and city, and both stay live, so a
#: dedup model in the warehouse finds them (one master has two duplicates).
DUPLICATE_ACCOUNTS = [(40, 41), (50, 51), (50, 52), (60, 61)]
_DUPLICATED = ("Name", "Website", "Phone", "BillingStreet", "BillingCity")


def _apply_duplicates(eng: OrgStore, counts: dict[str, int]) -> None:
    table = q("account")
    for master, duplicate in DUPLICATE_ACCOUNTS:
        if duplicate > counts["Account"]:
            continue
        copies = ", ".join(f"{q(c)} = m.{q(c)}" for c in _DUPLICATED)
        ids_ = [ids.make_id("001", master), ids.make_id("001", duplicate)]
        eng._con.execute(
            f'UPDATE {table} SET {copies} FROM (SELECT * FROM {table} WHERE "Id" = ?) AS m '
            f'WHERE {table}."Id" = ?',
            ids_,
        )
        eng._con.execute(f'UPDATE {table} SET "IsDeleted" = false WHERE "Id" IN (?, ?)', ids_)


def duplicate_account_ids() -> list[tuple[str, str]]:
    """(master Id, duplicate Id) of the seeded duplicate Accounts (default counts)."""
    return [(ids.make_id("001", m), ids.make_id("001", d)) for m, d in DUPLICATE_ACCOUNTS]


def nasty_id(obj_prefix: str, index: int) -> str:
    """The Id of the ``index``-th (0-based) nasty record of an object with ``obj_prefix``."""
    return ids.make_id(obj_prefix, index + 1)


assert set(DERIVED) <= set(ORDER)
