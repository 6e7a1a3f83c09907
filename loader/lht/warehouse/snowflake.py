"""The Snowflake side of :mod:`lht.warehouse.connection`: the session, identifiers upper-cased, and
credentials (password or key pair) taken from the dbt profile the way dbt-snowflake takes them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from lht.errors import ConfigError, WarehouseError
from lht.lazy import pa
from lht.warehouse.connection import Warehouse
from lht.warehouse.target import Target


class SnowflakeWarehouse(Warehouse):
    """A Snowflake session (``paramstyle=qmark``); identifiers stored upper-case."""

    kind = "snowflake"

    def __init__(
        self,
        target: Target,
        staging_schema: str,
        conn: Any,
        session_lock: threading.RLock | None = None,
    ) -> None:
        super().__init__(target, staging_schema, (target.database or "").upper() or None)
        self.conn = conn
        self._owner = session_lock is None
        self._lock = session_lock or threading.RLock()

    def session_guard(self) -> AbstractContextManager[Any]:
        """Held while a statement or transaction uses the session shared with thread views."""
        return self._lock

    def column_name(self, api_name: str) -> str:
        return api_name.upper()

    def table(self, name: str, schema: str | None = None) -> str:
        base = super().table(name, schema)
        return f"{self.quote(self.database)}.{base}" if self.database else base

    def _schema_ref(self, schema: str) -> str:
        return (
            f"{self.quote(self.database)}.{self.quote(schema)}"
            if self.database
            else self.quote(schema)
        )

    def _execute(self, sql: str, params: Sequence[Any] | None) -> list[tuple]:
        with self._lock, self.conn.cursor() as cur:
            cur.execute(sql, list(params) if params is not None else None)
            return list(cur.fetchall()) if cur.description else []

    def _fetch_arrow(self, sql: str, params: Sequence[Any] | None) -> pa.Table:
        with self._lock, self.conn.cursor() as cur:
            cur.execute(sql, list(params) if params is not None else None)
            names = [d[0] for d in cur.description]
            fetch = getattr(cur, "fetch_arrow_all", None)
            table = fetch(force_return_table=True) if fetch else None
            if table is None:  # cursors without Arrow results
                rows = cur.fetchall()
                table = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})
            return table

    def _stream_arrow(
        self, sql: str, params: Sequence[Any] | None, batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        cur = self.conn.cursor()
        try:
            with self._lock:
                cur.execute(sql, list(params) if params is not None else None)
            for table in cur.fetch_arrow_batches():
                yield from table.to_batches(max_chunksize=batch_rows)
        finally:
            cur.close()

    def _is_engine_error(self, exc: Exception) -> bool:
        import snowflake.connector

        return isinstance(exc, snowflake.connector.errors.Error)

    def _columns(self, table: str, schema: str) -> list[tuple]:
        info = (
            f"{self.quote(self.database)}.information_schema.columns"
            if self.database
            else "information_schema.columns"
        )
        return self.execute(
            f"SELECT column_name, data_type FROM {info} WHERE table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position",
            [schema, table],
        )

    def _tables(self, schemas: Sequence[str]) -> list[tuple]:
        info = (
            f"{self.quote(self.database)}.information_schema.tables"
            if self.database
            else "information_schema.tables"
        )
        return self.execute(
            f"SELECT table_schema, table_name FROM {info} WHERE table_schema IN "
            f"({', '.join('?' for _ in schemas)})",
            list(schemas),
        )

    def cursor_for_thread(self) -> SnowflakeWarehouse:
        """A view sharing this session (the connector is thread-safe); statements and
        transactions of all views take turns on it. Closing a view leaves the session open."""
        return SnowflakeWarehouse(self.target, self.staging_schema, self.conn, self._lock)

    def close(self) -> None:
        if self._owner:
            self.conn.close()


def _snowflake_kwargs(target: Target) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "account": target.account,
        "user": target.user,
        "role": target.role,
        "warehouse": target.warehouse,
        "database": target.database,
        "schema": target.schema,
        "host": target.host,
        "port": target.port,
        "protocol": target.protocol,
        "authenticator": target.authenticator,
        "token": target.token,
        "password": target.password,
        "private_key": _private_key(target),
        "paramstyle": "qmark",
        "application": "lht",
        "login_timeout": target.extra.get("connect_timeout"),
        # as dbt-snowflake: no cloud-platform probing (it adds seconds to every login)
        "platform_detection_timeout_seconds": 0.0,
    }
    session: dict[str, Any] = {"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False}
    if target.extra.get("query_tag"):
        session["QUERY_TAG"] = str(target.extra["query_tag"])
    kwargs["session_parameters"] = session
    return {k: v for k, v in kwargs.items() if v is not None}


def _private_key(target: Target) -> bytes | None:
    """DER bytes of the profile's private key, loaded the way dbt-snowflake loads it."""
    if not (target.private_key or target.private_key_path):
        return None
    if target.private_key and target.private_key_path:
        raise ConfigError(f"{target.where} sets both private_key and private_key_path: keep one.")
    from dbt.adapters.snowflake.auth import private_key_from_file, private_key_from_string
    from dbt.adapters.snowflake.connections import snowflake_private_key

    try:
        if target.private_key:
            key = private_key_from_string(target.private_key, target.private_key_passphrase)
        else:
            key = private_key_from_file(str(target.private_key_path), target.private_key_passphrase)
    except OSError as exc:
        raise ConfigError(
            f"Cannot read private_key_path {target.private_key_path} of {target.where}: {exc.strerror}"
        ) from None
    except (ValueError, TypeError):
        raise ConfigError(
            f"The private key of {target.where} cannot be loaded: check that it is a PEM (or base64 DER) "
            "key and that private_key_passphrase is right."
        ) from None
    return snowflake_private_key(key)


def _snowflake_connect(kwargs: dict[str, Any]) -> Any:
    import snowflake.connector

    try:
        return snowflake.connector.connect(**kwargs)
    except snowflake.connector.errors.Error as exc:
        raise WarehouseError(
            f"Cannot connect to Snowflake account {kwargs.get('account')!r} as {kwargs.get('user')!r}: "
            f"{getattr(exc, 'msg', None) or type(exc).__name__}. Check the profile's account, user and credentials."
        ) from None


def connect_snowflake(target: Target, staging_schema: str) -> SnowflakeWarehouse:
    """Open a Snowflake session for ``target`` (``paramstyle=qmark``)."""
    return SnowflakeWarehouse(target, staging_schema, _snowflake_connect(_snowflake_kwargs(target)))
