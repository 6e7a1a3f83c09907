"""Typed exceptions. Each message says what went wrong and what the user can do about it.

Library code raises these; only the CLI turns them into output and exit codes.
"""

from __future__ import annotations


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
    ``invalid_client``): lht does not log in again within the run."""


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

    def __init__(self, message: str, field: str | None = None,
                 object_name: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.object_name = object_name


class DeletedWindowError(SalesforceError):
    """getDeleted cannot answer: start is older than Salesforce keeps deletions, or too many ids."""


class BulkUnsupportedError(BulkJobError):
    """Bulk API 2.0 refuses this object or query (INVALIDENTITY, compound fields): use REST."""


class WarehouseError(LhtError):
    """The warehouse refused a statement or could not be reached."""


class WarehouseBusyError(WarehouseError):
    """Another process has the DuckDB file open for writing (an ``lht sync``, a ``dbt build``),
    so it cannot be read now."""


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
