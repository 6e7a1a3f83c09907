"""Errors the local org answers with, shaped exactly as Salesforce's REST error bodies."""

from __future__ import annotations


class OrgError(Exception):
    """A Salesforce API error: HTTP status, ``errorCode`` and message.

    ``body()`` is the JSON array Salesforce sends: ``[{"message", "errorCode", "fields"?}]``.
    """

    def __init__(self, status: int, error_code: str, message: str, fields: list[str] | None = None):
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields

    def body(self) -> list[dict]:
        """The response body Salesforce sends for this error."""
        item: dict = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            item["fields"] = list(self.fields)
        return [item]


def malformed(message: str) -> OrgError:
    """A 400 MALFORMED_QUERY."""
    return OrgError(400, "MALFORMED_QUERY", message)


def not_found() -> OrgError:
    """Salesforce's 404 for an unknown resource or record."""
    return OrgError(404, "NOT_FOUND", "The requested resource does not exist")
