"""dbt's files as lht reads them: ``dbt_project.yml``, ``profiles.yml`` and model files.

The one place they are opened, decoded and parsed, so a malformed one is refused the same
way whichever command reads it: a :class:`~lht.errors.ConfigError` (exit 2) in one
paragraph naming the file and the key at fault (a missing file, text that is not UTF-8,
YAML that does not parse, a top level or a key that is not the mapping dbt expects).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from lht.errors import ConfigError

PROJECT_FILE = "dbt_project.yml"


def read_text(path: Path, what: str) -> str:
    """The text of ``path`` (UTF-8, as dbt reads it); ConfigError naming the file otherwise."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{what} not found: {path}. Create it or point lht at the right directory."
        ) from None
    except OSError as exc:
        raise ConfigError(f"Cannot read {what} {path}: {exc.strerror}.") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}): save it as UTF-8, "
            "as dbt reads it."
        ) from None


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return f"a list ({value!r})" if len(repr(value)) < 60 else "a list"
    return repr(value)


def read_yaml(path: Path, what: str, *, shape: str) -> dict[str, Any]:
    """``path`` parsed as a YAML mapping; ConfigError naming the file when it is missing,
    not UTF-8, not YAML, empty or not a mapping (``shape`` says what its keys should be)."""
    text = read_text(path, what)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from None
    if data is None:
        raise ConfigError(f"{path} is empty: it should be a mapping of {shape}.")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: its top level is {_kind(data)}, not a mapping of {shape}.")
    return data


def mapping(value: Any, path: Path, key: str, shape: str) -> Mapping[str, Any]:
    """``value`` (the key ``key`` of ``path``) if it is a mapping, ``{}`` if unset; else
    ConfigError naming the file and the key."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path}: `{key}` must be a mapping of {shape}, not {_kind(value)}.")
    return value


def project_config(project_dir: Path) -> dict[str, Any]:
    """``dbt_project.yml`` of ``project_dir``, checked: a mapping whose ``vars`` is one too."""
    path = Path(project_dir) / PROJECT_FILE
    config = read_yaml(path, "dbt project file", shape="keys (name:, profile:, vars:, ...)")
    mapping(config.get("vars"), path, "vars", "variable names to values")
    return config


def project_vars(project_dir: Path) -> Mapping[str, Any]:
    """The ``vars`` of ``dbt_project.yml`` (``{}`` when it has none)."""
    path = Path(project_dir) / PROJECT_FILE
    return mapping(
        project_config(project_dir).get("vars"), path, "vars", "variable names to values"
    )
