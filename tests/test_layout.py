"""The layout of the loader and of the local org: each wing imports only what sits below it.

Reads every module's imports with ``ast`` (function-level imports included), so a lazy
import cannot hide a wrong direction. The ranks are those of docs/design.md, "Where things
are". The loader: the shared ground, then the Salesforce and warehouse wings side by side
(neither may import the other), then ``lht.project``, then the run wings (sync, push, merge,
side by side), then the commands, then the CLI. The local org: its shared ground, then
``meta``, ``soql``, ``core``, ``bulk``, ``ingest``, ``http``, then its front door
(``DevOrg``) and ``lht devorg``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOADER = ROOT / "loader" / "lht"
DEVORG = ROOT / "devorg" / "lht_devorg"

#: wing -> rank; a module may import its own wing or a wing of lower rank.
RANKS = {
    "base": 0,
    "salesforce": 1,
    "warehouse": 1,
    "project": 2,
    "manifest": 2,
    "writeback": 2,
    "catalog": 2,
    "sync": 3,
    "push": 3,
    "merge": 3,
    "commands": 4,
    "cli": 5,
}
BASE_MODULES = {
    "__init__",
    "clock",
    "config",
    "constants",
    "dbtfiles",
    "errors",
    "lazy",
    "loginfile",
    "names",
    "typemap",
    "pipeline",
}


def wing_of(module: str) -> str:
    """The wing of a dotted ``lht`` module name (``lht.salesforce.bulk`` -> ``salesforce``)."""
    parts = module.split(".")
    assert parts[0] == "lht", module
    if len(parts) == 1:
        return "base"
    head = parts[1]
    if head in RANKS and head not in ("base",):
        return head
    if head in BASE_MODULES:
        return "base"
    raise AssertionError(
        f"{module}: a top-level module outside the known wings; add it to "
        "RANKS or BASE_MODULES here and to docs/design.md"
    )


def module_name(path: Path, root: Path, package: str) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = [package, *rel.parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, module: str) -> set[str]:
    """Every absolute module name ``path`` imports, relative imports resolved."""
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # ``from lht import bulk`` imports the module lht.bulk
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def loader_modules() -> list[tuple[str, Path]]:
    return sorted((module_name(p, LOADER, "lht"), p) for p in LOADER.rglob("*.py"))


def known_lht_modules() -> set[str]:
    return {name for name, _ in loader_modules()}


def lht_imports(path: Path, module: str) -> set[str]:
    known = known_lht_modules()
    return {name for name in imports_of(path, module) if name in known and name != module}


def test_the_salesforce_and_warehouse_wings_never_import_each_other() -> None:
    crossings = []
    for module, path in loader_modules():
        wing = wing_of(module)
        if wing not in ("salesforce", "warehouse"):
            continue
        other = "warehouse" if wing == "salesforce" else "salesforce"
        crossings += [
            f"{module} imports {name}"
            for name in lht_imports(path, module)
            if wing_of(name) == other
        ]
    assert not crossings, "\n".join(crossings)


def test_nothing_imports_upward_or_sideways() -> None:
    wrong = []
    for module, path in loader_modules():
        wing = wing_of(module)
        for name in lht_imports(path, module):
            target = wing_of(name)
            if target != wing and RANKS[target] >= RANKS[wing]:
                wrong.append(f"{module} ({wing}) imports {name} ({target})")
    assert not wrong, "\n".join(wrong)


def test_only_the_cli_and_the_commands_import_the_local_org() -> None:
    wrong = [
        f"{module} imports the local org"
        for module, path in loader_modules()
        if wing_of(module) not in ("cli", "commands")
        and any(n == "lht_devorg" or n.startswith("lht_devorg.") for n in imports_of(path, module))
    ]
    assert not wrong, "\n".join(wrong)


def test_the_local_org_never_imports_the_loader() -> None:
    wrong = [
        str(p.relative_to(ROOT))
        for p in DEVORG.rglob("*.py")
        if any(
            n == "lht" or n.startswith("lht.")
            for n in imports_of(p, module_name(p, DEVORG, "lht_devorg"))
        )
    ]
    assert not wrong, wrong


#: the local org's packages -> rank; a module may import its own package or one of lower rank.
DEVORG_RANKS = {
    "ground": 0,
    "meta": 1,
    "soql": 2,
    "core": 3,
    "bulk": 4,
    "ingest": 5,
    "bulk1": 6,
    "http": 7,
    "front": 8,
}
DEVORG_GROUND = {"errors", "ids", "clock", "faults", "cursors"}
DEVORG_FRONT = {"cli"}


def devorg_part(module: str) -> str:
    """The package of a dotted ``lht_devorg`` module (``lht_devorg.soql.planner`` -> ``soql``)."""
    parts = module.split(".")
    assert parts[0] == "lht_devorg", module
    if len(parts) == 1 or parts[1] in DEVORG_FRONT:
        return "front"
    if parts[1] in DEVORG_GROUND:
        return "ground"
    if (DEVORG / parts[1]).is_dir():
        if parts[1] not in DEVORG_RANKS:
            raise AssertionError(
                f"{module}: a package of the local org outside the known ones; "
                "add it to DEVORG_RANKS here and to docs/design.md"
            )
        return parts[1]
    raise AssertionError(
        f"{module}: a top-level module of the local org outside the known ones; "
        "add it to DEVORG_GROUND or DEVORG_FRONT here and to docs/design.md"
    )


def devorg_modules() -> list[tuple[str, Path]]:
    return sorted((module_name(p, DEVORG, "lht_devorg"), p) for p in DEVORG.rglob("*.py"))


def test_the_local_org_imports_only_downward() -> None:
    known = {name for name, _ in devorg_modules()}
    wrong = []
    for module, path in devorg_modules():
        part = devorg_part(module)
        for name in imports_of(path, module):
            # ``from .. import ids`` names the package itself too; the module it imports counts
            if name not in known or name in (module, "lht_devorg"):
                continue
            target = devorg_part(name)
            if target != part and DEVORG_RANKS[target] >= DEVORG_RANKS[part]:
                wrong.append(f"{module} ({part}) imports {name} ({target})")
    assert not wrong, "\n".join(wrong)


def test_the_local_org_part_of_a_module_is_known() -> None:
    assert devorg_part("lht_devorg") == "front"
    assert devorg_part("lht_devorg.cli") == "front"
    assert devorg_part("lht_devorg.errors") == "ground"
    assert devorg_part("lht_devorg.soql.planner") == "soql"
    assert devorg_part("lht_devorg.http") == "http"
    with pytest.raises(AssertionError, match="outside the known"):
        devorg_part("lht_devorg.newthing")


def test_every_local_org_package_says_what_it_does_and_must_not_import() -> None:
    missing = []
    for init in DEVORG.glob("*/__init__.py"):
        doc = " ".join((ast.get_docstring(ast.parse(init.read_text())) or "").split())
        if "must not import" not in doc:
            missing.append(str(init.relative_to(ROOT)))
    assert not missing, missing


def _devorg_graph() -> dict[str, set[str]]:
    modules = {module_name(p, DEVORG, "lht_devorg"): p for p in DEVORG.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        if name == "lht_devorg":
            continue  # the package's front door imports what it offers
        graph[name] = {
            n for n in imports_of(path, name) if n in modules and n not in (name, "lht_devorg")
        }
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_local_org_modules_import_in_no_circle() -> None:
    cycle = _cycle(_devorg_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_check_finds_a_circle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("module", ["lht.salesforce.bulk", "lht.warehouse.writer"])
def test_the_import_reader_sees_function_level_imports(tmp_path: Path, module: str) -> None:
    source = tmp_path / "m.py"
    source.write_text(f"def f():\n    from {module} import x\n")
    assert module in imports_of(source, "lht.sync.m")


def test_every_wing_says_what_it_does_and_must_not_import() -> None:
    missing = []
    for init in LOADER.glob("*/__init__.py"):
        doc = " ".join((ast.get_docstring(ast.parse(init.read_text())) or "").split())
        if "must not import" not in doc:
            missing.append(str(init.relative_to(ROOT)))
    assert not missing, missing


def _logger_names(tree: ast.AST) -> list[str]:
    """Names bound to ``logging.getLogger(...)`` at module level."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            if isinstance(func, ast.Attribute) and func.attr == "getLogger":
                names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return names


def test_every_module_logs_through_a_logger_named_logger() -> None:
    wrong = [
        f"{module}: {name}"
        for module, path in loader_modules()
        for name in _logger_names(ast.parse(path.read_text()))
        if name != "logger"
    ]
    assert not wrong, wrong


def test_the_logger_check_sees_another_name() -> None:
    assert _logger_names(ast.parse("import logging\nlog = logging.getLogger(__name__)\n")) == [
        "log"
    ]


#: The one module that reads the environment (docs/design.md, "Settings").
SETTINGS_MODULE = "lht.config"
_ENVIRONMENT = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def environment_reads(tree: ast.AST) -> list[str]:
    """Every read of the process environment in ``tree``: ``os.environ``, ``os.getenv``
    (``os`` under any alias) and ``from os import environ``."""
    aliases = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == "os"
    }
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in _ENVIRONMENT
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
        ):
            found.append(f"os.{node.attr} on line {node.lineno}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [
                f"from os import {a.name} on line {node.lineno}"
                for a in node.names
                if a.name in _ENVIRONMENT
            ]
    return found


def test_only_the_settings_module_reads_the_environment() -> None:
    wrong = [
        f"{module}: {read}"
        for module, path in loader_modules()
        if module != SETTINGS_MODULE
        for read in environment_reads(ast.parse(path.read_text()))
    ]
    assert not wrong, "read the environment through lht.config's settings instead:\n" + "\n".join(
        wrong
    )


@pytest.mark.parametrize(
    "source",
    [
        "import os\nx = os.environ.get('A')\n",
        "import os as o\no.getenv('A')\n",
        "from os import environ\n",
        "import os\ndef f(env=os.environ): pass\n",
    ],
)
def test_the_environment_check_sees_every_form(source: str) -> None:
    assert environment_reads(ast.parse(source))


def test_the_settings_module_does_read_the_environment() -> None:
    assert environment_reads(ast.parse((LOADER / "config.py").read_text()))


def private_attributes(tree: ast.AST) -> list[str]:
    """``x._name`` accesses on anything but ``self`` and ``cls``: another object's private
    attributes (simple-salesforce's login hook, requests' ``_content``)."""
    return [
        f"{ast.unparse(node)} on line {node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
    ]


def test_no_module_touches_another_objects_private_attributes() -> None:
    wrong = [
        f"{module}: {found}"
        for module, path in loader_modules()
        for found in private_attributes(ast.parse(path.read_text()))
    ]
    assert not wrong, "use the library's public API (or subclass it, documented):\n" + "\n".join(
        wrong
    )


def test_the_private_attribute_check_sees_a_patched_hook() -> None:
    assert private_attributes(ast.parse("sf._salesforce_login_partial = f\n"))
    assert not private_attributes(ast.parse("self._lock = 1\nx.__class__\n"))
