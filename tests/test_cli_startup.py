"""The ``lht`` console script's process set-up: pyarrow converts Python values without
importing pandas (a quarter second and ~40 MB per command), and pandas still works with
pyarrow when something asks for it. Each case runs in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

import pytest

#: after `lht --version`, in the same process: what pyarrow and pandas do
PROBE = """
import sys
sys.argv = ["lht", "--version"]
from lht.cli import main
try:
    main()
except SystemExit:
    pass
import pyarrow as pa
pa.array(["a", None]); pa.scalar(1.5); pa.table({"n": [1, 2]})
print("pandas loaded by conversions:", "pandas" in sys.modules)
import pandas as pd
table = pa.Table.from_pandas(pd.DataFrame({"x": [1.0, float("nan")]}))
print("NaN from pandas is null:", table.column("x").null_count == 1)
print("back to pandas:", table.to_pandas()["x"].isna().tolist() == [False, True])
print("a Series is array-like:", pa.array(pd.Series([2.0, float("nan")])).null_count == 1)
"""


@pytest.fixture(scope="module")
def probe_lines() -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_the_console_script_converts_python_values_without_importing_pandas(
    probe_lines: list[str],
) -> None:
    assert "pandas loaded by conversions: False" in probe_lines


def test_pandas_conversions_still_work_after_the_console_script_set_up(
    probe_lines: list[str],
) -> None:
    assert [line.rpartition(": ")[2] for line in probe_lines[-3:]] == ["True", "True", "True"], (
        probe_lines
    )
