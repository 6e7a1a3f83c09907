"""OrgEngine queries: REST records, Bulk CSV pages, query vs queryAll, COUNT(), ordering, filters."""

from __future__ import annotations

import csv
import io
import re
from functools import partial

import pytest
from engine_fixtures import SMALL, bulk_csv, rest_records

from lht_devorg.core.engine import OrgEngine
from lht_devorg.errors import OrgError
from lht_devorg.ids import make_id


@pytest.fixture(scope="module")
def eng():
    engine = OrgEngine()
    engine.seed(SMALL, seed=1)
    yield engine
    engine.close()


rest = partial(rest_records, include_deleted=False)


def test_rest_records_carry_attributes_then_fields_in_select_order(eng):
    recs = rest(eng, "SELECT name, ID, annualrevenue FROM account LIMIT 2")
    assert list(recs[0]) == ["attributes", "Name", "Id", "AnnualRevenue"]
    assert recs[0]["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v59.0/sobjects/Account/{recs[0]['Id']}",
    }


def test_query_hides_recycle_bin_rows_and_query_all_shows_them(eng):
    live = rest(eng, "SELECT Id, IsDeleted FROM Account")
    every = rest(eng, "SELECT Id, IsDeleted FROM Account", include_deleted=True)
    assert all(r["IsDeleted"] is False for r in live)
    deleted = [r for r in every if r["IsDeleted"]]
    assert deleted, "the seed puts some Accounts in the recycle bin"
    assert len(every) == len(live) + len(deleted) == eng.count("Account", include_deleted=True)


def test_count_query_reports_total_size_and_no_records(eng):
    rs = eng.execute("SELECT COUNT() FROM Account", include_deleted=False)
    assert rs.is_count and rs.total_size == eng.count("Account")
    assert eng.page_records(rs, 0, 2000, api_version="59.0") == []


def test_json_values_use_salesforce_formats(eng):
    rec = rest(
        eng,
        "SELECT Id, Paid_At__c, Due_Date__c, Pickup_Time__c, Amount__c, Is_Disputed__c, Quantity__c "
        f"FROM Invoice__c WHERE Id = '{make_id('a0B', 1)}'",
    )[0]
    assert rec["Paid_At__c"] == "2024-12-31T23:59:59.000+0000"
    assert rec["Due_Date__c"] == "4000-12-31"
    assert rec["Pickup_Time__c"] == "23:59:59.999Z"
    assert isinstance(rec["Amount__c"], float) and rec["Is_Disputed__c"] is False


def test_address_and_location_parents_are_objects_in_rest(eng):
    rec = rest(eng, f"SELECT BillingAddress, Id FROM Account WHERE Id = '{make_id('001', 1)}'")[0]
    assert list(rec["BillingAddress"]) == [
        "city",
        "country",
        "countryCode",
        "geocodeAccuracy",
        "latitude",
        "longitude",
        "postalCode",
        "state",
        "stateCode",
        "street",
    ]
    assert (
        rec["BillingAddress"]["city"] == "Zürich" and rec["BillingAddress"]["countryCode"] == "CH"
    )
    inv = rest(eng, "SELECT Site__c FROM Invoice__c LIMIT 1")[0]
    assert set(inv["Site__c"]) == {"latitude", "longitude"}


def test_bulk_csv_quotes_header_and_values_and_leaves_null_unquoted(eng):
    body = bulk_csv(
        eng, "SELECT Id, Name, Description FROM Account WHERE Name = 'Quote \"Inc\", Ltd'"
    )
    lines = body.decode("utf-8").split("\n")
    assert lines[0] == '"Id","Name","Description"'
    assert lines[1].startswith(
        f'"{make_id("001", 9)}","Quote ""Inc"", Ltd","She said ""hi"", then left,'
    )
    nulls = bulk_csv(eng, f"SELECT Id, Fax FROM Account WHERE Id = '{make_id('001', 3)}'").decode()
    assert nulls == f'"Id","Fax"\n"{make_id("001", 3)}",\n'


def test_bulk_csv_round_trips_newlines_delimiters_and_unicode(eng):
    body = bulk_csv(
        eng,
        "SELECT Id, Name, Description FROM Account ORDER BY Id LIMIT 12",
        delimiter="|",
        line_ending="\r\n",
    )
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"), newline=""), delimiter="|"))
    by_name = {r[1]: r for r in rows[1:]}
    assert "ACME – NORTH" in by_name and "株式会社テスト" in by_name
    assert by_name["CR\rLF\r\nmix"][2] == "line1\nline2\r\nline3\rline4"
    assert by_name["Delimiters , ; | ^ ` \t"][2] == "a,b;c|d^e`f\tg\"h'i"
    assert body.startswith(b'"Id"|"Name"|"Description"\r\n')


def test_bulk_csv_formats_booleans_datetimes_dates_times_and_numbers(eng):
    body = bulk_csv(
        eng,
        "SELECT Is_Disputed__c, Paid_At__c, Due_Date__c, Pickup_Time__c, Amount__c, Quantity__c "
        f"FROM Invoice__c WHERE Id = '{make_id('a0B', 1)}'",
    ).decode()
    assert body.split("\n")[1] == (
        '"false","2024-12-31T23:59:59.000Z","4000-12-31","23:59:59.999Z",'
        '"99999999999999.99","999999999999999999"'
    )


def test_text_that_looks_like_other_types_stays_text_in_csv(eng):
    body = bulk_csv(
        eng,
        "SELECT Name, AccountNumber FROM Account WHERE Name IN ('NA', 'N/A', 'None', 'nan', 'null', 'TRUE')",
    ).decode()
    cells = {row[0]: row[1] for row in csv.reader(io.StringIO(body)) if row[0] != "Name"}
    assert set(cells) == {"NA", "N/A", "None", "nan", "null", "TRUE"}
    assert cells["NA"] == "0012" and cells["N/A"] == "20"


def test_pages_partition_the_result_in_order(eng):
    rs = eng.execute(
        "SELECT Id FROM Contact ORDER BY LastName, Id", include_deleted=True, bulk=True
    )
    total = rs.total_size
    seen = []
    for offset in range(0, total, 7):
        page = eng.page_csv(rs, offset, 7).decode().splitlines()
        assert page[0] == '"Id"'
        seen += page[1:]
    eng.release(rs)
    assert len(seen) == total == len(set(seen))


def test_where_filters_compare_text_case_insensitively(eng):
    recs = rest(eng, "SELECT Name FROM Account WHERE Name = 'acme – north'")
    assert [r["Name"] for r in recs] == ["ACME – NORTH"]
    like = rest(eng, "SELECT Name FROM Account WHERE Name LIKE 'acme%'")
    assert "ACME – NORTH" in [r["Name"] for r in like]


def test_datetime_filter_accepts_offsets_and_milliseconds(eng):
    a = rest(eng, "SELECT Id FROM Account WHERE SystemModstamp >= 2025-06-01T12:00:00.000Z")
    b = rest(eng, "SELECT Id FROM Account WHERE SystemModstamp >= 2025-06-01T14:00:00+02:00")
    c = rest(eng, "SELECT Id FROM Account WHERE SystemModstamp >= 2025-06-01T12:00:00Z")
    assert a == b == c and a


def test_order_by_desc_nulls_last_and_limit(eng):
    recs = rest(eng, "SELECT Id, Type FROM Account ORDER BY Type DESC NULLS LAST LIMIT 30")
    assert len(recs) == 30 and all(r["Type"] is not None for r in recs)
    values = [r["Type"].lower() for r in recs]
    assert values == sorted(values, reverse=True)
    first = rest(eng, "SELECT Id, Type FROM Account ORDER BY Type LIMIT 1")
    assert first[0]["Type"] is None  # ascending puts nulls first, as Salesforce does


def test_unsortable_field_in_order_by_is_invalid_field(eng):
    with pytest.raises(OrgError) as err:
        eng.execute("SELECT Id FROM Account ORDER BY Description", include_deleted=False)
    assert err.value.error_code == "INVALID_FIELD"
    assert err.value.message.endswith("field 'Description' can not be sorted in a query call")


def test_in_and_not_in_with_ids_accept_15_character_ids(eng):
    a1, a2 = make_id("001", 1), make_id("001", 2)
    recs = rest(eng, f"SELECT Id FROM Account WHERE Id IN ('{a1[:15]}', '{a2}')")
    assert sorted(r["Id"] for r in recs) == sorted([a1, a2])
    rest_ids = rest(eng, f"SELECT Id FROM Account WHERE Id NOT IN ('{a1}')")
    assert a1 not in {r["Id"] for r in rest_ids}


def test_base64_field_is_a_blob_url_in_rest(eng):
    rec = rest(eng, "SELECT Id, Body, BodyLength FROM Attachment LIMIT 1")[0]
    assert rec["Body"] == f"/services/data/v59.0/sobjects/Attachment/{rec['Id']}/Body"
    assert isinstance(rec["BodyLength"], int)


def test_bulk_refuses_attachment_as_an_unsupported_entity(eng):
    with pytest.raises(OrgError) as err:
        eng.execute("SELECT Id, Name FROM Attachment", include_deleted=False, bulk=True)
    assert err.value.body() == [
        {
            "message": "Entity 'Attachment' is not supported by the Bulk API.",
            "errorCode": "INVALIDENTITY",
        }
    ]


def test_bulk_refuses_compound_fields_and_count(eng):
    with pytest.raises(OrgError) as err:
        eng.execute("SELECT Id, BillingAddress FROM Account", include_deleted=False, bulk=True)
    assert (err.value.error_code, err.value.message) == (
        "API_ERROR",
        "Selecting compound data not supported in Bulk Query",
    )
    with pytest.raises(OrgError) as err:
        eng.execute("SELECT COUNT() FROM Account", include_deleted=False, bulk=True)
    assert err.value.status == 400


def test_released_result_answers_invalid_query_locator(eng):
    rs = eng.execute("SELECT Id FROM Account", include_deleted=False)
    eng.release(rs)
    with pytest.raises(OrgError) as err:
        eng.page_records(rs, 0, 10, api_version="59.0")
    assert err.value.error_code == "INVALID_QUERY_LOCATOR"


def test_result_set_ids_look_like_query_locators(eng):
    rs = eng.execute("SELECT Id FROM Account", include_deleted=False)
    eng.release(rs)
    assert re.fullmatch(r"01g[0-9A-Za-z]{15}", rs.id)
