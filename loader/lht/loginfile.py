"""The login ``lht login`` stores: one JSON file only its owner can read (mode 0600).

It holds the refresh token of the OAuth web server flow, the app's client id (and secret,
when the app has one), the login URL and the org's instance URL. ``lht.config`` reads it
(the ``stored`` flow, used when no ``SF_*`` login variables are set), ``lht login`` writes
it, ``lht logout`` removes it. Where it lives is a setting (``lht.config.login_file``).

The file is written whole or not at all (a private temporary file in the same directory,
then renamed), in a directory only its owner can enter. A file that others can read is
refused, as ssh refuses a private key that others can read.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lht.errors import CredentialsError

#: The keys of the file's JSON object.
_FIELDS = (
    "login_url",
    "instance_url",
    "client_id",
    "client_secret",
    "refresh_token",
    "identity_url",
    "issued_at",
)


@dataclass(frozen=True)
class StoredLogin:
    """One stored login; the secrets never show in ``repr()``."""

    login_url: str
    instance_url: str
    client_id: str
    refresh_token: str = field(repr=False)
    client_secret: str | None = field(default=None, repr=False)
    identity_url: str | None = None
    issued_at: str | None = None


def read_login(path: Path) -> StoredLogin | None:
    """The login stored at ``path``; None when there is none. CredentialsError when the file
    is not one ``lht login`` wrote, or others can read it."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CredentialsError(
            f"The login stored by `lht login` at {path} cannot be read "
            f"({exc.strerror}); run `lht login` again"
        ) from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CredentialsError(
            f"The login stored by `lht login` at {path} can be read by other users "
            f"(mode {stat.S_IMODE(mode):04o}); run `chmod 600 {path}`, or `lht logout` and "
            "`lht login` again"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        values = {key: data.get(key) for key in _FIELDS}
        login = StoredLogin(**values)
        if not all(
            isinstance(getattr(login, k), str) and getattr(login, k)
            for k in ("login_url", "instance_url", "client_id", "refresh_token")
        ):
            raise ValueError
    except (OSError, ValueError, TypeError, AttributeError):
        raise CredentialsError(
            f"{path} is not a login stored by `lht login`; run `lht logout` then `lht login` again"
        ) from None
    return login


def write_login(path: Path, login: StoredLogin) -> None:
    """Store ``login`` at ``path`` (mode 0600; its directory 0700 when created)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = json.dumps({k: v for k, v in asdict(login).items() if v is not None}, indent=2) + "\n"
    # mkstemp creates the file 0600: the secret is never readable by others, not even briefly
    handle, partial = tempfile.mkstemp(prefix=".login-", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def remove_login(path: Path) -> bool:
    """Remove the stored login; False when there was none."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
