"""Identity (the token answer's ``id``, the identity URL, userinfo) and every Id the org hands out.

Salesforce Ids are 15 case-sensitive characters, or 18 with a case-safe checksum, and
begin with their object's key prefix (00D an org, 005 a user, 750 a Bulk job...).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from simple_salesforce import Salesforce

from lht_devorg.ids import is_id

ID_SHAPE = re.compile(r"^[0-9A-Za-z]{18}$")
#: Prefixes of Ids that are not records of a describable object.
OTHER_PREFIXES = {
    "00D": "Organization",
    "750": "Bulk job",
    "01g": "query locator",
    "00e": "Profile",
    "012": "RecordType",
}
SOAP = (
    "<?xml version='1.0' encoding='utf-8'?>"
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:urn="urn:partner.soap.sforce.com"><soapenv:Body><urn:login>'
    "<urn:username>{username}</urn:username><urn:password>{password}</urn:password>"
    "</urn:login></soapenv:Body></soapenv:Envelope>"
)
PARTNER = "{urn:partner.soap.sforce.com}"


def _password_login(org, session) -> dict[str, Any]:
    response = session.post(
        f"{org.instance_url}/services/oauth2/token",
        timeout=30,
        data={
            "grant_type": "password",
            "client_id": org.client_id,
            "client_secret": org.client_secret,
            "username": org.username,
            "password": org.password + org.security_token,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_token_answer_id_is_the_identity_url_of_an_18_character_org_and_user(org, session):
    ident = _password_login(org, session)["id"]
    match = re.fullmatch(re.escape(org.instance_url) + r"/id/(\w+)/(\w+)", ident)
    assert match, ident
    org_id, user_id = match.groups()
    assert org_id.startswith("00D") and user_id.startswith("005")
    assert is_id(org_id) and is_id(user_id) and len(org_id) == len(user_id) == 18


def test_identity_url_describes_the_logged_in_user(org, session):
    login = _password_login(org, session)
    body = session.get(
        login["id"], timeout=30, headers={"Authorization": f"Bearer {login['access_token']}"}
    ).json()
    assert body["id"] == login["id"] and body["username"] == org.username
    assert login["id"].endswith(f"/{body['organization_id']}/{body['user_id']}")
    assert body["urls"]["rest"] == f"{org.instance_url}/services/data/v{{version}}/"
    assert body["active"] is True and body["user_type"] == "STANDARD"


def test_identity_url_takes_the_token_as_a_parameter_too(org, session):
    login = _password_login(org, session)
    response = session.get(login["id"], params={"oauth_token": login["access_token"]}, timeout=30)
    assert response.status_code == 200 and response.json()["username"] == org.username


def test_identity_url_accepts_15_character_ids(org, session):
    login = _password_login(org, session)
    base, org_id, user_id = login["id"].rsplit("/", 2)
    response = session.get(
        f"{base}/{org_id[:15]}/{user_id[:15]}",
        timeout=30,
        headers={"Authorization": f"Bearer {login['access_token']}"},
    )
    assert response.status_code == 200 and response.json()["user_id"] == user_id


def test_identity_with_a_bad_token_is_bad_oauth_token(org, session):
    login = _password_login(org, session)
    for url in (login["id"], f"{org.instance_url}/services/oauth2/userinfo"):
        response = session.get(url, headers={"Authorization": "Bearer nope"}, timeout=30)
        assert (response.status_code, response.text) == (403, "Bad_OAuth_Token")


def test_userinfo_names_the_user_and_org_of_the_session(org, session):
    login = _password_login(org, session)
    body = session.get(
        f"{org.instance_url}/services/oauth2/userinfo",
        timeout=30,
        headers={"Authorization": f"Bearer {login['access_token']}"},
    ).json()
    assert body["sub"] == login["id"] and body["preferred_username"] == org.username
    assert login["id"].endswith(f"/{body['organization_id']}/{body['user_id']}")


def test_userinfo_and_identity_do_not_count_against_the_allowance(org, session):
    login = _password_login(org, session)
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    before = org.api_calls
    session.get(login["id"], headers=headers, timeout=30)
    session.get(f"{org.instance_url}/services/oauth2/userinfo", headers=headers, timeout=30)
    assert org.api_calls == before


def test_resource_list_names_the_identity_url(org, sf, session):
    login = _password_login(org, session)
    resources = sf.restful("")
    assert resources["identity"] == login["id"]
    for name in ("sobjects", "query", "search", "recent", "limits"):
        assert resources[name] == f"/services/data/v{sf.sf_version}/{name}"


def test_soap_login_gives_18_character_org_and_user_ids(org, session):
    envelope = SOAP.format(username=org.username, password=org.password + org.security_token)
    response = session.post(
        f"{org.instance_url}/services/Soap/u/59.0",
        data=envelope,
        timeout=30,
        headers={"Content-Type": "text/xml", "SOAPAction": "login"},
    )
    root = ET.fromstring(response.content)
    user_id = root.findtext(f".//{PARTNER}userId")
    org_id = root.findtext(f".//{PARTNER}organizationId")
    assert user_id.startswith("005") and org_id.startswith("00D")
    assert is_id(user_id) and is_id(org_id) and len(user_id) == len(org_id) == 18
    assert root.findtext(f".//{PARTNER}serverUrl").endswith(f"/{org_id[:15]}")


def _ids_in(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """(where, value) of every Id-valued key and every Id in a URL path of a JSON body."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _ids_in(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from _ids_in(item, key)
    elif isinstance(value, str):
        if (
            value
            and (key in ("Id", "id", "sub") or key.endswith(("Id", "_id")))
            and "/" not in value
        ):
            yield key, value
        if "/" in value:
            path = value.split("?")[0]
            for part in re.findall(
                r"/(?:sobjects/\w+|id/\w+|jobs/query|query|queryAll)/([\w-]+)", path
            ):
                yield f"{key} url", part.split("-")[0]
            yield from ((f"{key} url", u) for u in re.findall(r"/id/\w+/(\w+)", path))


def test_every_id_the_org_hands_out_is_valid_with_its_prefix(org, sf, api, session):
    prefixes = {s["keyPrefix"]: s["name"] for s in sf.describe()["sobjects"] if s["keyPrefix"]}
    prefixes.update(OTHER_PREFIXES)
    login = _password_login(org, session)
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    bodies: list[Any] = [
        login,
        session.get(login["id"], headers=headers, timeout=30).json(),
        session.get(
            f"{org.instance_url}/services/oauth2/userinfo", headers=headers, timeout=30
        ).json(),
        sf.restful(""),
    ]
    created = sf.Account.create({"Name": "Id audit"})
    bodies += [created, sf.Account.get(created["id"])]
    for soql in (
        "SELECT Id, OwnerId, CreatedById, LastModifiedById FROM Account",
        "SELECT Id, AccountId, OwnerId FROM Contact",
        "SELECT Id, ProfileId FROM User",
        "SELECT Id, WhoId, WhatId FROM Task",
        "SELECT Id, ParentId FROM Attachment",
    ):
        bodies.append(api("GET", "query", params={"q": soql}).json())
    job = api(
        "POST", "jobs/query", json={"operation": "query", "query": "SELECT Id FROM Lead"}
    ).json()
    bodies += [job, api("GET", f"jobs/query/{job['id']}").json(), api("GET", "jobs/query").json()]
    bodies.append(
        api("GET", "search", params={"q": "FIND {audit} RETURNING Account(Id, OwnerId)"}).json()
    )
    seen = [(where, value) for body in bodies for where, value in _ids_in(body)]
    assert {w for w, _ in seen} >= {
        "id",
        "Id",
        "OwnerId",
        "user_id",
        "organization_id",
        "AccountId",
        "ProfileId",
        "nextRecordsUrl url",
        "createdById",
    }
    wrong = [
        (where, value)
        for where, value in seen
        if not (ID_SHAPE.match(value) and is_id(value) and value[:3] in prefixes)
    ]
    assert not wrong, wrong


@pytest.mark.parametrize("flow", ["token", "password"])
def test_simple_salesforce_reads_the_identity_it_logged_in_with(org, session, flow):
    if flow == "token":
        sf = Salesforce(session_id=org.new_token(), instance_url=org.instance_url, session=session)
    else:
        sf = Salesforce(
            username=org.username,
            password=org.password,
            session=session,
            security_token=org.security_token,
            domain=org.domain,
        )
    ident = sf.restful("")["identity"]
    body = session.get(
        ident, headers={"Authorization": f"Bearer {sf.session_id}"}, timeout=30
    ).json()
    assert body["username"] == org.username


def test_the_identity_user_is_the_user_record_a_query_shows(org, sf, session):
    login = _password_login(org, session)
    user_id = login["id"].rsplit("/", 1)[1]
    record = sf.query(f"SELECT Id, Username, IsActive FROM User WHERE Id = '{user_id}'")["records"]
    assert [(r["Username"], r["IsActive"]) for r in record] == [(org.username, True)]


def test_an_instance_url_saved_with_a_trailing_slash_still_reaches_the_api(org, session):
    response = session.get(
        f"{org.instance_url}//services/data/v59.0/limits",
        timeout=30,
        headers={"Authorization": f"Bearer {org.new_token()}"},
    )
    assert response.status_code == 200 and "DailyApiRequests" in response.json()
    assert session.get(f"{org.instance_url}//services/data", timeout=30).status_code == 200
