"""The transport against the local org: timeouts, retries, call counting and the API budget."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from lht.config import credentials_from_env, settings_from_env
from lht.errors import ApiLimitError, ObjectNotFoundError, SalesforceError
from lht.salesforce.client import connect

DESCRIBE = "/sobjects/Account/describe"


def _client(org, **overrides):
    settings = settings_from_env(
        {}, retry_backoff_seconds=0.01, retry_backoff_max_seconds=0.05, **overrides
    )
    return connect(credentials_from_env(org.env("token")), settings)


@pytest.mark.parametrize("kind", ["unavailable", "reset"])
def test_transient_failures_are_retried_and_every_attempt_is_counted(org, kind):
    client = _client(org)
    org.faults.add(kind, path=DESCRIBE, times=3)
    assert client.describe("Account")["name"] == "Account"
    assert org.faults.fired(kind) == 3
    assert client.calls == 4 and client.total_calls == 4


def test_a_stalled_call_times_out_and_is_retried(org):
    client = _client(org, http_timeout=(5, 1.5))
    org.faults.add("stall", path=DESCRIBE, seconds=4.0)
    assert client.describe("Account")["name"] == "Account"
    assert client.calls == 2


def test_retries_give_up_after_max_retries_with_a_clear_error(org):
    client = _client(org, max_retries=2)
    org.faults.add("unavailable", path=DESCRIBE, times=10)
    with pytest.raises(SalesforceError, match="503"):
        client.describe("Account")
    assert client.calls == 3


def test_permanent_errors_are_not_retried(org):
    client = _client(org)
    with pytest.raises(ObjectNotFoundError, match="No_Such_Thing__c"):
        client.describe("No_Such_Thing__c")
    assert client.calls == 1


def test_request_limit_exceeded_is_an_api_limit_error_and_not_retried(org):
    client = _client(org)
    org.faults.add("limit_exceeded", path=DESCRIBE, times=5)
    with pytest.raises(ApiLimitError, match="REQUEST_LIMIT_EXCEEDED"):
        client.describe("Account")
    assert client.calls == 1


def test_the_call_budget_stops_the_run_and_says_what_was_spent(org):
    client = _client(org, api_budget_calls=3)
    other = client.for_object("Contact")
    client.describe("Account")
    other.describe("Contact")
    client.describe("Lead")
    with pytest.raises(ApiLimitError) as err:
        other.describe("Case")
    assert "3" in str(err.value) and "LHT_API_BUDGET" in str(err.value)
    assert (client.calls, other.calls, client.total_calls) == (2, 1, 3)


def test_the_budget_share_is_taken_from_the_org_remaining_requests(org):
    remaining = org.api_daily_max - org.api_calls
    client = _client(org, api_budget_share=3.5 / remaining)
    assert client.calls == 1  # limits/ read once, at connect
    for name in ("Account", "Contact", "Lead"):
        client.describe(name)
    with pytest.raises(ApiLimitError, match="share"):
        client.describe("Case")


def test_per_object_clients_count_their_own_calls_and_share_the_total(org):
    client = _client(org)
    account, contact = client.for_object("Account"), client.for_object("Contact")
    account.describe("Account")
    contact.describe("Contact")
    contact.limits()
    assert (client.calls, account.calls, contact.calls) == (0, 1, 2)
    assert client.total_calls == account.total_calls == 3


def test_server_time_and_api_usage_come_from_response_headers(org):
    client = _client(org)
    assert client.server_time() is None
    client.describe("Account")
    now = datetime.now(timezone.utc)
    assert abs(client.server_time() - now) < timedelta(minutes=1)
    used, maximum = client.api_usage
    assert maximum == org.api_daily_max and 0 < used <= maximum


def test_describe_global_if_modified_since(org):
    client = _client(org)
    assert client.describe_global_changed_since(None) is True
    assert client.calls == 0
    assert client.describe_global_changed_since(datetime.now(timezone.utc)) is False
    assert client.describe_global_changed_since(datetime(2000, 1, 1, tzinfo=timezone.utc)) is True
