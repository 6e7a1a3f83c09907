"""lht_devorg: a local Salesforce-compatible org over HTTPS, for the demo and the tests.

``DevOrg`` starts the engine (data, describes, SOQL) and an HTTPS server on
127.0.0.1 that answers what simple-salesforce sends, Salesforce's odd behaviours
included. ``lht devorg`` (:mod:`.cli`) runs one in the foreground.

Packages, each importing only those listed before it: the shared ground (``errors``,
``ids``, ``clock``, ``faults``, ``cursors``), ``meta`` (describes), ``soql`` (parser,
planner, rendering), ``core`` (the engine: records, writes, seed), ``bulk`` (query jobs),
``ingest`` (ingest jobs), ``bulk1`` (Bulk API 1.0 jobs), ``http`` (transport, auth,
routing, handlers); this module and ``cli`` sit on top.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from .bulk.query import BulkJobs
from .bulk1.jobs import Bulk1Jobs
from .clock import ShiftedClock
from .faults import FaultInjector
from .http.asgi import MAX_BODY_BYTES
from .http.auth import Authenticator, Credentials, TokenStore, make_jwt_key
from .http.limits import ApiLimits
from .http.server import OrgApp, OrgHTTPServer, serve_in_thread
from .http.tls import make_tls
from .ingest.jobs import IngestJobs

__all__ = ["DevOrg", "FLOWS", "ShiftedClock"]

log = logging.getLogger(__name__)

#: Credential flows ``DevOrg.env`` can describe.
FLOWS = ("token", "password", "client_credentials", "jwt", "refresh_token", "auth_url")


class DevOrg:
    """A running local org; use as a context manager (or call start/stop).

    ``clock`` (aware UTC datetimes) is the engine's time: record stamps, and the
    minute boundary of getDeleted/getUpdated coverage; tests can move it forward.
    ``keep_data`` reuses the records already in ``db_path`` instead of seeding afresh.
    ``max_body_bytes``: request bodies over this are refused (413) unread.
    ``soap_login=False``: the org acts as a new org, where SOAP ``login()`` is disabled
    (settable while it runs: ``org.soap_login = False``).
    ``ingest_batch_rows`` and ``ingest_parallel_batches``: how an ingest job is cut into
    batches processed at once, which lock each other's parents (:mod:`.ingest.locks`).
    """

    def __init__(
        self,
        counts: dict[str, int] | None = None,
        seed: int = 1,
        db_path: str | Path | None = None,
        port: int = 0,
        bulk_job_seconds: float = 0.3,
        api_daily_max: int = 15000,
        token_ttl_seconds: float | None = None,
        state_dir: str | Path | None = None,
        clock: Callable[[], datetime] | None = None,
        keep_data: bool = False,
        max_body_bytes: int = MAX_BODY_BYTES,
        soap_login: bool = True,
        ingest_batch_rows: int = 10_000,
        ingest_parallel_batches: int = 4,
    ) -> None:
        self.counts, self.seed, self.db_path, self.port = counts, seed, db_path, port
        self.ingest_batch_rows, self.ingest_parallel_batches = (
            ingest_batch_rows,
            ingest_parallel_batches,
        )
        self.bulk_job_seconds = bulk_job_seconds
        self.api_daily_max = api_daily_max
        self.token_ttl_seconds = token_ttl_seconds
        self.clock = clock
        self.keep_data = keep_data
        self.max_body_bytes = max_body_bytes
        self._soap_login = soap_login
        self._auth: Authenticator | None = None
        self._refresh_token: str | None = None
        self._state_dir_arg = Path(state_dir) if state_dir else None
        self._own_dir = False
        self._server: OrgHTTPServer | None = None
        self.faults = FaultInjector()
        self.admin_token = secrets.token_urlsafe(32)

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> DevOrg:
        """Seed the engine, make TLS material and keys, start serving."""
        from .core.engine import OrgEngine

        if self._state_dir_arg is None:
            self.state_dir = Path(tempfile.mkdtemp(prefix="lht-devorg-"))
            self._own_dir = True
        else:
            self.state_dir = self._state_dir_arg
            self.state_dir.mkdir(parents=True, exist_ok=True)
        tls = make_tls(self.state_dir)
        self.ca_path = str(tls.ca_path)
        self.private_key_path = str(self.state_dir / "jwt_private_key.pem")
        self.credentials = Credentials(public_key_pem=make_jwt_key(Path(self.private_key_path)))
        self.engine = OrgEngine(path=str(self.db_path) if self.db_path else None, clock=self.clock)
        if not (self.keep_data and self.engine.has_data()):
            self.engine.seed(counts=self.counts, seed=self.seed)
        self.limits = ApiLimits(daily_max=self.api_daily_max)
        self.tokens = TokenStore(self.token_ttl_seconds)
        self.bulk = BulkJobs(self.engine, self.bulk_job_seconds, spool_dir=self.state_dir / "bulk")
        server = OrgHTTPServer(
            ("127.0.0.1", self.port), None, tls.context, max_body_bytes=self.max_body_bytes
        )
        self.port = server.server_address[1]
        self.instance_url = f"https://127.0.0.1:{self.port}"
        self.login_url = self.instance_url
        auth = Authenticator(
            self.credentials, self.tokens, self.instance_url, soap_login_enabled=self._soap_login
        )
        self._auth = auth
        self.ingest = IngestJobs(
            self.engine,
            self.bulk_job_seconds,
            spool_dir=self.state_dir / "ingest",
            faults=self.faults,
            limits=self.limits,
            batch_rows=self.ingest_batch_rows,
            parallel=self.ingest_parallel_batches,
        )
        self.bulk1 = Bulk1Jobs(
            self.engine,
            self.bulk_job_seconds,
            spool_dir=self.state_dir / "bulk1",
            limits=self.limits,
        )
        server.app = OrgApp(
            self.engine,
            auth,
            self.tokens,
            self.limits,
            self.faults,
            self.bulk,
            self.admin_token,
            ingest=self.ingest,
            bulk1=self.bulk1,
        )
        self._server = server
        serve_in_thread(server)
        self.access_token = self.tokens.issue()
        log.info("local org serving at %s", self.instance_url)
        return self

    def stop(self) -> None:
        """Stop serving and remove the state directory if the org created it."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            self.bulk.close()
            self.ingest.close()
            self.bulk1.close()
            for kind in ("bulk", "ingest", "bulk1"):
                shutil.rmtree(self.state_dir / kind, ignore_errors=True)
            self.engine.close()
        if self._own_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)
            self._own_dir = False

    def __enter__(self) -> DevOrg:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- credentials ------------------------------------------------------------
    @property
    def username(self) -> str:
        return self.credentials.username

    @property
    def password(self) -> str:
        return self.credentials.password

    @property
    def security_token(self) -> str:
        return self.credentials.security_token

    @property
    def client_id(self) -> str:
        return self.credentials.client_id

    @property
    def client_secret(self) -> str:
        return self.credentials.client_secret

    @property
    def domain(self) -> str:
        """simple-salesforce ``domain=`` reaching this org: its login URLs become
        ``https://127.0.0.1:PORT/login.salesforce.com/services/...``, which the org serves."""
        return f"127.0.0.1:{self.port}/login"

    @property
    def api_calls(self) -> int:
        """API requests counted today."""
        return self.limits.used

    @property
    def soap_login(self) -> bool:
        """Whether SOAP ``login()`` is enabled (False: answered ``INVALID_OPERATION``)."""
        return self._auth.soap_login_enabled if self._auth is not None else self._soap_login

    @soap_login.setter
    def soap_login(self, enabled: bool) -> None:
        self._soap_login = enabled
        if self._auth is not None:
            self._auth.soap_login_enabled = enabled

    def new_token(self) -> str:
        """Issue one more valid session id."""
        return self.tokens.issue()

    def new_refresh_token(self) -> str:
        """Issue a refresh token of the org's app, as the web server flow would after the
        user approved it in a browser."""
        assert self._auth is not None, "the org is not started"
        return self._auth.web.new_refresh_token()

    @property
    def refresh_token(self) -> str:
        """The refresh token ``env("refresh_token")`` and ``env("auth_url")`` use (issued once)."""
        if self._refresh_token is None:
            self._refresh_token = self.new_refresh_token()
        return self._refresh_token

    def auth_url(self, refresh_token: str | None = None) -> str:
        """The SFDX auth URL of the org's app: ``force://id:secret:refresh token@host:port``."""
        return (
            f"force://{self.client_id}:{self.client_secret}:{refresh_token or self.refresh_token}"
            f"@127.0.0.1:{self.port}"
        )

    def expire_tokens(self) -> None:
        """Every session id issued so far becomes invalid (401 INVALID_SESSION_ID)."""
        self.tokens.expire_all()

    def env(self, flow: str = "token") -> dict[str, str]:
        """Environment variables for lht to reach this org with ``flow``."""
        if flow not in FLOWS:
            raise ValueError(f"unknown flow {flow!r}; use one of {', '.join(FLOWS)}")
        env = {"REQUESTS_CA_BUNDLE": self.ca_path}
        if flow == "token":
            env.update(SF_INSTANCE_URL=self.instance_url, SF_ACCESS_TOKEN=self.access_token)
        elif flow == "password":
            env.update(
                SF_USERNAME=self.username,
                SF_PASSWORD=self.password,
                SF_SECURITY_TOKEN=self.security_token,
                SF_LOGIN_URL=self.login_url,
            )
        elif flow == "client_credentials":
            env.update(
                SF_CLIENT_ID=self.client_id,
                SF_CLIENT_SECRET=self.client_secret,
                SF_LOGIN_URL=self.login_url,
            )
        elif flow == "jwt":
            env.update(
                SF_CLIENT_ID=self.client_id,
                SF_USERNAME=self.username,
                SF_PRIVATE_KEY_FILE=self.private_key_path,
                SF_LOGIN_URL=self.login_url,
            )
        elif flow == "refresh_token":
            env.update(
                SF_CLIENT_ID=self.client_id,
                SF_CLIENT_SECRET=self.client_secret,
                SF_REFRESH_TOKEN=self.refresh_token,
                SF_LOGIN_URL=self.login_url,
            )
        else:
            env.update(SF_AUTH_URL=self.auth_url())
        return env

    def admin_headers(self) -> dict[str, str]:
        """Headers for the ``/__devorg/`` admin endpoints."""
        return {"Authorization": f"Bearer {self.admin_token}"}

    def __repr__(self) -> str:
        return f"DevOrg({getattr(self, 'instance_url', 'not started')})"

    def __getstate__(self) -> Any:  # a running server cannot be pickled
        raise TypeError("a DevOrg cannot be pickled")
