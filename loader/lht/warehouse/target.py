"""Which warehouse to write to: the dbt profile's target, read the way dbt reads it.

The loader and dbt share one ``profiles.yml``, target and environment variables. A
profile whose values are plain or a single ``env_var()`` call is read directly (with
dbt's result, pinned by a test against dbt); any other is rendered with dbt's own
``ProfileRenderer`` so ``env_var()`` (with defaults, ``DBT_ENV_SECRET_`` variables,
filters and native types) behaves exactly as it does for dbt. Either way ``env_var()``
reads the run's environment (``Settings.environ``), and the target carries the run's
settings to the connection, the writer and the run lock.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lht.config import Settings, settings_from_env
from lht.dbtfiles import PROJECT_FILE, mapping, project_config, read_yaml
from lht.errors import ConfigError

#: Adapter types lht can write to.
SUPPORTED_TYPES = ("duckdb", "snowflake")

_SNOWFLAKE_KEYS = (
    "account",
    "user",
    "password",
    "private_key",
    "private_key_path",
    "private_key_passphrase",
    "authenticator",
    "token",
    "role",
    "warehouse",
    "database",
    "schema",
    "host",
    "port",
    "protocol",
)


@dataclass
class Target:
    """One rendered dbt target: adapter kind plus its connection settings.

    Secrets (``password``, ``private_key``, ``private_key_passphrase``, ``token``) are
    kept out of ``repr``.
    """

    kind: str
    name: str
    profile: str
    profiles_file: Path
    # duckdb
    path: Path | None = None
    #: the profile's ``path`` as written (relative paths are read from the working directory)
    configured_path: str | None = None
    # both
    database: str | None = None
    schema: str | None = None
    # snowflake
    account: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)
    private_key_path: str | None = None
    private_key_passphrase: str | None = field(default=None, repr=False)
    authenticator: str | None = None
    token: str | None = field(default=None, repr=False)
    role: str | None = None
    warehouse: str | None = None
    host: str | None = None
    port: int | None = None
    protocol: str | None = None
    #: Every other key of the output (threads, settings, extensions, ...), rendered.
    extra: dict[str, Any] = field(default_factory=dict, repr=False)
    #: The run's settings (staging schema, DuckDB limits, load files, lock TTL, the
    #: environment): :func:`load_target`'s, else read from the process environment.
    settings: Settings = field(default_factory=settings_from_env, repr=False, compare=False)

    @property
    def where(self) -> str:
        """Human description for messages: profile, target and file (no secrets)."""
        return f"profile {self.profile!r}, target {self.name!r} in {self.profiles_file}"


def _profiles_dir(project_dir: Path, profiles_dir: Path | None, settings: Settings) -> Path:
    if profiles_dir is not None:
        return Path(profiles_dir)
    if settings.dbt_profiles_dir:
        return Path(settings.dbt_profiles_dir)
    if (project_dir / "profiles.yml").is_file():
        return project_dir
    return Path.home() / ".dbt"


#: dbt's own test for a value holding Jinja; values without it render as themselves.
_JINJA = re.compile(r"({[{%#]|[#}%]})")
#: A whole value that is a single ``env_var()`` call, with an optional quoted default.
_ENV_VAR_ONLY = re.compile(
    r"""\{\{\s*env_var\(\s*(['"])(?P<name>[^'"]*)\1\s*(?:,\s*(['"])(?P<default>[^'"]*)\3\s*)?\)\s*\}\}"""
)


class _NeedsDbt(Exception):
    """The profile uses more Jinja than the plain reader handles."""


def _plain_value(value: Any, env: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: _plain_value(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_value(item, env) for item in value]
    if not isinstance(value, str) or not _JINJA.search(value):
        return value
    match = _ENV_VAR_ONLY.fullmatch(value)
    if match is None:
        raise _NeedsDbt
    if match["name"] in env:
        return env[match["name"]]
    if match["default"] is not None:
        return match["default"]
    raise _NeedsDbt  # dbt raises its own error for the missing variable


def render_plain(
    raw_profile: dict[str, Any], target: str | None, env: Mapping[str, str]
) -> tuple[str, dict] | None:
    """Render a profile whose values are plain or a single ``{{ env_var('X'[, 'd']) }}``,
    exactly as dbt's native renderer does (the value, as a string); None for any other
    Jinja or an irregular profile, which then goes to dbt itself.

    Importing dbt's renderer costs most of a second and about 40 MB, which a scheduled
    ``lht sync`` on the default DuckDB profile need not pay.
    """
    try:
        name = (
            target
            if target is not None
            else _plain_value(raw_profile.get("target", "default"), env)
        )
        outputs = raw_profile.get("outputs")
        if (
            not isinstance(name, str)
            or not isinstance(outputs, dict)
            or not isinstance(outputs.get(name), dict)
        ):
            return None
        return name, _plain_value(outputs[name], env)
    except _NeedsDbt:
        return None


def _render(
    raw_profile: dict[str, Any],
    profile: str,
    target: str | None,
    where: Path,
    env: Mapping[str, str],
) -> tuple[str, dict]:
    """Render one profile's target from ``env``: :func:`render_plain` when it can, else
    dbt's own ``ProfileRenderer`` in a private invocation context."""
    plain = render_plain(raw_profile, target, env)
    if plain is not None:
        return plain
    from dbt.config.profile import Profile
    from dbt.config.renderer import ProfileRenderer
    from dbt.exceptions import DbtProfileError, EnvVarMissingError
    from dbt_common.context import set_invocation_context
    from dbt_common.exceptions import DbtBaseException

    shown = target or str(raw_profile.get("target", "default"))

    def render() -> tuple[str, dict]:
        set_invocation_context(dict(env))
        return Profile.render_profile(raw_profile, profile, target, ProfileRenderer({}))

    try:
        # a copied context keeps our invocation context from leaking into a dbt run
        return contextvars.copy_context().run(render)
    except EnvVarMissingError as exc:
        raise ConfigError(
            f"Environment variable {exc.var!r} is required by profile {profile!r} "
            f"(target {shown!r}) in {where} but is not set: export it, "
            "or give env_var() a default there."
        ) from None
    except DbtProfileError as exc:
        msg = str(exc).replace("Runtime Error", "").strip()
        if "does not have a target named" in msg:
            raise ConfigError(f"{msg} (in {where}). Pick one of them with --target.") from None
        raise ConfigError(
            f"Profile {profile!r} in {where} could not be rendered: check its Jinja "
            f"(env_var() calls and quoting) for target {shown!r}."
        ) from None
    except DbtBaseException:
        raise ConfigError(
            f"Profile {profile!r} in {where} could not be rendered: check its Jinja "
            f"(env_var() calls and quoting) for target {shown!r}."
        ) from None


def load_target(
    project_dir: Path,
    profiles_dir: Path | None = None,
    target: str | None = None,
    settings: Settings | None = None,
) -> Target:
    """Read the dbt profile of ``project_dir`` and return its (default or named) target,
    carrying ``settings`` (default: read from the process environment).

    The profile name comes from ``dbt_project.yml``'s ``profile:``. ``profiles_dir``
    defaults to ``DBT_PROFILES_DIR``, else ``project_dir`` when it holds a
    ``profiles.yml``, else ``~/.dbt``. Raises :class:`ConfigError` naming the file,
    profile, target or variable at fault (never a secret).
    """
    settings = settings if settings is not None else settings_from_env()
    project_dir = Path(project_dir)
    profile = project_config(project_dir).get("profile")
    if not profile or not isinstance(profile, str):
        raise ConfigError(
            f"{project_dir / PROJECT_FILE} has no 'profile:' key: name the profile to use there."
        )
    profiles_file = _profiles_dir(project_dir, profiles_dir, settings) / "profiles.yml"
    profiles = read_yaml(profiles_file, "dbt profiles file", shape="profile names to their targets")
    raw = profiles.get(profile)
    if raw is None:
        raise ConfigError(
            f"Profile {profile!r} (named in dbt_project.yml) is not defined in {profiles_file}: "
            "add it, or set DBT_PROFILES_DIR to the directory holding the right profiles.yml."
        )
    raw = dict(mapping(raw, profiles_file, profile, "target: and outputs:"))
    outputs = mapping(
        raw.get("outputs"),
        profiles_file,
        f"{profile}.outputs",
        "target names to their connection settings",
    )
    for name, output in outputs.items():
        mapping(
            output, profiles_file, f"{profile}.outputs.{name}", "connection settings (type:, ...)"
        )
    target_name, out = _render(raw, profile, target, profiles_file, settings.environ)
    return _to_target(out, profile, str(target_name), profiles_file, project_dir, settings)


def _to_target(
    out: dict[str, Any],
    profile: str,
    name: str,
    profiles_file: Path,
    project_dir: Path,
    settings: Settings,
) -> Target:
    kind = str(out.get("type") or "")
    where = f"profile {profile!r}, target {name!r} in {profiles_file}"
    if kind not in SUPPORTED_TYPES:
        raise ConfigError(
            f"Adapter type {kind or '(none)'!r} of {where} is not supported: lht writes to "
            f"{' or '.join(SUPPORTED_TYPES)}. Point --target at a duckdb or snowflake output."
        )
    rest = {k: v for k, v in out.items() if k != "type"}
    if kind == "duckdb":
        raw_path = str(rest.pop("path", None) or ":memory:")
        path = Path(raw_path)
        if raw_path != ":memory:" and not path.is_absolute():
            # dbt-duckdb opens a relative path from the working directory: so does lht
            path = Path.cwd() / path
        database = rest.pop("database", None)
        if database is None and raw_path != ":memory:":
            database = path.stem
        schema = rest.pop("schema", None)
        return Target(
            kind,
            name,
            profile,
            profiles_file,
            path=path,
            configured_path=raw_path,
            database=database and str(database),
            schema=schema and str(schema),
            extra=rest,
            settings=settings,
        )
    # an empty value (env_var('X', '')) means "not set", as it does for dbt-snowflake
    values = {k: (None if rest.get(k) == "" else rest.get(k)) for k in _SNOWFLAKE_KEYS}
    for k in _SNOWFLAKE_KEYS:
        rest.pop(k, None)
    if not values["account"]:
        raise ConfigError(f"{where} has no 'account': set it (for example through env_var()).")
    if values["port"] is not None:
        values["port"] = int(values["port"])
    text = {k: (None if v is None else str(v)) for k, v in values.items() if k != "port"}
    return Target(
        kind,
        name,
        profile,
        profiles_file,
        port=values["port"],
        extra=rest,
        settings=settings,
        **text,  # type: ignore[arg-type]
    )
