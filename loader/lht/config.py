"""Salesforce credentials and loader settings, read once from the environment.

Credentials come in four complete sets, one per auth flow; exactly one set must be
complete. Secrets never appear in ``repr()`` or ``str()`` of the objects made here.
TLS trust for a private CA is the standard ``REQUESTS_CA_BUNDLE`` (requests honours it).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from lht.errors import ConfigError, CredentialsError, redact_url

DEFAULT_LOGIN_URL = "https://login.salesforce.com"

#: The variables of each flow, in the order a user is told about them.
FLOW_VARIABLES: dict[str, tuple[str, ...]] = {
    "token": ("SF_INSTANCE_URL", "SF_ACCESS_TOKEN"),
    "password": ("SF_USERNAME", "SF_PASSWORD", "SF_SECURITY_TOKEN"),
    "client_credentials": ("SF_CLIENT_ID", "SF_CLIENT_SECRET"),
    "jwt": ("SF_CLIENT_ID", "SF_USERNAME", "SF_PRIVATE_KEY_FILE"),
}

_ALL_VARIABLES = sorted({v for names in FLOW_VARIABLES.values() for v in names})


@dataclass(frozen=True)
class Credentials:
    """One complete set of Salesforce credentials.

    ``flow`` is ``token``, ``password``, ``client_credentials`` or ``jwt``. The password
    flow logs in through SOAP (username, password + security token), or through the
    OAuth password grant when a client id and secret are given as well.
    """

    flow: str
    login_url: str = DEFAULT_LOGIN_URL
    instance_url: str | None = None
    username: str | None = None
    client_id: str | None = None
    private_key_file: str | None = None
    access_token: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        who = self.username or self.client_id or (redact_url(self.instance_url) if self.instance_url else "?")
        return f"Salesforce credentials ({self.flow} flow, {who} at {redact_url(self.login_url)})"

    def secrets(self) -> tuple[str, ...]:
        """The secret values held, for scrubbing them out of error texts."""
        values = (self.access_token, self.password, self.security_token, self.client_secret)
        return tuple(v for v in values if v)


def _https_url(name: str, value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme != "https" or not parsed.hostname:
        raise CredentialsError(
            f"{name}={redact_url(value)!r} is not an https URL; set it like https://login.salesforce.com "
            "or https://mydomain.my.salesforce.com"
        )
    return value.rstrip("/")


def credentials_from_env(env: Mapping[str, str] = os.environ) -> Credentials:
    """Pick the one complete credential set in ``env``; raise CredentialsError otherwise."""
    present = {name for name in _ALL_VARIABLES if env.get(name)}
    # An empty SF_SECURITY_TOKEN is legitimate (trusted IP ranges): being set counts.
    if "SF_SECURITY_TOKEN" in env:
        present.add("SF_SECURITY_TOKEN")
    complete = [flow for flow, names in FLOW_VARIABLES.items() if present.issuperset(names)]
    # The OAuth password grant uses the client id + secret of the password flow.
    if "password" in complete and "client_credentials" in complete:
        complete.remove("client_credentials")
    if not complete:
        raise CredentialsError(
            "No complete set of Salesforce credentials in the environment"
            + (f" (set: {', '.join(sorted(present))})" if present else "")
            + ". Set one of: "
            + "; ".join(f"{flow}: {' + '.join(names)}" for flow, names in FLOW_VARIABLES.items())
            + ". SF_LOGIN_URL chooses the login host (default https://login.salesforce.com)."
        )
    if len(complete) > 1:
        sets = "; ".join(f"{flow} ({' + '.join(FLOW_VARIABLES[flow])})" for flow in complete)
        raise CredentialsError(
            f"Conflicting Salesforce credentials: more than one complete set is set: {sets}. "
            "Unset the variables of the flows you do not mean to use."
        )
    flow = complete[0]
    login_url = _https_url("SF_LOGIN_URL", env.get("SF_LOGIN_URL") or DEFAULT_LOGIN_URL)
    if flow == "token":
        return Credentials(
            flow=flow,
            login_url=login_url,
            instance_url=_https_url("SF_INSTANCE_URL", env["SF_INSTANCE_URL"]),
            access_token=env["SF_ACCESS_TOKEN"],
        )
    if flow == "password":
        return Credentials(
            flow=flow,
            login_url=login_url,
            username=env["SF_USERNAME"],
            password=env["SF_PASSWORD"],
            security_token=env.get("SF_SECURITY_TOKEN", ""),
            client_id=env.get("SF_CLIENT_ID") or None,
            client_secret=env.get("SF_CLIENT_SECRET") or None,
        )
    if flow == "client_credentials":
        return Credentials(
            flow=flow,
            login_url=login_url,
            client_id=env["SF_CLIENT_ID"],
            client_secret=env["SF_CLIENT_SECRET"],
        )
    key_file = env["SF_PRIVATE_KEY_FILE"]
    if not os.path.isfile(key_file):
        raise CredentialsError(
            f"SF_PRIVATE_KEY_FILE={key_file!r} does not exist; point it at the PEM private key "
            "whose certificate is uploaded to the connected app"
        )
    return Credentials(
        flow=flow,
        login_url=login_url,
        client_id=env["SF_CLIENT_ID"],
        username=env["SF_USERNAME"],
        private_key_file=key_file,
    )


@dataclass(frozen=True)
class Settings:
    """Tunables of the Salesforce side, each with an ``LHT_*`` environment variable."""

    overlap_seconds: int = 300
    rest_max_rows: int = 10_000
    bulk_page_records: int = 50_000
    bulk_deadline_seconds: int = 3600
    download_workers: int = 2
    describe_max_age_seconds: int = 86400
    http_timeout: tuple[float, float] = (10.0, 120.0)
    max_retries: int = 5
    api_budget_calls: int | None = None
    api_budget_share: float | None = None
    deleted_check_every_seconds: int = 0
    retry_backoff_seconds: float = 0.5
    retry_backoff_max_seconds: float = 30.0
    #: group incremental change checks into Composite requests (LHT_COMPOSITE=0 turns it off)
    composite: bool = True
    #: lht push: change sets of at least this many rows go through Bulk API 2.0 ingest
    push_bulk_min_rows: int = 2000
    #: lht push: the largest CSV uploaded to one ingest job (bytes)
    push_bulk_max_bytes: int = 100_000_000
    #: --wait: how long to wait for another program (dbt, a notebook) to close the DuckDB file
    warehouse_wait_seconds: int = 3600


#: env variable -> Settings field
_ENV_NAMES: dict[str, str] = {
    "LHT_OVERLAP_SECONDS": "overlap_seconds",
    "LHT_REST_MAX_ROWS": "rest_max_rows",
    "LHT_BULK_PAGE_RECORDS": "bulk_page_records",
    "LHT_BULK_DEADLINE_SECONDS": "bulk_deadline_seconds",
    "LHT_DOWNLOAD_WORKERS": "download_workers",
    "LHT_DESCRIBE_MAX_AGE": "describe_max_age_seconds",
    "LHT_HTTP_TIMEOUT": "http_timeout",
    "LHT_MAX_RETRIES": "max_retries",
    "LHT_API_BUDGET": "api_budget_calls",
    "LHT_API_BUDGET_SHARE": "api_budget_share",
    "LHT_DELETED_CHECK_EVERY": "deleted_check_every_seconds",
    "LHT_RETRY_BACKOFF": "retry_backoff_seconds",
    "LHT_COMPOSITE": "composite",
    "LHT_PUSH_BULK_MIN_ROWS": "push_bulk_min_rows",
    "LHT_PUSH_BULK_MAX_BYTES": "push_bulk_max_bytes",
    "LHT_WAREHOUSE_WAIT_SECONDS": "warehouse_wait_seconds",
}


def _parse(name: str, field_name: str, raw: Any) -> Any:
    """Convert one raw value (env text or override) to the field's type, or ConfigError."""
    try:
        if field_name == "http_timeout":
            if isinstance(raw, (tuple, list)):
                parts = [float(p) for p in raw]
            elif isinstance(raw, (int, float)):
                parts = [float(raw)]
            else:
                parts = [float(p) for p in str(raw).split(",")]
            if len(parts) == 1:
                parts = parts * 2
            if len(parts) != 2 or min(parts) <= 0:
                raise ValueError
            return (parts[0], parts[1])
        if field_name == "api_budget_share":
            value = float(raw)
            if not 0 < value <= 1:
                raise ValueError
            return value
        if field_name == "composite":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
                raise ValueError
            return text in ("1", "true", "yes", "on")
        if field_name in ("retry_backoff_seconds", "retry_backoff_max_seconds"):
            value = float(raw)
            if value < 0:
                raise ValueError
            return value
        value = int(raw)
        minimum = 1 if field_name in ("rest_max_rows", "bulk_page_records", "download_workers",
                                      "bulk_deadline_seconds", "api_budget_calls", "push_bulk_max_bytes") else 0
        if value < minimum:
            raise ValueError
        return value
    except (TypeError, ValueError):
        hint = {
            "http_timeout": "seconds, or 'connect,read' seconds like 10,120",
            "api_budget_share": "a fraction between 0 and 1, like 0.2",
            "composite": "1 (on, the default) or 0 (off)",
        }.get(field_name, "a non-negative whole number")
        raise ConfigError(f"{name}={raw!r} is not valid: expected {hint}") from None


def settings_from_env(env: Mapping[str, str] = os.environ, **overrides: Any) -> Settings:
    """Build Settings from ``LHT_*`` variables, then keyword overrides; ConfigError on bad values."""
    values: dict[str, Any] = {}
    for env_name, field_name in _ENV_NAMES.items():
        raw = env.get(env_name)
        if raw is not None and raw.strip() != "":
            values[field_name] = _parse(env_name, field_name, raw.strip())
    known = {f.name for f in dataclasses.fields(Settings)}
    for key, raw in overrides.items():
        if key not in known:
            raise ConfigError(f"Unknown setting {key!r}; known settings: {', '.join(sorted(known))}")
        values[key] = raw if raw is None else _parse(key, key, raw)
    return Settings(**values)
