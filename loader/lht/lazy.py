"""Modules a run may not need, imported on first use: pyarrow and its parts.

A run with nothing to do writes no Arrow data, so it need not pay pyarrow's import (a
quarter of a second and ~50 MB with numpy). Modules of every wing write
``from lht.lazy import pa`` (``pc``, ``pacsv``, ``pq``) where they would write
``import pyarrow as pa``: the name is a stand-in that imports the real module at its first
attribute access and is, from then on, as fast as the module itself (the attribute is kept
on the stand-in). Type checkers see the real modules. Imports nothing of lht.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

__all__ = ["LazyModule", "pa", "pacsv", "pc", "pq"]


class LazyModule:
    """A stand-in for module ``name``, imported at the first attribute read."""

    def __init__(self, name: str) -> None:
        self.__dict__["_lazy_name"] = name
        self.__dict__["_lazy_module"] = None

    def _load(self) -> ModuleType:
        module = self.__dict__["_lazy_module"]
        if module is None:
            module = importlib.import_module(self.__dict__["_lazy_name"])
            self.__dict__["_lazy_module"] = module
        return module

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._load(), attr)
        if not attr.startswith("__"):
            self.__dict__[attr] = value  # the next read finds it without __getattr__
        return value

    def __repr__(self) -> str:
        return f"<lazy module {self.__dict__['_lazy_name']!r}>"


if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
else:
    pa = LazyModule("pyarrow")
    pc = LazyModule("pyarrow.compute")
    pacsv = LazyModule("pyarrow.csv")
    pq = LazyModule("pyarrow.parquet")
