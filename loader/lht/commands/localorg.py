"""The local org, a distribution of its own (``lht-devorg``, lht's ``devorg`` extra), imported
only by the commands that run it (``lht devorg``, the demo)."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from lht.errors import LocalOrgMissingError

PACKAGE = "lht_devorg"
INSTALL = "install it with `pip install 'lht[devorg]'` (in a clone of lht: `make install`)"


def import_local_org(module: str = PACKAGE) -> ModuleType:
    """``module`` of the local org (``lht_devorg`` or one of its modules).

    Raises LocalOrgMissingError, naming the fix, when the local org is not installed or one
    of its own dependencies is missing.
    """
    if importlib.util.find_spec(PACKAGE) is None:
        raise LocalOrgMissingError(
            f"the local org (package lht-devorg) is not installed; {INSTALL}"
        )
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name == PACKAGE or exc.name.startswith(f"{PACKAGE}."):
            raise  # the local org itself is broken, not missing: the traceback helps
        raise LocalOrgMissingError(
            f"the local org (lht-devorg) needs {exc.name}, which is not installed; {INSTALL}"
        ) from None
