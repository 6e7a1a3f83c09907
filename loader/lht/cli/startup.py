"""Process set-up of the ``lht`` console script, before any command runs.

pyarrow imports pandas, when it is installed, at its first conversion of a Python value
(``pa.array``, ``pa.scalar``), only to recognise pandas objects; lht converts none, and the
import costs a quarter to half a second and about 40 MB on every command. The console
script lets that first probe find no pandas, so pyarrow converts Python values without
it. pandas itself stays importable: pyarrow's pandas conversions (``Table.from_pandas``,
``to_pandas``) import it when they are called, as before.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType


class _PandasAbsent(importlib.abc.MetaPathFinder):
    """A finder under which ``import pandas`` fails, for pyarrow's one probe."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if fullname == "pandas":
            raise ImportError("pandas is not loaded by lht's commands")
        return None


def arrow_without_pandas() -> None:
    """Make pyarrow's first-conversion probe for pandas find none (unless pandas is loaded)."""
    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    finder = _PandasAbsent()
    sys.meta_path.insert(0, finder)
    try:
        pa.scalar(0)  # pyarrow tries `import pandas` once, here, and converts without it after
    finally:
        sys.meta_path.remove(finder)
