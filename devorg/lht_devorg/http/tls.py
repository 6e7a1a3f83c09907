"""TLS for the local org: a throw-away certificate authority made with trustme.

The CA certificate (public) is written to ``ca.pem`` in the org's state directory so
clients can trust it (``REQUESTS_CA_BUNDLE``); the CA's private key never touches disk.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

#: Names the server certificate is valid for.
SERVER_NAMES = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class TlsMaterial:
    """The server's TLS context and where the CA certificate was written."""

    ca_path: Path
    context: ssl.SSLContext


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by the owner only (0600), from creation on."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(path, 0o600)


def make_tls(directory: Path) -> TlsMaterial:
    """Create a CA and a server certificate for 127.0.0.1; write ``directory/ca.pem``."""
    ca = trustme.CA(organization_name="lht devorg", organization_unit_name="local org")
    leaf = ca.issue_cert(*SERVER_NAMES)
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca.cert_pem.bytes())
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    leaf.configure_cert(context)
    return TlsMaterial(ca_path=ca_path, context=context)
