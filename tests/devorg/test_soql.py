"""SOQL parsing and validation: what is accepted, and the exact error bodies of what is not."""

from __future__ import annotations

import pytest
from engine_fixtures import SMALL

from lht_devorg.core.engine import OrgEngine
from lht_devorg.errors import OrgError
from lht_devorg.soql.parser import parse


@pytest.fixture(scope="module")
def eng():
    engine = OrgEngine()
    engine.seed(SMALL, seed=3)
    yield engine
    engine.close()


def refused(eng: OrgEngine, soql: str, *, bulk: bool = False) -> OrgError:
    with pytest.raises(OrgError) as err:
        eng.execute(soql, include_deleted=False, bulk=bulk)
    return err.value


def test_unknown_field_is_invalid_field_with_the_caret_message(eng):
    err = refused(eng, "SELECT Id, Foo FROM Account")
    assert (err.status, err.error_code) == (400, "INVALID_FIELD")
    assert err.message == (
        "\nSELECT Id, Foo FROM Account\n           ^\nERROR at Row:1:Column:12\n"
        "No such column 'Foo' on entity 'Account'. If you are attempting to use a custom field, be sure to "
        "append the '__c' after the custom field name. Please reference your WSDL or the describe call for "
        "the appropriate names."
    )
    assert err.body() == [{"message": err.message, "errorCode": "INVALID_FIELD"}]


def test_long_query_error_shows_the_fragment_before_the_bad_token(eng):
    err = refused(eng, "SELECT Id, Name, BillingCity, BillingState, Foo__c FROM Account")
    first_line, caret_line = err.message.split("\n")[1:3]
    assert first_line == "Name, BillingCity, BillingState, Foo__c FROM Account"
    assert first_line[caret_line.index("^") :].startswith("Foo__c")
    assert "ERROR at Row:1:Column:45" in err.message


def test_error_fragment_matches_a_message_recorded_from_salesforce(eng):
    # Shape recorded from a real org (vlocity_build issue #364): about 30 characters of the
    # query before the bad token, cut at a word start.
    err = refused(
        eng, "Select Id, vlocity_cmt__GlobalKey__c from vlocity_cmt____VlocityTrackingGroup__c"
    )
    assert err.message.startswith(
        "\nvlocity_cmt__GlobalKey__c from vlocity_cmt____VlocityTrackingGroup__c\n"
        "                               ^\nERROR at Row:1:Column:43\n"
        "sObject type 'vlocity_cmt____VlocityTrackingGroup__c' is not supported."
    )


def test_unknown_object_is_invalid_type(eng):
    err = refused(eng, "SELECT Id FROM Foo")
    assert err.error_code == "INVALID_TYPE"
    assert err.message == (
        "\nSELECT Id FROM Foo\n               ^\nERROR at Row:1:Column:16\nsObject type 'Foo' is not supported. "
        "If you are attempting to use a custom object, be sure to append the '__c' after the entity name. "
        "Please reference your WSDL or the describe call for the appropriate names."
    )


def test_error_rows_and_columns_count_lines(eng):
    err = refused(eng, "SELECT Id\nFROM Account\nWHERE Nope = 1")
    assert "ERROR at Row:3:Column:7" in err.message and err.message.startswith(
        "\nWHERE Nope = 1\n      ^"
    )


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT Id FROM Account WHERE",
        "SELECT FROM Account",
        "SELECT Id Account",
        "SELECT Id FROM Account LIMIT x",
        "SELECT Id FROM Account WHERE Name = 'unterminated",
        "SELECT Id FROM Account WHERE Name = 'bad \\q escape'",
    ],
)
def test_syntax_errors_are_malformed_query(eng, soql):
    err = refused(eng, soql)
    assert (err.status, err.error_code) == (400, "MALFORMED_QUERY")
    assert "ERROR at Row:1:Column:" in err.message


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT TYPEOF What WHEN Account THEN Name END FROM Task",
        "SELECT Id FROM Account GROUP BY ROLLUP(Industry)",
        "SELECT Id FROM Account WITH SECURITY_ENFORCED",
        "SELECT Id FROM Account FOR UPDATE",
        "SELECT FORMAT(AnnualRevenue) FROM Account",
        "SELECT Id FROM Account a",
    ],
)
def test_unsupported_soql_is_refused_never_answered_wrongly(eng, soql):
    assert refused(eng, soql).error_code == "MALFORMED_QUERY"


@pytest.mark.parametrize(
    "soql, expected_type",
    [
        ("SELECT Id FROM Account WHERE CreatedDate > 2024-01-01", "dateTime"),
        ("SELECT Id FROM Account WHERE CreatedDate > '2024-01-01T00:00:00Z'", "dateTime"),
        ("SELECT Id FROM Account WHERE NumberOfEmployees > '5'", "int"),
        ("SELECT Id FROM Account WHERE IsDeleted = 'true'", "boolean"),
        ("SELECT Id FROM Account WHERE Name = 5", "string"),
        ("SELECT Id FROM Invoice__c WHERE Due_Date__c = 2024-01-01T00:00:00Z", "date"),
    ],
)
def test_value_of_the_wrong_type_is_invalid_field(eng, soql, expected_type):
    err = refused(eng, soql)
    assert err.error_code == "INVALID_FIELD"
    assert f"must be of type {expected_type} and" in err.message


def test_malformed_id_in_a_filter_is_refused(eng):
    err = refused(eng, "SELECT Id FROM Account WHERE Id = 'abc'")
    assert err.error_code == "INVALID_QUERY_FILTER_OPERATOR" and err.message.endswith(
        "invalid ID field: abc"
    )


def test_duplicate_field_is_refused(eng):
    err = refused(eng, "SELECT Id, Name, name FROM Account")
    assert (err.error_code, err.message) == ("MALFORMED_QUERY", "duplicate field selected: Name")


def test_keywords_and_names_are_case_insensitive_and_output_uses_describe_casing(eng):
    rs = eng.execute(
        "select iD, NAME from ACCOUNT where name != null order by NAME asc nulls last limit 3",
        include_deleted=False,
    )
    assert rs.object_name == "Account" and rs.columns == ["Id", "Name"] and rs.total_size == 3
    eng.release(rs)


def test_string_escapes_follow_soql():
    q = parse(r"SELECT Id FROM Account WHERE Name = 'a\'b\\c\nd\"e' AND Name LIKE 'x\%y\_z'")
    eq, like = q.where.args
    assert eq.value.value == "a'b\\c\nd\"e"
    assert like.value.value == "x\\%y\\_z"  # kept for LIKE's own escaping


def test_like_escapes_match_literal_percent(eng):
    rid = eng.create("Account", {"Name": "100% Pure"})
    rs = eng.execute(r"SELECT Id FROM Account WHERE Name LIKE '100\% P%'", include_deleted=False)
    recs = eng.page_records(rs, 0, 10, api_version="59.0")
    eng.release(rs)
    assert [r["Id"] for r in recs] == [rid]


def test_null_comparisons_and_boolean_logic(eng):
    def count(where: str) -> int:
        rs = eng.execute(f"SELECT COUNT() FROM Account WHERE {where}", include_deleted=False)
        return rs.total_size

    total = count("Id != null")
    assert count("Type = null") + count("Type != null") == total
    assert count("NOT (Type = null)") == count("Type != null")
    assert count("Type = null OR Type != null") == total
    assert count("(Type = 'Prospect' OR Type = 'Other') AND Id != null") == count(
        "Type IN ('Prospect', 'Other')"
    )
    assert count("Type NOT IN ('Prospect')") == total - count("Type = 'Prospect'")


def test_not_keeps_rows_whose_field_is_null(eng):
    def count(where: str) -> int:
        return eng.execute(
            f"SELECT COUNT() FROM Account WHERE {where}", include_deleted=False
        ).total_size

    total = count("Id != null")
    assert count("NOT (Type = 'Prospect')") == total - count("Type = 'Prospect'")
    assert count("NOT (Type IN ('Prospect'))") == count("Type NOT IN ('Prospect')")
