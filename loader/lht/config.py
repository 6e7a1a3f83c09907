"""Settings: the one module of lht that reads the environment.

A run reads its environment once, here, from one mapping (``env=``, by default a copy of
the process environment), and passes what it read down:

- :class:`Credentials`: the one complete set of ``SF_*`` variables, one set per login flow
  (:data:`FLOWS`), or, when no ``SF_*`` login variable is set, the login ``lht login``
  stored (:func:`login_file`, :mod:`lht.loginfile`);
- :class:`Settings`: every ``LHT_*`` tunable, of the Salesforce side and of the warehouse
  (schemas, DuckDB limits, Snowflake load files, the run lock's TTL), the variables of
  dbt's that lht honours (``DBT_PROFILES_DIR``, ``DBT_TARGET_PATH``, ``DBT_TARGET``), and
  the mapping itself (``Settings.environ``): the dbt profile's ``env_var()`` calls are
  rendered from it and the dbt commands lht starts get it as their environment.

No other module of lht reads ``os.environ`` (``tests/test_layout.py`` checks it). What a
library reads on its own stays its own: requests honours ``REQUESTS_CA_BUNDLE`` and the
proxy variables of the process, dbt and the Snowflake connector theirs.

Secrets never appear in ``repr()`` or ``str()`` of the objects made here.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import platformdirs

from lht.constants import DEFAULT_SCHEMA, DEFAULT_STAGING_SCHEMA
from lht.errors import ConfigError, CredentialsError, InvalidNameError, redact_url
from lht.loginfile import read_login
from lht.names import check_identifier

DEFAULT_LOGIN_URL = "https://login.salesforce.com"


def environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a run reads: ``env``, or a copy of the process environment."""
    return dict(os.environ if env is None else env)


# -- credentials ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Credentials:
    """One complete set of Salesforce credentials.

    ``flow`` names an entry of :data:`FLOWS` (``auth_url``, ``refresh_token``, ``jwt``,
    ``client_credentials``, ``token``, ``password``) or is ``stored``: the login ``lht
    login`` stored at ``stored_at``. The password flow logs in through SOAP (username,
    password + security token), or through the OAuth password grant when a client id and
    secret are given as well. The ``auth_url``, ``refresh_token`` and ``stored`` flows log in
    with the OAuth refresh token grant at ``login_url``.
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
    refresh_token: str | None = field(default=None, repr=False)
    #: the stored flow: the file ``lht login`` wrote
    stored_at: str | None = None

    def __str__(self) -> str:
        who = (
            self.username
            or self.client_id
            or (redact_url(self.instance_url) if self.instance_url else "?")
        )
        return f"Salesforce credentials ({self.flow} flow, {who} at {redact_url(self.login_url)})"

    def secrets(self) -> tuple[str, ...]:
        """The secret values held, for scrubbing them out of error texts."""
        values = (
            self.access_token,
            self.password,
            self.security_token,
            self.client_secret,
            self.refresh_token,
        )
        return tuple(v for v in values if v)

    @property
    def variables(self) -> tuple[str, ...]:
        """The environment variables this set was read from, for messages (no values)."""
        if self.flow == "stored":
            return (f"the login `lht login` stored in {self.stored_at}",)
        names = FLOWS[self.flow].variables
        if self.flow in ("password", "refresh_token") and self.client_secret:
            names += tuple(v for v in FLOWS["client_credentials"].variables if v not in names)
        return (*names, "SF_LOGIN_URL") if self.flow not in ("token", "auth_url") else names


@dataclass(frozen=True)
class Flow:
    """A way to log in: the variables that make its set complete, and how to read them."""

    variables: tuple[str, ...]
    read: Callable[[Mapping[str, str], str], Credentials]
    #: flows whose set this one's use when both are complete (not a conflict)
    absorbs: tuple[str, ...] = ()


def _token(env: Mapping[str, str], login_url: str) -> Credentials:
    return Credentials(
        flow="token",
        login_url=login_url,
        instance_url=_https_url("SF_INSTANCE_URL", env["SF_INSTANCE_URL"]),
        access_token=env["SF_ACCESS_TOKEN"],
    )


def _password(env: Mapping[str, str], login_url: str) -> Credentials:
    return Credentials(
        flow="password",
        login_url=login_url,
        username=env["SF_USERNAME"],
        password=env["SF_PASSWORD"],
        security_token=env.get("SF_SECURITY_TOKEN", ""),
        client_id=env.get("SF_CLIENT_ID") or None,
        client_secret=env.get("SF_CLIENT_SECRET") or None,
    )


def _client_credentials(env: Mapping[str, str], login_url: str) -> Credentials:
    return Credentials(
        flow="client_credentials",
        login_url=login_url,
        client_id=env["SF_CLIENT_ID"],
        client_secret=env["SF_CLIENT_SECRET"],
    )


def _refresh_token(env: Mapping[str, str], login_url: str) -> Credentials:
    return Credentials(
        flow="refresh_token",
        login_url=login_url,
        client_id=env["SF_CLIENT_ID"],
        client_secret=env.get("SF_CLIENT_SECRET") or None,
        refresh_token=env["SF_REFRESH_TOKEN"],
    )


#: The SFDX auth URL, by the ``sf`` CLI's rules (``AuthInfo.parseSfdxAuthUrl``): client id,
#: client secret (maybe empty), refresh token, each ``[A-Za-z0-9._-]`` with up to two ``=``
#: of padding, and the instance host (with its port) without ``https://``; what follows the
#: host is ignored, as the sf CLI does.
_SFDX_AUTH_URL = re.compile(
    r"force://([a-zA-Z0-9._-]+={0,2}):([a-zA-Z0-9._-]*={0,2}):"
    r"([a-zA-Z0-9._-]+={0,2})@([a-zA-Z0-9:._-]+)"
)


def _auth_url(env: Mapping[str, str], login_url: str) -> Credentials:
    found = _SFDX_AUTH_URL.match(env["SF_AUTH_URL"].strip())
    if not found:
        raise CredentialsError(
            "SF_AUTH_URL is not an SFDX auth URL (its value is not shown: it holds a secret). "
            "Expected force://<clientId>:<clientSecret>:<refreshToken>@<instance host>, as "
            "`sf org display --target-org ALIAS --verbose --json` prints in sfdxAuthUrl (the "
            "client secret may be empty; the host has no https://)"
        )
    client_id, client_secret, refresh_token, host = found.groups()
    return Credentials(
        flow="auth_url",
        login_url=_https_url("SF_AUTH_URL's instance", f"https://{host}"),
        client_id=client_id,
        client_secret=client_secret or None,
        refresh_token=refresh_token,
    )


def _jwt(env: Mapping[str, str], login_url: str) -> Credentials:
    key_file = env["SF_PRIVATE_KEY_FILE"]
    if not os.path.isfile(key_file):
        raise CredentialsError(
            f"SF_PRIVATE_KEY_FILE={key_file!r} does not exist; point it at the PEM private key "
            "whose certificate is uploaded to the connected app"
        )
    return Credentials(
        flow="jwt",
        login_url=login_url,
        client_id=env["SF_CLIENT_ID"],
        username=env["SF_USERNAME"],
        private_key_file=key_file,
    )


#: The login flows, in the order a user is told about them (OAuth first; the password flow's
#: SOAP login() ends with Summer '27). A new flow is one entry here (its variables and
#: reader) and one in ``lht.salesforce.auth.LOGINS`` (how it logs in). When none is set,
#: the login ``lht login`` stored is used (the ``stored`` flow, :func:`credentials_from_env`).
FLOWS: dict[str, Flow] = {
    "auth_url": Flow(("SF_AUTH_URL",), _auth_url),
    # SF_CLIENT_SECRET, when the app has one, is the client_credentials flow's variable
    "refresh_token": Flow(
        ("SF_CLIENT_ID", "SF_REFRESH_TOKEN"), _refresh_token, absorbs=("client_credentials",)
    ),
    "jwt": Flow(("SF_CLIENT_ID", "SF_USERNAME", "SF_PRIVATE_KEY_FILE"), _jwt),
    "client_credentials": Flow(("SF_CLIENT_ID", "SF_CLIENT_SECRET"), _client_credentials),
    "token": Flow(("SF_INSTANCE_URL", "SF_ACCESS_TOKEN"), _token),
    # the OAuth username-password grant uses the client id + secret of client_credentials
    "password": Flow(
        ("SF_USERNAME", "SF_PASSWORD", "SF_SECURITY_TOKEN"),
        _password,
        absorbs=("client_credentials",),
    ),
}
#: Variables ``lht login`` reads too: set alone, they leave the stored login in use.
LOGIN_COMMAND_VARIABLES = frozenset({"SF_CLIENT_ID", "SF_CLIENT_SECRET"})
#: The variables of each flow (kept for callers that only name them).
FLOW_VARIABLES: dict[str, tuple[str, ...]] = {name: flow.variables for name, flow in FLOWS.items()}


def _https_url(name: str, value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme != "https" or not parsed.hostname:
        raise CredentialsError(
            f"{name}={redact_url(value)!r} is not an https URL; set it like https://login.salesforce.com "
            "or https://mydomain.my.salesforce.com"
        )
    return value.rstrip("/")


def login_file(env: Mapping[str, str] | None = None) -> Path:
    """Where ``lht login`` stores its login: ``LHT_LOGIN_FILE``, else ``login.json`` in the
    user's configuration directory (``~/.config/lht`` on Linux, as platformdirs says)."""
    env = environment(env)
    if env.get("LHT_LOGIN_FILE", "").strip():
        return Path(env["LHT_LOGIN_FILE"].strip()).expanduser()
    return platformdirs.user_config_path("lht") / "login.json"


def credentials_from_env(env: Mapping[str, str] | None = None) -> Credentials:
    """Pick the one complete credential set in ``env`` (default: the process environment);
    with none and no other ``SF_*`` login variable set, the login ``lht login`` stored;
    raise CredentialsError otherwise.

    Precedence: one complete set of ``SF_*`` variables wins (two are a conflict, refused);
    the stored login is used only when no set is complete and the variables present are at
    most those ``lht login`` reads (``SF_CLIENT_ID``, ``SF_CLIENT_SECRET``).
    """
    env = environment(env)
    every = sorted({v for flow in FLOWS.values() for v in flow.variables})
    present = {name for name in every if env.get(name)}
    # An empty SF_SECURITY_TOKEN is legitimate (trusted IP ranges): being set counts.
    if "SF_SECURITY_TOKEN" in env:
        present.add("SF_SECURITY_TOKEN")
    complete = [name for name, flow in FLOWS.items() if present.issuperset(flow.variables)]
    for name in list(complete):
        complete = [c for c in complete if c not in FLOWS[name].absorbs]
    if not complete:
        stored_at = login_file(env)
        if present <= LOGIN_COMMAND_VARIABLES:
            stored = read_login(stored_at)
            if stored is not None:
                return Credentials(
                    flow="stored",
                    login_url=_https_url("the stored login's instance", stored.instance_url),
                    client_id=stored.client_id,
                    client_secret=stored.client_secret,
                    refresh_token=stored.refresh_token,
                    stored_at=str(stored_at),
                )
        raise CredentialsError(
            "No complete set of Salesforce credentials in the environment"
            + (f" (set: {', '.join(sorted(present))})" if present else "")
            + ". Set one of: "
            + "; ".join(f"{name}: {' + '.join(flow.variables)}" for name, flow in FLOWS.items())
            + ". SF_LOGIN_URL chooses the login host (default https://login.salesforce.com). "
            + (
                "Or run `lht login` (a browser login; later runs use it while no SF_* login "
                "variable is set)."
                if present <= LOGIN_COMMAND_VARIABLES
                else f"A login stored by `lht login` is not used while {', '.join(sorted(present - LOGIN_COMMAND_VARIABLES))} "
                "is set."
            )
        )
    if len(complete) > 1:
        sets = "; ".join(f"{name} ({' + '.join(FLOWS[name].variables)})" for name in complete)
        raise CredentialsError(
            f"Conflicting Salesforce credentials: more than one complete set is set: {sets}. "
            "Unset the variables of the flows you do not mean to use."
        )
    login_url = _https_url("SF_LOGIN_URL", env.get("SF_LOGIN_URL") or DEFAULT_LOGIN_URL)
    return FLOWS[complete[0]].read(env, login_url)


@dataclass(frozen=True)
class WebLogin:
    """What ``lht login`` needs: where to log in, the app's client id (and secret, when it
    has one), and where to store the login."""

    login_url: str
    client_id: str
    login_file: Path
    client_secret: str | None = field(default=None, repr=False)


def web_login_from_env(
    env: Mapping[str, str] | None = None,
    *,
    login_url: str | None = None,
    client_id: str | None = None,
) -> WebLogin:
    """``lht login``'s settings: the options given, else ``SF_LOGIN_URL``, ``SF_CLIENT_ID``
    and ``SF_CLIENT_SECRET``; the login file (:func:`login_file`)."""
    env = environment(env)
    client_id = client_id or env.get("SF_CLIENT_ID")
    if not client_id:
        raise CredentialsError(
            "lht login needs the client id (consumer key) of your External Client App or connected "
            "app: set SF_CLIENT_ID or pass --client-id. The app needs the OAuth web server flow with "
            "PKCE, the callback URL http://127.0.0.1:1717/OauthRedirect (or the port of --port) and "
            "the scopes api and refresh_token."
        )
    url = _https_url(
        "--login-url" if login_url else "SF_LOGIN_URL",
        login_url or env.get("SF_LOGIN_URL") or DEFAULT_LOGIN_URL,
    )
    return WebLogin(url, client_id, login_file(env), env.get("SF_CLIENT_SECRET") or None)


# -- settings ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    """Everything lht reads from the environment but the credentials; each field has a
    variable (:data:`VARIABLES`)."""

    # -- Salesforce ------------------------------------------------------------------------
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
    # -- the warehouse ---------------------------------------------------------------------
    #: the schema of the staging tables and lht's bookkeeping tables
    staging_schema: str = DEFAULT_STAGING_SCHEMA
    #: the schema of the main tables (dbt's var lht_schema defaults to the same variable)
    schema: str = DEFAULT_SCHEMA
    #: DuckDB's memory limit in the loader: past it DuckDB evicts or spills to disk, so a
    #: large extract keeps a flat footprint
    duckdb_memory_limit: str = "96MB"
    #: DuckDB's threads in the loader: appends come from one thread while others download
    #: and parse; one DuckDB thread inserts faster than two competing for the same cores
    duckdb_threads: int = 1
    #: ``none``: staging text stored uncompressed (a fifth faster to load; prune trims
    #: staging, dbt's main tables stay compressed); ``auto``: DuckDB's default
    duckdb_text_compression: str = "none"
    #: a Snowflake load's Parquet file is closed and PUT at this size: Snowflake advises
    #: 100-250 MB compressed, but the connector's PUT holds a file whole in memory on some
    #: clouds, so 64 MB keeps a load's peak memory flat (docs/design.md "Memory")
    snowflake_file_mb: float = 64.0
    #: a run lock (and a Snowflake load) older than this is taken as abandoned
    lock_ttl_seconds: float = 12 * 3600.0
    #: --wait: how long to wait for another program (dbt, a notebook) to close the DuckDB file
    warehouse_wait_seconds: int = 3600
    # -- dbt ---------------------------------------------------------------------------------
    #: where profiles.yml is, when ``--profiles-dir`` is not given
    dbt_profiles_dir: str | None = None
    #: dbt's target directory (manifest.json), over the project's ``target-path``
    dbt_target_path: str | None = None
    #: the dbt target the user's dbt commands see named
    dbt_target: str | None = None
    #: the environment these settings were read from (profile ``env_var()``, dbt commands)
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)


#: env variable -> Settings field
VARIABLES: dict[str, str] = {
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
    "LHT_STAGING_SCHEMA": "staging_schema",
    "LHT_SCHEMA": "schema",
    "LHT_DUCKDB_MEMORY_LIMIT": "duckdb_memory_limit",
    "LHT_DUCKDB_THREADS": "duckdb_threads",
    "LHT_DUCKDB_TEXT_COMPRESSION": "duckdb_text_compression",
    "LHT_SNOWFLAKE_FILE_MB": "snowflake_file_mb",
    "LHT_LOCK_TTL_SECONDS": "lock_ttl_seconds",
    "LHT_WAREHOUSE_WAIT_SECONDS": "warehouse_wait_seconds",
    "DBT_PROFILES_DIR": "dbt_profiles_dir",
    "DBT_TARGET_PATH": "dbt_target_path",
    "DBT_TARGET": "dbt_target",
}

Parser = Callable[[Any], Any]


def _whole(minimum: int) -> Parser:
    def parse(raw: Any) -> int:
        if isinstance(raw, bool):
            raise ValueError
        value = int(raw)
        if value < minimum:
            raise ValueError
        return value

    return parse


def _number(minimum: float, *, above: bool = False) -> Parser:
    def parse(raw: Any) -> float:
        value = float(raw)
        if value < minimum or (above and value == minimum) or value != value:
            raise ValueError
        return value

    return parse


def _timeout(raw: Any) -> tuple[float, float]:
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
    return parts[0], parts[1]


def _share(raw: Any) -> float:
    value = float(raw)
    if not 0 < value <= 1:
        raise ValueError
    return value


def _flag(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
        raise ValueError
    return text in ("1", "true", "yes", "on")


def _choice(*choices: str) -> Parser:
    def parse(raw: Any) -> str:
        text = str(raw).strip().lower()
        if text not in choices:
            raise ValueError
        return text

    return parse


def _identifier(raw: Any) -> str:
    try:
        return check_identifier(raw)
    except InvalidNameError:
        raise ValueError from None


def _text(raw: Any) -> str:
    return str(raw)


#: field -> (parser, what a valid value looks like)
_PARSERS: dict[str, tuple[Parser, str]] = {
    "http_timeout": (_timeout, "seconds, or 'connect,read' seconds like 10,120"),
    "api_budget_share": (_share, "a fraction between 0 and 1, like 0.2"),
    "composite": (_flag, "1 (on, the default) or 0 (off)"),
    "retry_backoff_seconds": (_number(0), "a non-negative number of seconds"),
    "retry_backoff_max_seconds": (_number(0), "a non-negative number of seconds"),
    "rest_max_rows": (_whole(1), "a positive whole number"),
    "bulk_page_records": (_whole(1), "a positive whole number"),
    "download_workers": (_whole(1), "a positive whole number"),
    "bulk_deadline_seconds": (_whole(1), "a positive whole number"),
    "api_budget_calls": (_whole(1), "a positive whole number"),
    "push_bulk_max_bytes": (_whole(1), "a positive whole number"),
    "staging_schema": (_identifier, "a plain SQL identifier (letters, digits, underscores)"),
    "schema": (_identifier, "a plain SQL identifier (letters, digits, underscores)"),
    "duckdb_memory_limit": (_text, "a size DuckDB understands, like 96MB or 1GB"),
    "duckdb_threads": (_whole(1), "a positive whole number"),
    "duckdb_text_compression": (_choice("none", "auto"), "none (the default) or auto"),
    "snowflake_file_mb": (_number(0, above=True), "a positive number of megabytes"),
    "lock_ttl_seconds": (_number(0, above=True), "a positive number of seconds"),
    "dbt_profiles_dir": (_text, "a directory"),
    "dbt_target_path": (_text, "a directory"),
    "dbt_target": (_text, "a target name"),
}


def _parse(name: str, field_name: str, raw: Any) -> Any:
    """Convert one raw value (env text or override) to the field's type, or ConfigError."""
    parser, hint = _PARSERS.get(field_name, (_whole(0), "a non-negative whole number"))
    try:
        return parser(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}={raw!r} is not valid: expected {hint}") from None


def settings_from_env(
    env: Mapping[str, str] | None = None, *, skip_invalid: bool = False, **overrides: Any
) -> Settings:
    """Build Settings from ``env`` (default: the process environment), then keyword
    overrides; ConfigError naming the variable on a bad value, or, with ``skip_invalid``
    (recording a refusal that a bad value caused), that setting's default."""
    env = environment(env)
    values: dict[str, Any] = {"environ": env}
    for env_name, field_name in VARIABLES.items():
        raw = env.get(env_name)
        if raw is not None and raw.strip() != "":
            try:
                values[field_name] = _parse(env_name, field_name, raw.strip())
            except ConfigError:
                if not skip_invalid:
                    raise
    known = {f.name for f in dataclasses.fields(Settings)} - {"environ"}
    for key, raw in overrides.items():
        if key not in known:
            raise ConfigError(
                f"Unknown setting {key!r}; known settings: {', '.join(sorted(known))}"
            )
        values[key] = raw if raw is None else _parse(key, key, raw)
    return Settings(**values)
