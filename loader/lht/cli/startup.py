"""Process set-up of the ``lht`` console script, before any command runs.

pyarrow imports pandas, when it is installed, at its first conversion of a Python value
(``pa.array``, ``pa.scalar``), only to recognise pandas objects; lht converts none, and the
import costs a quarter to half a second and about 40 MB on every command. The console
script lets that first probe find no pandas, so pyarrow converts Python values without
it. pandas itself stays importable: pyarrow's pandas conversions (``Table.from_pandas``,
``to_pandas``) import it when they are called, as before.

pyarrow itself is imported only by the commands that need it (:mod:`lht.lazy`): a sync
with nothing to do never loads it. So the probe runs when pyarrow is first imported,
by whichever module imports it, right after its import.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any


class _PandasAbsent(importlib.abc.MetaPathFinder):
    """A finder under which ``import pandas`` fails, for pyarrow's one probe."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname == "pandas":
            raise ImportError("pandas is not loaded by lht's commands")
        return None


def _probe(pa: Any) -> None:
    """pyarrow's first conversion, under a finder that finds no pandas."""
    if "pandas" in sys.modules:
        return
    finder = _PandasAbsent()
    sys.meta_path.insert(0, finder)
    try:
        pa.scalar(0)  # pyarrow tries `import pandas` once, here, and converts without it after
    finally:
        sys.meta_path.remove(finder)


class _ProbeAfterLoading(importlib.abc.Loader):
    """pyarrow's own loader, followed by :func:`_probe` once the package is loaded."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        _probe(module)

    def __getattr__(self, name: str) -> Any:  # resource readers and the like: pyarrow's loader's
        return getattr(self.loader, name)


class _WhenArrowLoads(importlib.abc.MetaPathFinder):
    """Finds pyarrow through the other finders (once), with :class:`_ProbeAfterLoading`."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != "pyarrow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _ProbeAfterLoading(spec.loader)
        return spec


def arrow_without_pandas() -> None:
    """Make pyarrow's first-conversion probe for pandas find none (unless pandas is loaded):
    now if pyarrow is loaded, else right after it is."""
    if "pandas" in sys.modules:
        return
    if "pyarrow" in sys.modules:
        _probe(sys.modules["pyarrow"])
    elif not any(isinstance(f, _WhenArrowLoads) for f in sys.meta_path):
        sys.meta_path.insert(0, _WhenArrowLoads())
