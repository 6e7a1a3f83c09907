"""Typed exceptions. Each message says what went wrong and what the user can do about it.

Library code raises these; only the CLI turns them into output and exit codes. Also what
those messages share: a write that found no room (:func:`no_room`, :func:`free_space`) and
the one way a URL is shown, without its userinfo (:func:`redact_url`, :func:`redact_urls`).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


class LhtError(Exception):
    """Base of every error lht raises on purpose. ``str(err)`` is safe to show a user."""

    #: Process exit code the CLI uses for this kind of error.
    exit_code = 1


class ConfigError(LhtError):
    """Settings, environment variables, profile or project files are missing or wrong."""

    exit_code = 2


class CredentialsError(ConfigError):
    """Salesforce credentials in the environment are incomplete or conflicting."""


class ObjectNotRegisteredError(ConfigError):
    """An object was named that the project has not registered."""


class InvalidNameError(ConfigError):
    """An object, field or table name is not a valid Salesforce/SQL identifier."""


class SalesforceError(LhtError):
    """Salesforce refused or failed a call in a way retrying will not fix.

    ``http_status`` is the HTTP status of Salesforce's answer, when there was one.
    """

    http_status: int | None = None


class AuthenticationError(SalesforceError):
    """Login failed or the session cannot be renewed."""


class LoginRefusedError(AuthenticationError):
    """Salesforce refused the credentials (SOAP ``INVALID_LOGIN``, OAuth ``invalid_grant`` or
    ``invalid_client``): lht does not log in again within the run. Configuration to fix:
    exit 2, like every refusal."""

    exit_code = 2


class ApiLimitError(SalesforceError):
    """The org's API quota (REQUEST_LIMIT_EXCEEDED) or lht's own call budget is spent."""


class BulkJobError(SalesforceError):
    """A Bulk API 2.0 job failed, was aborted, or did not finish before its deadline."""


class ObjectNotFoundError(SalesforceError):
    """The object does not exist in the org, or the user cannot read it."""


class FieldsChangedError(SalesforceError):
    """A queried field no longer exists (INVALID_FIELD): re-describe the object and retry.

    ``field`` and ``object_name`` are parsed from Salesforce's message when it names them.
    """

    def __init__(
        self, message: str, field: str | None = None, object_name: str | None = None
    ) -> None:
        super().__init__(message)
        self.field = field
        self.object_name = object_name


class DeletedWindowError(SalesforceError):
    """getDeleted cannot answer: start is older than Salesforce keeps deletions, or too many ids."""


class BulkUnsupportedError(BulkJobError):
    """Bulk API 2.0 refuses this object or query (INVALIDENTITY, compound fields): use REST."""


class BulkQuotaError(BulkJobError):
    """Salesforce refused a Bulk API 2.0 query job for the org's daily allowance (Bulk API
    2.0's ``ExceededQuota``; also ``LIMIT_EXCEEDED``): REST can still read the object."""


class WarehouseError(LhtError):
    """The warehouse refused a statement or could not be reached."""


class WarehouseMissingError(ConfigError):
    """A command that only reads found no warehouse file (nothing has been synced there yet)."""


class ConcurrentRunError(LhtError):
    """Another ``lht sync`` holds the lock on this target."""

    exit_code = 3


class PruneRefusedError(ConfigError):
    """``lht prune`` was asked to prune an object whose history model needs every staged version."""


class JobNotFoundError(SalesforceError):
    """No Bulk API 2.0 query job has this id (or it was already deleted)."""


class MergeRefusedError(ConfigError):
    """``lht merge`` refused a merge model's rows before any call (malformed or conflicting Ids)."""


class LocalOrgMissingError(ConfigError):
    """The local org (the distribution ``lht-devorg``) or one of its dependencies is not installed."""


class WarehouseBusyError(ConcurrentRunError):
    """Another program (``dbt build``, a notebook, another lht command) has the DuckDB file open.

    ``path`` is the database file; ``pid`` and ``holder`` name the process holding it, when
    DuckDB says (``holder`` is its command line, else its executable).
    """

    def __init__(
        self, message: str, path: str, pid: int | None = None, holder: str | None = None
    ) -> None:
        super().__init__(message)
        self.path = path
        self.pid = pid
        self.holder = holder


class DiskFullError(LhtError):
    """A write failed because the disk (or a file-size limit) left no room."""

    @classmethod
    def at(cls, path: str | os.PathLike[str], what: str, cause: str) -> DiskFullError:
        """The error for ``what`` (e.g. "Writing the DuckDB database") failing at ``path``."""
        return cls(
            f"Disk full: {what} failed at {path} ({cause}); {free_space(path)} free on its "
            "filesystem. Nothing of the failed write was kept. Free disk space (or raise the file-size "
            "limit, `ulimit -f`) and rerun."
        )


#: errno values of a write that found no room: ENOSPC, EFBIG (a file-size limit), EDQUOT.
NO_ROOM_ERRNOS = frozenset(
    e for e in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", None)) if e
)
#: How engines word the same errors when they give text instead of an errno.
NO_ROOM_TEXTS = ("no space left on device", "file too large", "disk quota exceeded")


def no_room(exc: BaseException) -> str | None:
    """The reason ("No space left on device", "File too large") if ``exc`` is a write that
    found no room, else None. Reads ``errno`` when set, else the message."""
    code = getattr(exc, "errno", None)
    if code in NO_ROOM_ERRNOS:
        return os.strerror(code)
    text = str(exc).lower()
    return next((t.capitalize() for t in NO_ROOM_TEXTS if t in text), None)


def free_space(path: str | os.PathLike[str]) -> str:
    """Free space on the filesystem of ``path`` (or of its nearest existing parent), as text."""
    here = Path(path).absolute()
    while not here.exists() and here != here.parent:
        here = here.parent
    try:
        free = shutil.disk_usage(here).free
    except OSError:
        return "unknown space"
    for unit, size in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if free >= size:
            return f"{free / size:,.1f} {unit}"
    return f"{free} bytes"


#: A URL's scheme and authority up to its last ``@`` (the userinfo ends there).
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s'\"<>]*@")


def redact_url(url: str) -> str:
    """``url`` without its userinfo (``https://user:pass@host/x`` -> ``https://***@host/x``).

    The one way lht shows a URL: a login or instance URL may carry a user name and password.
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(
        (
            parts.scheme,
            "***@" + parts.netloc.rsplit("@", 1)[1],
            parts.path,
            parts.query,
            parts.fragment,
        )
    )


def redact_urls(text: str) -> str:
    """``text`` with the userinfo of every URL in it replaced by ``***`` (error texts, log lines)."""
    return _USERINFO.sub(r"\1***@", text)
