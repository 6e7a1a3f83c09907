"""SOQL building and the user filter's safety checks."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from importlib import resources

import pytest

from lht.errors import ConfigError, InvalidNameError
from lht.salesforce.describe import plan_object
from lht.salesforce.soql import build_soql, validate_where


@pytest.fixture(scope="module")
def account():
    return plan_object(
        json.loads((resources.files("lht_devorg.meta") / "describes" / "Account.json").read_text())
    )


def test_full_extract_selects_every_loaded_field_in_order(account):
    soql = build_soql(account)
    assert soql == f"SELECT {', '.join(account.field_names)} FROM Account"
    assert "BillingAddress" not in soql


def test_since_filters_on_the_watermark_truncated_to_the_second(account):
    since = datetime(2024, 1, 15, 10, 30, 5, 987654, tzinfo=timezone.utc)
    soql = build_soql(account, fields=["Id"], since=since)
    assert soql == "SELECT Id FROM Account WHERE SystemModstamp >= 2024-01-15T10:30:05+00:00"


def test_since_in_another_zone_is_converted_to_utc(account):
    since = datetime(2024, 1, 15, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert build_soql(account, fields=["Id"], since=since).endswith(">= 2024-01-15T10:00:00+00:00")


def test_user_filter_is_wrapped_in_parentheses_before_the_watermark(account):
    since = datetime(2024, 1, 1, tzinfo=timezone.utc)
    soql = build_soql(account, fields=["id", "Name"], where="Type = 'A' OR Type = 'B'", since=since)
    assert soql == (
        "SELECT Id, Name FROM Account WHERE (Type = 'A' OR Type = 'B') "
        "AND SystemModstamp >= 2024-01-01T00:00:00+00:00"
    )


@pytest.mark.parametrize(
    "where",
    [
        "Name = 'x'; DELETE",
        "Name = 'x' -- comment",
        "Name = 'x' /* c */",
        "(Name = 'x'",
        "Name = 'x') OR (Id != null",
        "Name = 'unterminated",
        'Name = "x',
    ],
)
def test_unsafe_filters_are_rejected(where):
    with pytest.raises(ConfigError, match="Unsafe SOQL filter"):
        validate_where(where)


@pytest.mark.parametrize(
    "where",
    [
        "Name = 'a;b -- c'",
        "Name = 'it\\'s (fine'",
        "(A = 1 AND (B = 2 OR C = 3))",
    ],
)
def test_safe_filters_with_odd_characters_inside_strings_are_kept(where):
    assert validate_where(where) == where


def test_unknown_field_subset_is_refused(account):
    with pytest.raises(InvalidNameError, match="NoSuchField"):
        build_soql(account, fields=["Id", "NoSuchField"])
