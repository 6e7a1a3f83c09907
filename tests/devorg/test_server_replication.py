"""getDeleted / getUpdated windows as the REST API documents them: start/end parameters with
seconds ignored, start at least a minute before end, no more than 30 days back, whole-minute
``latestDateCovered`` never past end or now, ``earliestDateAvailable`` on getDeleted."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

SF = "%Y-%m-%dT%H:%M:%S+00:00"


def window(api, kind: str, start: datetime | str, end: datetime | str, obj: str = "Account"):
    params = {
        "start": start if isinstance(start, str) else start.strftime(SF),
        "end": end if isinstance(end, str) else end.strftime(SF),
    }
    return api("GET", f"sobjects/{obj}/{kind}/", params=params)


def parse(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


def test_seconds_of_start_are_ignored(sf, api, org_clock):
    org_clock.advance(60 - org_clock().second + 5)  # five seconds into a minute
    victim = sf.Account.create({"Name": "deleted early in its minute"})["id"]
    sf.Account.delete(victim)
    start = org_clock().replace(second=50)  # later than the delete, same minute
    org_clock.advance(120)
    body = window(api, "deleted", start, org_clock()).json()
    assert victim in [r["id"] for r in body["deletedRecords"]]
    updated = window(api, "updated", start, org_clock()).json()
    assert set(updated) == {"ids", "latestDateCovered"}


def test_latest_date_covered_is_a_whole_minute_no_later_than_end_or_now(api, org_clock):
    now = org_clock()
    start = now - timedelta(hours=1)
    past_end = now - timedelta(minutes=10, seconds=30)
    body = window(api, "updated", start, past_end).json()
    assert parse(body["latestDateCovered"]) == past_end.replace(second=0, microsecond=0)
    future = window(api, "deleted", start, now + timedelta(days=1)).json()
    covered = parse(future["latestDateCovered"])
    assert covered.second == 0 and covered <= now and now - covered < timedelta(minutes=1)
    assert set(future) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}
    assert parse(future["earliestDateAvailable"]) <= covered


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (timedelta(minutes=5), timedelta(0)),  # end before start
        (timedelta(seconds=10), timedelta(seconds=40)),  # the same minute once seconds go
    ],
)
@pytest.mark.parametrize("kind", ["deleted", "updated"])
def test_start_must_precede_end_by_a_minute(api, org_clock, kind, start, end):
    base = org_clock().replace(second=0) - timedelta(minutes=30)
    response = window(api, kind, base + start, base + end)
    assert response.status_code == 400
    assert response.json() == [
        {
            "errorCode": "INVALID_REPLICATION_DATE",
            "message": "startDate must chronologically precede endDate by more than one minute",
        }
    ]


@pytest.mark.parametrize("kind", ["deleted", "updated"])
def test_start_older_than_thirty_days_is_refused(api, org_clock, kind):
    now = org_clock()
    assert window(api, kind, now - timedelta(days=29), now).status_code == 200
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    assert window(api, kind, midnight - timedelta(days=30), now).status_code == 200
    response = window(api, kind, midnight - timedelta(days=30, minutes=1), now)
    assert response.status_code == 400
    assert response.json() == [
        {
            "errorCode": "INVALID_REPLICATION_DATE",
            "message": "startDate cannot be more than 30 days ago",
        }
    ]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"start": "yesterday", "end": "2030-01-01T00:00:00Z"}, "MALFORMED_QUERY"),
        ({"end": "2030-01-01T00:00:00Z"}, "MISSING_ARGUMENT"),
    ],
)
def test_malformed_or_missing_dates_are_refused(api, params, code):
    response = api("GET", "sobjects/Account/updated/", params=params)
    assert response.status_code == 400 and response.json()[0]["errorCode"] == code


def test_offsets_are_converted_to_utc(sf, api, org_clock):
    start = org_clock() - timedelta(minutes=5)
    made = sf.Account.create({"Name": "offset window"})["id"]
    org_clock.advance(61)
    local = (start.astimezone(timezone(timedelta(hours=2)))).strftime("%Y-%m-%dT%H:%M:%S+02:00")
    body = window(api, "updated", local, org_clock() + timedelta(minutes=1)).json()
    assert made in body["ids"]
