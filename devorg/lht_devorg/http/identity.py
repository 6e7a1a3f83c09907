"""Identity: the identity URL ``/id/ORGID/USERID`` and OpenID Connect ``/services/oauth2/userinfo``.

The token endpoint's ``id`` is the identity URL; clients read the user and org behind a
session there (jsforce ``identity()``, ``sf org login access-token``). Both take the
session as ``Authorization: Bearer`` (the identity URL also as ``oauth_token``); a bad
one is answered 403 ``Bad_OAuth_Token`` as Salesforce does. Neither counts against the
API allowance. The ``urls`` keep Salesforce's literal ``{version}`` placeholder.
"""

from __future__ import annotations

import re
from typing import Any

from ..ids import ADMIN_USER_ID, ORG_ID, to18
from .auth import Authenticator, TokenStore
from .rest import Reply

_ID_PATH = re.compile(r"/id/(\w{15}|\w{18})/(\w{15}|\w{18})/?")
#: When the user record last changed (fixed: the org's one user never changes).
_MODIFIED = "2024-01-02T03:04:05Z"


class Identity:
    """Answers the identity URL and userinfo for the org's one user."""

    def __init__(self, auth: Authenticator, tokens: TokenStore) -> None:
        self.auth, self.tokens = auth, tokens

    def identity_url(self) -> str:
        """``https://HOST/id/ORGID/USERID`` (18-character Ids), the token answer's ``id``."""
        return f"{self.auth.base_url}/id/{ORG_ID}/{ADMIN_USER_ID}"

    def answer(self, method: str, path: str, params: dict[str, str], headers: Any) -> Reply | None:
        """The reply for an identity request, or None when ``path`` is not one."""
        ident = _ID_PATH.fullmatch(path)
        userinfo = path.rstrip("/") == "/services/oauth2/userinfo"
        if not ident and not userinfo:
            return None
        if method not in ("GET", "POST"):
            return Reply(
                405,
                [
                    {
                        "message": f"HTTP Method '{method}' not allowed. Allowed are GET,POST",
                        "errorCode": "METHOD_NOT_ALLOWED",
                    }
                ],
            )
        authz = headers.get("Authorization") or ""
        scheme, _, token = authz.partition(" ")
        token = token.strip() if scheme.lower() in ("bearer", "oauth") else ""
        if ident and not token:
            token = params.get("oauth_token", "")
        if not self.tokens.valid(token):
            return Reply(403, b"Bad_OAuth_Token", content_type="text/plain;charset=UTF-8")
        if ident:
            try:
                wanted = (to18(ident.group(1)), to18(ident.group(2)))
            except ValueError:
                wanted = ("", "")
            if wanted != (ORG_ID, ADMIN_USER_ID):
                return Reply(404, b"Bad_Id", content_type="text/plain;charset=UTF-8")
            return Reply(200, self.identity_body())
        return Reply(200, self.userinfo_body())

    def _common(self) -> dict[str, Any]:
        base = self.auth.base_url
        rest = f"{base}/services/data/v{{version}}/"
        urls = {
            "enterprise": f"{base}/services/Soap/c/{{version}}/{ORG_ID}",
            "metadata": f"{base}/services/Soap/m/{{version}}/{ORG_ID}",
            "partner": f"{base}/services/Soap/u/{{version}}/{ORG_ID}",
            "rest": rest,
            "sobjects": f"{rest}sobjects/",
            "search": f"{rest}search/",
            "query": f"{rest}query/",
            "recent": f"{rest}recent/",
            "tooling_soap": f"{base}/services/Soap/T/{{version}}/{ORG_ID}",
            "tooling_rest": f"{rest}tooling/",
            "profile": f"{base}/{ADMIN_USER_ID}",
            "feeds": f"{rest}chatter/feeds",
            "groups": f"{rest}chatter/groups",
            "users": f"{rest}chatter/users",
            "feed_items": f"{rest}chatter/feed-items",
            "feed_elements": f"{rest}chatter/feed-elements",
            "custom_domain": base,
        }
        username = self.auth.creds.username
        return {
            "user_id": ADMIN_USER_ID,
            "organization_id": ORG_ID,
            "email": username,
            "email_verified": True,
            "urls": urls,
            "active": True,
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": 0,
            "is_app_installed": True,
            "photos": {
                "picture": f"{base}/profilephoto/005/F",
                "thumbnail": f"{base}/profilephoto/005/T",
            },
            "mobile_phone": None,
            "mobile_phone_verified": False,
            "is_lightning_login_user": False,
        }

    def identity_body(self) -> dict[str, Any]:
        """The identity URL's JSON (Salesforce's Identity URL response keys)."""
        username = self.auth.creds.username
        return {
            "id": self.identity_url(),
            "asserted_user": True,
            "username": username,
            "nick_name": username.partition("@")[0],
            "display_name": "Admin User",
            "first_name": "Admin",
            "last_name": "User",
            "timezone": "GMT",
            "addr_street": None,
            "addr_city": None,
            "addr_state": None,
            "addr_country": None,
            "addr_zip": None,
            "status": {"created_date": None, "body": None},
            "last_modified_date": _MODIFIED,
            **self._common(),
        }

    def userinfo_body(self) -> dict[str, Any]:
        """OpenID Connect userinfo (``sub`` is the identity URL)."""
        username = self.auth.creds.username
        return {
            "sub": self.identity_url(),
            "preferred_username": username,
            "nickname": username.partition("@")[0],
            "name": "Admin User",
            "given_name": "Admin",
            "family_name": "User",
            "zoneinfo": "GMT",
            "profile": f"{self.auth.base_url}/{ADMIN_USER_ID}",
            "picture": f"{self.auth.base_url}/profilephoto/005/F",
            "address": {},
            "is_salesforce_integration_user": False,
            "updated_at": _MODIFIED,
            **self._common(),
        }
