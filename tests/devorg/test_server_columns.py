"""``query?q=...&columns=true``: columnMetadata in the shape Salesforce answers (the shape the
``sf data query`` command reads), over raw HTTP."""

from __future__ import annotations

import pytest

KEYS = [
    "aggregate",
    "apexType",
    "booleanType",
    "columnName",
    "custom",
    "displayName",
    "foreignKeyName",
    "insertable",
    "joinColumns",
    "numberType",
    "textType",
    "updatable",
]


def columns(api, soql: str, endpoint: str = "query/") -> dict:
    response = api("GET", endpoint, params={"q": soql, "columns": "true"})
    assert response.status_code == 200, response.text
    return response.json()


def column(
    name: str,
    apex,
    *,
    text=False,
    number=False,
    boolean=False,
    custom=False,
    insertable=False,
    updatable=False,
    aggregate=False,
    display=None,
    fk=None,
    joins=(),
) -> dict:
    return {
        "aggregate": aggregate,
        "apexType": apex,
        "booleanType": boolean,
        "columnName": name,
        "custom": custom,
        "displayName": display or name,
        "foreignKeyName": fk,
        "insertable": insertable,
        "joinColumns": list(joins),
        "numberType": number,
        "textType": text,
        "updatable": updatable,
    }


def test_plain_fields_carry_types_and_write_access(api):
    body = columns(api, "SELECT Id, Name, Amount__c, IsDeleted, Due_Date__c FROM Invoice__c")
    assert set(body) == {"columnMetadata", "entityName", "groupBy", "idSelected", "keyPrefix"}
    assert (body["entityName"], body["groupBy"], body["idSelected"], body["keyPrefix"]) == (
        "Invoice__c",
        False,
        True,
        "a0B",
    )
    by_name = {c["columnName"]: c for c in body["columnMetadata"]}
    assert all(list(c) == KEYS for c in body["columnMetadata"])
    assert by_name["Id"] == column("Id", "Id")
    assert by_name["IsDeleted"] == column("IsDeleted", "Boolean", boolean=True)
    assert by_name["Amount__c"] == column(
        "Amount__c", "Decimal", number=True, custom=True, insertable=True, updatable=True
    )
    assert by_name["Due_Date__c"] == column(
        "Due_Date__c", "Date", custom=True, insertable=True, updatable=True
    )


def test_unknown_field_with_columns_is_the_query_error(api):
    response = api("GET", "query/", params={"q": "SELECT Nope FROM Account", "columns": "true"})
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "INVALID_FIELD"


def test_relationship_path_nests_join_columns_under_the_relationship(api):
    body = columns(api, "SELECT Name, Account.Owner.Name, Account.Industry FROM Contact")
    name, account = body["columnMetadata"]
    assert name == column("Name", "String", text=True)  # Contact Name is computed from its parts
    assert account == column(
        "Account",
        None,
        fk="AccountId",
        joins=[
            column("Owner", None, fk="OwnerId", joins=[column("Name", "String", text=True)]),
            column("Industry", "String", text=True, insertable=True, updatable=True),
        ],
    )
    assert body["idSelected"] is False


def test_child_subquery_is_an_aggregate_column_of_the_childs_columns(api):
    body = columns(api, "SELECT Name, (SELECT LastName FROM Contacts) FROM Account")
    assert body["columnMetadata"][1] == column(
        "Contacts",
        None,
        aggregate=True,
        joins=[column("LastName", "String", text=True, insertable=True, updatable=True)],
    )


def test_aggregates_are_expr_columns_displayed_as_written(api):
    body = columns(
        api, "SELECT Industry, AVG(AnnualRevenue), COUNT(Id) n FROM Account GROUP BY Industry"
    )
    industry, avg, count = body["columnMetadata"]
    assert (
        body["groupBy"] is True
        and industry["columnName"] == "Industry"
        and industry["aggregate"] is False
    )
    assert avg == column("expr0", None, aggregate=True, number=True, display="avg(AnnualRevenue)")
    assert count == column("n", None, aggregate=True, number=True, display="count(Id)")


@pytest.mark.parametrize("endpoint", ["query/", "queryAll/"])
def test_columns_carry_no_records(api, endpoint):
    body = columns(api, "SELECT Id FROM Account", endpoint)
    assert "records" not in body and "totalSize" not in body
