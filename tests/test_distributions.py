"""lht and the local org are two distributions: lht alone installs no server.

The local org (``devorg/``, distribution ``lht-devorg``) brings uvicorn, httptools and
trustme; lht reaches it through its ``devorg`` extra. Without it, ``lht devorg`` and the
demo say in one line how to install it (exit 2, no traceback).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
#: What only the local org needs: the HTTPS server and the throw-away CA.
SERVER_ONLY = {"uvicorn", "httptools", "trustme"}


def _requirements(distribution: str, extra: str = "") -> set[str]:
    """Names of what installing ``distribution`` installs (with ``extra``: what that extra adds)."""
    names = set()
    for text in metadata.requires(distribution) or []:
        requirement = Requirement(text)
        always = requirement.marker is None or requirement.marker.evaluate({"extra": ""})
        wanted = (not always and requirement.marker.evaluate({"extra": extra})) if extra else always
        if wanted:
            names.add(requirement.name.lower().replace("_", "-"))
    return names


def test_lht_alone_requires_no_server_and_no_certificate_authority() -> None:
    assert _requirements("lht") & SERVER_ONLY == set()
    assert "lht-devorg" not in _requirements("lht")


def test_the_devorg_extra_of_lht_brings_the_local_org() -> None:
    assert _requirements("lht", "devorg") == {"lht-devorg"}


def test_the_local_org_declares_the_server_it_runs() -> None:
    assert SERVER_ONLY <= _requirements("lht-devorg")
    assert "lht" not in _requirements("lht-devorg")  # the org never needs the loader


def test_the_loader_never_imports_what_only_the_local_org_needs() -> None:
    wrong = []
    for path in sorted((ROOT / "loader" / "lht").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            wrong += [
                f"{path.relative_to(ROOT)} imports {name}"
                for name in names
                if name.split(".")[0] in SERVER_ONLY
            ]
    assert not wrong, wrong


def _without(tmp_path: Path, module: str, *argv: str) -> subprocess.CompletedProcess:
    """Run ``argv`` from the repository root as if ``module`` were not installed."""
    (tmp_path / "sitecustomize.py").write_text(f"import sys\nsys.modules[{module!r}] = None\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "argv",
    [("lht", "devorg"), ("lht", "devorg", "--port", "0"), ("python", "-m", "lht.commands.demo")],
    ids=["lht devorg", "lht devorg --port 0", "make demo"],
)
def test_without_the_local_org_it_says_how_to_install_it(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    result = _without(tmp_path, "lht_devorg", str(BIN / argv[0]), *argv[1:])
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "lht-devorg" in lines[0] and "is not installed" in lines[0]
    assert "pip install 'lht[devorg]'" in lines[0] and "make install" in lines[0]


def test_without_a_dependency_of_the_local_org_it_names_the_dependency(tmp_path: Path) -> None:
    result = _without(tmp_path, "uvicorn", str(BIN / "lht"), "devorg")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: the local org (lht-devorg) needs uvicorn, which is not installed; install it with "
        "`pip install 'lht[devorg]'` (in a clone of lht: `make install`)"
    ]


def test_lht_help_still_lists_devorg_without_the_local_org(tmp_path: Path) -> None:
    result = _without(tmp_path, "lht_devorg", str(BIN / "lht"), "--help")
    assert result.returncode == 0, result.stderr
    assert "devorg" in result.stdout and "Traceback" not in result.stderr
