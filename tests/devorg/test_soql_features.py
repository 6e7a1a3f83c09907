"""SOQL users write, through simple-salesforce and raw HTTP, each against rows computed by a
plain SQL query over the org's store (not by the org's planner)."""

from __future__ import annotations

import csv
import io
import time
from datetime import timedelta

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest


def sql(org, text: str, params: list | None = None) -> list[tuple]:
    return org.engine.cursor().execute(text, params or []).fetchall()


def ids(records: list[dict]) -> list[str]:
    return [r["Id"] for r in records]


def refused(sf, soql: str) -> dict:
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.query(soql)
    return failure.value.content[0]


@pytest.fixture(scope="module")
def dated(org, org_clock):
    """Opportunities whose CloseDate sits at known distances from the org's today."""
    today = org_clock().date()
    made = {}
    for days in (-400, -40, -29, -1, 0, 1, 2, 35):
        made[days] = org.engine.create(
            "Opportunity",
            {
                "Name": f"dated {days}",
                "StageName": "Prospecting",
                "CloseDate": (today + timedelta(days=days)).isoformat(),
            },
        )
    return today, made


def test_relationship_fields_nest_with_attributes_two_levels_deep(org, sf):
    body = sf.query_all(
        "SELECT Id, Name, Account.Name, Account.Industry, Account.Owner.Name FROM Contact"
    )
    expected = {
        r[0]: r[1:]
        for r in sql(
            org,
            'SELECT c."Id", a."Id", a."Name", a."Industry", u."Id", u."Name" '
            'FROM contact c LEFT JOIN account a ON a."Id" = c."AccountId" '
            'LEFT JOIN "user" u ON u."Id" = a."OwnerId" WHERE NOT c."IsDeleted"',
        )
    }
    assert sorted(ids(body["records"])) == sorted(expected)
    for rec in body["records"]:
        account_id, name, industry, owner_id, owner = expected[rec["Id"]]
        if account_id is None:
            assert rec["Account"] is None
            continue
        assert list(rec) == ["attributes", "Id", "Name", "Account"]
        assert rec["Account"] == {
            "attributes": {
                "type": "Account",
                "url": f"/services/data/v59.0/sobjects/Account/{account_id}",
            },
            "Name": name,
            "Industry": industry,
            "Owner": {
                "attributes": {
                    "type": "User",
                    "url": f"/services/data/v59.0/sobjects/User/{owner_id}",
                },
                "Name": owner,
            },
        }


def test_empty_lookup_is_null(org, sf):
    orphan = sf.Contact.create({"LastName": "Orphan"})["id"]
    rec = sf.query(f"SELECT Account.Name FROM Contact WHERE Id = '{orphan}'")["records"][0]
    assert rec["Account"] is None


def test_polymorphic_owner_is_the_name_entity_with_the_users_url(org, sf):
    rec = sf.query("SELECT Id, Owner.Name, Owner.Type FROM Case ORDER BY Id LIMIT 1")["records"][0]
    owner_id, name = sql(
        org,
        'SELECT u."Id", u."Name" FROM "case" c JOIN "user" u ON u."Id" = c."OwnerId" '
        'WHERE c."Id" = ?',
        [rec["Id"]],
    )[0]
    assert rec["Owner"] == {
        "attributes": {"type": "Name", "url": f"/services/data/v59.0/sobjects/User/{owner_id}"},
        "Name": name,
        "Type": "User",
    }


def test_relationship_field_in_where_and_order_by(org, sf):
    got = ids(
        sf.query_all(
            "SELECT Id FROM Contact WHERE Account.Industry != null "
            "ORDER BY Account.Name DESC NULLS LAST, Id"
        )["records"]
    )
    want = [
        r[0]
        for r in sql(
            org,
            'SELECT c."Id" FROM contact c JOIN account a ON a."Id" = c."AccountId" '
            'WHERE a."Industry" IS NOT NULL AND NOT c."IsDeleted" '
            'ORDER BY lower(a."Name") DESC NULLS LAST, c."Id"',
        )
    ]
    assert got == want and got


def test_child_subquery_has_the_records_shape_and_is_null_when_empty(org, sf):
    body = sf.query_all(
        "SELECT Id, (SELECT Id, LastName FROM Contacts ORDER BY LastName) FROM Account "
        "WHERE Id IN (SELECT AccountId FROM Contact) OR Name LIKE 'A%'"
    )
    children: dict[str, list] = {}
    for account_id, contact_id in sql(
        org,
        'SELECT "AccountId", "Id" FROM contact WHERE NOT "IsDeleted" '
        'AND "AccountId" IS NOT NULL ORDER BY lower("LastName"), "Id"',
    ):
        children.setdefault(account_id, []).append(contact_id)
    assert any(r["Contacts"] is None for r in body["records"])
    for rec in body["records"]:
        want = children.get(rec["Id"])
        if not want:
            assert rec["Contacts"] is None
            continue
        assert set(rec["Contacts"]) == {"totalSize", "done", "records"}
        assert rec["Contacts"]["totalSize"] == len(want) and rec["Contacts"]["done"] is True
        assert [c["Id"] for c in rec["Contacts"]["records"]] == want
        assert rec["Contacts"]["records"][0]["attributes"]["type"] == "Contact"


def test_child_subquery_limit_applies_per_parent(org, sf):
    body = sf.query_all(
        "SELECT Id, (SELECT Id FROM Contacts LIMIT 1) FROM Account WHERE Id IN (SELECT AccountId FROM Contact)"
    )
    assert body["records"] and all(r["Contacts"]["totalSize"] == 1 for r in body["records"])


@pytest.mark.parametrize("negate", [False, True])
def test_semi_join_and_anti_join(org, sf, negate):
    soql = f"SELECT Id FROM Account WHERE Id {'NOT ' if negate else ''}IN (SELECT AccountId FROM Contact WHERE LastName != null)"
    got = sorted(ids(sf.query_all(soql)["records"]))
    inner = 'SELECT "AccountId" FROM contact WHERE NOT "IsDeleted" AND "LastName" IS NOT NULL AND "AccountId" IS NOT NULL'
    want = sorted(
        r[0]
        for r in sql(
            org,
            f'SELECT "Id" FROM account WHERE NOT "IsDeleted" AND '
            f'"Id" {"NOT " if negate else ""}IN ({inner})',
        )
    )
    assert got == want and got


@pytest.mark.parametrize(
    ("literal", "condition"),
    [
        ("TODAY", "d = t"),
        ("YESTERDAY", "d = t - 1"),
        ("LAST_N_DAYS:30", "d >= t - 30 AND d <= t"),
        ("NEXT_N_DAYS:2", "d > t AND d <= t + 2"),
        ("THIS_MONTH", "date_trunc('month', d) = date_trunc('month', t)"),
        ("LAST_MONTH", "date_trunc('month', d) = date_trunc('month', t) - INTERVAL 1 MONTH"),
        ("THIS_QUARTER", "date_trunc('quarter', d) = date_trunc('quarter', t)"),
        ("THIS_YEAR", "year(d) = year(t)"),
        ("LAST_YEAR", "year(d) = year(t) - 1"),
    ],
)
def test_date_literals_cover_their_days_in_utc(org, sf, dated, literal, condition):
    today, made = dated
    got = {
        r["Id"]
        for r in sf.query_all(f"SELECT Id FROM Opportunity WHERE CloseDate = {literal}")["records"]
    }
    want = {
        r[0]
        for r in sql(
            org,
            f'SELECT "Id" FROM (SELECT "Id", "CloseDate" AS d, CAST(? AS DATE) AS t, '
            f'"IsDeleted" FROM opportunity) WHERE NOT "IsDeleted" AND {condition}',
            [today],
        )
    }
    assert got == want
    assert got & set(made.values()) or literal in ("LAST_YEAR",)


def test_date_literal_comparisons_use_the_range_bounds(org, sf, dated):
    today, made = dated
    after = {
        r["Id"]
        for r in sf.query_all("SELECT Id FROM Opportunity WHERE CloseDate > TODAY")["records"]
    }
    before = {
        r["Id"]
        for r in sf.query_all("SELECT Id FROM Opportunity WHERE CloseDate < TODAY")["records"]
    }
    assert {made[1], made[2], made[35]} <= after and not after & {made[0], made[-1]}
    assert {made[-1], made[-400]} <= before and not before & {made[0], made[1]}


def test_datetime_field_against_today(org, sf, org_clock):
    fresh = sf.Account.create({"Name": "Made today"})["id"]
    got = {
        r["Id"] for r in sf.query_all("SELECT Id FROM Account WHERE CreatedDate = TODAY")["records"]
    }
    want = {
        r[0]
        for r in sql(
            org,
            'SELECT "Id" FROM account WHERE CAST("CreatedDate" AS DATE) = ? AND NOT "IsDeleted"',
            [org_clock().date()],
        )
    }
    assert fresh in got and got == want


def test_offset_skips_rows_in_order(org, sf):
    got = ids(sf.query("SELECT Id FROM Account ORDER BY Name, Id LIMIT 5 OFFSET 7")["records"])
    want = [
        r[0]
        for r in sql(
            org,
            'SELECT "Id" FROM account WHERE NOT "IsDeleted" ORDER BY lower("Name") '
            'NULLS FIRST, "Id" LIMIT 5 OFFSET 7',
        )
    ]
    assert got == want and len(got) == 5


def test_group_by_with_aggregates_names_expr_columns(org, sf):
    body = sf.query(
        "SELECT Industry, COUNT(Id), SUM(AnnualRevenue) total, MAX(NumberOfEmployees), "
        "MIN(CreatedDate), AVG(AnnualRevenue) FROM Account GROUP BY Industry"
    )
    want = {
        r[0]: r[1:]
        for r in sql(
            org,
            'SELECT "Industry", count("Id"), sum("AnnualRevenue"), '
            'max("NumberOfEmployees"), min("CreatedDate"), avg("AnnualRevenue") '
            'FROM account WHERE NOT "IsDeleted" GROUP BY 1',
        )
    }
    assert body["totalSize"] == len(want) and body["done"] is True
    for rec in body["records"]:
        assert list(rec) == ["attributes", "Industry", "expr0", "total", "expr1", "expr2", "expr3"]
        assert rec["attributes"] == {"type": "AggregateResult"}
        count, total, most, first, mean = want[rec["Industry"]]
        assert rec["expr0"] == count and rec["expr1"] == most
        assert (
            rec["total"] == pytest.approx(float(total or 0))
            if total is not None
            else rec["total"] is None
        )
        assert rec["expr2"] == first.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        assert rec["expr3"] == (pytest.approx(float(mean)) if mean is not None else None)


def test_count_of_id_without_group_by_is_one_row(org, sf):
    rec = sf.query("SELECT COUNT(Id) n FROM Contact WHERE Account.Industry != null")["records"]
    want = sql(
        org,
        'SELECT count(*) FROM contact c JOIN account a ON a."Id" = c."AccountId" '
        'WHERE a."Industry" IS NOT NULL AND NOT c."IsDeleted"',
    )[0][0]
    assert rec == [{"attributes": {"type": "AggregateResult"}, "n": want}]


def test_having_filters_groups(org, sf):
    body = sf.query(
        "SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry HAVING COUNT(Id) > 100 "
        "ORDER BY COUNT(Id) DESC"
    )
    want = sql(
        org,
        'SELECT "Industry", count(*) FROM account WHERE NOT "IsDeleted" GROUP BY 1 '
        "HAVING count(*) > 100 ORDER BY 2 DESC, 1",
    )
    assert [(r["Industry"], r["expr0"]) for r in body["records"]] == [tuple(w) for w in want]


def test_to_label_returns_the_picklist_label(org, sf):
    industry = next(f for f in org.engine.describe("Account")["fields"] if f["name"] == "Industry")
    labels = {p["value"]: p["label"] for p in industry["picklistValues"]}
    rows = sf.query(
        "SELECT Id, toLabel(Industry) FROM Account WHERE Industry != null ORDER BY Id LIMIT 20"
    )["records"]
    stored = dict(
        sql(
            org,
            'SELECT "Id", "Industry" FROM account WHERE "Id" IN (SELECT unnest(?))',
            [ids(rows)],
        )
    )
    assert rows and all(r["Industry"] == labels.get(stored[r["Id"]], stored[r["Id"]]) for r in rows)


@pytest.mark.parametrize(
    ("operator", "values", "test"),
    [
        (
            "INCLUDES",
            "('Hardware;Services', 'Support')",
            "(list_has_all(v, ['Hardware', 'Services']) OR list_has(v, 'Support'))",
        ),
        ("EXCLUDES", "('Hardware')", "coalesce(NOT list_has(v, 'Hardware'), true)"),
    ],
)
def test_includes_and_excludes_on_a_multipicklist(org, sf, operator, values, test):
    got = sorted(
        ids(
            sf.query_all(f"SELECT Id FROM Invoice__c WHERE Categories__c {operator} {values}")[
                "records"
            ]
        )
    )
    want = sorted(
        r[0]
        for r in sql(
            org,
            f'SELECT "Id" FROM (SELECT "Id", "IsDeleted", string_split("Categories__c", \';\') '
            f'AS v FROM invoice__c) WHERE NOT "IsDeleted" AND {test}',
        )
    )
    assert got == want and got


def test_fields_standard_selects_the_standard_fields(org, sf):
    rec = sf.query("SELECT FIELDS(STANDARD) FROM Account LIMIT 1")["records"][0]
    standard = [f["name"] for f in org.engine.describe("Account")["fields"] if not f["custom"]]
    assert list(rec)[1:] == standard


def test_fields_all_needs_a_limit_of_at_most_200(sf):
    error = refused(sf, "SELECT FIELDS(ALL) FROM Account")
    assert error == {
        "errorCode": "MALFORMED_QUERY",
        "message": "The SOQL FIELDS function must have a LIMIT of at most 200",
    }
    assert len(sf.query("SELECT FIELDS(ALL) FROM Account LIMIT 200")["records"]) == 200


def test_unknown_relationship_is_invalid_field_pointing_at_the_path(sf):
    error = refused(sf, "SELECT Id, Acount.Name FROM Contact")
    assert error["errorCode"] == "INVALID_FIELD"
    assert error["message"] == (
        "\nSELECT Id, Acount.Name FROM Contact\n           ^\nERROR at Row:1:Column:12\n"
        "Didn't understand relationship 'Acount' in field path. If you are attempting to use a custom "
        "relationship, be sure to append the '__r' after the custom relationship name. Please reference "
        "your WSDL or the describe call for the appropriate names."
    )


def test_unknown_field_behind_a_relationship_names_the_parent_entity(sf):
    error = refused(sf, "SELECT Account.Nope FROM Contact")
    assert (
        error["errorCode"] == "INVALID_FIELD"
        and "No such column 'Nope' on entity 'Account'" in error["message"]
    )


def test_relationship_paths_deeper_than_five_levels_are_refused(sf):
    sf.query("SELECT Account.Parent.Parent.Parent.Parent.Name FROM Contact LIMIT 1")  # five hops
    error = refused(sf, "SELECT Account.Parent.Parent.Parent.Parent.Parent.Name FROM Contact")
    assert error["errorCode"] == "INVALID_FIELD" and "5 levels" in error["message"]


def test_unknown_child_relationship_is_refused(sf):
    error = refused(sf, "SELECT Id, (SELECT Id FROM Contactz) FROM Account")
    assert error["errorCode"] == "INVALID_TYPE"
    assert (
        "Didn't understand relationship 'Contactz' in FROM part of query call" in error["message"]
    )


def test_field_neither_grouped_nor_aggregated_is_refused(sf):
    error = refused(sf, "SELECT Name, COUNT(Id) FROM Account GROUP BY Industry")
    assert (
        error["errorCode"] == "MALFORMED_QUERY"
        and "Field must be grouped or aggregated: Name" in error["message"]
    )


def _bulk(api, soql: str):
    return api("POST", "jobs/query", json={"operation": "query", "query": soql})


@pytest.mark.parametrize(
    ("soql", "message"),
    [
        ("SELECT COUNT(Id) FROM Account", "Aggregate queries are not supported in Bulk Query"),
        (
            "SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry",
            "Aggregate queries are not supported in Bulk Query",
        ),
        (
            "SELECT Id, (SELECT Id FROM Contacts) FROM Account",
            "Nested queries are not supported in Bulk Query",
        ),
        (
            "SELECT Id, Account.BillingAddress FROM Contact",
            "Selecting compound data not supported in Bulk Query",
        ),
    ],
)
def test_bulk_refuses_what_salesforce_refuses(api, soql, message):
    response = _bulk(api, soql)
    assert response.status_code == 400
    assert response.json() == [{"errorCode": "API_ERROR", "message": message}]


def test_bulk_csv_flattens_relationship_columns(org, api):
    job = _bulk(
        api, "SELECT Id, Account.Name, Account.Owner.Name FROM Contact WHERE Account.Name != null"
    ).json()
    deadline = time.monotonic() + 20
    while api("GET", f"jobs/query/{job['id']}").json()["state"] != "JobComplete":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    text = api("GET", f"jobs/query/{job['id']}/results").content.decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Id", "Account.Name", "Account.Owner.Name"]
    want = sql(
        org,
        'SELECT c."Id", a."Name", u."Name" FROM contact c JOIN account a ON a."Id" = c."AccountId" '
        'LEFT JOIN "user" u ON u."Id" = a."OwnerId" WHERE a."Name" IS NOT NULL AND NOT c."IsDeleted" '
        'ORDER BY c."Id"',
    )
    assert [tuple(r) for r in rows[1:]] == [tuple(w) for w in want]


def test_relationship_query_pages_keep_order_and_nesting(org, sf):
    first = sf.query("SELECT Id, Owner.Name FROM Account ORDER BY Name, Id")
    assert first["done"] is False and first["nextRecordsUrl"]
    body = sf.query_all("SELECT Id, Owner.Name FROM Account ORDER BY Name, Id")
    want = sql(
        org,
        'SELECT a."Id", u."Name" FROM account a LEFT JOIN "user" u ON u."Id" = a."OwnerId" '
        'WHERE NOT a."IsDeleted" ORDER BY lower(a."Name") NULLS FIRST, a."Id"',
    )
    assert [(r["Id"], r["Owner"]["Name"]) for r in body["records"]] == [tuple(w) for w in want]
    assert len(want) > 2000


def test_to_label_may_be_aliased_beside_the_value(sf):
    rec = sf.query(
        "SELECT Industry, toLabel(Industry) industryLabel FROM Account WHERE Industry != null LIMIT 1"
    )["records"][0]
    assert (
        list(rec) == ["attributes", "Industry", "industryLabel"]
        and rec["industryLabel"] == rec["Industry"]
    )
    assert (
        refused(sf, "SELECT Industry, toLabel(Industry) FROM Account")["message"]
        == "duplicate field selected: Industry"
    )
