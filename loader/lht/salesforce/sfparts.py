"""The light parts of simple-salesforce, without importing its whole package.

``import simple_salesforce`` (or any of its modules: a package's ``__init__`` runs first)
loads its REST, Bulk, SOAP login, JWT and Metadata API clients, the latter with zeep and
lxml: about as long as DuckDB's own import, on every run. A sync with nothing to do needs
only three small modules of it: ``format`` (``format_soql``), ``exceptions`` and ``util``
(``call_salesforce``, ``exception_handler``, ``date_to_iso8601``). This module loads those
three from simple-salesforce's installed files as the modules ``simple_salesforce.format``,
``.exceptions`` and ``.util``, without the package's ``__init__``; when the package is
imported later (a REST query, a login), its ``__init__`` finds them already loaded and
uses them: one ``SalesforceError`` class either way. When the package is already imported,
its own modules are used.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

__all__ = [
    "SalesforceExpiredSession",
    "SfError",
    "call_salesforce",
    "date_to_iso8601",
    "exception_handler",
    "format_soql",
]

_PACKAGE = "simple_salesforce"


def _load(name: str) -> ModuleType:
    """``simple_salesforce.<name>`` (a module importing only the standard library, requests
    and modules loaded before it), without running the package's ``__init__``."""
    full = f"{_PACKAGE}.{name}"
    if full in sys.modules:
        return sys.modules[full]
    if _PACKAGE in sys.modules:
        return importlib.import_module(full)
    package = importlib.util.find_spec(_PACKAGE)
    if package is None or not package.submodule_search_locations:
        return importlib.import_module(full)  # not a plain package: let the import say why
    spec = importlib.util.spec_from_file_location(
        full, Path(next(iter(package.submodule_search_locations))) / f"{name}.py"
    )
    if spec is None or spec.loader is None:
        return importlib.import_module(full)
    module = importlib.util.module_from_spec(spec)
    sys.modules[full] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[full]
        raise
    return module


_exceptions = _load("exceptions")
_format = _load("format")
_util = _load("util")

SfError = _exceptions.SalesforceError
SalesforceExpiredSession = _exceptions.SalesforceExpiredSession
format_soql = _format.format_soql
call_salesforce = _util.call_salesforce
exception_handler = _util.exception_handler
date_to_iso8601 = _util.date_to_iso8601
