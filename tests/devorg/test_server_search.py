"""SOSL search, parameterizedSearch and recent through simple-salesforce and raw requests.

Expected matches are computed here in Python from the records a SOQL query returns
(whole words, case-insensitive), not by the org's own search code.
"""

from __future__ import annotations

import re

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest


def _word_matches(text: str | None, word: str) -> bool:
    return bool(text) and re.search(r"(^|\W)" + re.escape(word) + r"(\W|$)", text, re.I) is not None


@pytest.fixture(scope="module")
def marked(org):
    """Three Accounts and a Contact carrying an unusual word, one Account deleted."""
    new = [
        org.engine.create("Account", {"Name": name})
        for name in ("Zebrafish Labs", "zebrafish co", "Zebrafishery Ltd", "Gone Zebrafish")
    ]
    org.engine.delete("Account", new[3])
    contact = org.engine.create("Contact", {"LastName": "Zebrafish", "Email": "zf@example.com"})
    return {"accounts": new[:2], "prefix_only": new[2], "deleted": new[3], "contact": contact}


def test_search_finds_whole_words_in_each_returned_object(sf, marked):
    found = sf.search(
        "FIND {zebrafish} IN ALL FIELDS RETURNING Account(Id, Name), Contact(Id, LastName)"
    )
    records = found["searchRecords"]
    by_type = {}
    for record in records:
        by_type.setdefault(record["attributes"]["type"], set()).add(record["Id"])
    assert by_type["Account"] == set(marked["accounts"])
    assert by_type["Contact"] == {marked["contact"]}
    assert all("Name" in r for r in records if r["attributes"]["type"] == "Account")


def test_search_matches_what_a_query_shows(sf, marked):
    accounts = sf.query_all("SELECT Id, Name FROM Account")["records"]
    word = "north"
    expected = {r["Id"] for r in accounts if _word_matches(r["Name"], word)}
    found = sf.search(f"FIND {{{word}}} IN NAME FIELDS RETURNING Account(Id)")["searchRecords"]
    assert expected and {r["Id"] for r in found} == expected


def test_search_wildcard_matches_word_prefixes(sf, marked):
    found = sf.search("FIND {zebrafish*} RETURNING Account(Id)")["searchRecords"]
    assert {r["Id"] for r in found} == {*marked["accounts"], marked["prefix_only"]}


def test_search_applies_the_objects_where_order_and_limit(sf, marked):
    found = sf.search(
        "FIND {zebrafish} RETURNING Account(Id, Name WHERE Name LIKE '%labs' ORDER BY Name LIMIT 5)"
    )["searchRecords"]
    assert [r["Name"] for r in found] == ["Zebrafish Labs"]
    ordered = sf.search("FIND {zebrafish} RETURNING Account(Id, Name ORDER BY Name DESC LIMIT 1)")
    assert [r["Name"] for r in ordered["searchRecords"]] == ["Zebrafish Labs"]
    limited = sf.search("FIND {zebrafish} RETURNING Account(Id), Contact(Id) LIMIT 1")
    assert len(limited["searchRecords"]) == 1


def test_search_without_returning_gives_ids_of_every_searchable_object(sf, marked):
    found = sf.search("FIND {zebrafish}")["searchRecords"]
    assert {r["Id"] for r in found} >= {*marked["accounts"], marked["contact"]}
    assert all(set(r) == {"attributes", "Id"} for r in found)


def test_search_in_email_fields_only_searches_emails(sf, marked):
    found = sf.search("FIND {zf} IN EMAIL FIELDS RETURNING Contact(Id), Account(Id)")[
        "searchRecords"
    ]
    assert [r["Id"] for r in found] == [marked["contact"]]


def test_malformed_search_is_refused_as_salesforce_does(sf):
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.search("SELECT Id FROM Account")
    assert failure.value.content[0]["errorCode"] == "MALFORMED_SEARCH"
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.search("FIND {x}")
    assert failure.value.content[0]["errorCode"] == "MALFORMED_SEARCH"


def test_search_of_an_unknown_object_is_invalid_type(sf):
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.search("FIND {zebrafish} RETURNING Nope__c(Id)")
    assert failure.value.content[0]["errorCode"] == "INVALID_TYPE"


def test_parameterized_search_by_get_and_post(api, marked):
    got = api(
        "GET",
        "parameterizedSearch",
        params={"q": "zebrafish", "sobject": "Account", "Account.fields": "Id,Name"},
    ).json()
    assert {r["Id"] for r in got["searchRecords"]} == set(marked["accounts"])
    posted = api(
        "POST",
        "parameterizedSearch",
        json={"q": "zebrafish", "fields": ["Id"], "sobjects": [{"name": "Contact"}]},
    ).json()
    assert [r["Id"] for r in posted["searchRecords"]] == [marked["contact"]]


def test_recent_is_an_empty_list_for_an_api_only_user(api):
    response = api("GET", "recent", params={"limit": 10})
    assert response.status_code == 200 and response.json() == []


def test_versions_reach_the_newest_release(org, session, api):
    versions = session.get(f"{org.instance_url}/services/data/", timeout=30).json()
    assert versions[-1] == {"label": "Spring '26", "url": "/services/data/v66.0", "version": "66.0"}
    newest = session.get(
        f"{org.instance_url}/services/data/v66.0/limits",
        timeout=30,
        headers={"Authorization": f"Bearer {org.new_token()}"},
    )
    assert newest.status_code == 200
    assert (
        session.get(
            f"{org.instance_url}/services/data/v67.0/limits",
            timeout=30,
            headers={"Authorization": f"Bearer {org.new_token()}"},
        ).status_code
        == 404
    )
