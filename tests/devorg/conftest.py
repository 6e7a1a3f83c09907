"""Fixtures for the local org's server tests: one org for the session, clients per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from simple_salesforce import Salesforce

from lht_devorg import DevOrg, ShiftedClock

#: Small but multi-page: 2,300 Accounts = two REST pages of 2,000, several Bulk pages.
COUNTS = {
    "Account": 2300,
    "Contact": 40,
    "Opportunity": 10,
    "Lead": 10,
    "Case": 10,
    "Task": 10,
    "Invoice__c": 10,
    "Attachment": 3,
}


@pytest.fixture(scope="session")
def org_clock() -> ShiftedClock:
    """The session org's clock."""
    return ShiftedClock()


@pytest.fixture(scope="session")
def org(org_clock: ShiftedClock) -> Iterator[DevOrg]:
    """A running local org shared by the whole session."""
    with DevOrg(counts=COUNTS, seed=1, bulk_job_seconds=0.2, clock=org_clock) as running:
        yield running


@pytest.fixture
def session(org: DevOrg) -> Iterator[requests.Session]:
    """A requests session trusting only the org's throw-away CA.

    ``trust_env`` is off because requests lets a REQUESTS_CA_BUNDLE in the environment
    override ``session.verify``.
    """
    with requests.Session() as s:
        s.verify = org.ca_path
        s.trust_env = False
        yield s


@pytest.fixture
def sf(org: DevOrg, session: requests.Session) -> Salesforce:
    """simple-salesforce on a fresh session id (bearer flow, no login call)."""
    return Salesforce(session_id=org.new_token(), instance_url=org.instance_url, session=session)


@pytest.fixture
def api(org: DevOrg, session: requests.Session):
    """Raw calls to the REST API: ``api("GET", "limits/")`` -> requests.Response."""
    token = org.new_token()

    def call(method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        url = f"{org.instance_url}/services/data/v59.0/{path}"
        return session.request(method, url, headers=headers, timeout=30, **kwargs)

    return call


@pytest.fixture
def admin(org: DevOrg, session: requests.Session):
    """Calls to the local-only admin endpoints: ``admin("POST", "faults", json={...})``."""

    def call(method: str, name: str, **kwargs) -> requests.Response:
        return session.request(
            method,
            f"{org.instance_url}/__devorg/{name}",
            headers=org.admin_headers(),
            timeout=30,
            **kwargs,
        )

    yield call
    org.faults.clear()
